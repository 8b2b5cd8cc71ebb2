"""JWT verification (HS256 dev secret; RS256/ES256 through a JWKS) and dev token issuing.

Every verification failure is a 401 with a specific code (decision 21): ``TOKEN_INVALID`` (malformed,
forged, unknown key, bad claims), ``TOKEN_EXPIRED`` and ``AUDIENCE_MISMATCH``. The algorithm is chosen by
the key source, never by the token alone: HS256 only with the configured secret, RS256/ES256 only with a
key from the JWKS whose type (and ``alg``, when the JWK names one) matches — so a public key can never be
abused as an HMAC secret.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Iterable, Sequence
from typing import Any

import httpx
import jwt

from shared.auth.principal import Principal, expand_capabilities
from shared.errors import Unauthorized

_ASYMMETRIC = frozenset({"RS256", "ES256"})
_REQUIRED_CLAIMS = ["exp", "sub", "aud"]
DEFAULT_LEEWAY_S = 30


class JwksCache:
    """The signing keys of a JWKS URL, cached for ``ttl_s``.

    An unknown ``kid`` triggers a refresh (key rotation), at most once per ``min_refresh_s`` so forged
    key ids cannot make us hammer the identity provider. Fetching is synchronous because verification is
    called from synchronous request helpers; it happens once per TTL, bounded by ``timeout_s``.
    """

    def __init__(
        self, url: str, *, ttl_s: float = 300.0, min_refresh_s: float = 10.0, timeout_s: float = 5.0
    ) -> None:
        self._url = url
        self._ttl_s = ttl_s
        self._min_refresh_s = min_refresh_s
        self._timeout_s = timeout_s
        self._keys: dict[str, jwt.PyJWK] = {}
        self._fetched_at = float("-inf")
        self._lock = threading.Lock()

    def _refresh(self) -> None:
        resp = httpx.get(self._url, timeout=self._timeout_s)
        resp.raise_for_status()
        keys: dict[str, jwt.PyJWK] = {}
        for raw in resp.json().get("keys", []):
            if raw.get("use", "sig") != "sig":
                continue
            try:
                key = jwt.PyJWK(raw)
            except jwt.PyJWTError:
                continue  # a key type we do not support must not hide the others
            keys[str(raw.get("kid", ""))] = key
        self._keys = keys
        self._fetched_at = time.monotonic()

    def get(self, kid: str | None) -> jwt.PyJWK | None:
        """The key named ``kid`` (or the only key when the token names none), refreshing when needed."""
        with self._lock:
            age = time.monotonic() - self._fetched_at
            if age > self._ttl_s or (self._lookup(kid) is None and age > self._min_refresh_s):
                try:
                    self._refresh()
                except (httpx.HTTPError, ValueError):
                    # Keep serving the keys we have; a token whose key we cannot find is rejected below.
                    self._fetched_at = time.monotonic() - self._ttl_s + self._min_refresh_s
            return self._lookup(kid)

    def _lookup(self, kid: str | None) -> jwt.PyJWK | None:
        if kid is not None:
            return self._keys.get(kid)
        return next(iter(self._keys.values())) if len(self._keys) == 1 else None


class TokenVerifier:
    """Verifies bearer JWTs and turns their claims into a :class:`Principal`."""

    def __init__(
        self,
        *,
        secret: str = "",
        jwks_url: str = "",
        audiences: Sequence[str] = (),
        leeway_s: int = DEFAULT_LEEWAY_S,
    ) -> None:
        self._secret = secret
        self._audiences = list(audiences)
        self._leeway_s = leeway_s
        self._jwks = JwksCache(jwks_url) if jwks_url else None

    def verify(self, token: str) -> Principal:
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
            jwk = self._jwks.get(header.get("kid"))
            if jwk is None:
                raise Unauthorized("signing key not found", code="TOKEN_INVALID")
            if jwk.algorithm_name != alg:
                raise Unauthorized("token algorithm does not match its key", code="TOKEN_INVALID")
            key = jwk.key
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
