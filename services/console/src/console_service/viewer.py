"""Who is signed in and what the pages let them press (domain.md §10).

The gateway and the services enforce every rule again; the console only hides what would be refused.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import jwt

from shared.auth.principal import Principal
from shared.auth.tokens import principal_from_claims
from shared.errors import Unauthorized


@dataclass(frozen=True)
class Viewer:
    """The signed-in user as the pages see them."""

    principal: Principal
    dev: bool

    @property
    def name(self) -> str:
        """What the header shows."""
        roles = ", ".join(self.principal.roles) or "no roles"
        return f"{self.principal.sub} ({self.principal.aud}; {roles})"

    @property
    def can_write(self) -> bool:
        """Create work orders, patch contracts, upload, comment, move statuses: any staff audience."""
        return not self.principal.is_portal and self.principal.tenant_id is not None

    @property
    def can_release(self) -> bool:
        """Create packs and release deliverables: the factory operator of domain.md §10.2."""
        return self.principal.is_factory_operator(dev=self.dev)


def claims_of(token: str) -> dict[str, Any]:
    """The claims of a token the console already trusts (issued by the gateway's login or verified at
    sign-in), read without checking the signature again: the gateway checks it on every call."""
    try:
        claims: dict[str, Any] = jwt.decode(token, options={"verify_signature": False})
    except jwt.PyJWTError as exc:
        raise Unauthorized("malformed bearer token", code="TOKEN_INVALID") from exc
    return claims


def viewer_of(token: str, *, dev: bool) -> Viewer:
    """The viewer of a session's token."""
    return Viewer(principal_from_claims(claims_of(token)), dev=dev)
