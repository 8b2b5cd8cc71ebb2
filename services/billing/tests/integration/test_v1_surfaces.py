"""Every call V1 makes (domain.md §8.2, §9.2, decision 22) through the gateway with the studio service
token, with the bodies V1's adapter sends (``legacy/v1/backend/app/services/studio_billing.py``)."""

from __future__ import annotations

import uuid
from typing import Any

import asyncpg
import httpx
import pytest

from billing_service.domain.accounts import v1_invoice_event_idempotency_key
from devstack.launcher import StackInfo
from devstack.testing.fixtures import OTHER_TENANT, TEST_TENANT, make_token

pytestmark = pytest.mark.stack

STATUS_FIELDS = {
    "account_id",
    "tenant_id",
    "account_type",
    "external_key",
    "display_name",
    "account_status",
    "billing_mode",
    "payment_terms_days",
    "credit_cost_model",
    "currency",
    "is_enabled",
    "credit",
}
CAMEL_LEDGER_ROW = {
    "id",
    "tenantId",
    "accountId",
    "reservationId",
    "delta",
    "reason",
    "refType",
    "refId",
    "idempotencyKey",
    "metadataJson",
    "createdAt",
}
#: the list keys V1's monitor reads (``_extract_rows``); a bare list is what it reads first
V1_LIST_KEYS = ("rows", "items", "events", "reservations", "ledger", "timeline", "data")


def v1_rows(response: httpx.Response) -> list[dict[str, Any]]:
    """What V1's ``_extract_rows`` makes of a monitor answer (None → V1 falls back to its cache)."""
    assert response.status_code == 200, response.text
    body = response.json()
    if isinstance(body, list):
        return [row for row in body if isinstance(row, dict)]
    candidates = [body.get(k) for k in V1_LIST_KEYS if isinstance(body, dict)]
    found = next((c for c in candidates if isinstance(c, list)), None)
    assert found is not None, f"V1 finds no rows in {body!r}"
    return found


def alias(partner_key: str) -> str:
    """V1's ``external_associate`` spelling of a ``v1:partner:`` key (domain.md §8.1)."""
    return partner_key.replace("v1:partner:", "v1:external_associate:")


def invoice_event(
    event_type: str, invoice_id: int, partner: str, *, status: str, due: str, paid: str
) -> dict[str, Any]:
    """An invoice lifecycle event exactly as V1's ``emit_invoice_event`` posts it (decimal strings)."""
    updated_at = "2026-02-24T10:00:00.123456+00:00"
    payment_id = 7 if event_type in {"payment_recorded", "invoice_paid"} else None
    payload: dict[str, Any] = {
        "invoice_id": invoice_id,
        "invoice_number": f"Z-{invoice_id}",
        "assignment_id": 11,
        "partner_id": int(partner.rsplit(":", 1)[1], 16),
        "client_id": None,
        "status": status,
        "currency": "INR",
        "issued_date": "2026-02-24",
        "due_date": "2026-03-10",
        "sent_at": None,
        "paid_at": None,
        "total_amount": "1180.00",
        "amount_paid": paid,
        "amount_due": due,
        "amount_credited": "0.00",
        "event_emitted_at": "2026-02-24T10:00:01.000001+00:00",
    }
    if payment_id:
        payload["payment"] = {
            "payment_id": payment_id,
            "paid_at": "2026-02-24T10:00:00+00:00",
            "amount": paid,
            "mode": "BANK_TRANSFER",
            "reference_no": "UTR-1",
        }
    key = v1_invoice_event_idempotency_key(event_type, invoice_id, payment_id, status, updated_at, due)
    return {
        "source_system": "v1",
        "event_type": event_type,
        "idempotency_key": key,
        "payload_json": payload,
        "external_account_key": partner,
    }


def fresh_int() -> int:
    """A fresh V1 row id (V1's ids are ints; the idempotency keys built from them must not repeat between
    runs on a kept stack)."""
    return uuid.uuid4().int % 10**12


def hexkey() -> str:
    """A fresh ``v1:partner:`` key whose ident is hex (V1's partner ids are ints; hex keeps them unique)."""
    return f"v1:partner:{uuid.uuid4().int % 10**12:x}"


