"""The operator console: server-rendered pages (FastAPI + Jinja2 + htmx) over the gateway's HTTP API."""
