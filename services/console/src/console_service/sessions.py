"""The session cookie: the user's token and a CSRF token, encrypted and signed (Fernet).

The cookie is ``HttpOnly`` (no script reads it), ``SameSite=Lax`` (not sent on cross-site POSTs) and
``Secure`` outside dev. Every form carries the session's CSRF token and every POST is refused unless the
token it sends (form field ``csrf_token`` or header ``X-CSRF-Token``) equals the session's: a session
bound token, so a page of another origin can neither read nor forge it.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
from dataclasses import dataclass, replace
from typing import Any

from cryptography.fernet import Fernet, InvalidToken

COOKIE = "zc_session"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "x-csrf-token"
_MAX_COOKIE_CHARS = 3800  # browsers keep 4 KiB per cookie


@dataclass(frozen=True)
class Session:
    """One browser's session: a CSRF token always, a bearer token once signed in."""

    csrf: str
    token: str | None = None
    name: str = ""

    @classmethod
    def anonymous(cls) -> Session:
        """A new session without a user (the sign-in page's)."""
        return cls(csrf=secrets.token_urlsafe(32))

    def signed_in(self, token: str, name: str) -> Session:
        """The session after sign-in: a fresh CSRF token (no fixation across the login)."""
        return replace(self, token=token, name=name, csrf=secrets.token_urlsafe(32))

    def csrf_ok(self, sent: str | None) -> bool:
        """Whether ``sent`` is this session's CSRF token (constant-time)."""
        return bool(sent) and hmac.compare_digest(self.csrf.encode(), str(sent).encode())


class SessionCodec:
    """Encrypts sessions into cookie values and back (expired or tampered -> ``None``)."""

    def __init__(self, secret: str, ttl_s: int) -> None:
        key = base64.urlsafe_b64encode(hashlib.sha256(f"zenops-console:{secret}".encode()).digest())
        self._fernet = Fernet(key)
        self._ttl_s = ttl_s

    def dumps(self, session: Session) -> str:
        """The cookie value of ``session``; raises ``ValueError`` when it would not fit a cookie."""
        raw = json.dumps({"c": session.csrf, "t": session.token, "n": session.name}, separators=(",", ":"))
        value = self._fernet.encrypt(raw.encode()).decode()
        if len(value) > _MAX_COOKIE_CHARS:
            raise ValueError("the token is too large for a session cookie")
        return value

    def loads(self, value: str | None) -> Session | None:
        """The session in a cookie value, or ``None`` when absent, expired, forged or malformed."""
        if not value or len(value) > _MAX_COOKIE_CHARS:
            return None
        try:
            data: Any = json.loads(self._fernet.decrypt(value.encode(), ttl=self._ttl_s))
        except (InvalidToken, ValueError):
            return None
        if not isinstance(data, dict) or not isinstance(data.get("c"), str):
            return None
        token = data.get("t")
        return Session(
            csrf=data["c"],
            token=token if isinstance(token, str) else None,
            name=str(data.get("n") or ""),
        )
