"""Billing's own figures on ``/metrics`` (beside the shared ops figures of :mod:`shared.telemetry.metrics`).

``zenops_gate_decisions_total{result}``: release-gate decisions stored per result, read from the
append-only ``gate_decisions`` table at scrape time (cached with the other figures), so the count is
the truth of the database, survives restarts and covers every process that decides.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from billing_service.domain.gate import GateResult
from billing_service.repositories import GateDecisionRepository
from shared.container import ServiceContainer
from shared.db.uow import UnitOfWork
from shared.telemetry.metrics import Extra, Family, Sample, counter


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


def metrics(c: ServiceContainer[Any]) -> Sequence[Extra]:
    """The extras of billing's ``ServiceDefinition``."""

    async def gate_outcomes() -> list[Family]:
        async with c.system_uow() as uow:
            return await gate_outcome_families(uow)

    return [gate_outcomes]
