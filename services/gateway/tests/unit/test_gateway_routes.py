"""The route table: ownership split, auth modes, out-of-scope rows (architecture §6, decision 34)."""

from __future__ import annotations

import pytest

from gateway_service.routes import ROUTES, Auth, resolve

WO = "/v1/repogen/work-orders/6f1c1b9e-8a57-4c0e-9d5f-0c7a5a0f2d11"


#: who answers each request, as ``"METHOD path"`` per owning service
OWNERS: dict[str, tuple[str, ...]] = {
    "workorders": (
        "GET /v1/repogen/work-orders",
        "POST /v1/repogen/work-orders",
        f"GET {WO}",
        f"PATCH {WO}/contract",
        f"POST {WO}/status",
        f"GET {WO}/export",
        f"GET {WO}/comments",
        f"POST {WO}/comments",
        f"POST {WO}/something-new",
    ),
    "evidence": (
        f"POST {WO}/evidence/link",
        f"GET {WO}/evidence-profiles",
        f"POST {WO}/evidence-profile",
        f"GET {WO}/evidence-checklist",
        f"GET {WO}/field-evidence-links",
        f"POST {WO}/field-evidence-links",
        f"POST {WO}/ocr/enqueue",
        f"POST {WO}/annexure/auto-order",
        f"GET {WO}/documents/abc",
        "POST /v1/documents",
        "GET /v1/documents",
        "GET /v1/documents/abc/download",
    ),
    "factory": (
        f"POST {WO}/create-pack",
        f"GET {WO}/pack",
        f"POST {WO}/release-deliverables",
        f"GET {WO}/releases",
        f"GET {WO}/evidence-pack",
        f"GET {WO}/artifacts/abc/download",
    ),
    "billing": (
        "GET /v1/billing/accounts/status",
        "POST /v1/invoices/abc/issue",
        "GET /v1/control/tenant",
    ),
}


@pytest.mark.parametrize(
    ("method", "path", "service"),
    [(*request.split(" ", 1), service) for service, requests in OWNERS.items() for request in requests],
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
        ("GET", "/v1/verify/7KQ2-M9XD-4RTB", Auth.PUBLIC, None),
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
    assert all(r.auth in (Auth.STUDIO_ADMIN, Auth.OPS) for r in ROUTES if r.capability)


@pytest.mark.parametrize("service", ["workorders", "evidence", "factory", "billing"])
def test_each_service_owns_its_ops_routes(service: str) -> None:
    read = resolve("GET", f"/v1/ops/{service}/dead-letters")
    write = resolve("POST", f"/v1/ops/{service}/dead-letters/x/replay")
    assert read is not None
    assert write is not None
    assert (read.service, read.auth, read.capability) == (service, Auth.OPS, "ops.read")
    assert (write.service, write.auth, write.capability) == (service, Auth.OPS, "ops.write")
    assert resolve("DELETE", f"/v1/ops/{service}/dead-letters/x") is None


def test_webhook_rows_take_no_identity_and_only_post() -> None:
    get = resolve("GET", "/v1/webhooks/stripe")
    post = resolve("POST", "/v1/webhooks/stripe")
    assert get is None
    assert post is not None
    assert post.auth is Auth.WEBHOOK


def test_the_document_list_is_a_json_route_beside_the_upload() -> None:
    """``GET /v1/documents`` (issue 20) reaches evidence with a JWT; only the upload has the big body class."""
    listing, upload = resolve("GET", "/v1/documents"), resolve("POST", "/v1/documents")
    assert listing is not None
    assert upload is not None
    assert (listing.service, listing.auth, listing.body_class) == ("evidence", Auth.JWT, "json")
    assert (upload.service, upload.body_class) == ("evidence", "upload")
