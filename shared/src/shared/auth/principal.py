"""The authenticated caller, its capabilities (domain.md §10.1) and its tenant context."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from shared.errors import BadRequest, Forbidden

ROLE_CAPABILITIES: dict[str, frozenset[str]] = {
    "ops_manager": frozenset(
        {
            "masterdata.read",
            "masterdata.write",
            "employees.read",
            "attendance.read",
            "attendance.write",
            "assignments.transition",
            "tasks.read",
            "tasks.write",
            "notifications.routes.read",
            "notifications.send",
            "invoices.read",
        }
    ),
    "accounts": frozenset(
        {
            "masterdata.read",
            "tasks.read",
            "payroll.read",
            "payroll.write",
            "payroll.run",
            "invoices.read",
            "invoices.write",
        }
    ),
    "hr": frozenset(
        {
            "masterdata.read",
            "employees.read",
            "employees.write",
            "attendance.read",
            "attendance.write",
            "tasks.read",
            "payroll.read",
        }
    ),
    "valuer": frozenset({"attendance.write", "masterdata.read"}),
    "portal_user": frozenset(),
}

#: Audiences a token may carry (domain.md §10.1).
AUDIENCES = frozenset({"web", "studio", "portal", "worker", "service"})
#: The external audience: reaches only its own CHANNEL work orders (decision "Hardening (issue 12): audience").
PORTAL = "portal"
#: Audiences that act for their tenant's staff; RLS lets them see every row of their tenant.
STAFF_AUDIENCES = frozenset({"web", "studio", "worker", "service"})
#: The only work-order source a portal user may create, read or comment on (decision 34 + issue 12).
PORTAL_SOURCE_TYPE = "CHANNEL"

FACTORY_OPERATOR_MARKERS = frozenset(
    {"admin", "owner", "ops", "repogen_factory", "factory_ops", "deliverables_release"}
)


def expand_capabilities(roles: Iterable[str], capabilities: Iterable[str] = ()) -> list[str]:
    """Capabilities granted by ``roles`` plus explicit ones; ``super_admin`` → ``*`` (domain.md §10.1)."""
    caps: set[str] = set(capabilities)
    for role in roles:
        if role == "super_admin":
            caps.add("*")
        caps |= ROLE_CAPABILITIES.get(role, frozenset())
    return sorted(caps)


@dataclass(frozen=True)
class Principal:
    """Who calls: from a verified JWT, the service token or the studio admin token."""

    sub: str
    aud: str
    tenant_id: str | None
    user_id: str | None
    roles: tuple[str, ...] = ()
    capabilities: frozenset[str] = field(default_factory=frozenset)
    kind: str = "jwt"  # jwt | service | studio_admin

    @property
    def is_super(self) -> bool:
        return "super_admin" in self.roles or "*" in self.capabilities

    def has(self, capability: str) -> bool:
        return self.is_super or capability in self.capabilities

    def require(self, *capabilities: str) -> None:
        """403 unless every capability is present (super admin and ``*`` bypass)."""
        missing = [c for c in capabilities if not self.has(c)]
        if missing:
            raise Forbidden(
                f"missing capabilities: {', '.join(missing)}",
                code="MISSING_CAPABILITIES",
                details={"missing": missing},
            )

    def require_tenant(self) -> str:
        """The tenant of the caller; 400 ``TENANT_CONTEXT_REQUIRED`` without one (domain.md §9.1)."""
        if not self.tenant_id:
            raise BadRequest("tenant context required", code="TENANT_CONTEXT_REQUIRED")
        return self.tenant_id

    def require_user(self) -> str:
        """The user of the caller; 400 ``USER_CONTEXT_REQUIRED`` without one (mutations, domain.md §9.1)."""
        if not self.user_id:
            raise BadRequest("user context required", code="USER_CONTEXT_REQUIRED")
        return self.user_id

    @property
    def client_key(self) -> str:
        """A stable identity of the caller for per-client state at the edge (rate limits, tokens)."""
        if self.kind == "jwt":
            return f"jwt:{self.tenant_id or '-'}:{self.sub}"
        return f"{self.kind}:{self.sub}"

    @property
    def is_portal(self) -> bool:
        """An external (portal) caller: scoped to its own CHANNEL work orders, no control plane."""
        return self.aud == PORTAL

    def deny_portal(self, area: str) -> None:
        """403 ``PORTAL_<AREA>_FORBIDDEN`` for a portal caller on a route its audience may not use."""
        if self.is_portal:
            raise Forbidden(
                f"the portal audience may not use this route ({area.lower().replace('_', ' ')})",
                code=f"PORTAL_{area.upper()}_FORBIDDEN",
                details={"aud": self.aud},
            )

    def may_see_work_order(self, *, source_type: str | None, created_by_user_id: object) -> bool:
        """The row rule RLS enforces too: staff see their tenant's work orders; portal only the
        CHANNEL ones its own user created (never TENANT or EXTERNAL ones)."""
        if not self.is_portal:
            return True
        return (
            source_type == PORTAL_SOURCE_TYPE
            and self.user_id is not None
            and created_by_user_id is not None
            and str(created_by_user_id) == self.user_id
        )

    def is_factory_operator(self, *, dev: bool) -> bool:
        """domain.md §10.2; the role-less ``web`` fallback exists only in dev (architecture §6)."""
        if self.kind in {"service", "studio_admin"} or self.aud == "studio":
            return True
        if self.aud == "portal":
            return False
        markers = {r.lower() for r in self.roles} | {c.lower() for c in self.capabilities}
        if markers & FACTORY_OPERATOR_MARKERS:
            return True
        return dev and self.aud == "web" and not self.roles and not self.capabilities
