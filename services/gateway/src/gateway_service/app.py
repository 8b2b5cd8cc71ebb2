"""The gateway: a stateless edge with no business logic (architecture §6, §10)."""

from __future__ import annotations

import time
from collections import defaultdict
from typing import Annotated, Any

import httpx
from fastapi import FastAPI, Request, Response
from pydantic import BaseModel, ConfigDict

from gateway_service.routes import Auth, resolve
from gateway_service.settings import Settings
from shared.auth.tokens import issue_dev_token
from shared.errors import NotFound, TooManyRequests
from shared.http import Authenticator, create_service_app
from shared.telemetry import inject_headers
from shared.telemetry.context import request_id_var

_HOP_BY_HOP = frozenset(
    {"connection", "keep-alive", "transfer-encoding", "te", "trailer", "upgrade", "host", "content-length"}
)


class LoginRequest(BaseModel):
    model_config = ConfigDict(extra="ignore")

    aud: str = "web"
    tenant_id: str | None = None
    user_id: str | None = None
    sub: str | None = None
    roles: list[str] = []
    capabilities: list[str] = []


class RateLimiter:
    """Fixed one-minute windows per client (token subject or IP)."""

    def __init__(self, per_minute: int) -> None:
        self._limit = per_minute
        self._counts: dict[tuple[str, int], int] = defaultdict(int)

    def check(self, client: str) -> None:
        now = time.time()
        window = int(now // 60)
        key = (client, window)
        self._counts[key] += 1
        if len(self._counts) > 10_000:
            for stale in [k for k in self._counts if k[1] < window]:
                del self._counts[stale]
        if self._counts[key] > self._limit:
            retry_after = int(60 - now % 60) + 1
            raise TooManyRequests(
                "rate limit exceeded", details={"retry_after_s": retry_after}, code="RATE_LIMITED"
            )


def create_gateway(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()
    app = create_service_app(settings, title="ZenOps Repogen gateway")
    auth = Authenticator(settings)
    limiter = RateLimiter(settings.rate_limit_per_minute)
    upstreams = {
        "workorders": settings.upstream_workorders_url,
        "evidence": settings.upstream_evidence_url,
        "factory": settings.upstream_factory_url,
        "billing": settings.upstream_billing_url,
    }
    client = httpx.AsyncClient(timeout=settings.upstream_timeout_s)

    @app.get("/v1/meta")
    async def meta() -> dict[str, Any]:
        return {
            "app": "zenops-v2",
            "service": "gateway",
            "env": settings.env,
            "git_sha": settings.git_sha,
            "build_time": settings.build_time,
            "repo_root": None,
        }

    @app.post("/v1/auth/login", status_code=201)
    async def login(body: LoginRequest) -> dict[str, Any]:
        if not settings.is_dev:
            raise NotFound("not found")
        token = issue_dev_token(
            settings.jwt_secret,
            sub=body.sub or body.user_id or "dev",
            aud=body.aud,
            tenant_id=body.tenant_id,
            user_id=body.user_id,
            roles=body.roles,
            capabilities=body.capabilities,
        )
        return {"access_token": token, "token_type": "Bearer"}

    @app.api_route("/v1/{path:path}", methods=["GET", "POST", "PUT", "PATCH", "DELETE"])
    async def proxy(request: Request, path: Annotated[str, "path"]) -> Response:
        full_path = request.url.path
        route = resolve(request.method, full_path)
        if route is None:
            raise NotFound(f"route {request.method} {full_path} not found", code="ROUTE_NOT_FOUND")
        client_id = request.client.host if request.client else "unknown"
        if route.auth == Auth.JWT:
            principal = auth.jwt(request)
            client_id = f"{principal.tenant_id}:{principal.sub}"
        elif route.auth == Auth.SERVICE_TOKEN:
            auth.service_token(request)
            client_id = "service"
        elif route.auth == Auth.STUDIO_ADMIN:
            principal = auth.studio(request)
            client_id = f"studio:{principal.sub}"
        limiter.check(client_id)
        headers = {k: v for k, v in request.headers.items() if k.lower() not in _HOP_BY_HOP}
        headers["x-request-id"] = request_id_var.get() or ""
        inject_headers(headers)
        body = await request.body()
        upstream = upstreams[route.service] + full_path
        if request.url.query:
            upstream += "?" + request.url.query
        resp = await client.request(request.method, upstream, content=body, headers=headers)
        out_headers = {k: v for k, v in resp.headers.items() if k.lower() not in _HOP_BY_HOP}
        out_headers.pop("content-encoding", None)
        return Response(content=resp.content, status_code=resp.status_code, headers=out_headers)

    @app.on_event("shutdown")
    async def _close() -> None:
        await client.aclose()

    return app
