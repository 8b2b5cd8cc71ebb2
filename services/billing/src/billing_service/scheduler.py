"""The scheduled jobs of the billing stream process (issue 16, domain.md §7.4 and §7.7):

- every ``ZENOPS_SUBSCRIPTION_REFILL_INTERVAL_S`` seconds the due processing of
  ``POST /subscriptions/refill-due`` (refills, past due, suspension, reactivation);
- every ``ZENOPS_RECONCILE_SWEEP_INTERVAL_S`` seconds the reconciliation sweep of
  ``POST /credits/reconcile`` over every reference type (decision 31: holds of active work orders stay).

Both are safe with several replicas (see :mod:`billing_service.handlers.scheduled_runs`). Each pass is
recorded in ``scheduler_runs`` (ops route ``GET /v1/ops/billing/scheduler-runs``, ``/metrics``) and logged
with its counts. A pass that raises is logged, recorded as ``failed`` when the database takes the record,
and the next tick tries again; it never stops the stream process.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
from collections.abc import Awaitable, Callable

from billing_service.handlers._common import utcnow
from billing_service.handlers.reconcile import OpenUnitOfWork
from billing_service.handlers.scheduled_runs import (
    JOB_REFILL,
    JOB_SWEEP,
    SKIPPED_LOCKED,
    RefillOnSchedule,
    ScheduledPass,
    SweepOnSchedule,
    record_failed_pass,
    refill_on_schedule,
    sweep_on_schedule,
)
from billing_service.repositories.scheduler_runs import SchedulerRunRow

log = logging.getLogger(__name__)

Tick = Callable[[], Awaitable[SchedulerRunRow]]


def replica_name() -> str:
    """This process in the records: ``<host>:<pid>``."""
    return f"{socket.gethostname()[:150]}:{os.getpid()}"


def _log_pass(row: SchedulerRunRow) -> None:
    level = logging.DEBUG if row.outcome == SKIPPED_LOCKED else logging.INFO
    log.log(
        level,
        "scheduled %s pass %s",
        row.job,
        row.outcome,
        extra={"job": row.job, "outcome": row.outcome, "replica": row.replica, **row.counts},
    )


async def run_job(
    job: str, interval_s: float, tick: Tick, open_uow: OpenUnitOfWork, run: ScheduledPass
) -> None:
    """Tick forever (until cancelled): sleep ``interval_s``, run a pass, log it; a pass that raises is
    logged, recorded as failed when possible, and retried at the next tick."""
    while True:
        await asyncio.sleep(interval_s)
        started = utcnow()
        try:
            _log_pass(await tick())
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            log.exception("scheduled %s pass failed; retrying at the next tick", job, extra={"job": job})
            try:
                await record_failed_pass(open_uow, run, job, started, f"{type(exc).__name__}: {exc}")
            except asyncio.CancelledError:
                raise
            except Exception:
                log.warning("could not record the failed %s pass", job, extra={"job": job})


async def run_refill_scheduler(
    open_uow: OpenUnitOfWork, grace_days: int, interval_s: float, run: ScheduledPass | None = None
) -> None:
    """The refill job."""
    run = run or ScheduledPass(replica_name())
    command = RefillOnSchedule(run, grace_days)
    await run_job(JOB_REFILL, interval_s, lambda: refill_on_schedule(open_uow, command), open_uow, run)


async def run_sweep_scheduler(open_uow: OpenUnitOfWork, command: SweepOnSchedule, interval_s: float) -> None:
    """The reconciliation sweep job."""
    await run_job(JOB_SWEEP, interval_s, lambda: sweep_on_schedule(open_uow, command), open_uow, command.run)
