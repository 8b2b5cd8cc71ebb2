"""The scheduled jobs of the stream process on fakes: the refill job refills the due once and commits;
a failing pass is logged, recorded as failed and survived, and the next tick runs; the sweep job runs."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import replace
from datetime import timedelta

import pytest

from billing_service.handlers._common import utcnow
from billing_service.handlers.scheduled_runs import (
    FAILED,
    JOB_REFILL,
    JOB_SWEEP,
    ScheduledPass,
    SweepOnSchedule,
)
from billing_service.handlers.subscriptions import CreateSubscription, create_subscription
from billing_service.repositories import PlanUpsert, SchedulerRunRow
from billing_service.scheduler import replica_name, run_job, run_refill_scheduler, run_sweep_scheduler
from devstack.testing.fakes import FakeUnitOfWork
from services.billing.tests.unit.fakes import TENANT, FakeBilling
from shared.db.uow import UnitOfWork

RUN = ScheduledPass("replica-a")


def _ticks(uow: FakeUnitOfWork, passes: int) -> tuple[list[int], object]:
    """An opener that yields ``uow`` ``passes`` times, then stops the process (cancels) at the next."""
    opened: list[int] = []

    @asynccontextmanager
    async def open_uow() -> AsyncIterator[UnitOfWork]:
        opened.append(1)
        if len(opened) > passes:
            raise asyncio.CancelledError
        yield uow

    return opened, open_uow


async def test_the_refill_job_refills_the_due_once_and_commits(
    billing: FakeBilling, uow: FakeUnitOfWork
) -> None:
    billing.account()
    row = await create_subscription(
        uow, CreateSubscription(TENANT, PlanUpsert("gold", monthly_credit_allowance=4))
    )
    billing.subscriptions.subs[row.id] = replace(row, next_refill_at=utcnow() - timedelta(minutes=5))
    commits = uow.commits
    _, open_uow = _ticks(uow, 2)
    with pytest.raises(asyncio.CancelledError):
        await run_refill_scheduler(open_uow, 7, 0, RUN)  # type: ignore[arg-type]
    assert [e.delta for e in billing.ledger.entry_rows] == [4]
    assert [r.counts["refilled"] for r in billing.scheduler_runs.runs] == [1, 0]
    assert uow.commits == commits + 2


async def test_the_sweep_job_runs_and_records_its_passes(billing: FakeBilling, uow: FakeUnitOfWork) -> None:
    # each pass opens two transactions: the run lock's and the sweep's scan (it finds no hold)
    _, open_uow = _ticks(uow, 4)
    with pytest.raises(asyncio.CancelledError):
        await run_sweep_scheduler(open_uow, SweepOnSchedule(RUN), 0)  # type: ignore[arg-type]
    assert [(r.job, r.counts["scanned"]) for r in billing.scheduler_runs.runs] == [(JOB_SWEEP, 0)] * 2


async def test_a_failing_pass_is_recorded_and_does_not_stop_the_job(
    billing: FakeBilling, uow: FakeUnitOfWork
) -> None:
    calls: list[int] = []

    async def tick() -> SchedulerRunRow:
        calls.append(1)
        if len(calls) == 1:
            raise RuntimeError("database away")
        raise asyncio.CancelledError  # the process stops during the second tick

    def open_uow() -> AbstractAsyncContextManager[UnitOfWork]:
        @asynccontextmanager
        async def opened() -> AsyncIterator[UnitOfWork]:
            yield uow

        return opened()

    with pytest.raises(asyncio.CancelledError):
        await run_job(JOB_REFILL, 0, tick, open_uow, RUN)
    assert len(calls) == 2
    [failed] = billing.scheduler_runs.runs
    assert (failed.job, failed.outcome, failed.error) == (JOB_REFILL, FAILED, "RuntimeError: database away")


async def test_a_failure_the_database_cannot_record_is_only_logged() -> None:
    calls: list[int] = []

    async def tick() -> SchedulerRunRow:
        calls.append(1)
        if len(calls) == 1:
            raise RuntimeError("database away")
        raise asyncio.CancelledError

    def open_uow() -> AbstractAsyncContextManager[UnitOfWork]:
        raise RuntimeError("database away")

    with pytest.raises(asyncio.CancelledError):
        await run_job(JOB_REFILL, 0, tick, open_uow, RUN)
    assert len(calls) == 2


def test_a_replica_is_named_by_host_and_pid() -> None:
    host, pid = replica_name().rsplit(":", 1)
    assert host
    assert int(pid) > 0
