"""The console's pages and actions against a fake gateway (``httpx.MockTransport``): cookies, CSRF,
what each role sees, validation before any call, refusals shown with their reason."""

from __future__ import annotations

import json
import re
import time
import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx
import jwt
import pytest

from console_service.app import create_app
from console_service.settings import Settings

WO = str(uuid.uuid4())
TENANT = "11111111-1111-1111-1111-111111111111"


def make_token(roles: list[str]) -> str:
    claims = {
        "sub": "op",
        "aud": "web",
        "tenant_id": TENANT,
        "user_id": TENANT,
        "roles": roles,
        "exp": time.time() + 600,
    }
    return jwt.encode(claims, "x" * 32, algorithm="HS256")


class FakeGateway:
    """Answers the routes the console calls; records every request."""

    def __init__(self) -> None:
        self.requests: list[httpx.Request] = []
        self.roles = ["repogen_factory"]
        self.status_error: dict[str, Any] | None = None
        self.gate: dict[str, Any] = {
            "mode": "POSTPAID",
            "releasable_without_override": False,
            "service_invoice_status": "ISSUED",
        }

    def detail(self, status: str = "DATA_PENDING") -> dict[str, Any]:
        return {
            "work_order": {
                "id": WO,
                "bank_name": "SBI Main",
                "status": status,
                "report_type": "VALUATION",
                "bank_type": "SBI",
            },
            "latest_snapshot": {
                "version": 2,
                "contract_json": {"property": {"address": "Site"}},
                "derived_json": {
                    "computed_values": {
                        "FMV": 3500000,
                        "realizable_value": 3325000,
                        "distress_value": 2800000,
                    }
                },
            },
            "readiness": {"completeness_score": 100, "missing_fields": [], "missing_evidence": []},
            "evidence_items": [],
            "comments": [],
            "field_evidence_links": [],
        }

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        path, method = request.url.path, request.method
        if path == "/v1/auth/login":
            return httpx.Response(201, json={"access_token": make_token(self.roles), "token_type": "Bearer"})
        if path == "/v1/repogen/work-orders" and method == "GET":
            items: list[dict[str, Any]] = [
                {
                    "id": str(uuid.uuid4()),
                    "bank_name": f"Bank {i}",
                    "bank_type": "SBI",
                    "report_type": "VALUATION",
                    "status": "DRAFT" if i % 2 else "DATA_PENDING",
                    "readiness": {"missing_fields": []},
                    "readiness_score": 100,
                    "latest_snapshot_version": 2,
                    "billing": {},
                    "report_pack_id": None,
                    "created_at": "2026-01-01T10:00:00Z",
                }
                for i in range(30)
            ]
            return httpx.Response(200, json={"items": items})
        if path == f"/v1/repogen/work-orders/{WO}" and method == "GET":
            return httpx.Response(200, json=self.detail())
        if path.endswith("/status") and method == "POST":
            if self.status_error:
                return httpx.Response(400, json=self.status_error)
            return httpx.Response(201, json=self.detail("READY_FOR_RENDER"))
        if path.endswith("/pack"):
            pack = {
                "pack": {
                    "version": 1,
                    "status": "generated",
                    "artifacts": [
                        {
                            "id": str(uuid.uuid4()),
                            "kind": "docx",
                            "filename": "r.docx",
                            "size_bytes": 10,
                            "checksum_sha256": "ab" * 32,
                        }
                    ],
                },
                "generation_job": {"status": "completed"},
                "billing_gate_status": self.gate,
                "deliverable_releases": [],
            }
            return httpx.Response(200, json=pack)
        if path.endswith("/release-deliverables"):
            body = json.loads(request.content)
            release = {
                "billing_gate_result": "OVERRIDE" if body.get("override") else "BLOCKED",
                "metadata_json": {"blocked_reason": "invoice_unpaid"},
            }
            return httpx.Response(201, json={"blocked": not body.get("override"), "release": release})
        if path.endswith(("/evidence-profiles", "/ocr/jobs")):
            return httpx.Response(200, json={})
        return httpx.Response(404, json={"code": "ROUTE_NOT_FOUND", "message": path, "details": {}})


@pytest.fixture
def fake() -> FakeGateway:
    return FakeGateway()


@pytest.fixture
async def browser(fake: FakeGateway) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(Settings(env="dev", console_secret="test-secret"), transport=httpx.MockTransport(fake))  # type: ignore[arg-type]
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://console") as client:
        yield client


