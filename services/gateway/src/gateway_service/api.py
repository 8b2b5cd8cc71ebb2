"""The routes the gateway answers itself: build identity and (in dev only) the dev login.

Everything else is proxied (``gateway_service.proxy``); the merged OpenAPI document adds the edge's own
failures (``gateway_service.openapi``) to these operations as to every other.
"""

from __future__ import annotations

from typing import Annotated, cast

from fastapi import APIRouter, Depends, Request

from gateway_service.errors import DevLoginUnavailable, RateLimited
from gateway_service.proxy import Gateway
from gateway_service.routes import GATEWAY
from gateway_service.views import LoginRequest, LoginResponse, MetaView
from shared.api import errors
from shared.auth.tokens import issue_dev_token

DEV_TOKEN_TTL_S = 12 * 3600


def gateway_of(request: Request) -> Gateway:
    """The gateway state of the app (``bootstrap.create_gateway`` puts it there)."""
    return cast("Gateway", request.app.state.gateway)


GatewayDep = Annotated[Gateway, Depends(gateway_of)]

router = APIRouter()
dev_router = APIRouter()


@router.get("/v1/meta", response_model=MetaView, responses=errors(RateLimited))
async def meta(request: Request, gw: GatewayDep) -> MetaView:
    """Build identity (architecture §10), public."""
    gw.limit_client(request)
    settings = gw.settings
    return MetaView(
        app="zenops-v2",
        service=GATEWAY,
        env=settings.env,
        git_sha=settings.git_sha,
        build_time=settings.build_time,
        repo_root=None,
        api_version="v1",
        upstreams=sorted(gw.upstreams),
    )


@dev_router.post(
    "/v1/auth/login",
    status_code=201,
    response_model=LoginResponse,
    responses=errors(RateLimited, DevLoginUnavailable),
)
async def login(request: Request, body: LoginRequest, gw: GatewayDep) -> LoginResponse:
    """Dev login: an HS256 token with capabilities expanded from roles (domain.md §10.1)."""
    gw.limit_client(request)
    secret = gw.settings.jwt_secret.get_secret_value()
    if not secret:
        raise DevLoginUnavailable()
    token = issue_dev_token(
        secret,
        sub=body.sub or body.user_id or "dev",
        aud=body.aud,
        tenant_id=body.tenant_id,
        user_id=body.user_id,
        roles=body.roles,
        capabilities=body.capabilities,
        ttl_s=DEV_TOKEN_TTL_S,
    )
    return LoginResponse(
        access_token=token,
        token_type="Bearer",  # noqa: S106  the OAuth token type, not a secret
        expires_in=DEV_TOKEN_TTL_S,
    )
