"""The declarative route table: method + path pattern → owning service + auth mode (architecture §6).

Rows are data, not code: every route of domain.md §9 that is in scope has an explicit row (its pattern is
also the metrics label and the filter of the merged OpenAPI document). ``/v1/repogen/work-orders/:id/*``
is split across services by pattern, not by prefix. Resolution order:

1. out-of-scope rows (decision 34) → 404 ``ROUTE_NOT_FOUND`` even where a fallback would match;
2. explicit rows, in table order (the first match wins);
3. fallback rows (``fallback=True``): one per owned namespace, so routes a service adds beyond domain.md
   (downloads, replays) reach it with that namespace's auth mode; the service answers its own 404.

Anything else is 404 ``ROUTE_NOT_FOUND``. Upstream paths are identical to the public ones: the services
serve the ``/v1/...`` paths themselves.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum


class Auth(StrEnum):
    """How the gateway authenticates a route before proxying it."""

    PUBLIC = "public"
    JWT = "jwt"
    SERVICE_TOKEN = "service_token"  # noqa: S105  the name of an auth scheme
    STUDIO_ADMIN = "studio_admin"
    WEBHOOK = "webhook"
    OPS = "ops"  # the service token or a studio caller (shared.ops.auth), issue 17


#: Services behind the gateway, plus ``gateway`` for routes it answers itself.
GATEWAY = "gateway"
WORKORDERS = "workorders"
EVIDENCE = "evidence"
FACTORY = "factory"
BILLING = "billing"
UPSTREAMS = (WORKORDERS, EVIDENCE, FACTORY, BILLING)

ALL_METHODS = frozenset({"GET", "POST", "PUT", "PATCH", "DELETE"})

#: body classes (``Route.body_class``): the edge's request-body limit per class (``gateway_service.edge``)
JSON_BODY = "json"
UPLOAD = "upload"

#: Read your writes (architecture §4): the ``(service, aggregate)`` tokens each upstream waits on, i.e.
#: the projections it keeps. The gateway forwards to a service only these, so no service waits on a
#: version of an aggregate it never sees (issue 12). Keep in step with each service's
#: ``await_projections(..., lookups)`` in its api.py.
PROJECTED_BY: dict[str, frozenset[tuple[str, str]]] = {
    WORKORDERS: frozenset(
        {("evidence", "work-order-evidence"), ("billing", "work-order-billing"), ("factory", "pack")}
    ),
    EVIDENCE: frozenset({("workorders", "work-order")}),
    FACTORY: frozenset(
        {("workorders", "work-order"), ("billing", "work-order-billing"), ("factory", "pack")}
    ),
    BILLING: frozenset({("workorders", "work-order")}),
}


@dataclass(frozen=True)
class Route:
    """One row. ``template`` uses ``:name`` for one segment and a trailing ``/*`` for any sub-path."""

    methods: frozenset[str]
    template: str
    service: str
    auth: Auth
    capability: str | None = None  # checked at the edge too (403), services check again
    bucket: str | None = None  # an extra rate-limit bucket (the control plane's per-IP limit)
    fallback: bool = False
    out_of_scope: bool = False
    body_class: str = JSON_BODY  # the edge's request-body limit (``upload`` for file uploads)

    @property
    def pattern(self) -> re.Pattern[str]:
        return _compile(self.template)

    def matches(self, method: str, path: str) -> bool:
        return method in self.methods and self.pattern.fullmatch(path) is not None


_COMPILED: dict[str, re.Pattern[str]] = {}


def _compile(template: str) -> re.Pattern[str]:
    compiled = _COMPILED.get(template)
    if compiled is None:
        regex = re.escape(template)
        regex = re.sub(r":[a-zA-Z_]+", "[^/]+", regex)
        if regex.endswith("/\\*"):
            regex = regex[: -len("/\\*")] + "(?:/.*)?"
        compiled = _COMPILED[template] = re.compile(regex)
    return compiled


def _r(
    methods: str,
    template: str,
    service: str,
    auth: Auth,
    *,
    capability: str | None = None,
    bucket: str | None = None,
    body_class: str = JSON_BODY,
) -> Route:
    chosen = ALL_METHODS if methods == "*" else frozenset(methods.split(","))
    return Route(chosen, template, service, auth, capability=capability, bucket=bucket, body_class=body_class)


def _owned(service: str, auth: Auth, *rows: str) -> tuple[Route, ...]:
    """Rows of one service and auth mode, each ``"METHODS template"`` (in table order)."""
    return tuple(
        _r(methods, template, service, auth) for methods, template in (r.split(" ", 1) for r in rows)
    )


def _fallback(template: str, service: str, auth: Auth, *, bucket: str | None = None) -> Route:
    return Route(ALL_METHODS, template, service, auth, bucket=bucket, fallback=True)


def _gone(template: str) -> Route:
    return Route(ALL_METHODS, template, GATEWAY, Auth.PUBLIC, out_of_scope=True)


WO = "/v1/repogen/work-orders/:id"
CONTROL = "control"  # the control plane's extra per-IP bucket (domain.md §9.5, decision 30)


def _invoice_routes(base: str) -> tuple[Route, ...]:
    """Service invoices (domain.md §9.3); ``/v1/invoices`` is an alias of ``/v1/service-invoices``."""
    j = Auth.JWT
    return (
        _r("GET,POST", base, BILLING, j),
        _r("GET,PATCH", f"{base}/:id", BILLING, j),
        _r("POST", f"{base}/:id/issue", BILLING, j),
        _r("POST", f"{base}/:id/send", BILLING, j),
        _r("POST", f"{base}/:id/void", BILLING, j),
        _r("POST", f"{base}/:id/payments", BILLING, j),
        _r("POST", f"{base}/:id/mark-paid", BILLING, j),
        _r("POST", f"{base}/:id/adjustments", BILLING, j),
        _r("POST", f"{base}/:id/remind", BILLING, j),
        _r("GET", f"{base}/:id/context", BILLING, j),
        _r("GET", f"{base}/:id/pdf", BILLING, j),
        _r("POST", f"{base}/:id/payment-proof", BILLING, j),
    )


def _control(methods: str, path: str, capability: str) -> Route:
    return _r(
        methods, f"/v1/control{path}", BILLING, Auth.STUDIO_ADMIN, capability=capability, bucket=CONTROL
    )


_J = Auth.JWT
_S = Auth.SERVICE_TOKEN
_MR, _MW, _IW = "masterdata.read", "masterdata.write", "invoices.write"

OUT_OF_SCOPE: tuple[Route, ...] = (
    # decision 34: M5.3 assignment-scoped generation, superseded by the work-order bridge
    _gone("/v1/assignments/:id/report-generation/*"),
    _gone("/v1/report-generation/*"),
    # decision 34: tenant/user onboarding
    _gone("/v1/control/onboard"),
    # decision 34: M3 legacy usage billing (domain.md §7.12)
    _gone("/v1/billing/me"),
    _gone("/v1/billing/invoices/*"),
)

#: the gateway's own liveness and readiness (``shared.health``): rows so the merged OpenAPI documents them
PROBES: tuple[Route, ...] = (
    _r("GET", "/healthz", GATEWAY, Auth.PUBLIC),
    _r("GET", "/readyz", GATEWAY, Auth.PUBLIC),
)

ROUTES: tuple[Route, ...] = (
    # --- the gateway itself
    _r("GET", "/v1/meta", GATEWAY, Auth.PUBLIC),
    _r("POST", "/v1/auth/login", GATEWAY, Auth.PUBLIC),
    # --- work orders (domain.md §9.1, §1.5–§1.9)
    *_owned(
        WORKORDERS,
        _J,
        "GET,POST /v1/repogen/work-orders",
        f"GET {WO}",
        f"PATCH {WO}/contract",
        f"GET {WO}/export",
        f"POST {WO}/status",
        f"GET,POST {WO}/comments",
    ),
    # --- evidence: documents, evidence link, profiles, checklist, field links, OCR, annexure (§1.6, §4)
    _r("POST", "/v1/documents", EVIDENCE, _J, body_class=UPLOAD),
    _r("GET", "/v1/documents", EVIDENCE, _J),  # the original API's list (issue 20)
    *_owned(
        EVIDENCE,
        _J,
        "GET /v1/documents/:id",
        "GET /v1/documents/:id/download",
        f"* {WO}/documents/*",
        f"POST {WO}/evidence/link",
        f"* {WO}/evidence/*",
        f"GET {WO}/evidence-profiles",
        f"POST {WO}/evidence-profile",
        f"GET {WO}/evidence-checklist",
        f"GET,POST {WO}/field-evidence-links",
        f"POST {WO}/ocr/enqueue",
        f"* {WO}/ocr/*",
        f"* {WO}/annexure/*",
        "* /v1/repogen/evidence-profiles/*",
    ),
    # --- factory: packs, releases, deliverable downloads (§5.3, §6)
    *_owned(
        FACTORY,
        _J,
        f"POST {WO}/create-pack",
        f"GET {WO}/pack",
        f"* {WO}/pack/*",
        f"POST {WO}/release-deliverables",
        f"GET {WO}/releases",
        f"GET {WO}/evidence-pack",
        f"* {WO}/artifacts/*",
        "* /v1/repogen/artifacts/*",
        "* /v1/repogen/packs/*",
    ),
    # --- public report verification by the code printed on every page (issue 21): no token, per-IP limit
    _r("GET", "/v1/verify/:code", FACTORY, Auth.PUBLIC),
    # --- billing, service token (V1, §9.2, decision 22) and the tenant's JWT views
    *_owned(
        BILLING,
        _S,
        "GET /v1/billing/accounts/status",
        "GET /v1/billing/accounts/:id/status",
        "POST /v1/billing/credits/reserve",
        "POST /v1/billing/credits/consume",
        "POST /v1/billing/credits/release",
        "POST /v1/billing/credits/reconcile",
        "GET /v1/billing/credits/reservations",
        "GET /v1/billing/credits/ledger",
        "GET /v1/billing/timeline",
        "POST /v1/billing/events",
        "POST /v1/billing/subscriptions/refill-due",
    ),
    _r("GET", "/v1/billing/subscription", BILLING, _J),
    _r("GET", "/v1/billing/credits/summary", BILLING, _J),
    _r("GET", "/v1/billing/work-orders/:id", BILLING, _J),
    # --- service invoices (§9.3)
    *_invoice_routes("/v1/service-invoices"),
    *_invoice_routes("/v1/invoices"),
    # --- payments and provider webhooks (§9.4): webhook bodies pass through byte for byte
    _r("POST", "/v1/payments/checkout-link", BILLING, _J),
    _r("POST", "/v1/payments/topup", BILLING, _J),
    _r("POST", "/v1/payments/webhooks/stripe", BILLING, Auth.WEBHOOK),
    _r("POST", "/v1/payments/webhooks/razorpay", BILLING, Auth.WEBHOOK),
    _r("POST", "/v1/webhooks/stripe", BILLING, Auth.WEBHOOK),
    _r("POST", "/v1/webhooks/razorpay", BILLING, Auth.WEBHOOK),
    # --- studio control plane (§9.5): aud=studio JWT or the admin bearer, plus a capability
    _control("GET", "/tenant", _MR),
    _control("POST", "/accounts", _MW),
    _control("GET", "/accounts/:id/status", _MR),
    _control("PATCH", "/accounts/:id/policy", _IW),
    _control("PATCH", "/accounts/:id/status", _MW),
    _control("POST", "/accounts/:id/credits/grant", _IW),
    _control("GET", "/subscriptions", _MR),
    _control("POST", "/subscriptions", _MW),
    _control("POST", "/subscriptions/assign", _MW),
    _control("POST", "/subscriptions/refill-due", _IW),
    _control("PATCH", "/subscriptions/:id", _MW),
    _control("POST", "/subscriptions/:id/refill", _IW),
    _control("POST", "/subscriptions/:id/payments", _IW),
    _control("GET", "/credits", _MR),
    _control("GET", "/credits/tenant/:id", _MR),
    _control("GET", "/credits/reservations", _MR),
    _control("GET", "/credits/timeline", _MR),
    _control("POST", "/credits/reserve", _IW),
    _control("POST", "/credits/consume", _IW),
    _control("POST", "/credits/release", _IW),
    _control("POST", "/credits/reconcile", _IW),
    _control("GET", "/payments/orders", _MR),
    _control("GET", "/payments/events", _MR),
    # --- ops routes of every service (issue 17): reads need ops.read, replays and discards ops.write
    *(_r("GET", f"/v1/ops/{svc}/*", svc, Auth.OPS, capability="ops.read") for svc in UPSTREAMS),
    *(_r("POST", f"/v1/ops/{svc}/*", svc, Auth.OPS, capability="ops.write") for svc in UPSTREAMS),
    # --- fallbacks per owned namespace (see the module docstring)
    _fallback(f"{WO}/*", WORKORDERS, _J),
    _fallback("/v1/documents/*", EVIDENCE, _J),
    _fallback("/v1/billing/*", BILLING, _S),
    _fallback("/v1/control/*", BILLING, Auth.STUDIO_ADMIN, bucket=CONTROL),
    _fallback("/v1/service-invoices/*", BILLING, _J),
    _fallback("/v1/invoices/*", BILLING, _J),
    _fallback("/v1/payments/*", BILLING, _J),
)


class RouteTable:
    """Resolves a request to its row (see the module docstring for the order)."""

    def __init__(
        self,
        routes: tuple[Route, ...] = ROUTES,
        out_of_scope: tuple[Route, ...] = OUT_OF_SCOPE,
        probes: tuple[Route, ...] = PROBES,
    ) -> None:
        self.routes = routes
        self.out_of_scope = out_of_scope
        self._explicit = probes + tuple(r for r in routes if not r.fallback)
        self._fallbacks = tuple(r for r in routes if r.fallback)

    def resolve(self, method: str, path: str) -> Route | None:
        """The row serving ``method path``, an out-of-scope row, or ``None``."""
        for group in (self.out_of_scope, self._explicit, self._fallbacks):
            for route in group:
                if route.matches(method, path):
                    return route
        return None


DEFAULT_TABLE = RouteTable()


def resolve(method: str, path: str) -> Route | None:
    """The row of the default table matching ``method`` and ``path``."""
    return DEFAULT_TABLE.resolve(method, path)
