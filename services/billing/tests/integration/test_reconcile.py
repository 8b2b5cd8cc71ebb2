"""The reconciliation sweep (domain.md §7.4, decision 31) through both routes, on the real stack.

Time passing is simulated by moving a hold's ``expires_at`` / ``created_at`` into the past in the
database; everything else goes through the service's HTTP routes and the real broker.
"""

from __future__ import annotations

import uuid
from typing import Any

import asyncpg
import httpx
import pytest
from aiokafka import AIOKafkaProducer

from devstack.launcher import StackInfo
from devstack.testing.fixtures import make_token
from shared.contracts.workorders import StatusChanged

pytestmark = pytest.mark.stack

WO_REF = "repogen_work_order"


async def reserve(svc: httpx.AsyncClient, account_id: str, ref_type: str, ref_id: str) -> str:
    resp = await svc.post(
        "/v1/billing/credits/reserve",
        json={
            "account_id": account_id,
            "ref_type": ref_type,
            "ref_id": ref_id,
            "idempotency_key": f"reserve:{ref_type}:{ref_id}",
        },
    )
    assert resp.status_code == 201, resp.text
    hold_id: str = resp.json()["id"]
    return hold_id


async def hold_row(admin_db: asyncpg.Connection, hold_id: str) -> dict[str, Any]:
    row = await admin_db.fetchrow(
        "SELECT status, release_reason FROM billing.holds WHERE id = $1", uuid.UUID(hold_id)
    )
    assert row is not None
    return dict(row)


async def age(
    admin_db: asyncpg.Connection, hold_id: str, *, expired: bool = False, created: bool = False
) -> None:
    """Move a hold into the past (``expires_at`` and/or ``created_at`` two hours back)."""
    if expired:
        await admin_db.execute(
            "UPDATE billing.holds SET expires_at = now() - interval '2 hours' WHERE id = $1",
            uuid.UUID(hold_id),
        )
    if created:
        await admin_db.execute(
            "UPDATE billing.holds SET created_at = now() - interval '2 hours' WHERE id = $1",
            uuid.UUID(hold_id),
        )


async def reconcile(client: httpx.AsyncClient, path: str, **body: Any) -> dict[str, Any]:
    resp = await client.post(path, json=body)
    assert resp.status_code == 201, resp.text
    result: dict[str, Any] = resp.json()
    return result


def reasons(result: dict[str, Any]) -> dict[str, tuple[str, str]]:
    return {a["reservation_id"]: (a["action"], a["reason"]) for a in result["actions"]}


