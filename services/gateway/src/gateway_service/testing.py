"""Test support: a gateway in-process with in-process upstream apps (no ports, no stack).

Upstreams are ASGI apps mounted on ``http://<name>.upstream``; any service not given points at a closed
local port, so requests to it fail like a service that is down.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from typing import Any

import httpx
from fastapi import FastAPI
from starlette.types import ASGIApp

from gateway_service.bootstrap import create_gateway
from gateway_service.settings import Settings

DEV_SECRET = "test-secret-with-at-least-32-bytes-of-entropy"
SERVICE_TOKEN = "test-service-token"
STUDIO_ADMIN_TOKEN = "test-studio-admin-token"
DOWN_URL = "http://127.0.0.1:9"  # the discard port: nothing listens, connections are refused


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
