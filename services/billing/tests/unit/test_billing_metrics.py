"""Billing's ``/metrics`` extras: gate decisions counted per result from the stored decisions, and the
scheduled passes from their records (fakes)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager

from billing_service.handlers import DecideRelease, decide_release
from billing_service.handlers.scheduled_runs import (
    JOB_SWEEP,
    ScheduledPass,
    SweepOnSchedule,
    sweep_on_schedule,
)
from billing_service.metrics import gate_outcome_families, scheduler_families
from devstack.testing.fakes import FakeUnitOfWork
from services.billing.tests.unit.fakes import TENANT, WORK_ORDER, FakeBilling
from shared.contracts.factory import ReleaseRequested
from shared.db.uow import UnitOfWork
from shared.telemetry.metrics import Family


def _release(release_id: str, *, override: bool = False) -> DecideRelease:
    event = ReleaseRequested(
        release_id=release_id,
        work_order_id=WORK_ORDER,
        idempotency_key=f"key-{release_id}",
        override=override,
        override_reason="signed off" if override else None,
        pack_id="p-1",
        job_status="SUCCEEDED",
        requested_at="2026-02-24T10:00:00.000Z",
    )
    return DecideRelease(event, f"m-{release_id}", TENANT)


def counts(families: Sequence[Family]) -> dict[str, float]:
    [family] = families
    assert family.name == "zenops_gate_decisions"
    assert family.kind == "counter"
    return {s.labels["result"]: s.value for s in family.samples}


async def test_every_result_is_a_series_even_before_any_decision(uow: FakeUnitOfWork) -> None:
    assert counts(await gate_outcome_families(uow)) == {
        "PAID": 0,
        "CREDIT_CONSUMED": 0,
        "OVERRIDE": 0,
        "BLOCKED": 0,
        "ERROR": 0,
    }


async def test_decisions_are_counted_by_their_stored_result(
    billing: FakeBilling, uow: FakeUnitOfWork
) -> None:
    first = await decide_release(uow, _release("r-1"))
    second = await decide_release(uow, _release("r-2"))
    assert await decide_release(uow, _release("r-1")) is None  # a release id is decided once
    assert first is not None
    assert second is not None
    seen = counts(await gate_outcome_families(uow))
    assert sum(seen.values()) == 2 == len(billing.gates.rows)
    assert seen[first.result] >= 1
    assert seen[second.result] >= 1


async def test_scheduled_passes_are_counted_and_the_newest_completed_counts_shown(
    billing: FakeBilling, uow: FakeUnitOfWork
) -> None:
    run = ScheduledPass("replica-a")
    await sweep_on_schedule(lambda: _same(uow), SweepOnSchedule(run))
    newest = await sweep_on_schedule(lambda: _same(uow), SweepOnSchedule(run))
    billing.scheduler_runs.held_elsewhere.add(JOB_SWEEP)
    await sweep_on_schedule(lambda: _same(uow), SweepOnSchedule(run))
    runs, last, figures = await scheduler_families(uow)
    assert {(s.labels["job"], s.labels["outcome"]): s.value for s in runs.samples} == {
        (JOB_SWEEP, "completed"): 2,
        (JOB_SWEEP, "skipped_locked"): 1,
    }
    stamps = {s.labels["outcome"]: s.value for s in last.samples}
    assert stamps["completed"] == newest.started_at.timestamp()
    assert {s.labels["count"]: s.value for s in figures.samples} == {
        "errors": 0,
        "pages": 1,
        "released": 0,
        "scanned": 0,
        "skipped": 0,
    }


@asynccontextmanager
async def _same(uow: FakeUnitOfWork) -> AsyncIterator[UnitOfWork]:
    yield uow