async def v1_account(studio: httpx.AsyncClient, bh: Any, *, mode: str, wallet: int = 0) -> Any:
    """An account under a fresh partner key, in ``mode`` with ``wallet`` credits."""
    key = hexkey()
    resp = await studio.post(
        "/v1/control/accounts",
        json={
            "tenant_id": TEST_TENANT,
            "account_type": "external_associate",
            "display_name": "V1",
            "external_key": key,
        },
    )
    assert resp.status_code == 201, resp.text
    account_id = resp.json()["account_id"]
    if wallet:
        grant = await studio.post(
            f"/v1/control/accounts/{account_id}/credits/grant",
            json={"amount": wallet, "idempotency_key": "seed"},
        )
        assert grant.status_code == 201, grant.text
    policy = await studio.patch(
        f"/v1/control/accounts/{account_id}/policy",
        json={"billing_mode": mode, "force_enable_credit": not wallet},
    )
    assert policy.status_code == 200, policy.text
    return bh.Account(account_id, key, TEST_TENANT)


class TestServiceToken:
    async def test_both_headers_are_accepted_and_anything_else_is_401(
        self, stack: StackInfo, studio: httpx.AsyncClient, bh: Any
    ) -> None:
        acc = await v1_account(studio, bh, mode="postpaid")
        path = f"/v1/billing/accounts/{acc.id}/status"
        token = stack.secrets.service_token
        async with httpx.AsyncClient(base_url=stack.urls["gateway"], timeout=30) as bare:
            as_header = await bare.get(path, headers={"x-service-token": token})
            as_bearer = await bare.get(path, headers={"authorization": f"Bearer {token}"})
            assert as_header.status_code == as_bearer.status_code == 200, as_bearer.text
            assert as_header.json() == as_bearer.json()
            refused = [
                await bare.get(path),
                await bare.get(path, headers={"x-service-token": token + "x"}),
                await bare.get(path, headers={"authorization": f"Bearer {make_token(stack)}"}),
                await bare.post("/v1/billing/events", json={}, headers={"x-service-token": "wrong"}),
            ]
        for resp in refused:
            assert (resp.status_code, resp.json()["code"]) == (401, "INVALID_STUDIO_SERVICE_TOKEN"), resp.text


class TestStatusLookup:
    async def test_by_uuid_and_by_external_key_as_v1_chooses(
        self, svc: httpx.AsyncClient, studio: httpx.AsyncClient, bh: Any
    ) -> None:
        acc = await v1_account(studio, bh, mode="credit", wallet=3)
        by_id = await svc.get(f"/v1/billing/accounts/{acc.id}/status")
        by_key = await svc.get("/v1/billing/accounts/status", params={"external_key": acc.external_key})
        by_alias = await svc.get(
            "/v1/billing/accounts/status", params={"external_key": alias(acc.external_key)}
        )
        assert by_id.status_code == by_key.status_code == by_alias.status_code == 200, by_alias.text
        assert by_id.json() == by_key.json() == by_alias.json()
        status = by_id.json()
        assert set(status) >= STATUS_FIELDS
        assert (status["billing_mode"], status["account_status"], status["account_type"]) == (
            "CREDIT",
            "ACTIVE",
            "EXTERNAL_ASSOCIATE",
        )
        assert (status["credit_cost_model"], status["currency"], status["payment_terms_days"]) == (
            "FLAT",
            "INR",
            15,
        )
        assert status["credit"] == {"wallet": 3, "reserved": 0, "available": 3}

    @pytest.mark.parametrize(
        "key", ["v1:partner:nobody-here", "v1:channel:5", "v1:external_associate:nobody"]
    )
    async def test_an_unknown_or_channel_key_is_404(self, svc: httpx.AsyncClient, key: str) -> None:
        resp = await svc.get("/v1/billing/accounts/status", params={"external_key": key})
        assert (resp.status_code, resp.json()["code"]) == (404, "ACCOUNT_NOT_FOUND")

    async def test_lookup_errors(self, svc: httpx.AsyncClient) -> None:
        missing = await svc.get("/v1/billing/accounts/status")
        blank = await svc.get("/v1/billing/accounts/status", params={"external_key": "  "})
        for resp in (missing, blank):
            assert (resp.status_code, resp.json()["code"]) == (400, "EXTERNAL_KEY_REQUIRED")
        unknown = await svc.get(f"/v1/billing/accounts/{uuid.uuid4()}/status")
        assert (unknown.status_code, unknown.json()["code"]) == (404, "ACCOUNT_NOT_FOUND")
        not_uuid = await svc.get("/v1/billing/accounts/42/status")
        assert (not_uuid.status_code, not_uuid.json()["code"]) == (404, "NOT_FOUND")


