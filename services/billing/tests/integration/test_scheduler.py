"""The billing stream process's scheduled jobs on the real stack (issue 16 items 5 and 7): the
reconciliation sweep and the refill pass change nothing twice when two replicas run them at once, when a
pass runs again, and when the stream process running them is SIGKILLed and restarted; each pass is
recorded and readable on the ops route; decision 16 keeps a paid subscription active at its period end.

Time passing is simulated by moving holds and periods into the past in the database. A "replica" is a
second ``python -m billing_service.main stream`` started with devstack's own ``spawn`` (the supervisor's
process start) and short intervals, beside the supervised one.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest

from billing_service.handlers.scheduled_runs import ScheduledPass, SweepOnSchedule, sweep_on_schedule
from billing_service.repositories import SchedulerRunRepository
from billing_service.settings import Settings
from devstack import catalog
from devstack.launcher import ProcessRecord, StackInfo, _State, spawn
from devstack.testing.polling import eventually
from services.billing.tests.integration.test_reconcile import age, hold_row, reserve
from services.billing.tests.integration.test_subscriptions import refill_grants, subscribe
from shared.container import ServiceContainer

pytestmark = pytest.mark.stack

REF = "commission_request"


@pytest.fixture
async def replicas(
    stack: StackInfo, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[list[ServiceContainer[Settings]]]:
    """Two billing containers, each with its own connection pool, as two stream processes have."""
    for name, value in stack.env("billing").items():
        monkeypatch.setenv(name, value)
    made = [ServiceContainer.create(Settings(), "billing") for _ in range(2)]
    try:
        yield made
    finally:
        for c in made:
            await c.db.dispose()


async def release_keys(admin_db: asyncpg.Connection, hold_id: str) -> int:
    count: int = await admin_db.fetchval(
        "SELECT count(*) FROM billing.ledger_entries WHERE idempotency_key LIKE $1",
        f"reconcile_release:{hold_id}:%",
    )
    return count


async def expired_holds(
    svc: httpx.AsyncClient, admin_db: asyncpg.Connection, account_id: str, n: int
) -> list[str]:
    holds = [await reserve(svc, account_id, REF, str(uuid.uuid4())) for _ in range(n)]
    for hold in holds:
        await age(admin_db, hold, expired=True)
    return holds


async def period_over(admin_db: asyncpg.Connection, subscription_id: str) -> None:
    """The subscription's period [now - 31 days, now - 1 hour) has ended and its refill is due."""
    await admin_db.execute(
        "UPDATE billing.subscriptions SET current_period_start = now() - interval '31 days', "
        "current_period_end = now() - interval '1 hour', next_refill_at = now() - interval '1 hour' "
        "WHERE id = $1",
        uuid.UUID(subscription_id),
    )


class TestScheduledSweep:
    async def test_two_replicas_then_a_second_pass_release_each_hold_once(
        self,
        replicas: list[ServiceContainer[Settings]],
        svc: httpx.AsyncClient,
        studio: httpx.AsyncClient,
        admin_db: asyncpg.Connection,
        bh: Any,
    ) -> None:
        account = await bh.make_account(studio, wallet=3)
        holds = await expired_holds(svc, admin_db, account.id, 3)
        passes = [SweepOnSchedule(ScheduledPass(f"test-replica-{i}")) for i in range(2)]
        runs = await asyncio.gather(
            *(sweep_on_schedule(c.system_uow, p) for c, p in zip(replicas, passes, strict=True))
        )
        again = await sweep_on_schedule(replicas[0].system_uow, passes[0])
        for hold in holds:
            assert await hold_row(admin_db, hold) == {"status": "released", "release_reason": "timeout"}
            assert await release_keys(admin_db, hold) == 1
        assert await bh.balance(svc, account.id) == {"wallet": 3, "reserved": 0, "available": 3}
        # one pass at a time: the other replica either waited its turn out (skipped) or found them released
        assert {r.outcome for r in runs} <= {"completed", "skipped_locked"}
        assert "completed" in {r.outcome for r in runs}
        assert again.outcome == "completed"

        listed = await studio.get(
            "/v1/ops/billing/scheduler-runs", params={"job": "reconcile_sweep", "limit": 200}
        )
        assert listed.status_code == 200, listed.text
        seen = {r["id"]: r for r in listed.json()}
        for run in (*runs, again):
            assert seen[run.id]["outcome"] == run.outcome
            assert seen[run.id]["counts"] == run.counts
        bad = await svc.get("/v1/ops/billing/scheduler-runs", params={"job": "nope"})
        assert bad.status_code == 400, bad.text

    async def test_the_pass_lock_is_held_for_the_whole_pass(
        self, replicas: list[ServiceContainer[Settings]], admin_db: asyncpg.Connection
    ) -> None:
        """While a replica's transaction holds the sweep's run lock, another replica's pass is skipped."""
        async with replicas[0].system_uow() as holder:
            assert await holder.repo(SchedulerRunRepository).try_lock("reconcile_sweep")
            run = await sweep_on_schedule(
                replicas[1].system_uow, SweepOnSchedule(ScheduledPass("test-waiting"))
            )
        assert (run.outcome, run.counts) == ("skipped_locked", {})
        stored = await admin_db.fetchval(
            "SELECT outcome FROM billing.scheduler_runs WHERE id = $1", uuid.UUID(run.id)
        )
        assert stored == "skipped_locked"


