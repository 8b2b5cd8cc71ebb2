"""JWT verification (HS256 dev secret; RS256/ES256 through a JWKS) and dev token issuing.

Every verification failure is a 401 with a specific code (decision 21): ``TOKEN_INVALID`` (malformed,
forged, unknown key, bad claims), ``TOKEN_EXPIRED`` and ``AUDIENCE_MISMATCH``. The algorithm is chosen by
the key source, never by the token alone: HS256 only with the configured secret, RS256/ES256 only with a
key from the JWKS whose type (and ``alg``, when the JWK names one) matches — so a public key can never be
abused as an HMAC secret.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections.abc import Iterable, Sequence
from typing import Any

import jwt

from shared.auth.principal import Principal, expand_capabilities
from shared.errors import Unauthorized

_ASYMMETRIC = frozenset({"RS256", "ES256"})
_REQUIRED_CLAIMS = ["exp", "sub", "aud"]
DEFAULT_LEEWAY_S = 30

log = logging.getLogger(__name__)


class JwksKeys:
    """The signing keys of a JWKS URL, through PyJWT's :class:`jwt.PyJWKClient`.

    The key set is cached for ``lifespan_s``; a token naming an unknown ``kid`` makes the client fetch
    the set again (key rotation), at most once per ``cooldown_s`` so forged key ids cannot make us hammer
    the identity provider. The client fetches synchronously (urllib), so :meth:`get` runs it in a worker
    thread: the event loop keeps serving while the identity provider is slow or down.
    """

    def __init__(
        self, url: str, *, lifespan_s: float = 300.0, cooldown_s: float = 10.0, timeout_s: float = 5.0
    ) -> None:
        self._client = jwt.PyJWKClient(
            url, cache_jwk_set=True, lifespan=lifespan_s, cooldown_duration=cooldown_s, timeout=timeout_s
        )

    def _lookup(self, kid: str | None) -> jwt.PyJWK:
        if kid is None:
            # a token naming no key is only matched when the set has exactly one
            keys = self._client.get_signing_keys()
            if len(keys) != 1:
                raise jwt.PyJWKClientError("the token names no key and the key set has several")
            return keys[0]
        return self._client.get_signing_key(kid)

    async def get(self, kid: str | None) -> jwt.PyJWK:
        """The key named ``kid`` (or the only key when the token names none).

        Raises :class:`jwt.PyJWKClientConnectionError` when the JWKS cannot be fetched and
        :class:`jwt.PyJWTError` when no usable key matches.
        """
        return await asyncio.to_thread(self._lookup, kid)


class TokenVerifier:
    """Verifies bearer JWTs and turns their claims into a :class:`Principal`."""

    def __init__(
        self,
        *,
        secret: str = "",
        jwks_url: str = "",
        audiences: Sequence[str] = (),
        leeway_s: int = DEFAULT_LEEWAY_S,
        jwks_cooldown_s: float = 10.0,
    ) -> None:
        self._secret = secret
        self._audiences = list(audiences)
        self._leeway_s = leeway_s
        self._jwks = JwksKeys(jwks_url, cooldown_s=jwks_cooldown_s) if jwks_url else None

    def __repr__(self) -> str:
        return f"TokenVerifier(hs256={bool(self._secret)}, jwks={self._jwks is not None})"

    async def _jwks_key(self, jwks: JwksKeys, kid: str | None, alg: str) -> Any:
        try:
            jwk = await jwks.get(kid)
        except jwt.PyJWKClientConnectionError as exc:
            # Identity cannot be established: 401 like any unverifiable token (architecture §6),
            # logged because the operator, not the caller, has to act.
            log.warning("JWKS unavailable", extra={"error": str(exc)})
            raise Unauthorized("signing keys unavailable", code="TOKEN_INVALID") from exc
        except jwt.PyJWTError as exc:
            raise Unauthorized("signing key not found", code="TOKEN_INVALID") from exc
        if jwk.algorithm_name != alg:
            raise Unauthorized("token algorithm does not match its key", code="TOKEN_INVALID")
        return jwk.key

    async def verify(self, token: str) -> Principal:
        """The principal of a valid token; 401 otherwise."""
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError as exc:
            raise Unauthorized("malformed bearer token", code="TOKEN_INVALID") from exc
        alg = header.get("alg")
        key: Any
        if alg == "HS256" and self._secret:
            key = self._secret
        elif alg in _ASYMMETRIC and self._jwks is not None:
            kid = header.get("kid")
            key = await self._jwks_key(self._jwks, None if kid is None else str(kid), alg)
        else:
            raise Unauthorized(f"unsupported token algorithm {alg!r}", code="TOKEN_INVALID")
        try:
            claims = jwt.decode(
                token,
                key,
                algorithms=[alg],
                audience=self._audiences or None,
                leeway=self._leeway_s,
                options={"require": _REQUIRED_CLAIMS, "verify_aud": bool(self._audiences)},
            )
        except jwt.ExpiredSignatureError as exc:
            raise Unauthorized("token expired", code="TOKEN_EXPIRED") from exc
        except jwt.InvalidAudienceError as exc:
            raise Unauthorized("audience mismatch", code="AUDIENCE_MISMATCH") from exc
        except jwt.PyJWTError as exc:
            raise Unauthorized(f"invalid token: {exc}", code="TOKEN_INVALID") from exc
        return principal_from_claims(claims)


def _optional_uuid(claims: dict[str, Any], name: str) -> str | None:
    """``tenant_id``/``user_id`` are a uuid, ``""`` or null (domain.md §10.1); anything else is refused
    here rather than failing later as a 500 when it reaches a ``uuid`` column or the RLS setting."""
    raw = claims.get(name)
    if raw is None or raw == "":
        return None
    try:
        return str(uuid.UUID(str(raw)))
    except ValueError:
        raise Unauthorized(f"claim {name} is not a uuid", code="TOKEN_INVALID") from None


def _strings(raw: Any) -> Iterable[str]:
    if isinstance(raw, str):
        return [raw]
    if isinstance(raw, list | tuple):
        return [str(v) for v in raw]
    return []


def principal_from_claims(claims: dict[str, Any]) -> Principal:
    """The principal of verified claims; capabilities = the token's plus those its roles grant."""
    aud = claims.get("aud")
    if isinstance(aud, list):
        aud = aud[0] if aud else ""
    roles = tuple(_strings(claims.get("roles")))
    caps = frozenset(expand_capabilities(roles, _strings(claims.get("capabilities"))))
    return Principal(
        sub=str(claims.get("sub", "")),
        aud=str(aud or ""),
        tenant_id=_optional_uuid(claims, "tenant_id"),
        user_id=_optional_uuid(claims, "user_id"),
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