class TestCommissionFlow:
    """V1's commission and deliverable calls (§8.2) against a CREDIT account, by V1's alias key."""

    async def test_approve_then_deliver_consumes_once(
        self, svc: httpx.AsyncClient, studio: httpx.AsyncClient, bh: Any
    ) -> None:
        acc = await v1_account(studio, bh, mode="credit", wallet=2)
        key = alias(acc.external_key)
        cid, deliverable = fresh_int(), fresh_int()
        accepted = await svc.post(
            "/v1/billing/events",
            json={
                "source_system": "v1",
                "event_type": "work_accepted",
                "idempotency_key": f"v1:work_accepted:commission:{cid}",
                "payload_json": {
                    "commission_request_id": cid,
                    "assignment_id": 11,
                    "assignment_code": "A-11",
                    "fees": "2500.00",
                },
                "external_account_key": key,
            },
        )
        assert accepted.status_code == 201, accepted.text
        assert (accepted.json()["account_id"], accepted.json()["unmatched"]) == (acc.id, False)
        reserve = {
            "ref_type": "commission_request",
            "ref_id": str(cid),
            "idempotency_key": f"v1:credit_reserve:commission:{cid}",
            "amount": 1,
            "external_key": key,
        }
        hold = await svc.post("/v1/billing/credits/reserve", json=reserve)
        again = await svc.post("/v1/billing/credits/reserve", json=reserve)
        assert hold.status_code == again.status_code == 201, hold.text
        assert hold.json()["id"] == again.json()["id"]
        assert (hold.json()["status"], hold.json()["account_id"]) == ("ACTIVE", acc.id)

        consume = {
            "ref_type": "commission_request",
            "ref_id": str(cid),
            "idempotency_key": f"v1:credit_consume:deliverable:{deliverable}",
            "external_key": key,
        }
        consumed = await svc.post("/v1/billing/credits/consume", json=consume)
        repeat = await svc.post("/v1/billing/credits/consume", json=consume)
        assert consumed.status_code == repeat.status_code == 201, consumed.text
        row = consumed.json()
        assert set(row) == CAMEL_LEDGER_ROW
        assert (row["delta"], row["reason"], row["reservationId"], row["accountId"]) == (
            -1,
            "consume",
            hold.json()["id"],
            acc.id,
        )
        assert repeat.json() == row
        assert await bh.balance(svc, acc.id) == {"wallet": 1, "reserved": 0, "available": 1}

    async def test_needs_info_releases_the_hold(
        self, svc: httpx.AsyncClient, studio: httpx.AsyncClient, bh: Any
    ) -> None:
        acc = await v1_account(studio, bh, mode="credit", wallet=1)
        cid = fresh_int()
        reserve = {
            "ref_type": "commission_request",
            "ref_id": str(cid),
            "idempotency_key": f"v1:credit_reserve:commission:{cid}",
            "amount": 1,
            "external_key": acc.external_key,
        }
        assert (await svc.post("/v1/billing/credits/reserve", json=reserve)).status_code == 201
        cancelled = await svc.post(
            "/v1/billing/events",
            json={
                "source_system": "v1",
                "event_type": "commission_cancelled",
                "idempotency_key": f"v1:commission_cancelled:{cid}",
                "payload_json": {
                    "commission_request_id": cid,
                    "status": "NEEDS_INFO",
                    "decision_reason": None,
                },
                "external_account_key": acc.external_key,
            },
        )
        assert cancelled.status_code == 201, cancelled.text
        release = {
            "ref_type": "commission_request",
            "ref_id": str(cid),
            "idempotency_key": f"v1:credit_release:commission:{cid}",
            "external_key": acc.external_key,
        }
        released = await svc.post("/v1/billing/credits/release", json=release)
        assert released.status_code == 201, released.text
        assert set(released.json()) == CAMEL_LEDGER_ROW
        assert (released.json()["delta"], released.json()["reason"]) == (1, "release")
        assert await bh.balance(svc, acc.id) == {"wallet": 1, "reserved": 0, "available": 1}

    async def test_a_postpaid_account_answers_what_v1_swallows(
        self, svc: httpx.AsyncClient, studio: httpx.AsyncClient, bh: Any
    ) -> None:
        acc = await v1_account(studio, bh, mode="postpaid")
        cid = fresh_int()
        ref = {"ref_type": "commission_request", "ref_id": str(cid), "external_key": acc.external_key}
        reserve = await svc.post(
            "/v1/billing/credits/reserve",
            json={**ref, "idempotency_key": f"v1:credit_reserve:commission:{cid}", "amount": 1},
        )
        assert (reserve.status_code, reserve.json()["code"]) == (409, "BILLING_MODE_NOT_CREDIT")
        for verb in ("consume", "release"):
            resp = await svc.post(
                f"/v1/billing/credits/{verb}", json={**ref, "idempotency_key": f"v1:{verb}:{cid}"}
            )
            assert (resp.status_code, resp.json()["code"]) == (404, "RESERVATION_NOT_FOUND"), resp.text
        assert await bh.balance(svc, acc.id) == {"wallet": 0, "reserved": 0, "available": 0}


