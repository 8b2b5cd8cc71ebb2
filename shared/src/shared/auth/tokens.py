"""JWT verification (HS256 dev secret; RS256/ES256 through a JWKS) and dev token issuing."""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

import jwt

from shared.auth.principal import Principal, expand_capabilities
from shared.errors import Unauthorized

_ASYMMETRIC = ["RS256", "ES256"]


class TokenVerifier:
    """Verifies bearer JWTs. Every failure is a 401 with a specific code."""

    def __init__(self, *, secret: str = "", jwks_url: str = "", audiences: Sequence[str] = ()) -> None:
        self._secret = secret
        self._audiences = list(audiences)
        self._jwks = jwt.PyJWKClient(jwks_url, cache_keys=True) if jwks_url else None

    def verify(self, token: str) -> Principal:
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError as exc:
            raise Unauthorized("malformed bearer token", code="TOKEN_INVALID") from exc
        alg = header.get("alg")
        key: Any
        if alg == "HS256" and self._secret:
            key = self._secret
        elif alg in _ASYMMETRIC and self._jwks is not None:
            try:
                key = self._jwks.get_signing_key_from_jwt(token).key
            except jwt.PyJWTError as exc:
                raise Unauthorized("signing key not found", code="TOKEN_INVALID") from exc
        else:
            raise Unauthorized(f"unsupported token algorithm {alg!r}", code="TOKEN_INVALID")
        try:
            claims = jwt.decode(
                token,
                key,
                algorithms=[alg],
                audience=self._audiences or None,
                options={"require": ["exp", "sub", "aud"]},
            )
        except jwt.ExpiredSignatureError as exc:
            raise Unauthorized("token expired", code="TOKEN_EXPIRED") from exc
        except jwt.InvalidAudienceError as exc:
            raise Unauthorized("audience mismatch", code="AUDIENCE_MISMATCH") from exc
        except jwt.PyJWTError as exc:
            raise Unauthorized(f"invalid token: {exc}", code="TOKEN_INVALID") from exc
        return principal_from_claims(claims)


def principal_from_claims(claims: dict[str, Any]) -> Principal:
    aud = claims.get("aud")
    if isinstance(aud, list):
        aud = aud[0] if aud else ""
    roles = tuple(str(r) for r in claims.get("roles") or ())
    caps = frozenset(str(c) for c in claims.get("capabilities") or ())
    return Principal(
        sub=str(claims.get("sub", "")),
        aud=str(aud or ""),
        tenant_id=str(claims["tenant_id"]) if claims.get("tenant_id") else None,
        user_id=str(claims["user_id"]) if claims.get("user_id") else None,
        roles=roles,
        capabilities=caps,
    )


def issue_dev_token(
    secret: str,
    *,
    sub: str,
    aud: str,
    tenant_id: str | None,
    user_id: str | None,
    roles: Sequence[str] = (),
    capabilities: Sequence[str] = (),
    ttl_s: int = 12 * 3600,
) -> str:
    """An HS256 token as the original dev login issued (capabilities expanded from roles)."""
    now = int(time.time())
    claims = {
        "sub": sub,
        "aud": aud,
        "tenant_id": tenant_id,
        "user_id": user_id,
        "roles": list(roles),
        "capabilities": expand_capabilities(roles, capabilities),
        "iat": now,
        "exp": now + ttl_s,
    }
    return jwt.encode(claims, secret, algorithm="HS256")