def csrf_of(page: httpx.Response) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert match, "the page has no CSRF field"
    return match.group(1)


async def sign_in(browser: httpx.AsyncClient, role: str = "factory_operator") -> str:
    page = await browser.get("/login")
    resp = await browser.post("/login/dev", data={"csrf_token": csrf_of(page), "role": role})
    assert resp.status_code == 303
    queue = await browser.get("/work-orders")
    return csrf_of(queue)


class TestSessionsAndCsrf:
    async def test_the_session_cookie_is_http_only_and_same_site(self, browser: httpx.AsyncClient) -> None:
        resp = await browser.get("/login")
        cookie = resp.headers["set-cookie"].lower()
        assert "httponly" in cookie
        assert "samesite=lax" in cookie
        assert "secure" not in cookie  # dev over plain http
        assert "content-security-policy" in resp.headers

    async def test_a_post_without_the_csrf_token_is_refused_before_any_call(
        self, browser: httpx.AsyncClient, fake: FakeGateway
    ) -> None:
        await browser.get("/login")
        resp = await browser.post("/login/dev", data={"role": "factory_operator"})
        assert resp.status_code == 403
        assert fake.requests == []
        await sign_in(browser)
        before = len(fake.requests)
        resp = await browser.post(
            f"/work-orders/{WO}/status", data={"status": "CLOSED", "csrf_token": "forged"}
        )
        assert resp.status_code == 403
        assert len(fake.requests) == before

    async def test_pages_need_a_user(self, browser: httpx.AsyncClient) -> None:
        resp = await browser.get("/work-orders")
        assert resp.status_code == 303
        assert resp.headers["location"] == "/login"

    async def test_sign_out_forgets_the_token(self, browser: httpx.AsyncClient) -> None:
        csrf = await sign_in(browser)
        assert (await browser.post("/logout", data={"csrf_token": csrf})).status_code == 303
        assert (await browser.get("/work-orders")).status_code == 303


class TestQueuePage:
    async def test_counts_badges_and_pages(self, browser: httpx.AsyncClient, fake: FakeGateway) -> None:
        await sign_in(browser)
        resp = await browser.get("/work-orders", params={"status": "DRAFT", "bank_type": "SBI"})
        assert resp.status_code == 200
        assert "Page 1 of 1 · 15 work orders" in resp.text
        sent = fake.requests[-1].url.params
        assert sent["bank_type"] == "SBI"
        assert sent["limit"] == "100"
        assert "status" not in sent  # counted by the console, filtered locally

    async def test_the_create_form_validates_before_calling(
        self, browser: httpx.AsyncClient, fake: FakeGateway
    ) -> None:
        csrf = await sign_in(browser)
        before = len(fake.requests)
        resp = await browser.post(
            "/work-orders", data={"csrf_token": csrf, "report_type": "X", "bank_name": ""}
        )
        assert resp.status_code == 422
        assert "choose a report type" in resp.text
        assert len(fake.requests) == before


