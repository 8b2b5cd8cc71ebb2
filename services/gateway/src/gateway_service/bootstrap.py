"""The composition root of the gateway: settings, the upstream client, the edge and the routes.

The gateway has no database and no stream, so it is not a ``shared.runtime.ServiceDefinition``; it is
built the same way otherwise (``main.py`` only names :func:`create_app`).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
from fastapi import Depends, FastAPI, Request, Response
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse, JSONResponse
from starlette.middleware import Middleware

from gateway_service.api import dev_router, router
from gateway_service.cors import GatewayCors
from gateway_service.edge import EdgeGuard
from gateway_service.openapi import OpenApiAggregator
from gateway_service.proxy import Gateway
from gateway_service.routes import DEFAULT_TABLE, RouteTable
from gateway_service.settings import Settings
from shared.api import install_truthful_openapi
from shared.http import create_service_app
from shared.telemetry import configure_logging, configure_tracing

#: how long an idle upstream connection is kept for reuse: below uvicorn's 5 s keep-alive timeout
UPSTREAM_KEEPALIVE_S = 2.0


def create_gateway(
    settings: Settings | None = None,
    *,
    http_client: httpx.AsyncClient | None = None,
    table: RouteTable = DEFAULT_TABLE,
) -> FastAPI:
    """The gateway app; ``http_client`` lets tests put in-process upstreams behind it."""
    settings = settings or Settings()
    owns_client = http_client is None
    client = http_client or httpx.AsyncClient(
        timeout=httpx.Timeout(settings.upstream_timeout_s, connect=settings.upstream_connect_timeout_s),
        # an idle upstream connection is dropped well before the service's uvicorn closes it (its
        # keep-alive timeout is 5 s, httpx's default expiry too): reusing one just as the server closes
        # it fails the request with a ReadError (502/503 UPSTREAM_UNAVAILABLE) that nothing caused
        limits=httpx.Limits(keepalive_expiry=UPSTREAM_KEEPALIVE_S),
        follow_redirects=False,
    )
    gw = Gateway(settings, client, table)

    async def probe_limit(request: Request) -> None:
        # on the event loop (an async dependency), like every other use of the rate limiter
        gw.limit_client(request)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        yield
        if owns_client:
            await client.aclose()

    app = create_service_app(
        settings,
        title="ZenOps Repogen gateway",
        readiness=gw.readiness(),
        probe_dependencies=[Depends(probe_limit)],
        lifespan=lifespan,
        openapi_url=None,
        docs_url=None,
        redoc_url=None,
        # inside the request-context middleware: refusals carry a request id and are counted
        middleware=[Middleware(EdgeGuard, settings=settings, table=table)],
    )
    # outermost of the app's middleware: preflights are answered before the edge, and every answer
    # (the edge's refusals and the JSON 500 included) carries the CORS headers a browser needs
    app.add_middleware(GatewayCors, origins=settings.cors_origins)
    app.state.gateway = gw
    install_truthful_openapi(app)
    aggregator = OpenApiAggregator(
        client,
        gw.upstreams,
        table,
        local_document=app.openapi,
        ttl_s=settings.openapi_cache_ttl_s,
    )

    @app.get("/openapi.json", include_in_schema=False)
    async def openapi() -> JSONResponse:
        return JSONResponse(await aggregator.document())

    @app.get("/docs", include_in_schema=False)
    async def docs() -> HTMLResponse:
        return get_swagger_ui_html(openapi_url="/openapi.json", title="ZenOps Repogen API")

    app.include_router(router)
    if settings.is_dev:
        # Dev login exists only in the dev environment (architecture §6); elsewhere its row answers 404.
        app.include_router(dev_router)

    @app.api_route(
        "/{path:path}",
        methods=["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"],
        include_in_schema=False,
    )
    async def proxy(request: Request) -> Response:
        return await gw.handle(request)

    return app


def create_app() -> FastAPI:
    """The gateway of this process, configured from the environment (``ZENOPS_*``)."""
    settings = Settings()
    configure_logging(settings.service_name, settings.log_level)
    configure_tracing(
        settings.service_name,
        otlp_endpoint=settings.otel_exporter_endpoint,
        zipkin_endpoint=settings.zipkin_endpoint,
    )
    return create_gateway(settings)
