"""The scheduled passes on fakes (issue 16 item 5): the sweep under its run lock releases the holds of
cancelled work orders once and keeps the active ones' (decision 31), a replica without the lock does
nothing, every pass is recorded with its counts, old records are pruned, a refill pass refills once."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import replace
from datetime import timedelta

import pytest

from billing_service.domain.accounts import BillingMode
from billing_service.domain.ledger import ReserveCredit
from billing_service.handlers import ReserveAccountCredit, reserve_credit
from billing_service.handlers._common import utcnow
from billing_service.handlers.reconcile import OpenUnitOfWork
from billing_service.handlers.scheduled_runs import (
    COMPLETED,
    FAILED,
    JOB_REFILL,
    JOB_SWEEP,
    MAX_ERROR,
    SKIPPED_LOCKED,
    RefillOnSchedule,
    ScheduledPass,
    SweepOnSchedule,
    recent_runs,
    record_failed_pass,
    refill_on_schedule,
    sweep_on_schedule,
)
from billing_service.handlers.subscriptions import CreateSubscription, create_subscription
from billing_service.repositories import AccountState, PlanUpsert, SchedulerRunRow
from devstack.testing.fakes import FakeUnitOfWork
from services.billing.tests.unit.fakes import TENANT, WORK_ORDER, Accept, FakeBilling
from shared.db.uow import UnitOfWork

RUN = ScheduledPass("replica-a", retention_days=30)


@pytest.fixture
def credit(billing: FakeBilling) -> AccountState:
    """A CREDIT account with three credits."""
    return billing.account(mode=BillingMode.CREDIT, wallet=3)


def _opener(uow: FakeUnitOfWork) -> OpenUnitOfWork:
    @asynccontextmanager
    async def open_uow() -> AsyncIterator[UnitOfWork]:
        yield uow

    return open_uow


def _releases(billing: FakeBilling) -> list[str]:
    return [e.idempotency_key for e in billing.ledger.entry_rows if e.reason == "release"]


async def test_a_sweep_releases_a_cancelled_work_orders_hold_once_and_records_its_counts(
    billing: FakeBilling, uow: FakeUnitOfWork, accept: Accept, credit: AccountState
) -> None:
    await accept(credit.account.external_key)
    # another reference type, not timed out: kept
    await reserve_credit(uow, ReserveAccountCredit(credit.account.id, ReserveCredit("job", "job", "j-1")))
    await billing.work_orders.set_status(WORK_ORDER, "CANCELLED", 5)
    first = await sweep_on_schedule(_opener(uow), SweepOnSchedule(RUN))
    second = await sweep_on_schedule(_opener(uow), SweepOnSchedule(RUN))
    assert (first.job, first.outcome, first.replica) == (JOB_SWEEP, COMPLETED, "replica-a")
    assert first.counts == {"scanned": 2, "released": 1, "skipped": 1, "errors": 0, "pages": 1}
    # The second pass finds only the hold that has not timed out.
    assert second.counts == {"scanned": 1, "released": 0, "skipped": 1, "errors": 0, "pages": 1}
    assert len(_releases(billing)) == 1
    assert billing.scheduler_runs.locks_taken == [JOB_SWEEP, JOB_SWEEP]
    assert [r.id for r in billing.scheduler_runs.runs] == [first.id, second.id]


async def test_the_hold_of_an_active_work_order_is_kept_by_every_pass(
    billing: FakeBilling, uow: FakeUnitOfWork, accept: Accept, credit: AccountState
) -> None:
    await accept(credit.account.external_key)
    await billing.work_orders.set_status(WORK_ORDER, "IN_PROGRESS", 5)
    [hold] = billing.ledger.holds.values()
    billing.ledger.holds[hold.id] = replace(hold, created_at=utcnow() - timedelta(days=400))
    run = await sweep_on_schedule(_opener(uow), SweepOnSchedule(RUN, timeout_minutes=5))
    assert run.counts == {"scanned": 1, "released": 0, "skipped": 1, "errors": 0, "pages": 1}
    assert billing.ledger.holds[hold.id].status == "active"


@pytest.mark.parametrize(("max_pages", "pages", "released"), [(20, 4, 3), (2, 2, 2)])
async def test_a_pass_pages_past_the_holds_it_keeps(
    billing: FakeBilling, uow: FakeUnitOfWork, credit: AccountState, max_pages: int, pages: int, released: int
) -> None:
    for ref in ("j-1", "j-2", "j-3"):
        applied = await reserve_credit(
            uow, ReserveAccountCredit(credit.account.id, ReserveCredit(f"k-{ref}", "job", ref))
        )
        hold_id = applied.outcome.result.hold_id
        assert hold_id is not None
        billing.ledger.holds[hold_id] = replace(
            billing.ledger.holds[hold_id], expires_at=utcnow() - timedelta(hours=1)
        )
    run = await sweep_on_schedule(_opener(uow), SweepOnSchedule(RUN, limit=1, max_pages=max_pages))
    assert (run.counts["pages"], run.counts["released"], run.counts["scanned"]) == (pages, released, released)
    assert len(_releases(billing)) == released


async def test_a_replica_without_the_run_lock_records_a_skipped_pass_and_changes_nothing(
    billing: FakeBilling, uow: FakeUnitOfWork, accept: Accept, credit: AccountState
) -> None:
    await accept(credit.account.external_key)
    await billing.work_orders.set_status(WORK_ORDER, "CANCELLED", 5)
    billing.scheduler_runs.held_elsewhere.add(JOB_SWEEP)
    run = await sweep_on_schedule(_opener(uow), SweepOnSchedule(RUN))
    assert (run.outcome, run.counts) == (SKIPPED_LOCKED, {})
    assert _releases(billing) == []
    [hold] = billing.ledger.holds.values()
    assert hold.status == "active"


async def test_records_older_than_the_retention_are_pruned(billing: FakeBilling, uow: FakeUnitOfWork) -> None:
    old = utcnow() - timedelta(days=31)
    stale = SchedulerRunRow(
        "00000000-0000-4000-8000-000000000001", JOB_SWEEP, COMPLETED, "r", old, old, {}, None
    )
    billing.scheduler_runs.runs.append(stale)
    run = await sweep_on_schedule(_opener(uow), SweepOnSchedule(RUN))
    assert billing.scheduler_runs.runs == [run]


async def test_a_refill_pass_refills_the_due_once_and_records_each_pass(
    billing: FakeBilling, uow: FakeUnitOfWork
) -> None:
    billing.account()
    row = await create_subscription(
        uow, CreateSubscription(TENANT, PlanUpsert("gold", monthly_credit_allowance=4))
    )
    # Paid during the period: the period end refills it and it stays active (decision 16).
    due = utcnow() - timedelta(minutes=5)
    billing.subscriptions.subs[row.id] = replace(
        row, next_refill_at=due, current_period_end=due, last_payment_at=row.current_period_start
    )
    first = await refill_on_schedule(_opener(uow), RefillOnSchedule(RUN))
    second = await refill_on_schedule(_opener(uow), RefillOnSchedule(RUN))
    assert (first.job, first.outcome) == (JOB_REFILL, COMPLETED)
    assert (first.counts["refilled"], first.counts["past_due"]) == (1, 0)
    assert (second.counts["scanned"], second.counts["refilled"]) == (1, 0)
    assert [e.delta for e in billing.ledger.entry_rows] == [4]
    assert billing.subscriptions.subs[row.id].status == "active"


async def test_a_failed_pass_is_recorded_with_its_error_cut_to_size(
    billing: FakeBilling, uow: FakeUnitOfWork
) -> None:
    started = utcnow()
    run = await record_failed_pass(_opener(uow), RUN, JOB_REFILL, started, "x" * (MAX_ERROR + 50))
    assert (run.outcome, run.started_at, run.error) == (FAILED, started, "x" * MAX_ERROR)
    assert billing.scheduler_runs.runs == [run]


async def test_recent_runs_are_newest_first_and_filtered_by_job(uow: FakeUnitOfWork) -> None:
    sweep = await sweep_on_schedule(_opener(uow), SweepOnSchedule(RUN))
    refill = await refill_on_schedule(_opener(uow), RefillOnSchedule(RUN))
    assert [r.id for r in await recent_runs(uow, None, 10)] == [refill.id, sweep.id]
    assert [r.id for r in await recent_runs(uow, JOB_SWEEP, 10)] == [sweep.id]
    assert [r.id for r in await recent_runs(uow, None, 1)] == [refill.id]
