"""Prometheus metrics of the edge (served by ``/metrics`` with the shared ones)."""

from prometheus_client import Counter, Histogram

GATEWAY_REQUESTS = Counter(
    "zenops_gateway_requests_total",
    "Requests through the gateway by route row, owning service and status",
    ["route", "service", "method", "status"],
)
UPSTREAM_LATENCY = Histogram(
    "zenops_gateway_upstream_seconds",
    "Time until the upstream answered with headers",
    ["service", "route"],
)
RATE_LIMITED = Counter(
    "zenops_gateway_rate_limited_total", "Requests refused with 429 by the gateway", ["bucket"]
)
UPSTREAM_ERRORS = Counter(
    "zenops_gateway_upstream_errors_total", "Upstream transport failures", ["service", "kind"]
)
