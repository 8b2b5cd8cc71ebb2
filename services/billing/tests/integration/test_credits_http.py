"""Vectors H (credits) and the documented error codes through HTTP on the real stack."""

from __future__ import annotations

import uuid
from typing import Any

import asyncpg
import httpx
import pytest

from devstack.launcher import StackInfo
from devstack.testing.fixtures import OTHER_TENANT, make_token

pytestmark = pytest.mark.stack


def reserve_body(account_id: str, key: str, ref: str, amount: int = 1, **extra: object) -> dict[str, object]:
    return {
        "account_id": account_id,
        "amount": amount,
        "ref_type": "channel_request",
        "ref_id": ref,
        "idempotency_key": key,
        **extra,
    }


def account_body(tenant_id: str, external_key: str, **changes: str) -> dict[str, str]:
    """A ``POST /v1/control/accounts`` body: a tenant account named "x" unless ``changes`` say otherwise."""
    return {
        "tenant_id": tenant_id,
        "account_type": "tenant",
        "display_name": "x",
        "external_key": external_key,
    } | changes


async def grant_one(studio: httpx.AsyncClient, account_id: str, key: str, **extra: str) -> httpx.Response:
    """Grant one credit to the account under ``key``; ``extra`` adds fields to the body."""
    return await studio.post(
        f"/v1/control/accounts/{account_id}/credits/grant",
        json={"amount": 1, "idempotency_key": key, **extra},
    )


