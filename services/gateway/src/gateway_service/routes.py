"""The declarative route table: method + path pattern → owning service + auth mode (architecture §6).

``/v1/repogen/work-orders/:id/*`` is split across services by pattern, not by prefix. The first matching
row wins; anything unmatched is 404 (decision 34).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum


class Auth(StrEnum):
    PUBLIC = "public"
    JWT = "jwt"
    SERVICE_TOKEN = "service_token"
    STUDIO_ADMIN = "studio_admin"
    WEBHOOK = "webhook"


@dataclass(frozen=True)
class Route:
    methods: frozenset[str]
    pattern: re.Pattern[str]
    service: str
    auth: Auth

    def matches(self, method: str, path: str) -> bool:
        return method in self.methods and self.pattern.fullmatch(path) is not None


def _r(methods: str, pattern: str, service: str, auth: Auth) -> Route:
    regex = re.sub(r":[a-zA-Z_]+", r"[^/]+", pattern)
    regex = regex.replace("/*", "(/.*)?")
    return Route(frozenset(methods.split(",")), re.compile(regex), service, auth)


ANY = "GET,POST,PUT,PATCH,DELETE"
WO = "/v1/repogen/work-orders/:id"

ROUTES: tuple[Route, ...] = (
    # evidence owns documents, evidence items, profiles, field links and OCR
    _r(ANY, "/v1/documents/*", "evidence", Auth.JWT),
    _r("POST", "/v1/documents", "evidence", Auth.JWT),
    _r("POST", f"{WO}/evidence/link", "evidence", Auth.JWT),
    _r(ANY, f"{WO}/evidence/*", "evidence", Auth.JWT),
    _r(ANY, f"{WO}/evidence-profiles", "evidence", Auth.JWT),
    _r(ANY, f"{WO}/evidence-profile", "evidence", Auth.JWT),
    _r(ANY, f"{WO}/evidence-checklist", "evidence", Auth.JWT),
    _r(ANY, f"{WO}/field-evidence-links", "evidence", Auth.JWT),
    _r(ANY, f"{WO}/ocr/*", "evidence", Auth.JWT),
    _r(ANY, f"{WO}/annexure/*", "evidence", Auth.JWT),
    _r(ANY, "/v1/repogen/evidence-profiles/*", "evidence", Auth.JWT),
    # factory owns packs, releases and deliverable downloads
    _r(ANY, f"{WO}/create-pack", "factory", Auth.JWT),
    _r(ANY, f"{WO}/pack", "factory", Auth.JWT),
    _r(ANY, f"{WO}/pack/*", "factory", Auth.JWT),
    _r(ANY, f"{WO}/release-deliverables", "factory", Auth.JWT),
    _r(ANY, f"{WO}/releases", "factory", Auth.JWT),
    _r(ANY, f"{WO}/evidence-pack", "factory", Auth.JWT),
    _r(ANY, "/v1/repogen/artifacts/*", "factory", Auth.JWT),
    _r(ANY, "/v1/repogen/packs/*", "factory", Auth.JWT),
    # workorders owns the rest of the work-order surface
    _r(ANY, "/v1/repogen/work-orders", "workorders", Auth.JWT),
    _r(ANY, "/v1/repogen/work-orders/*", "workorders", Auth.JWT),
    # billing
    _r(ANY, "/v1/billing/work-orders/*", "billing", Auth.JWT),
    _r("GET", "/v1/billing/subscription", "billing", Auth.JWT),
    _r("GET", "/v1/billing/credits/summary", "billing", Auth.JWT),
    _r(ANY, "/v1/billing/*", "billing", Auth.SERVICE_TOKEN),
    _r(ANY, "/v1/control/*", "billing", Auth.STUDIO_ADMIN),
    _r(ANY, "/v1/service-invoices", "billing", Auth.JWT),
    _r(ANY, "/v1/service-invoices/*", "billing", Auth.JWT),
    _r(ANY, "/v1/invoices", "billing", Auth.JWT),
    _r(ANY, "/v1/invoices/*", "billing", Auth.JWT),
    _r("POST", "/v1/payments/webhooks/*", "billing", Auth.WEBHOOK),
    _r("POST", "/v1/webhooks/*", "billing", Auth.WEBHOOK),
    _r(ANY, "/v1/payments/*", "billing", Auth.JWT),
)


def resolve(method: str, path: str) -> Route | None:
    """The first route row matching ``method`` and ``path``."""
    for route in ROUTES:
        if route.matches(method, path):
            return route
    return None
