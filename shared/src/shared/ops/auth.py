"""Who may call the ops routes: a studio admin with an ops capability (or super_admin), or the service
token (architecture §6). Shared by the services and the gateway, which check the same thing."""

from __future__ import annotations

from dataclasses import replace

from fastapi import Request

from shared.auth.principal import Principal
from shared.errors import Unauthorized
from shared.http import Authenticator

#: read the operational data / replay and discard
OPS_READ = "ops.read"
OPS_WRITE = "ops.write"
#: what the service token may do on the ops routes
SERVICE_OPS = frozenset({OPS_READ, OPS_WRITE})


async def ops_principal(auth: Authenticator, request: Request) -> Principal:
    """The service token (``x-service-token``, or as the bearer) with both ops capabilities, else a studio
    caller (an ``aud=studio`` JWT or the studio admin bearer); 401 otherwise."""
    if "x-service-token" not in request.headers:
        try:
            principal = auth.service_token(request)
        except Unauthorized:
            return await auth.studio(request)
    else:
        principal = auth.service_token(request)
    return replace(principal, capabilities=SERVICE_OPS)