class TestVectorsH:
    async def test_bil01_repeated_reserve_with_same_key_is_one_hold(
        self, svc: httpx.AsyncClient, studio: httpx.AsyncClient, bh: Any
    ) -> None:
        acc = await bh.make_account(studio, wallet=2)
        first = await svc.post("/v1/billing/credits/reserve", json=reserve_body(acc.id, "reserve-1", "cr-1"))
        second = await svc.post("/v1/billing/credits/reserve", json=reserve_body(acc.id, "reserve-1", "cr-1"))
        assert first.status_code == second.status_code == 201, first.text
        assert first.json()["id"] == second.json()["id"]
        assert first.json()["status"] == "ACTIVE"
        assert first.headers["x-zenops-version"].startswith(f"billing:account:{acc.id}:")
        assert await bh.balance(svc, acc.id) == {"wallet": 2, "reserved": 1, "available": 1}
        holds = await svc.get("/v1/billing/credits/reservations", params={"account_id": acc.id})
        assert [h["id"] for h in holds.json()] == [first.json()["id"]]

    async def test_bil02_reserve_then_consume(
        self, svc: httpx.AsyncClient, studio: httpx.AsyncClient, bh: Any
    ) -> None:
        acc = await bh.make_account(studio, wallet=3)
        hold = await svc.post(
            "/v1/billing/credits/reserve", json=reserve_body(acc.id, "reserve-2", "cr-2", 2)
        )
        consumed = await svc.post(
            "/v1/billing/credits/consume",
            json={"account_id": acc.id, "reservation_id": hold.json()["id"], "idempotency_key": "consume-2"},
        )
        assert consumed.status_code == 201, consumed.text
        row = consumed.json()
        assert set(row) == {
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
        assert (row["delta"], row["reason"], row["reservationId"]) == (-2, "consume", hold.json()["id"])
        assert await bh.balance(svc, acc.id) == {"wallet": 1, "reserved": 0, "available": 1}
        again = await svc.post(
            "/v1/billing/credits/consume",
            json={"account_id": acc.id, "reservation_id": hold.json()["id"], "idempotency_key": "consume-2"},
        )
        assert again.status_code == 201
        assert again.json()["id"] == row["id"]
        assert await bh.balance(svc, acc.id) == {"wallet": 1, "reserved": 0, "available": 1}

    async def test_bil03_reserve_then_release_by_external_key_and_ref(
        self, svc: httpx.AsyncClient, studio: httpx.AsyncClient, bh: Any
    ) -> None:
        acc = await bh.make_account(studio, wallet=2)
        await svc.post("/v1/billing/credits/reserve", json=reserve_body(acc.id, "reserve-3", "cr-3"))
        released = await svc.post(
            "/v1/billing/credits/release",
            json={
                "external_key": acc.external_key,
                "ref_type": "channel_request",
                "ref_id": "cr-3",
                "idempotency_key": "release-3",
            },
        )
        assert released.status_code == 201, released.text
        assert (released.json()["delta"], released.json()["reason"]) == (1, "release")
        assert await bh.balance(svc, acc.id) == {"wallet": 2, "reserved": 0, "available": 2}

    async def test_bil04_insufficient_credits(
        self, svc: httpx.AsyncClient, studio: httpx.AsyncClient, bh: Any
    ) -> None:
        acc = await bh.make_account(studio, wallet=0)
        resp = await svc.post("/v1/billing/credits/reserve", json=reserve_body(acc.id, "r", "cr-4"))
        assert resp.status_code == 409
        assert resp.json()["code"] == "INSUFFICIENT_CREDITS"
        assert set(resp.json()) == {"code", "message", "details"}
        assert await bh.balance(svc, acc.id) == {"wallet": 0, "reserved": 0, "available": 0}

    async def test_bil05_release_after_consume_is_refused(
        self, svc: httpx.AsyncClient, studio: httpx.AsyncClient, bh: Any
    ) -> None:
        acc = await bh.make_account(studio, wallet=2)
        hold = (await svc.post("/v1/billing/credits/reserve", json=reserve_body(acc.id, "r5", "cr-5"))).json()
        ok = await svc.post(
            "/v1/billing/credits/consume", json={"reservation_id": hold["id"], "idempotency_key": "c5"}
        )
        assert ok.status_code == 201
        resp = await svc.post(
            "/v1/billing/credits/release", json={"reservation_id": hold["id"], "idempotency_key": "x5"}
        )
        assert resp.status_code == 409
        assert resp.json()["code"] == "RESERVATION_ALREADY_CONSUMED"
        again = await svc.post(
            "/v1/billing/credits/consume", json={"reservation_id": hold["id"], "idempotency_key": "c5-other"}
        )
        assert again.json()["code"] == "RESERVATION_ALREADY_CONSUMED"
        assert await bh.balance(svc, acc.id) == {"wallet": 1, "reserved": 0, "available": 1}

    async def test_bil08_operator_override_covers_the_shortfall(
        self, svc: httpx.AsyncClient, studio: httpx.AsyncClient, bh: Any
    ) -> None:
        acc = await bh.make_account(studio, wallet=0)
        resp = await svc.post(
            "/v1/billing/credits/reserve", json=reserve_body(acc.id, "k", "cr-8", operator_override=True)
        )
        assert resp.status_code == 201, resp.text
        ledger = (await svc.get("/v1/billing/credits/ledger", params={"account_id": acc.id})).json()
        adjustment = next(r for r in ledger if r["reason"] == "ADJUSTMENT")
        assert adjustment["delta"] == 1
        assert adjustment["ref_type"] == "operator_override"
        assert adjustment["ref_id"] == "channel_request:cr-8"
        assert adjustment["idempotency_key"] == "k:override"
        assert await bh.balance(svc, acc.id) == {"wallet": 1, "reserved": 1, "available": 0}

    async def test_bil09_postpaid_and_suspended_accounts_cannot_reserve(
        self, svc: httpx.AsyncClient, studio: httpx.AsyncClient, bh: Any
    ) -> None:
        postpaid = await bh.make_account(studio, wallet=5, mode="postpaid")
        resp = await svc.post("/v1/billing/credits/reserve", json=reserve_body(postpaid.id, "r9", "cr-9"))
        assert (resp.status_code, resp.json()["code"]) == (409, "BILLING_MODE_NOT_CREDIT")
        suspended = await bh.make_account(studio, wallet=5)
        s = await studio.patch(f"/v1/control/accounts/{suspended.id}/status", json={"status": "suspended"})
        assert s.status_code == 200
        assert s.json()["account_status"] == "SUSPENDED"
        resp = await svc.post("/v1/billing/credits/reserve", json=reserve_body(suspended.id, "r9", "cr-9"))
        assert (resp.status_code, resp.json()["code"]) == (409, "ACCOUNT_NOT_ACTIVE")

    async def test_bil10_credit_mode_needs_available_credits(
        self, studio: httpx.AsyncClient, bh: Any
    ) -> None:
        acc = await bh.make_account(studio, wallet=0, mode="postpaid")
        resp = await studio.patch(f"/v1/control/accounts/{acc.id}/policy", json={"billing_mode": "credit"})
        assert resp.status_code == 409
        assert resp.json()["message"] == "available credits must be > 0 before enabling CREDIT mode"
        forced = await studio.patch(
            f"/v1/control/accounts/{acc.id}/policy",
            json={"billing_mode": "credit", "force_enable_credit": True},
        )
        assert forced.status_code == 200
        assert forced.json()["billing_mode"] == "CREDIT"


class TestIdempotencyAndErrors:
    async def test_key_reused_with_other_parameters_is_409_and_changes_nothing(
        self, svc: httpx.AsyncClient, studio: httpx.AsyncClient, bh: Any
    ) -> None:
        acc = await bh.make_account(studio, wallet=3)
        await svc.post("/v1/billing/credits/reserve", json=reserve_body(acc.id, "dup", "cr-a"))
        resp = await svc.post("/v1/billing/credits/reserve", json=reserve_body(acc.id, "dup", "cr-b"))
        assert (resp.status_code, resp.json()["code"]) == (409, "IDEMPOTENCY_KEY_REUSED")
        grant = await grant_one(studio, acc.id, "dup")
        assert (grant.status_code, grant.json()["code"]) == (409, "IDEMPOTENCY_KEY_REUSED")
        assert await bh.balance(svc, acc.id) == {"wallet": 3, "reserved": 1, "available": 2}

    async def test_derived_override_key_collision_is_409_not_500(
        self, svc: httpx.AsyncClient, studio: httpx.AsyncClient, bh: Any
    ) -> None:
        acc = await bh.make_account(studio, wallet=0)
        grant = await grant_one(studio, acc.id, "x:override")
        assert grant.status_code == 201
        resp = await svc.post(
            "/v1/billing/credits/reserve",
            json=reserve_body(acc.id, "x", "cr-x", amount=2, operator_override=True),
        )
        assert (resp.status_code, resp.json()["code"]) == (409, "IDEMPOTENCY_KEY_REUSED")
        assert await bh.balance(svc, acc.id) == {"wallet": 1, "reserved": 0, "available": 1}

    async def test_lookup_and_validation_errors(
        self, svc: httpx.AsyncClient, studio: httpx.AsyncClient, bh: Any
    ) -> None:
        acc = await bh.make_account(studio, wallet=2)
        missing_key = await svc.get("/v1/billing/accounts/status")
        assert (missing_key.status_code, missing_key.json()["code"]) == (400, "EXTERNAL_KEY_REQUIRED")
        unknown = await svc.get("/v1/billing/accounts/status", params={"external_key": bh.unique_key()})
        assert (unknown.status_code, unknown.json()["message"]) == (404, "billing account not found")
        by_key = await svc.get("/v1/billing/accounts/status", params={"external_key": acc.external_key})
        assert by_key.json()["account_id"] == acc.id
        assert by_key.json()["billing_mode"] == "CREDIT"
        assert by_key.json()["credit_cost_model"] == "FLAT"
        not_found = await svc.post(
            "/v1/billing/credits/consume",
            json={"account_id": acc.id, "reservation_id": str(uuid.uuid4()), "idempotency_key": "c"},
        )
        assert (not_found.status_code, not_found.json()["code"]) == (404, "RESERVATION_NOT_FOUND")
        zero = await svc.post("/v1/billing/credits/reserve", json=reserve_body(acc.id, "z", "cr-z", amount=0))
        assert (zero.status_code, zero.json()["code"]) == (400, "AMOUNT_NOT_POSITIVE")
        no_ref = await svc.post(
            "/v1/billing/credits/reserve", json={"ref_type": "a", "ref_id": "b", "idempotency_key": "k"}
        )
        assert (no_ref.status_code, no_ref.json()["code"]) == (400, "ACCOUNT_REFERENCE_REQUIRED")
        bad_reason = await grant_one(studio, acc.id, "g", reason="consume")
        assert (bad_reason.status_code, bad_reason.json()["code"]) == (400, "INVALID_GRANT_REASON")
        bad_key = await studio.post("/v1/control/accounts", json=account_body(acc.tenant_id, "v1:channel:1"))
        assert (bad_key.status_code, bad_key.json()["code"]) == (400, "INVALID_EXTERNAL_KEY")
        moved = await studio.post("/v1/control/accounts", json=account_body(OTHER_TENANT, acc.external_key))
        assert (moved.status_code, moved.json()["code"]) == (409, "ACCOUNT_TENANT_MISMATCH")

    async def test_second_active_hold_and_partial_consume(
        self, svc: httpx.AsyncClient, studio: httpx.AsyncClient, bh: Any
    ) -> None:
        acc = await bh.make_account(studio, wallet=5)
        hold = (
            await svc.post("/v1/billing/credits/reserve", json=reserve_body(acc.id, "h1", "cr-p", 3))
        ).json()
        other = await svc.post("/v1/billing/credits/reserve", json=reserve_body(acc.id, "h2", "cr-p"))
        assert (other.status_code, other.json()["code"]) == (409, "ACTIVE_RESERVATION_EXISTS")
        too_much = await svc.post(
            "/v1/billing/credits/consume",
            json={"reservation_id": hold["id"], "idempotency_key": "p", "amount": 4},
        )
        assert (too_much.status_code, too_much.json()["code"]) == (400, "INVALID_CONSUME_AMOUNT")
        partial = await svc.post(
            "/v1/billing/credits/consume",
            json={"reservation_id": hold["id"], "idempotency_key": "p", "amount": 2},
        )
        assert partial.status_code == 201
        assert partial.json()["delta"] == -2
        # TigerBeetle post: the unposted rest returns to available.
        assert await bh.balance(svc, acc.id) == {"wallet": 3, "reserved": 0, "available": 3}
        released = await svc.post(
            "/v1/billing/credits/release", json={"reservation_id": hold["id"], "idempotency_key": "r"}
        )
        assert (released.status_code, released.json()["code"]) == (409, "RESERVATION_ALREADY_CONSUMED")

    async def test_release_twice_with_new_key_is_already_released(
        self, svc: httpx.AsyncClient, studio: httpx.AsyncClient, bh: Any
    ) -> None:
        acc = await bh.make_account(studio, wallet=1)
        hold = (await svc.post("/v1/billing/credits/reserve", json=reserve_body(acc.id, "a", "cr-r"))).json()
        release = {"reservation_id": hold["id"]}
        first = await svc.post("/v1/billing/credits/release", json=release | {"idempotency_key": "r1"})
        second = await svc.post("/v1/billing/credits/release", json=release | {"idempotency_key": "r2"})
        assert first.status_code == 201
        assert (second.status_code, second.json()["code"]) == (409, "RESERVATION_ALREADY_RELEASED")

    async def test_auth_errors(self, stack: StackInfo, bh: Any) -> None:
        async with httpx.AsyncClient(base_url=stack.urls["gateway"]) as anon:
            resp = await anon.post("/v1/billing/credits/reserve", json={})
            assert resp.status_code == 401
        web = make_token(stack, aud="web")
        async with httpx.AsyncClient(
            base_url=stack.urls["gateway"], headers={"authorization": f"Bearer {web}"}
        ) as client:
            resp = await client.get("/v1/control/tenant")
            assert (resp.status_code, resp.json()["code"]) == (401, "AUDIENCE_MISMATCH")
        weak = make_token(stack, aud="studio", roles=("valuer",), capabilities=())
        async with httpx.AsyncClient(
            base_url=stack.urls["gateway"], headers={"authorization": f"Bearer {weak}"}
        ) as client:
            resp = await client.post(
                "/v1/control/accounts",
                json={
                    "tenant_id": str(uuid.uuid4()),
                    "account_type": "tenant",
                    "display_name": "x",
                    "external_key": bh.unique_key(),
                },
            )
            assert (resp.status_code, resp.json()["code"]) == (403, "MISSING_CAPABILITIES")
            listed = await client.get("/v1/control/tenant")
            assert listed.status_code == 200


class TestAccountsAndStreams:
    async def test_upsert_keeps_suspension_and_publishes_account_status(
        self, studio: httpx.AsyncClient, bh: Any, admin_db: asyncpg.Connection
    ) -> None:
        acc = await bh.make_account(studio, wallet=2)
        await studio.patch(f"/v1/control/accounts/{acc.id}/status", json={"status": "suspended"})
        renamed = account_body(
            acc.tenant_id, acc.external_key, account_type="external_associate", display_name="Renamed"
        )
        again = await studio.post("/v1/control/accounts", json=renamed)
        assert again.status_code == 201
        assert again.json()["account_id"] == acc.id
        assert again.json()["display_name"] == "Renamed"
        assert again.json()["account_status"] == "SUSPENDED"  # decision 18
        events = await bh.outbox_events(admin_db, "billing.account-status.v1", acc.id)
        versions = [e["aggregate_version"] for e in events]
        assert versions == sorted(versions)
        assert len(set(versions)) == len(versions) >= 4
        assert events[-1]["payload"]["display_name"] == "Renamed"
        assert events[-1]["payload"]["credit"] == {"wallet": 2, "reserved": 0, "available": 2}

    async def test_monitor_routes_and_timeline(
        self, svc: httpx.AsyncClient, studio: httpx.AsyncClient, bh: Any
    ) -> None:
        acc = await bh.make_account(studio, wallet=2)
        await svc.post("/v1/billing/credits/reserve", json=reserve_body(acc.id, "t1", "cr-t"))
        ledger = (
            await svc.get("/v1/billing/credits/ledger", params={"external_key": acc.external_key})
        ).json()
        assert [r["reason"] for r in ledger] == ["RESERVE", "GRANT"]
        timeline = (await svc.get("/v1/billing/timeline", params={"account_id": acc.id})).json()
        sources = {i["source"] for i in timeline}
        assert {"CREDITS_LEDGER", "USAGE_V2"} <= sources
        assert {"credits_granted", "credit_reserved", "credit_mode_enabled"} <= {
            i["event_type"] for i in timeline
        }
        missing = await studio.get("/v1/control/credits/timeline")
        assert (missing.status_code, missing.json()["code"]) == (400, "ACCOUNT_OR_TENANT_REQUIRED")
        tenant = (await studio.get(f"/v1/control/credits/tenant/{acc.tenant_id}")).json()
        assert tenant["account_count"] >= 1
        assert any(a["account_id"] == acc.id for a in tenant["accounts"])
        found = (await studio.get("/v1/control/tenant", params={"search": acc.external_key.upper()})).json()
        assert [a["id"] for a in found] == [acc.id]

    async def test_usage_events_for_unknown_accounts_are_unmatched(
        self, svc: httpx.AsyncClient, bh: Any, admin_db: asyncpg.Connection
    ) -> None:
        key = f"v1:test:{uuid.uuid4()}"
        body = {
            "source_system": "v1",
            "event_type": "invoice_created",
            "external_account_key": bh.unique_key(),
            "payload_json": {"invoice_id": 1},
            "idempotency_key": key,
        }
        first = await svc.post("/v1/billing/events", json=body)
        second = await svc.post("/v1/billing/events", json=body)
        assert first.status_code == second.status_code == 201, first.text
        assert first.json()["id"] == second.json()["id"]
        assert first.json()["account_id"] is None
        assert first.json()["unmatched"] is True
        assert first.json()["source_system"] == "V1"
        row = await admin_db.fetchrow(
            "SELECT tenant_id, unmatched FROM billing.usage_events WHERE idempotency_key = $1", key
        )
        assert row["tenant_id"] is None
        assert row["unmatched"] is True
