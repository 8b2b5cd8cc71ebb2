"""List a tenant's work orders, newest first, with filters and a search (decision 25)."""

from __future__ import annotations

from dataclasses import dataclass, replace

from shared.db.uow import UnitOfWork
from workorders_service.domain.model import WorkOrderSearch, WorkOrderSummary
from workorders_service.repositories import WorkOrderRepository


@dataclass(frozen=True)
class SearchWorkOrders(WorkOrderSearch):
    """A caller's list query: exactly the criteria the repository searches by."""


async def search_work_orders(uow: UnitOfWork, query: SearchWorkOrders) -> list[WorkOrderSummary]:
    """The matching work orders the caller's transaction may see (RLS)."""
    search = query.search.strip() if query.search and query.search.strip() else None
    return await uow.repo(WorkOrderRepository).search(replace(query, search=search))