@contextmanager
def stream_replica(stack: StackInfo, name: str) -> Iterator[int]:
    """Another billing stream process (devstack's ``spawn``) whose jobs tick every 0.2 s; yields its pid
    (= its process group). On exit, if still there, it is stopped gracefully (SIGTERM: it leaves the
    consumer group at once, so the tests after this one do not wait out a dead member's session)."""
    env = {
        **stack.env("billing"),
        "ZENOPS_SUBSCRIPTION_REFILL_INTERVAL_S": "0.2",
        "ZENOPS_RECONCILE_SWEEP_INTERVAL_S": "0.2",
    }
    log = Path(stack.state_dir) / "logs" / f"{name}.log"
    record, proc = spawn(name, catalog.service("billing").stream_command(), env, log)
    try:
        yield record.pid
    finally:
        if proc.poll() is None:
            os.killpg(record.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(record.pid, signal.SIGKILL)
                proc.wait(timeout=30)


def _billing_process(stack: StackInfo) -> str:
    """The supervised process running billing's stream app: ``billing`` (HTTP + stream in one process,
    the default) or ``billing-stream`` (the split process mode)."""
    return stack.components("billing")[-1]


def supervised_stream(stack: StackInfo) -> ProcessRecord:
    return _State(Path(stack.state_dir)).processes()[_billing_process(stack)]


class TestRestarts:
    async def test_refills_and_sweeps_killed_mid_run_and_restarted_change_nothing_twice(
        self,
        stack: StackInfo,
        svc: httpx.AsyncClient,
        studio: httpx.AsyncClient,
        admin_db: asyncpg.Connection,
        bh: Any,
    ) -> None:
        account = await bh.make_account(studio, wallet=12)
        holds = await expired_holds(svc, admin_db, account.id, 12)
        subs = [await subscribe(studio, account.id, credits=2) for _ in range(4)]
        for sub in subs:
            await period_over(admin_db, sub["id"])
        # decision 16: the first two were paid during their period, the others were not
        paid_at = (datetime.now(UTC) - timedelta(days=2)).isoformat()
        for sub in subs[:2]:
            resp = await studio.post(
                f"/v1/control/subscriptions/{sub['id']}/payments",
                json={"paid_at": paid_at, "reference": f"pay-{sub['id']}"},
            )
            assert resp.status_code == 201, resp.text

        async def progress() -> bool:
            released = await admin_db.fetchval(
                "SELECT count(*) FROM billing.holds WHERE id = ANY($1::uuid[]) AND status = 'released'", holds
            )
            refilled = await admin_db.fetchval(
                "SELECT count(*) FROM billing.ledger_entries WHERE ref_type = 'subscription_refill' "
                "AND ref_id = ANY($1::text[])",
                [s["id"] for s in subs],
            )
            return bool(released or refilled)

        async def done() -> bool:
            released = await admin_db.fetchval(
                "SELECT count(*) FROM billing.holds WHERE id = ANY($1::uuid[]) AND status = 'released'", holds
            )
            grants = [await refill_grants(admin_db, s["id"]) for s in subs]
            return released == len(holds) and all(grants)

        # 1. a replica starts its passes and is SIGKILLed as soon as the first effect is committed
        with stream_replica(stack, "billing-stream-replica-1") as first:
            await eventually(progress, "the first replica's passes to start", within_s=120, every_s=0.01)
            os.killpg(first, signal.SIGKILL)
        # 2. the supervised stream process is SIGKILLed too; supervision alone brings it back
        before = supervised_stream(stack).pid
        os.killpg(before, signal.SIGKILL)
        # 3. a fresh replica finishes the work and runs more passes over the finished state
        with stream_replica(stack, "billing-stream-replica-2") as second:
            await eventually(done, "every hold released and every subscription refilled", within_s=120)
            started = datetime.now(UTC)

            async def more_passes() -> bool:
                n = await admin_db.fetchval(
                    "SELECT count(DISTINCT job) FROM billing.scheduler_runs WHERE replica LIKE $1 "
                    "AND outcome = 'completed' AND started_at > $2",
                    f"%:{second}",
                    started,
                )
                return bool(n == 2)

            await eventually(more_passes, "both jobs to pass again on the finished state", within_s=120)

        async def supervised_back() -> bool:
            record = supervised_stream(stack)
            return record.pid != before and record.is_alive()

        await eventually(supervised_back, "the supervised billing stream restarted", within_s=120)

        for hold in holds:
            assert await release_keys(admin_db, hold) == 1, hold
            assert (await hold_row(admin_db, hold))["status"] == "released"
        for sub in subs:
            assert await refill_grants(admin_db, sub["id"]) == [2], sub["id"]
        statuses = [
            await admin_db.fetchval(
                "SELECT status FROM billing.subscriptions WHERE id = $1", uuid.UUID(s["id"])
            )
            for s in subs
        ]
        assert statuses == ["active", "active", "past_due", "past_due"]
        assert await bh.balance(svc, account.id) == {"wallet": 12 + 8, "reserved": 0, "available": 20}
        # every pass of both replicas is on record (a killed pass records nothing: its transaction died)
        recorded = await admin_db.fetchval(
            "SELECT count(*) FROM billing.scheduler_runs WHERE replica LIKE $1 AND outcome = 'completed'",
            f"%:{second}",
        )
        assert recorded >= 2


class TestDecision16:
    async def test_a_payment_reactivates_and_a_repeat_changes_nothing(
        self, studio: httpx.AsyncClient, admin_db: asyncpg.Connection, bh: Any
    ) -> None:
        account = await bh.make_account(studio)
        sub = await subscribe(studio, account.id)
        await admin_db.execute(
            "UPDATE billing.subscriptions SET status = 'past_due', grace_until = now() + interval '3 days' WHERE id = $1",
            uuid.UUID(sub["id"]),
        )
        path = f"/v1/control/subscriptions/{sub['id']}/payments"
        first = await studio.post(path, json={"reference": "pay_42"})
        again = await studio.post(path, json={"reference": "pay_42"})
        assert first.status_code == again.status_code == 201, (first.text, again.text)
        body = first.json()
        assert (body["duplicate"], body["reactivated"], body["subscription"]["status"]) == (
            False,
            True,
            "active",
        )
        assert body["subscription"]["last_payment_at"].endswith("Z")
        assert (again.json()["duplicate"], again.json()["subscription"]["last_payment_at"]) == (
            True,
            body["subscription"]["last_payment_at"],
        )
        events = await admin_db.fetch(
            "SELECT event_type FROM billing.subscription_events WHERE subscription_id = $1 ORDER BY received_at",
            uuid.UUID(sub["id"]),
        )
        assert [e["event_type"] for e in events].count("subscription_payment_recorded") == 1

    async def test_bad_payments_are_refused_with_nothing_stored(
        self, studio: httpx.AsyncClient, admin_db: asyncpg.Connection, bh: Any
    ) -> None:
        account = await bh.make_account(studio)
        sub = await subscribe(studio, account.id)
        path = f"/v1/control/subscriptions/{sub['id']}/payments"
        future = (datetime.now(UTC) + timedelta(days=1)).isoformat()
        for body in (
            {"paid_at": future},
            {"paid_at": "2026-01-01T00:00:00"},
            {"reference": ""},
            {"reference": "x" * 1000},
        ):
            resp = await studio.post(path, json=body)
            assert resp.status_code == 400, (body, resp.text)
            assert resp.json()["code"], resp.text
        missing = await studio.post(f"/v1/control/subscriptions/{uuid.uuid4()}/payments", json={})
        assert (missing.status_code, missing.json()["code"]) == (404, "SUBSCRIPTION_NOT_FOUND")
        stored = await admin_db.fetchval(
            "SELECT last_payment_at FROM billing.subscriptions WHERE id = $1", uuid.UUID(sub["id"])
        )
        assert stored is None
