"""The ``work_order_billing`` projection: billing's state of one work order, as read and as published."""

from __future__ import annotations

from billing_service.handlers._common import iso
from billing_service.repositories import (
    InvoiceRepository,
    LedgerRepository,
    WorkOrderRepository,
    WorkOrderRow,
)
from shared.contracts.billing import Acceptance, HoldState, InvoiceState, LastGate, WorkOrderBilling
from shared.db.uow import UnitOfWork


async def work_order_billing(uow: UnitOfWork, row: WorkOrderRow) -> WorkOrderBilling:
    """The ``work_order_billing`` payload of one work-order row."""
    acceptance = None
    if row.acceptance_status is not None:
        acceptance = Acceptance(
            status=row.acceptance_status,  # type: ignore[arg-type]  # CHECKed by the schema
            code=row.acceptance_code,
            message=row.acceptance_message,
            details=dict(row.acceptance_details or {}),
            decided_at=iso(row.acceptance_decided_at),
            request_message_id=row.acceptance_request_message_id,
        )
    hold = None
    if row.hold_id is not None:
        h = await uow.repo(LedgerRepository).hold_row(row.hold_id)
        if h is not None:
            hold = HoldState(id=h.id, status=h.status, amount=h.amount)  # type: ignore[arg-type]
    invoice = None
    if row.invoice_id is not None:
        inv = await uow.repo(InvoiceRepository).get(row.invoice_id)
        if inv is not None:
            invoice = InvoiceState(
                id=inv.id,
                number=inv.invoice_number,
                status=inv.status.upper(),
                is_paid=inv.is_paid,
                total_minor=inv.total_minor,
                amount_due_minor=inv.amount_due_minor,
                currency=inv.currency,
            )
    return WorkOrderBilling(
        work_order_id=row.work_order_id,
        acceptance=acceptance,
        mode=row.mode.upper() if row.mode else None,  # type: ignore[arg-type]
        account_id=row.account_id,
        external_key=row.external_key,
        hold=hold,
        invoice=invoice,
        planned_consumption_logged=row.planned_consumption_logged,
        last_gate=LastGate.model_validate(row.last_gate) if row.last_gate else None,
    )


async def emit_work_order_billing(
    uow: UnitOfWork, work_order_id: str, version: int, causation_id: str | None
) -> WorkOrderBilling:
    """Publish the work order's billing state at ``version`` (compacted, key = work order id)."""
    row = await uow.repo(WorkOrderRepository).require(work_order_id)
    event = await work_order_billing(uow, row)
    await uow.emit(
        event,
        aggregate_id=work_order_id,
        aggregate_version=version,
        tenant_id=row.tenant_id,
        causation_id=causation_id,
    )
    return event
