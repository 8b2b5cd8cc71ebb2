"""``/v1/ops/billing/…``: billing's own ops routes beside the shared ones (``shared.ops.api``), issue 17.

``GET /v1/ops/billing/work-orders/{work_order_id}/gate-replay`` re-decides each stored release-gate
decision of a work order from its stored inputs and reports whether the outcome (and the decision hash)
matches the stored one. A read: nothing is changed, nothing is published.
"""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel, Field

from billing_service.api._edge import uuid_or_404
from billing_service.domain.errors import GateDecisionNotFound, IdNotFound
from billing_service.handlers.gate_replay import (
    ReplayWorkOrderGate,
    WorkOrderGateReplay,
    replay_work_order_gate,
)
from billing_service.handlers.release_gate import DecisionRecord, GateReplay
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
