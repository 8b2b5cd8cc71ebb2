"""Create a DRAFT work order (domain.md §1.8)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from shared.contracts.workorders import WorkOrderCreated, WorkOrderView
from shared.db.uow import UnitOfWork
from workorders_service.domain.model import WorkOrder
from workorders_service.domain.readmodel import compute_readiness, work_order_document
from workorders_service.handlers.common import user_uuid
from workorders_service.repositories import WorkOrderRepository


@dataclass(frozen=True)
class CreateWorkOrder:
    """A new work order of a tenant, created by ``user_id``."""

    tenant_id: str
    user_id: str | None
    source_type: str
    source_ref_id: uuid.UUID | None
    assignment_id: uuid.UUID | None
    report_type: str
    bank_name: str
    bank_type: str
    billing_external_key: str | None


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
    wo = await WorkOrderRepository(uow.session).insert(
        id=uuid.uuid4(),
        tenant_id=uuid.UUID(command.tenant_id),
        source_type=command.source_type,
        source_ref_id=command.source_ref_id,
        assignment_id=command.assignment_id,
        report_type=command.report_type,
        bank_name=command.bank_name,
        bank_type=command.bank_type,
        billing_external_key=command.billing_external_key,
        created_by_user_id=user_uuid(command.user_id),
        current_readiness=readiness,
    )
    await uow.emit(
        WorkOrderCreated(work_order=WorkOrderView.model_validate(work_order_document(wo))),
        aggregate_id=str(wo.id),
        aggregate_version=1,
        tenant_id=command.tenant_id,
    )
    return wo
