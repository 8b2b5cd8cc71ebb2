"""Check whether the render a READY_FOR_RENDER request started has settled (architecture §4)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from shared.db.uow import UnitOfWork
from workorders_service.domain.readmodel import pack_state
from workorders_service.repositories import ProjectionRepository, WorkOrderRepository


@dataclass(frozen=True)
class CheckRender:
    """The render saga of one work order."""

    work_order_id: uuid.UUID


async def check_render(uow: UnitOfWork, query: CheckRender) -> bool:
    """``True`` once factory answered the render (a pack created or failed since the request's baseline),
    or when there is nothing left to wait for (the work order is gone or no longer READY_FOR_RENDER)."""
    wo = await uow.repo(WorkOrderRepository).get(query.work_order_id)
    if wo is None or wo.status != "READY_FOR_RENDER":
        return True
    pack = await uow.repo(ProjectionRepository).pack(wo.id)
    return pack_state(wo.pack_baseline_version, pack) not in ("PENDING", None)
