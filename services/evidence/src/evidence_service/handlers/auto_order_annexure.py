"""Auto-order the annexure of a work order (§4.9), persisted server-side."""

from __future__ import annotations

from dataclasses import dataclass

from evidence_service.domain.annexure import auto_order
from evidence_service.handlers.state import (
    WorkOrderCommand,
    WorkOrderEvidence,
    ensure_unlocked,
    evidence_for_rules,
    load_evidence,
    locked_work_order,
    publish_state,
)
from shared.db.uow import UnitOfWork


@dataclass(frozen=True)
class AutoOrderAnnexure(WorkOrderCommand):
    """``POST …/annexure/auto-order``."""

    actor: str | None


@dataclass(frozen=True)
class AnnexureOrder:
    """The new order of every item, whether anything moved, and the resulting evidence state."""

    order: dict[str, int]
    changed: bool
    evidence: WorkOrderEvidence


async def auto_order_annexure(uow: UnitOfWork, command: AutoOrderAnnexure) -> AnnexureOrder:
    """Only ``annexure_order`` changes (the original UI wiped other columns); one event when it did."""
    repos, wo = await locked_work_order(uow, command)
    ensure_unlocked(wo)
    items = await repos.items.of_work_order(wo.tenant_id, wo.work_order_id)
    order = auto_order(evidence_for_rules(items))
    changed = False
    for item in items:
        position = order[str(item.id)]
        if item.annexure_order != position:
            await repos.items.set_annexure_order(wo.tenant_id, item.id, position)
            changed = True
    if changed:
        evidence = await publish_state(uow, repos, wo, actor=command.actor)
    else:
        evidence = await load_evidence(repos, wo)
    return AnnexureOrder(order, changed, evidence)
