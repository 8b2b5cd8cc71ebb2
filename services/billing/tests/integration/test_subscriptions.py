"""Plans, subscriptions and refills on the real stack (domain.md §7.7, §9.2, §9.5): one grant per period
however often and however concurrently a refill is asked for.

Time passing is simulated by moving a subscription's ``next_refill_at`` into the past in the database;
everything else goes through the service's HTTP routes.
"""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import asyncpg
import httpx
import pytest

from billing_service.handlers.scheduled_runs import RefillOnSchedule, ScheduledPass, refill_on_schedule
from billing_service.settings import Settings
from devstack.launcher import StackInfo
from devstack.testing.fixtures import TEST_TENANT
from shared.container import ServiceContainer

pytestmark = pytest.mark.stack


async def subscribe(
    studio: httpx.AsyncClient, account_id: str, *, credits: int = 5, **plan: Any
) -> dict[str, Any]:
    resp = await studio.post(
        "/v1/control/subscriptions",
        json={
            "tenant_id": TEST_TENANT,
            "account_id": account_id,
            "plan_name": f"plan-{uuid.uuid4().hex[:10]}",
            "monthly_credit_grant": credits,
            **plan,
        },
    )
    assert resp.status_code == 201, resp.text
    body: dict[str, Any] = resp.json()
    return body


async def refill_grants(admin_db: asyncpg.Connection, subscription_id: str) -> list[int]:
    rows = await admin_db.fetch(
        "SELECT delta FROM billing.ledger_entries WHERE ref_type = 'subscription_refill' AND ref_id = $1",
        subscription_id,
    )
    return [r["delta"] for r in rows]


async def make_due(admin_db: asyncpg.Connection, subscription_id: str) -> None:
    await admin_db.execute(
        "UPDATE billing.subscriptions SET next_refill_at = now() - interval '1 hour' WHERE id = $1",
        uuid.UUID(subscription_id),
    )


