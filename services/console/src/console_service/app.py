"""The console's composition root: settings, the session codec, one httpx client to the gateway."""

from __future__ import annotations

import secrets
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles

from console_service import pages, workorder
from console_service.sessions import SessionCodec
from console_service.settings import Settings
from console_service.web import HERE, TEMPLATES, Console, CsrfRefused, NotSignedIn

SECURITY_HEADERS = {
    # Only our own scripts, styles and images; no framing (clickjacking), no sniffing.
    "content-security-policy": (
        "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
        "frame-ancestors 'none'; form-action 'self'; base-uri 'none'"
    ),
    "x-content-type-options": "nosniff",
    "referrer-policy": "same-origin",
    "x-frame-options": "DENY",
}


def create_app(
    settings: Settings | None = None, transport: httpx.AsyncBaseTransport | None = None
) -> FastAPI:
    """The console app; ``transport`` replaces the network in tests (an ``httpx.MockTransport``)."""
    settings = settings or Settings()
    secret = settings.console_secret.get_secret_value() or secrets.token_urlsafe(32)  # dev without a secret
    client = httpx.AsyncClient(
        base_url=settings.gateway_url.rstrip("/"),
        timeout=httpx.Timeout(settings.gateway_timeout_s, connect=5.0),
        # below the gateway's uvicorn keep-alive timeout (5 s): never reuse a connection as it closes
        limits=httpx.Limits(keepalive_expiry=2.0),
        transport=transport,
    )

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        yield
        await client.aclose()

    app = FastAPI(
        title="ZenOps operator console", docs_url=None, redoc_url=None, openapi_url=None, lifespan=lifespan
    )
    app.state.console = Console(settings, SessionCodec(secret, settings.session_ttl_s), client)
    app.mount("/static", StaticFiles(directory=str(HERE / "static")), name="static")
    app.include_router(pages.router)
    app.include_router(workorder.router)

    @app.exception_handler(NotSignedIn)
    async def _not_signed_in(request: Request, _: NotSignedIn) -> Response:
        if request.headers.get("hx-request"):
            return HTMLResponse("", headers={"HX-Redirect": "/login"})
        return RedirectResponse("/login", status_code=303)

    @app.exception_handler(CsrfRefused)
    async def _csrf(request: Request, _: CsrfRefused) -> Response:
        return TEMPLATES.TemplateResponse(
            request,
            "error.html",
            {
                "viewer": None,
                "csrf": "",
                "dev": settings.is_dev,
                "message": "This form expired or did not come from this console: reload the page and try again.",
            },
            status_code=403,
        )

    @app.middleware("http")
    async def _headers(request: Request, call_next: object) -> Response:
        started = time.perf_counter()
        response: Response = await call_next(request)  # type: ignore[operator]
        for name, value in SECURITY_HEADERS.items():
            response.headers.setdefault(name, value)
        # the page's server time (gateway calls + rendering), read by `make bench` and browsers' devtools
        response.headers["server-timing"] = f"app;dur={(time.perf_counter() - started) * 1000:.1f}"
        return response

    return app