class TestWorkOrderPage:
    async def test_derived_values_and_the_gate_answer_show(self, browser: httpx.AsyncClient) -> None:
        await sign_in(browser)
        resp = await browser.get(f"/work-orders/{WO}")
        assert "₹3,500,000.00" in resp.text
        assert "Blocked without an override" in resp.text
        assert "Release deliverables" in resp.text

    async def test_a_role_that_may_not_release_sees_no_release_button(
        self, browser: httpx.AsyncClient, fake: FakeGateway
    ) -> None:
        fake.roles = ["ops_manager"]
        await sign_in(browser, "ops_manager")
        resp = await browser.get(f"/work-orders/{WO}")
        assert "Release deliverables" not in resp.text
        assert "Releasing needs the factory-operator role" in resp.text

    async def test_a_refused_move_shows_the_reason(
        self, browser: httpx.AsyncClient, fake: FakeGateway
    ) -> None:
        csrf = await sign_in(browser)
        fake.status_error = {
            "code": "REPOGEN_READINESS_BLOCK",
            "message": "READY_FOR_RENDER blocked by missing fields/evidence",
            "details": {
                "readiness": {
                    "missing_fields": [],
                    "missing_evidence": ["Sale Deed: need at least 1, found 0"],
                }
            },
        }
        resp = await browser.post(
            f"/work-orders/{WO}/status",
            data={"csrf_token": csrf, "status": "READY_FOR_RENDER"},
            headers={"hx-request": "true"},
        )
        assert resp.status_code == 422
        assert "READY_FOR_RENDER blocked" in resp.text
        assert "Sale Deed: need at least 1, found 0" in resp.text

    async def test_contract_errors_are_shown_and_nothing_is_sent(
        self, browser: httpx.AsyncClient, fake: FakeGateway
    ) -> None:
        csrf = await sign_in(browser)
        resp = await browser.post(
            f"/work-orders/{WO}/contract", data={"csrf_token": csrf, "valuation_inputs__land_value": "-5"}
        )
        assert resp.status_code == 422
        assert 'aria-invalid="true"' in resp.text
        assert not any(r.method == "PATCH" for r in fake.requests)

    async def test_an_override_needs_a_reason(self, browser: httpx.AsyncClient, fake: FakeGateway) -> None:
        csrf = await sign_in(browser)
        key = str(uuid.uuid4())
        resp = await browser.post(
            f"/work-orders/{WO}/release", data={"csrf_token": csrf, "idempotency_key": key, "override": "on"}
        )
        assert resp.status_code == 422
        assert "an override needs a reason" in resp.text
        assert not any(r.url.path.endswith("/release-deliverables") for r in fake.requests)
        blocked = await browser.post(
            f"/work-orders/{WO}/release", data={"csrf_token": csrf, "idempotency_key": key}
        )
        assert "Blocked by the billing gate: invoice_unpaid" in blocked.text
        ok = await browser.post(
            f"/work-orders/{WO}/release",
            data={
                "csrf_token": csrf,
                "idempotency_key": key,
                "override": "on",
                "override_reason": "paid offline",
            },
        )
        assert ok.status_code == 200
        assert "Released (OVERRIDE)" in ok.text
        releases = [
            json.loads(r.content) for r in fake.requests if r.url.path.endswith("/release-deliverables")
        ]
        assert releases[-1] == {
            "idempotency_key": f"console:{key}",
            "override": True,
            "override_reason": "paid offline",
        }


class TestFragments:
    async def test_the_pack_fragment_reads_only_the_work_order_and_its_pack(
        self, browser: httpx.AsyncClient, fake: FakeGateway
    ) -> None:
        await sign_in(browser)
        before = len(fake.requests)
        resp = await browser.get(f"/work-orders/{WO}/fragments/pack")
        assert resp.status_code == 200
        assert "server-timing" in resp.headers
        paths = sorted(r.url.path for r in fake.requests[before:])
        assert paths == [f"/v1/repogen/work-orders/{WO}", f"/v1/repogen/work-orders/{WO}/pack"]
        assert 'data-pending="no"' in resp.text  # a completed job stops the polling

    async def test_an_unknown_fragment_is_404(self, browser: httpx.AsyncClient) -> None:
        await sign_in(browser)
        assert (await browser.get(f"/work-orders/{WO}/fragments/nope")).status_code == 404


class TestProductionSignIn:
    """Outside dev only a token the configured issuer signed is accepted (HS256 secret here; a JWKS URL
    goes through the same ``TokenVerifier``); dev login is off and the cookie is Secure."""

    @pytest.fixture
    async def prod(self, fake: FakeGateway) -> AsyncIterator[httpx.AsyncClient]:
        settings = Settings(env="production", console_secret="s", jwt_secret="x" * 32)  # type: ignore[arg-type]
        app = create_app(settings, transport=httpx.MockTransport(fake))
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="https://console"
        ) as client:
            yield client

    async def test_a_verified_token_signs_in_and_a_forged_one_does_not(self, prod: httpx.AsyncClient) -> None:
        page = await prod.get("/login")
        assert "secure" in page.headers["set-cookie"].lower()
        assert "Development sign-in" not in page.text
        forged = jwt.encode({"sub": "x", "aud": "web", "exp": time.time() + 60}, "y" * 32, algorithm="HS256")
        refused = await prod.post("/login/token", data={"csrf_token": csrf_of(page), "token": forged})
        assert refused.status_code == 401
        assert "token refused" in refused.text
        ok = await prod.post(
            "/login/token", data={"csrf_token": csrf_of(page), "token": make_token(["repogen_factory"])}
        )
        assert ok.status_code == 303
        assert (await prod.get("/work-orders")).status_code == 200

    async def test_dev_login_is_off(self, prod: httpx.AsyncClient, fake: FakeGateway) -> None:
        page = await prod.get("/login")
        resp = await prod.post("/login/dev", data={"csrf_token": csrf_of(page), "role": "super_admin"})
        assert resp.status_code == 404
        assert fake.requests == []