class TestEvents:
    async def test_invoice_lifecycle_with_decimal_strings_stored_once_per_key(
        self, svc: httpx.AsyncClient, studio: httpx.AsyncClient, bh: Any, admin_db: asyncpg.Connection
    ) -> None:
        acc = await v1_account(studio, bh, mode="postpaid")
        paid_id, void_id = fresh_int(), fresh_int()
        lifecycle = [
            invoice_event(
                "invoice_created", paid_id, acc.external_key, status="DRAFT", due="1180.00", paid="0.00"
            ),
            invoice_event(
                "invoice_issued", paid_id, acc.external_key, status="ISSUED", due="1180.00", paid="0.00"
            ),
            invoice_event(
                "invoice_sent", paid_id, acc.external_key, status="SENT", due="1180.00", paid="0.00"
            ),
            invoice_event(
                "payment_recorded", paid_id, acc.external_key, status="PAID", due="0.00", paid="1180.00"
            ),
            invoice_event(
                "invoice_paid", paid_id, acc.external_key, status="PAID", due="0.00", paid="1180.00"
            ),
            invoice_event(
                "invoice_voided", void_id, acc.external_key, status="VOID", due="0.00", paid="0.00"
            ),
        ]
        ids = []
        for body in lifecycle:
            first = await svc.post("/v1/billing/events", json=body)
            retry = await svc.post(
                "/v1/billing/events",
                json={**body, "payload_json": {**body["payload_json"], "event_emitted_at": "a retry"}},
            )
            assert first.status_code == retry.status_code == 201, first.text
            assert retry.json() == first.json()  # the first one stays
            stored = first.json()
            assert (
                stored["source_system"],
                stored["account_id"],
                stored["tenant_id"],
                stored["unmatched"],
            ) == (
                "V1",
                acc.id,
                TEST_TENANT,
                False,
            )
            assert stored["payload_json"] == body["payload_json"]
            assert stored["idempotency_key"] == body["idempotency_key"]
            ids.append(stored["id"])
        assert len(set(ids)) == len(lifecycle)
        count = await admin_db.fetchval(
            "SELECT count(*) FROM billing.usage_events WHERE account_id = $1 AND source_system = 'v1'",
            uuid.UUID(acc.id),
        )
        assert count == len(lifecycle)

    async def test_an_alias_key_matches_and_an_unknown_account_is_unmatched(
        self, svc: httpx.AsyncClient, studio: httpx.AsyncClient, bh: Any
    ) -> None:
        acc = await v1_account(studio, bh, mode="postpaid")
        matched = await svc.post(
            "/v1/billing/events",
            json=invoice_event(
                "invoice_created",
                fresh_int(),
                alias(acc.external_key),
                status="DRAFT",
                due="1.00",
                paid="0.00",
            ),
        )
        assert matched.status_code == 201, matched.text
        assert (matched.json()["account_id"], matched.json()["external_account_key"]) == (
            acc.id,
            acc.external_key,
        )
        for invoice_id, key in ((fresh_int(), hexkey()), (fresh_int(), "v1:channel:12")):
            unknown = await svc.post(
                "/v1/billing/events",
                json=invoice_event(
                    "invoice_created", invoice_id, key, status="DRAFT", due="1.00", paid="0.00"
                ),
            )
            assert unknown.status_code == 201, unknown.text
            body = unknown.json()
            assert (
                body["account_id"],
                body["tenant_id"],
                body["unmatched"],
                body["external_account_key"],
            ) == (
                None,
                None,
                True,
                key,
            )

    async def test_bad_event_bodies_are_400_and_store_nothing(
        self, svc: httpx.AsyncClient, admin_db: asyncpg.Connection
    ) -> None:
        key = f"v1:bad:{uuid.uuid4()}"
        for body in (
            {"source_system": "v3", "event_type": "x", "idempotency_key": key},
            {"source_system": "v1", "event_type": "", "idempotency_key": key},
            {"source_system": "v1", "event_type": "x"},
            {"source_system": "v1", "event_type": "x", "idempotency_key": key, "payload_json": [1]},
            {"source_system": "v1", "event_type": "x", "idempotency_key": "k" * 201},
        ):
            resp = await svc.post("/v1/billing/events", json=body)
            assert (resp.status_code, resp.json()["code"]) == (400, "VALIDATION_FAILED"), body
        stored = await admin_db.fetchval(
            "SELECT count(*) FROM billing.usage_events WHERE idempotency_key = $1", key
        )
        assert stored == 0


