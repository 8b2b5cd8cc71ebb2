"""Find one work order as stored (the routes' visibility checks and saga waits read it)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from shared.db.uow import UnitOfWork
from workorders_service.domain.model import WorkOrder
from workorders_service.repositories import WorkOrderRepository


@dataclass(frozen=True)
class FindWorkOrder:
    """One work order by id."""

    work_order_id: uuid.UUID


async def find_work_order(uow: UnitOfWork, query: FindWorkOrder) -> WorkOrder | None:
    """The work order the caller's transaction may see (RLS), or ``None``."""
    return await uow.repo(WorkOrderRepository).get(query.work_order_id)