class TestReconcile:
    async def test_expired_holds_dry_run_then_release_once(
        self, svc: httpx.AsyncClient, studio: httpx.AsyncClient, admin_db: asyncpg.Connection, bh: Any
    ) -> None:
        account = await bh.make_account(studio, wallet=2)
        old = await reserve(svc, account.id, "commission_request", str(uuid.uuid4()))
        fresh = await reserve(svc, account.id, "commission_request", str(uuid.uuid4()))
        await age(admin_db, old, expired=True)
        before = await bh.balance(svc, account.id)
        assert before == {"wallet": 2, "reserved": 2, "available": 0}

        dry = await reconcile(svc, "/v1/billing/credits/reconcile", account_id=account.id, dry_run=True)
        assert (dry["dry_run"], dry["scanned"], dry["released"], dry["skipped"], dry["consumed"]) == (
            True,
            2,
            1,
            1,
            0,
        )
        assert reasons(dry) == {old: ("release", "timeout"), fresh: ("skip", "not_timed_out")}
        assert (await hold_row(admin_db, old))["status"] == "active"
        assert await bh.balance(svc, account.id) == before

        done = await reconcile(studio, "/v1/control/credits/reconcile", account_id=account.id)
        assert (done["dry_run"], done["released"], done["skipped"], done["errors"]) == (False, 1, 1, [])
        assert await hold_row(admin_db, old) == {"status": "released", "release_reason": "timeout"}
        assert (await hold_row(admin_db, fresh))["status"] == "active"
        assert await bh.balance(svc, account.id) == {"wallet": 2, "reserved": 1, "available": 1}

        again = await reconcile(svc, "/v1/billing/credits/reconcile", account_id=account.id)
        assert (again["scanned"], again["released"], again["skipped"]) == (1, 0, 1)
        keys = await admin_db.fetchval(
            "SELECT count(*) FROM billing.ledger_entries WHERE idempotency_key = $1",
            f"reconcile_release:{old}:timeout",
        )
        assert keys == 1
        assert await bh.balance(svc, account.id) == {"wallet": 2, "reserved": 1, "available": 1}

    async def test_work_order_holds_follow_the_work_order(
        self,
        svc: httpx.AsyncClient,
        studio: httpx.AsyncClient,
        admin_db: asyncpg.Connection,
        producer: AIOKafkaProducer,
        bh: Any,
    ) -> None:
        account = await bh.make_account(studio, wallet=3)
        active_wo, cancelled_wo, missing_wo = (str(uuid.uuid4()) for _ in range(3))
        for wo in (active_wo, cancelled_wo):
            await bh.publish(producer, bh.work_order_created(wo), key=wo, version=1)
        await bh.publish(
            producer,
            StatusChanged(work_order_id=cancelled_wo, from_status="DRAFT", to_status="CANCELLED"),
            key=cancelled_wo,
            version=2,
        )

        async def projected() -> bool:
            statuses = await admin_db.fetch(
                "SELECT status FROM billing.work_orders WHERE work_order_id = ANY($1::uuid[])",
                [active_wo, cancelled_wo],
            )
            return sorted(r["status"] for r in statuses) == ["CANCELLED", "DRAFT"]

        await bh.eventually(projected, what="work orders projected")
        active = await reserve(svc, account.id, WO_REF, active_wo)
        cancelled = await reserve(svc, account.id, WO_REF, cancelled_wo)
        missing = await reserve(svc, account.id, WO_REF, missing_wo)
        # Work-order holds never expire by time: even an old hold of an active work order stays.
        await age(admin_db, active, created=True)

        first = await reconcile(svc, "/v1/billing/credits/reconcile", account_id=account.id, ref_type=WO_REF)
        assert reasons(first) == {
            active: ("skip", "work_order_active"),
            cancelled: ("release", "cancelled"),
            missing: ("skip", "orphan_within_grace"),
        }
        assert await hold_row(admin_db, cancelled) == {"status": "released", "release_reason": "cancelled"}

        await age(admin_db, missing, created=True)
        second = await reconcile(
            svc, "/v1/billing/credits/reconcile", account_id=account.id, timeout_minutes=90
        )
        assert reasons(second) == {active: ("skip", "work_order_active"), missing: ("release", "orphan")}
        assert await hold_row(admin_db, missing) == {"status": "released", "release_reason": "orphan"}
        assert (await hold_row(admin_db, active))["status"] == "active"
        assert await bh.balance(svc, account.id) == {"wallet": 3, "reserved": 1, "available": 2}

    async def test_auth_and_bad_input(self, stack: StackInfo, studio: httpx.AsyncClient) -> None:
        async with httpx.AsyncClient(base_url=stack.urls["gateway"]) as anon:
            resp = await anon.post("/v1/billing/credits/reconcile", json={})
            assert resp.status_code == 401
        weak = make_token(stack, aud="studio", roles=("valuer",), capabilities=("masterdata.read",))
        async with httpx.AsyncClient(
            base_url=stack.urls["gateway"], headers={"authorization": f"Bearer {weak}"}
        ) as client:
            resp = await client.post("/v1/control/credits/reconcile", json={"dry_run": True})
            assert (resp.status_code, resp.json()["code"]) == (403, "MISSING_CAPABILITIES")
        for body in ({"limit": 0}, {"limit": 501}, {"dry_run": "yes"}, {"account_id": "nope"}):
            resp = await studio.post("/v1/control/credits/reconcile", json=body)
            assert 400 <= resp.status_code < 500, (body, resp.text)
            assert "code" in resp.json(), (body, resp.text)
