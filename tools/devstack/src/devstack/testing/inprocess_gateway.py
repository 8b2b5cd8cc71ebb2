"""Test support: a gateway in-process with in-process upstream apps (no ports, no stack).

Upstreams are ASGI apps mounted on ``http://<name>.upstream``; any service not given points at a closed
local port, so requests to it fail like a service that is down. :class:`Recorder` is such an upstream
that echoes what it receives; :func:`dev_token` and :func:`bearer` make the callers.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from typing import Any

import httpx
from fastapi import FastAPI
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp

from gateway_service.bootstrap import create_gateway
from gateway_service.settings import Settings
from shared.auth.tokens import issue_dev_token

DEV_SECRET = "test-secret-with-at-least-32-bytes-of-entropy"  # noqa: S105  in-process test credential
SERVICE_TOKEN = "test-service-token"  # noqa: S105  in-process test credential
STUDIO_ADMIN_TOKEN = "test-studio-admin-token"  # noqa: S105  in-process test credential
DOWN_URL = "http://127.0.0.1:9"  # the discard port: nothing listens, connections are refused
TENANT = "11111111-1111-1111-1111-111111111111"
USER = "33333333-3333-3333-3333-333333333333"
WO = "6f1c1b9e-8a57-4c0e-9d5f-0c7a5a0f2d11"


def dev_token(**overrides: Any) -> str:
    """A web JWT of ``USER`` in ``TENANT`` (an ops manager without capabilities), claims overridable."""
    values: dict[str, Any] = {
        "sub": USER,
        "aud": "web",
        "tenant_id": TENANT,
        "user_id": USER,
        "roles": ["ops_manager"],
        "capabilities": [],
    }
    values.update(overrides)
    return issue_dev_token(DEV_SECRET, **values)


def bearer(raw: str) -> dict[str, str]:
    """The ``Authorization`` header of a bearer token."""
    return {"authorization": f"Bearer {raw}"}


class Recorder:
    """An upstream that echoes the raw body and records what it received (the raw path included).

    A ``POST`` answers 201 with ``version_token`` as ``x-zenops-version`` when given; a path ending in
    ``/boom`` answers a plain-text 500; ``openapi`` is served as its ``/openapi.json`` when given.
    """

    def __init__(self, *, version_token: str | None = None, openapi: dict[str, Any] | None = None) -> None:
        self.requests: list[dict[str, Any]] = []
        self.version_token = version_token
        self.openapi = openapi
        routes = [Route("/openapi.json", self.document)] if openapi is not None else []
        self.app = Starlette(
            routes=[
                *routes,
                Route("/healthz", self.health),
                Route("/readyz", self.health),
                Route("/{path:path}", self.echo, methods=["GET", "POST", "PATCH", "PUT", "DELETE"]),
            ]
        )

    async def echo(self, request: Request) -> Response:
        """Record the request and answer its body back."""
        body = await request.body()
        self.requests.append(
            {
                "method": request.method,
                "path": request.url.path,
                "raw_path": request.scope.get("raw_path"),
                "query": request.url.query,
                "headers": dict(request.headers),
                "body": body,
            }
        )
        headers = {"content-type": request.headers.get("content-type", "application/octet-stream")}
        if self.version_token and request.method == "POST":
            headers["x-zenops-version"] = self.version_token
        if request.url.path.endswith("/boom"):
            return PlainTextResponse("Internal Server Error", status_code=500)
        return Response(body, status_code=201 if request.method == "POST" else 200, headers=headers)

    async def health(self, _: Request) -> Response:
        """Always live and ready."""
        return JSONResponse({"status": "ok"})

    async def document(self, _: Request) -> Response:
        """The OpenAPI document given."""
        return JSONResponse(self.openapi)


def gateway_settings(upstreams: Mapping[str, ASGIApp] | None = None, **overrides: Any) -> Settings:
    """Settings for an in-process gateway whose upstreams are the given apps."""
    upstreams = upstreams or {}
    urls = {
        f"upstream_{name}_url": (f"http://{name}.upstream" if name in upstreams else DOWN_URL)
        for name in ("workorders", "evidence", "factory", "billing")
    }
    values: dict[str, Any] = {
        "env": "dev",
        "jwt_secret": DEV_SECRET,
        "service_token": SERVICE_TOKEN,
        "studio_admin_token": STUDIO_ADMIN_TOKEN,
        "health_timeout_s": 0.5,
        "upstream_connect_timeout_s": 0.5,
        **urls,
        **overrides,
    }
    return Settings(**values)


@asynccontextmanager
async def in_process_gateway(
    upstreams: Mapping[str, ASGIApp] | None = None, **overrides: Any
) -> AsyncIterator[tuple[FastAPI, httpx.AsyncClient]]:
    """The gateway app and a client on it; ``overrides`` are gateway settings."""
    upstreams = dict(upstreams or {})
    settings = gateway_settings(upstreams, **overrides)
    mounts: dict[str, httpx.AsyncBaseTransport] = {
        f"http://{name}.upstream": httpx.ASGITransport(app=app) for name, app in upstreams.items()
    }
    async with httpx.AsyncClient(mounts=mounts) as upstream_client:
        app = create_gateway(settings, http_client=upstream_client)
        transport = httpx.ASGITransport(app=app, client=("203.0.113.7", 40000))
        async with httpx.AsyncClient(transport=transport, base_url="http://gateway.test") as client:
            yield app, client
