"""``/v1/ops/billing/…``: billing's own ops routes beside the shared ones (``shared.ops.api``), issue 17.

``GET /v1/ops/billing/scheduler-runs`` lists the stream process's scheduled passes (subscription refill,
reconciliation sweep) with their counts, newest first.

``GET /v1/ops/billing/work-orders/{work_order_id}/gate-replay`` re-decides each stored release-gate
decision of a work order from its stored inputs and reports whether the outcome (and the decision hash)
matches the stored one. A read: nothing is changed, nothing is published.
"""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field

from billing_service.api._edge import uuid_or_404
from billing_service.domain.errors import GateDecisionNotFound, IdNotFound
from billing_service.handlers._common import iso
from billing_service.handlers.gate_replay import (
    ReplayWorkOrderGate,
    WorkOrderGateReplay,
    replay_work_order_gate,
)
from billing_service.handlers.release_gate import DecisionRecord, GateReplay
from billing_service.handlers.scheduled_runs import recent_runs
from billing_service.repositories.scheduler_runs import SchedulerRunRow
from billing_service.views import Instant
from shared.api import ContainerDep, errors
from shared.ops.api import OpsCaller
from shared.ops.auth import OPS_READ

router = APIRouter(prefix="/v1/ops/billing", tags=["ops"])


class DecisionRecordView(BaseModel):
    """A gate outcome (result, blocked reason, error code, hold to consume, override) and its hash."""

    outcome: dict[str, str | bool | None]
    decision_hash: str

    @classmethod
    def of(cls, record: DecisionRecord) -> DecisionRecordView:
        outcome = {
            k: v if isinstance(v, str | bool) or v is None else str(v) for k, v in record.outcome.items()
        }
        return cls(outcome=outcome, decision_hash=record.decision_hash)


class GateReplayView(BaseModel):
    """One stored decision beside its re-decision from the stored inputs."""

    decision_id: str
    release_id: str
    inputs: dict[str, object]
    stored: DecisionRecordView
    replayed: DecisionRecordView
    matches: bool

    @classmethod
    def of(cls, replay: GateReplay) -> GateReplayView:
        return cls(
            decision_id=replay.decision_id,
            release_id=replay.release_id,
            inputs=dict(replay.inputs),
            stored=DecisionRecordView.of(replay.stored),
            replayed=DecisionRecordView.of(replay.replayed),
            matches=replay.matches,
        )


class WorkOrderGateReplayView(BaseModel):
    """The gate replay of a work order: every stored decision, oldest first."""

    work_order_id: str
    all_match: bool = Field(description="Every re-decision equals its stored decision")
    decisions: list[GateReplayView]

    @classmethod
    def of(cls, replay: WorkOrderGateReplay) -> WorkOrderGateReplayView:
        return cls(
            work_order_id=replay.work_order_id,
            all_match=replay.all_match,
            decisions=[GateReplayView.of(r) for r in replay.replays],
        )


@router.get(
    "/work-orders/{work_order_id}/gate-replay",
    response_model=WorkOrderGateReplayView,
    responses=errors(IdNotFound, GateDecisionNotFound),
)
async def ops_gate_replay(work_order_id: str, who: OpsCaller, c: ContainerDep) -> WorkOrderGateReplayView:
    """Re-decide the work order's release-gate decisions from their stored inputs (changes nothing)."""
    who.require(OPS_READ)
    wo = uuid_or_404(work_order_id, "work order")
    async with c.system_uow() as uow:
        replay = await replay_work_order_gate(uow, ReplayWorkOrderGate(wo))
    return WorkOrderGateReplayView.of(replay)


class SchedulerRunView(BaseModel):
    """One scheduled pass: job, outcome (``completed``, ``failed``, ``skipped_locked`` when another replica
    held the job's run lock), the replica, its times and its counts."""

    id: str
    job: str
    outcome: str
    replica: str
    started_at: Instant
    finished_at: Instant
    counts: dict[str, int]
    error: str | None

    @classmethod
    def of(cls, row: SchedulerRunRow) -> SchedulerRunView:
        return cls(
            id=row.id,
            job=row.job,
            outcome=row.outcome,
            replica=row.replica,
            started_at=iso(row.started_at),
            finished_at=iso(row.finished_at),
            counts=dict(row.counts),
            error=row.error,
        )


@router.get("/scheduler-runs", response_model=list[SchedulerRunView])
async def ops_scheduler_runs(
    who: OpsCaller,
    c: ContainerDep,
    job: Annotated[Literal["subscription_refill", "reconcile_sweep"] | None, Query()] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> list[SchedulerRunView]:
    """The scheduled passes of the billing stream processes (every replica), newest first."""
    who.require(OPS_READ)
    async with c.system_uow() as uow:
        rows = await recent_runs(uow, job, limit)
    return [SchedulerRunView.of(r) for r in rows]
