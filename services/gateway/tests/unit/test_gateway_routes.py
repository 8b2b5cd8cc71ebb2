"""The route table: ownership split, auth modes, out-of-scope rows (architecture §6, decision 34)."""

from __future__ import annotations

import pytest

from gateway_service.routes import ROUTES, Auth, resolve

WO = "/v1/repogen/work-orders/6f1c1b9e-8a57-4c0e-9d5f-0c7a5a0f2d11"


@pytest.mark.parametrize(
    ("method", "path", "service"),
    [
        ("GET", "/v1/repogen/work-orders", "workorders"),
        ("POST", "/v1/repogen/work-orders", "workorders"),
        ("GET", WO, "workorders"),
        ("PATCH", f"{WO}/contract", "workorders"),
        ("POST", f"{WO}/status", "workorders"),
        ("GET", f"{WO}/export", "workorders"),
        ("GET", f"{WO}/comments", "workorders"),
        ("POST", f"{WO}/comments", "workorders"),
        ("POST", f"{WO}/something-new", "workorders"),
        ("POST", f"{WO}/evidence/link", "evidence"),
        ("GET", f"{WO}/evidence-profiles", "evidence"),
        ("POST", f"{WO}/evidence-profile", "evidence"),
        ("GET", f"{WO}/evidence-checklist", "evidence"),
        ("GET", f"{WO}/field-evidence-links", "evidence"),
        ("POST", f"{WO}/field-evidence-links", "evidence"),
        ("POST", f"{WO}/ocr/enqueue", "evidence"),
        ("POST", f"{WO}/annexure/auto-order", "evidence"),
        ("GET", f"{WO}/documents/abc", "evidence"),
        ("POST", "/v1/documents", "evidence"),
        ("GET", "/v1/documents/abc/download", "evidence"),
        ("POST", f"{WO}/create-pack", "factory"),
        ("GET", f"{WO}/pack", "factory"),
        ("POST", f"{WO}/release-deliverables", "factory"),
        ("GET", f"{WO}/releases", "factory"),
        ("GET", f"{WO}/evidence-pack", "factory"),
        ("GET", f"{WO}/artifacts/abc/download", "factory"),
        ("GET", "/v1/billing/accounts/status", "billing"),
        ("POST", "/v1/invoices/abc/issue", "billing"),
        ("GET", "/v1/control/tenant", "billing"),
    ],
)
def test_work_order_surface_is_split_by_pattern(method: str, path: str, service: str) -> None:
    route = resolve(method, path)
    assert route is not None
    assert route.service == service
    assert not route.out_of_scope


@pytest.mark.parametrize(
    ("method", "path", "auth", "capability"),
    [
        ("GET", "/v1/meta", Auth.PUBLIC, None),
        ("POST", "/v1/auth/login", Auth.PUBLIC, None),
        ("GET", WO, Auth.JWT, None),
        ("GET", "/v1/billing/accounts/abc/status", Auth.SERVICE_TOKEN, None),
        ("POST", "/v1/billing/credits/reserve", Auth.SERVICE_TOKEN, None),
        ("GET", "/v1/billing/credits/ledger", Auth.SERVICE_TOKEN, None),
        ("GET", "/v1/billing/subscription", Auth.JWT, None),
        ("GET", "/v1/billing/credits/summary", Auth.JWT, None),
        ("POST", "/v1/billing/gate-decisions/abc/replay", Auth.SERVICE_TOKEN, None),
        ("GET", "/v1/control/tenant", Auth.STUDIO_ADMIN, "masterdata.read"),
        ("POST", "/v1/control/subscriptions", Auth.STUDIO_ADMIN, "masterdata.write"),
        ("GET", "/v1/control/subscriptions", Auth.STUDIO_ADMIN, "masterdata.read"),
        ("POST", "/v1/control/accounts/abc/credits/grant", Auth.STUDIO_ADMIN, "invoices.write"),
        ("POST", "/v1/payments/webhooks/stripe", Auth.WEBHOOK, None),
        ("POST", "/v1/webhooks/razorpay", Auth.WEBHOOK, None),
        ("POST", "/v1/payments/checkout-link", Auth.JWT, None),
    ],
)
def test_auth_modes(method: str, path: str, auth: Auth, capability: str | None) -> None:
    route = resolve(method, path)
    assert route is not None
    assert (route.auth, route.capability) == (auth, capability)


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/v1/assignments/abc/report-generation/context"),
        ("POST", "/v1/assignments/abc/report-generation/generate"),
        ("GET", "/v1/report-generation/jobs/abc"),
        ("POST", "/v1/control/onboard"),
        ("GET", "/v1/billing/me"),
        ("GET", "/v1/billing/invoices"),
        ("POST", "/v1/billing/invoices/abc/mark-paid"),
    ],
)
def test_out_of_scope_rows_win_over_fallbacks(method: str, path: str) -> None:
    route = resolve(method, path)
    assert route is not None
    assert route.out_of_scope


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/v1/nothing-here"),
        ("DELETE", "/v1/repogen/work-orders"),
        ("GET", "/v1/meta/x"),
        ("GET", "/v2/repogen/work-orders"),
    ],
)
def test_unknown_routes_resolve_to_nothing(method: str, path: str) -> None:
    assert resolve(method, path) is None


def test_every_row_names_a_known_service_and_a_v1_path() -> None:
    assert {r.service for r in ROUTES} == {"gateway", "workorders", "evidence", "factory", "billing"}
    assert all(r.template.startswith("/v1/") for r in ROUTES)
    assert all(r.auth is Auth.STUDIO_ADMIN for r in ROUTES if r.capability)


def test_webhook_rows_take_no_identity_and_only_post() -> None:
    get = resolve("GET", "/v1/webhooks/stripe")
    post = resolve("POST", "/v1/webhooks/stripe")
    assert get is None
    assert post is not None
    assert post.auth is Auth.WEBHOOK