class TestSubscriptions:
    async def test_create_lists_and_defers_the_first_grant(
        self, studio: httpx.AsyncClient, svc: httpx.AsyncClient, admin_db: asyncpg.Connection, bh: Any
    ) -> None:
        account = await bh.make_account(studio)
        sub = await subscribe(studio, account.id, cycle_days=30, price_monthly=499.5)
        assert (sub["account_id"], sub["status"]) == (account.id, "active")
        assert sub["next_refill_at"].endswith("Z")
        listed = await studio.get("/v1/control/subscriptions", params={"tenant_id": TEST_TENANT})
        assert listed.status_code == 200, listed.text
        row = next(r for r in listed.json() if r["id"] == sub["id"])
        assert (row["monthly_credit_grant"], row["cycle_days"], row["price_monthly"]) == (5, 30, 499.5)
        assert await refill_grants(admin_db, sub["id"]) == []
        assert (await bh.balance(svc, account.id))["wallet"] == 0

    async def test_refill_twice_grants_once(
        self, studio: httpx.AsyncClient, svc: httpx.AsyncClient, admin_db: asyncpg.Connection, bh: Any
    ) -> None:
        account = await bh.make_account(studio)
        sub = await subscribe(studio, account.id)
        key = f"refill:{sub['id']}:once"
        first = await studio.post(
            f"/v1/control/subscriptions/{sub['id']}/refill", json={"idempotency_key": key}
        )
        second = await studio.post(
            f"/v1/control/subscriptions/{sub['id']}/refill", json={"idempotency_key": key}
        )
        assert first.status_code == second.status_code == 201, (first.text, second.text)
        assert first.json() == {"duplicate": False, "status": "refilled", "amount": 5}
        assert second.json() == {"duplicate": True, "status": "already_processed", "amount": 0}
        assert await refill_grants(admin_db, sub["id"]) == [5]
        assert (await bh.balance(svc, account.id))["wallet"] == 5

    async def test_concurrent_refill_due_grants_once_per_subscription(
        self, studio: httpx.AsyncClient, svc: httpx.AsyncClient, admin_db: asyncpg.Connection, bh: Any
    ) -> None:
        account = await bh.make_account(studio)
        subs = [await subscribe(studio, account.id, credits=3) for _ in range(2)]
        for sub in subs:
            await make_due(admin_db, sub["id"])
        results = await asyncio.gather(
            *(svc.post("/v1/billing/subscriptions/refill-due", json={"limit": 500}) for _ in range(2))
        )
        assert [r.status_code for r in results] == [201, 201], [r.text for r in results]
        assert all(r.json()["errors"] == [] for r in results)
        for sub in subs:
            assert await refill_grants(admin_db, sub["id"]) == [3]
        assert (await bh.balance(svc, account.id))["wallet"] == 6
        # a later pass finds nothing due for them
        again = await svc.post("/v1/billing/subscriptions/refill-due", json={"limit": 500})
        assert again.status_code == 201, again.text
        for sub in subs:
            assert await refill_grants(admin_db, sub["id"]) == [3]

    async def test_unknown_and_foreign_references_are_refused(
        self, studio: httpx.AsyncClient, admin_db: asyncpg.Connection
    ) -> None:
        missing = str(uuid.uuid4())
        resp = await studio.patch(f"/v1/control/subscriptions/{missing}", json={"status": "paused"})
        assert resp.status_code == 404, resp.text
        assert resp.json()["code"] == "SUBSCRIPTION_NOT_FOUND"
        bad = await studio.post(
            "/v1/control/subscriptions",
            json={"tenant_id": str(uuid.uuid4()), "plan_name": "x" * 121},
        )
        assert bad.status_code in (400, 422), bad.text
        nobody = await studio.post(
            "/v1/control/subscriptions", json={"tenant_id": str(uuid.uuid4()), "plan_name": "lonely"}
        )
        assert nobody.status_code == 404, nobody.text
        assert nobody.json()["code"] == "ACCOUNT_NOT_FOUND"
        assert await admin_db.fetchval("SELECT count(*) FROM billing.plan_catalog WHERE name = 'lonely'") == 0

    async def test_two_scheduler_replicas_refill_a_period_once(
        self,
        stack: StackInfo,
        studio: httpx.AsyncClient,
        svc: httpx.AsyncClient,
        admin_db: asyncpg.Connection,
        bh: Any,
        monkeypatch: pytest.MonkeyPatch,
    ) -> None:
        """Two stream processes' passes at once, each with its own connection pool as replicas have."""
        account = await bh.make_account(studio)
        sub = await subscribe(studio, account.id, credits=4)
        await make_due(admin_db, sub["id"])
        for name, value in stack.env("billing").items():
            monkeypatch.setenv(name, value)
        replicas = [ServiceContainer.create(Settings(), "billing") for _ in range(2)]
        try:
            passes = [RefillOnSchedule(ScheduledPass(f"test-replica-{i}")) for i in range(2)]
            await asyncio.gather(
                *(refill_on_schedule(c.system_uow, p) for c, p in zip(replicas, passes, strict=True))
            )
            await refill_on_schedule(replicas[0].system_uow, passes[0])
        finally:
            for c in replicas:
                await c.db.dispose()
        assert await refill_grants(admin_db, sub["id"]) == [4]
        assert (await bh.balance(svc, account.id))["wallet"] == 4

    async def test_tenant_reads_its_current_subscription_only(
        self, studio: httpx.AsyncClient, gateway: httpx.AsyncClient, other_tenant: httpx.AsyncClient, bh: Any
    ) -> None:
        account = await bh.make_account(studio)
        sub = await subscribe(studio, account.id, credits=2, cycle_days=14)
        mine = await gateway.get("/v1/billing/subscription")
        assert mine.status_code == 200, mine.text
        body = mine.json()
        assert (body["id"], body["monthly_credit_grant"], body["cycle_days"]) == (sub["id"], 2, 14)
        theirs = await other_tenant.get("/v1/billing/subscription")
        assert theirs.status_code == 200, theirs.text
        assert theirs.json() is None