class TestMonitorRoutes:
    async def test_reservations_ledger_and_timeline_by_key_or_id(
        self, svc: httpx.AsyncClient, studio: httpx.AsyncClient, bh: Any
    ) -> None:
        acc = await v1_account(studio, bh, mode="credit", wallet=3)
        for n in range(3):
            body = {
                "ref_type": "commission_request",
                "ref_id": f"m{n}",
                "idempotency_key": f"v1:credit_reserve:commission:m{n}",
                "amount": 1,
                "external_key": acc.external_key,
            }
            assert (await svc.post("/v1/billing/credits/reserve", json=body)).status_code == 201
        for by in (
            {"external_key": acc.external_key},
            {"external_key": alias(acc.external_key)},
            {"account_id": acc.id},
        ):
            holds = v1_rows(await svc.get("/v1/billing/credits/reservations", params={"limit": 30, **by}))
            ledger = v1_rows(await svc.get("/v1/billing/credits/ledger", params={"limit": 30, **by}))
            timeline = v1_rows(await svc.get("/v1/billing/timeline", params={"limit": 30, **by}))
            assert [h["ref_id"] for h in holds] == ["m2", "m1", "m0"]
            assert {h["status"] for h in holds} == {"ACTIVE"}
            assert [e["reason"] for e in ledger] == ["RESERVE", "RESERVE", "RESERVE", "GRANT"]
            assert {i["source"] for i in timeline} == {"CREDITS_LEDGER", "USAGE_V2"}
            assert all(i["account_id"] == acc.id for i in timeline)
        two = v1_rows(await svc.get("/v1/billing/credits/ledger", params={"limit": 2, "account_id": acc.id}))
        assert len(two) == 2

    async def test_monitor_errors(self, svc: httpx.AsyncClient) -> None:
        for path in (
            "/v1/billing/credits/reservations",
            "/v1/billing/credits/ledger",
            "/v1/billing/timeline",
        ):
            unknown = await svc.get(path, params={"external_key": hexkey()})
            assert (unknown.status_code, unknown.json()["code"]) == (404, "ACCOUNT_NOT_FOUND")
            too_many = await svc.get(path, params={"account_id": str(uuid.uuid4()), "limit": 501})
            assert (too_many.status_code, too_many.json()["code"]) == (400, "VALIDATION_FAILED")
        nobody = await svc.get("/v1/billing/timeline", params={"limit": 30})
        assert (nobody.status_code, nobody.json()["code"]) == (400, "ACCOUNT_OR_TENANT_REQUIRED")


