"""Gate replay of a work order (issue 17, ops): re-decide each of its stored release decisions from the
stored inputs and say whether the outcome matches the stored one. Reads only: nothing is changed."""

from __future__ import annotations

from dataclasses import dataclass

from billing_service.domain.errors import GateDecisionNotFound
from billing_service.handlers.release_gate import GateReplay, ReplayGateDecision, replay_gate_decision
from billing_service.repositories import GateDecisionRepository
from shared.db.uow import UnitOfWork

#: the most decisions one replay re-decides (a work order has one per release request)
MAX_DECISIONS = 100


@dataclass(frozen=True, slots=True)
class ReplayWorkOrderGate:
    """Re-decide the stored gate decisions of ``work_order_id``."""

    work_order_id: str


@dataclass(frozen=True, slots=True)
class WorkOrderGateReplay:
    """Each stored decision beside its re-decision, oldest first; ``all_match`` when none differs."""

    work_order_id: str
    replays: list[GateReplay]

    @property
    def all_match(self) -> bool:
        return all(r.matches for r in self.replays)


async def replay_work_order_gate(uow: UnitOfWork, command: ReplayWorkOrderGate) -> WorkOrderGateReplay:
    """The replays of every stored decision of the work order (404 when it has none)."""
    rows = await uow.repo(GateDecisionRepository).for_work_order(command.work_order_id, limit=MAX_DECISIONS)
    if not rows:
        raise GateDecisionNotFound(
            f"no gate decision for work order {command.work_order_id}",
            details={"work_order_id": command.work_order_id},
        )
    replays = [await replay_gate_decision(uow, ReplayGateDecision(row.id)) for row in rows]
    return WorkOrderGateReplay(command.work_order_id, replays)
