"""Billing's own figures on ``/metrics`` (beside the shared ops figures of :mod:`shared.telemetry.metrics`).

``zenops_gate_decisions_total{result}``: release-gate decisions stored per result, read from the
append-only ``gate_decisions`` table at scrape time (cached with the other figures), so the count is
the truth of the database, survives restarts and covers every process that decides.

The scheduled passes of the stream processes (``scheduler_runs``, kept ``messaging_retention_days``):
``zenops_scheduler_runs{job,outcome}`` passes recorded, ``zenops_scheduler_last_run_timestamp_seconds
{job,outcome}`` when the newest of each started, and ``zenops_scheduler_last_run_count{job,count}`` the
counts of each job's newest completed pass (e.g. the sweep's ``released``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from billing_service.domain.gate import GateResult
from billing_service.handlers.scheduled_runs import COMPLETED
from billing_service.repositories import GateDecisionRepository, SchedulerRunRepository
from shared.container import ServiceContainer
from shared.db.uow import UnitOfWork
from shared.telemetry.metrics import Extra, Family, Sample, counter, gauge


async def gate_outcome_families(uow: UnitOfWork) -> list[Family]:
    """Every gate result with its count (0 for a result not seen yet, so each series exists)."""
    counts = await uow.repo(GateDecisionRepository).count_by_result()
    results = [r.value for r in GateResult] + sorted(set(counts) - {r.value for r in GateResult})
    return [
        counter(
            "zenops_gate_decisions",
            "Release-gate decisions stored, by result (PAID, CREDIT_CONSUMED, OVERRIDE, BLOCKED, ERROR)",
            [Sample({"result": r}, counts.get(r, 0)) for r in results],
        )
    ]


async def scheduler_families(uow: UnitOfWork) -> list[Family]:
    """The scheduled passes: how many per job and outcome, when the newest started, the newest completed
    pass's counts."""
    runs = uow.repo(SchedulerRunRepository)
    counts = await runs.count_by_job_outcome()
    latest = await runs.latest()
    return [
        gauge(
            "zenops_scheduler_runs",
            "Scheduled passes of the billing stream processes recorded (retention window), by job and outcome",
            [Sample({"job": j, "outcome": o}, n) for (j, o), n in sorted(counts.items())],
        ),
        gauge(
            "zenops_scheduler_last_run_timestamp_seconds",
            "Start time of the newest scheduled pass, by job and outcome",
            [Sample({"job": r.job, "outcome": r.outcome}, r.started_at.timestamp()) for r in latest],
        ),
        gauge(
            "zenops_scheduler_last_run_count",
            "Counts of the newest completed scheduled pass of each job (scanned, released, refilled, ...)",
            [
                Sample({"job": r.job, "count": name}, value)
                for r in latest
                if r.outcome == COMPLETED
                for name, value in sorted(r.counts.items())
            ],
        ),
    ]


def metrics(c: ServiceContainer[Any]) -> Sequence[Extra]:
    """The extras of billing's ``ServiceDefinition``."""

    async def gate_outcomes() -> list[Family]:
        async with c.system_uow() as uow:
            return await gate_outcome_families(uow)

    async def scheduled_passes() -> list[Family]:
        async with c.system_uow() as uow:
            return await scheduler_families(uow)

    return [gate_outcomes, scheduled_passes]
