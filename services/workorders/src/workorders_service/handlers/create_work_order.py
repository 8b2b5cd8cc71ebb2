"""Create a DRAFT work order (domain.md §1.8)."""

from __future__ import annotations

from dataclasses import dataclass

from shared.contracts.workorders import WorkOrderCreated, WorkOrderView
from shared.db.uow import UnitOfWork
from workorders_service.domain.model import NewWorkOrder, WorkOrder
from workorders_service.domain.readmodel import compute_readiness, work_order_document
from workorders_service.repositories import WorkOrderRepository


@dataclass(frozen=True)
class CreateWorkOrder(NewWorkOrder):
    """A new work order of a tenant, as its creator asked for it."""


async def create_work_order(uow: UnitOfWork, command: CreateWorkOrder) -> WorkOrder:
    """Insert a DRAFT work order with its initial readiness and emit ``created`` (version 1)."""
    readiness = compute_readiness(
        report_type=command.report_type,
        bank_type=command.bank_type,
        bank_name=command.bank_name,
        latest_contract=None,
        rule_warnings=[],
        evidence=None,
    )
    wo = await uow.repo(WorkOrderRepository).insert(command, current_readiness=readiness)
    await uow.emit(
        WorkOrderCreated(work_order=WorkOrderView.model_validate(work_order_document(wo))),
        aggregate_id=str(wo.id),
        aggregate_version=1,
        tenant_id=str(wo.tenant_id),
    )
    return wo
