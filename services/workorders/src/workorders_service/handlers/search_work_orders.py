"""List a tenant's work orders, newest first, with filters and a search (decision 25)."""

from __future__ import annotations

from dataclasses import dataclass

from shared.db.uow import UnitOfWork
from workorders_service.domain.model import WorkOrderSummary
from workorders_service.repositories import WorkOrderRepository


@dataclass(frozen=True)
class SearchWorkOrders:
    """Filters of the list (``None`` = any) and a bank-name substring or exact id."""

    status: str | None = None
    report_type: str | None = None
    bank_type: str | None = None
    template_selector: str | None = None
    source_type: str | None = None
    search: str | None = None
    limit: int = 50


async def search_work_orders(uow: UnitOfWork, query: SearchWorkOrders) -> list[WorkOrderSummary]:
    """The matching work orders the caller's transaction may see (RLS)."""
    search = query.search.strip() if query.search and query.search.strip() else None
    return await WorkOrderRepository(uow.session).search(
        status=query.status,
        report_type=query.report_type,
        bank_type=query.bank_type,
        template_selector=query.template_selector,
        source_type=query.source_type,
        search=search,
        limit=query.limit,
    )