class TestOtherCalls:
    async def test_meta_answers_v1s_health_display(self, svc: httpx.AsyncClient) -> None:
        meta = await svc.get("/v1/meta")
        assert meta.status_code == 200, meta.text
        assert meta.json()["app"] == "zenops-v2"
        assert {"service", "env", "git_sha", "build_time", "repo_root"} <= set(meta.json())

    async def test_refill_due_answers_its_report(self, svc: httpx.AsyncClient) -> None:
        for body in ({}, {"limit": 500, "dry_run": True}):
            resp = await svc.post("/v1/billing/subscriptions/refill-due", json=body)
            assert resp.status_code == 201, resp.text
            report = resp.json()
            # other tests' subscriptions may be scanned: the shape and the echo are what this checks
            assert set(report) == {
                "dry_run",
                "scanned",
                "refilled",
                "skipped",
                "past_due",
                "suspended",
                "reactivated",
                "errors",
            }
            assert report["dry_run"] is body.get("dry_run", False)
            assert all(
                isinstance(report[k], int) and report[k] >= 0 for k in set(report) - {"dry_run", "errors"}
            )
            assert report["scanned"] <= body.get("limit", 100)
        bad = await svc.post("/v1/billing/subscriptions/refill-due", json={"limit": 501})
        assert (bad.status_code, bad.json()["code"]) == (400, "VALIDATION_FAILED")

    async def test_credit_summary_and_subscription_of_the_callers_tenant(
        self,
        stack: StackInfo,
        gateway: httpx.AsyncClient,
        other_tenant: httpx.AsyncClient,
        studio: httpx.AsyncClient,
        bh: Any,
    ) -> None:
        before = await gateway.get("/v1/billing/credits/summary")
        assert before.status_code == 200, before.text
        await v1_account(studio, bh, mode="credit", wallet=4)
        after = await gateway.get("/v1/billing/credits/summary")
        assert after.json()["tenant_id"] == TEST_TENANT
        assert after.json()["account_count"] == before.json()["account_count"] + 1
        assert after.json()["wallet"] == before.json()["wallet"] + 4
        assert after.json()["primary_account_id"] is not None
        # tenant isolation: the other tenant's summary never counts this tenant's accounts
        theirs_before = (await other_tenant.get("/v1/billing/credits/summary")).json()
        other = await studio.post(
            "/v1/control/accounts",
            json={
                "tenant_id": OTHER_TENANT,
                "account_type": "tenant",
                "display_name": "O",
                "external_key": hexkey(),
            },
        )
        assert other.status_code == 201, other.text
        theirs = await other_tenant.get("/v1/billing/credits/summary")
        assert theirs.status_code == 200, theirs.text
        assert theirs.json()["tenant_id"] == OTHER_TENANT
        assert theirs.json()["account_count"] == theirs_before["account_count"] + 1
        primary = await studio.get(f"/v1/control/accounts/{theirs.json()['primary_account_id']}/status")
        assert primary.json()["tenant_id"] == OTHER_TENANT
        mine = (await gateway.get("/v1/billing/credits/summary")).json()
        assert (
            mine["account_count"] == after.json()["account_count"]
        )  # the other tenant's account is not mine
        subscription = await gateway.get("/v1/billing/subscription")
        assert subscription.status_code == 200, subscription.text
        # null, or (when another test subscribed this tenant) this tenant's own subscription
        assert subscription.json() is None or subscription.json()["tenant_id"] == TEST_TENANT
        portal = make_token(stack, aud="portal", roles=("portal_user",), capabilities=())
        denied = await gateway.get(
            "/v1/billing/credits/summary", headers={"authorization": f"Bearer {portal}"}
        )
        assert (denied.status_code, denied.json()["code"]) == (403, "PORTAL_BILLING_FORBIDDEN")
        no_tenant = make_token(stack, tenant_id=None)
        for path in ("/v1/billing/credits/summary", "/v1/billing/subscription"):
            resp = await gateway.get(path, headers={"authorization": f"Bearer {no_tenant}"})
            assert (resp.status_code, resp.json()["code"]) == (400, "TENANT_CONTEXT_REQUIRED"), resp.text
