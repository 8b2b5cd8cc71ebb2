"""The scheduled passes of the billing stream process (issue 16 item 5): the subscription refill
(domain.md §7.7) and the reconciliation sweep (§7.4 with decision 31), each pass recorded with its counts.

The sweep is safe with several replicas: a pass first takes the job's run lock (a transaction-scoped
advisory lock, held for the pass and gone with a killed process's connection); a replica that does not
get it records ``skipped_locked`` and does nothing. Under the lock each release still re-reads its hold
under the account lock and carries the key ``reconcile_release:<hold>:<reason>``, so a pass that is
repeated, redelivered or cut short by a restart releases each hold once. The refill pass needs no run
lock: its scan takes its rows ``FOR UPDATE SKIP LOCKED`` and each refill checks its period key.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from billing_service.handlers._common import new_id, utcnow
from billing_service.handlers.reconcile import OpenUnitOfWork, ReconcileCredits, reconcile_credits
from billing_service.handlers.subscription_refills import (
    RefillDueReport,
    RefillDueSubscriptions,
    refill_due_subscriptions,
)
from billing_service.repositories.scheduler_runs import SchedulerRunRepository, SchedulerRunRow
from shared.db.uow import UnitOfWork

JOB_REFILL = "subscription_refill"
JOB_SWEEP = "reconcile_sweep"
JOBS = (JOB_REFILL, JOB_SWEEP)
COMPLETED = "completed"
FAILED = "failed"
SKIPPED_LOCKED = "skipped_locked"
#: the longest error text a failed pass records
MAX_ERROR = 500
#: rows one scheduled refill pass handles (the route's maximum)
REFILL_LIMIT = 500


@dataclass(frozen=True, slots=True)
class ScheduledPass:
    """Who runs a pass and how long its records are kept."""

    replica: str
    retention_days: int = 30


@dataclass(frozen=True, slots=True)
class SweepOnSchedule:
    """One scheduled reconciliation sweep over every reference type (decision 31 treats each)."""

    run: ScheduledPass
    limit: int = 500
    timeout_minutes: int = 1440
    #: pages of ``limit`` holds one pass sweeps at most
    max_pages: int = 20


@dataclass(frozen=True, slots=True)
class RefillOnSchedule:
    """One scheduled due-processing pass (§7.7)."""

    run: ScheduledPass
    grace_days: int = 7


def _row(
    run: ScheduledPass, job: str, outcome: str, started: datetime, counts: dict[str, int]
) -> SchedulerRunRow:
    return SchedulerRunRow(new_id(), job, outcome, run.replica, started, utcnow(), counts, None)


async def _store(uow: UnitOfWork, row: SchedulerRunRow, retention_days: int) -> None:
    runs = uow.repo(SchedulerRunRepository)
    await runs.add(row)
    await runs.prune(before=row.started_at - timedelta(days=retention_days))


async def _sweep_pages(open_uow: OpenUnitOfWork, command: SweepOnSchedule) -> dict[str, int]:
    """Sweep page after page (``limit`` holds each, oldest first) until a page is short or ``max_pages``
    were swept: holds of active work orders, which never expire, cannot hide the ones behind them."""
    counts = {"scanned": 0, "released": 0, "skipped": 0, "errors": 0, "pages": 0}
    after = None
    for _ in range(command.max_pages):
        sweep = ReconcileCredits(limit=command.limit, timeout_minutes=command.timeout_minutes, after=after)
        report = await reconcile_credits(open_uow, sweep)
        counts["pages"] += 1
        counts["scanned"] += report.scanned
        counts["released"] += report.released
        counts["skipped"] += report.skipped
        counts["errors"] += len(report.errors)
        if report.scanned < command.limit or report.cursor is None:
            break
        after = report.cursor
    return counts


async def sweep_on_schedule(open_uow: OpenUnitOfWork, command: SweepOnSchedule) -> SchedulerRunRow:
    """Run the sweep under the job's run lock (or record ``skipped_locked``), then record the pass with
    ``scanned``, ``released``, ``skipped``, ``errors`` and ``pages``; the record commits with the lock's transaction."""
    started = utcnow()
    async with open_uow() as lock_uow:
        if not await lock_uow.repo(SchedulerRunRepository).try_lock(JOB_SWEEP):
            row = _row(command.run, JOB_SWEEP, SKIPPED_LOCKED, started, {})
        else:
            counts = await _sweep_pages(open_uow, command)
            row = _row(command.run, JOB_SWEEP, COMPLETED, started, counts)
        await _store(lock_uow, row, command.run.retention_days)
        await lock_uow.commit()
    return row


def refill_counts(report: RefillDueReport) -> dict[str, int]:
    """The figures of a due-processing report a pass records."""
    return {
        "scanned": report.scanned,
        "refilled": report.refilled,
        "skipped": report.skipped,
        "past_due": report.past_due,
        "suspended": report.suspended,
        "reactivated": report.reactivated,
        "errors": len(report.errors),
    }


async def refill_on_schedule(open_uow: OpenUnitOfWork, command: RefillOnSchedule) -> SchedulerRunRow:
    """Due processing in one transaction, its record committed with it."""
    started = utcnow()
    async with open_uow() as uow:
        report = await refill_due_subscriptions(
            uow,
            RefillDueSubscriptions(
                REFILL_LIMIT, dry_run=False, grace_days=command.grace_days, source="scheduler"
            ),
        )
        row = _row(command.run, JOB_REFILL, COMPLETED, started, refill_counts(report))
        await _store(uow, row, command.run.retention_days)
        await uow.commit()
    return row


async def record_failed_pass(
    open_uow: OpenUnitOfWork, run: ScheduledPass, job: str, started: datetime, error: str
) -> SchedulerRunRow:
    """Record a pass that raised (in a transaction of its own: the pass's was rolled back)."""
    row = SchedulerRunRow(new_id(), job, FAILED, run.replica, started, utcnow(), {}, error[:MAX_ERROR])
    async with open_uow() as uow:
        await _store(uow, row, run.retention_days)
        await uow.commit()
    return row


async def recent_runs(uow: UnitOfWork, job: str | None, limit: int) -> list[SchedulerRunRow]:
    """``GET /v1/ops/billing/scheduler-runs``: the newest passes first."""
    return await uow.repo(SchedulerRunRepository).recent(job=job, limit=limit)
