"""CANCELLED / CLOSED work orders (decision 10): release the hold, void a draft acceptance invoice."""

from __future__ import annotations

from dataclasses import dataclass

from billing_service.domain.acceptance import CompensationKind, compensation_for, compensation_release_key
from billing_service.domain.invoices import InvoiceStatus
from billing_service.domain.ledger import ReleaseHold
from billing_service.handlers._common import record_usage
from billing_service.handlers.credits import ReleaseAccountHold, release_credit
from billing_service.handlers.projections import emit_work_order_billing
from billing_service.repositories import InvoiceRepository, LedgerRepository, WorkOrderRepository
from shared.db.uow import UnitOfWork


@dataclass(frozen=True, slots=True)
class CompensateWorkOrder:
    """The work order reached ``target`` (CANCELLED or CLOSED) at ``source_version``."""

    work_order_id: str
    target: str
    message_id: str
    source_version: int
    released_flag: bool = False


async def compensate(uow: UnitOfWork, command: CompensateWorkOrder) -> None:
    """Undo what acceptance took, once (release and void are idempotent by key and by state)."""
    work_orders = uow.repo(WorkOrderRepository)
    invoices = uow.repo(InvoiceRepository)
    wo_id = command.work_order_id
    wo = await work_orders.get(wo_id, lock=True)
    if wo is None:
        return
    await work_orders.set_status(wo_id, command.target, command.source_version)
    hold = await uow.repo(LedgerRepository).hold(wo.hold_id) if wo.hold_id else None
    invoice = await invoices.get(wo.invoice_id) if wo.invoice_id else None
    actions = compensation_for(
        command.target,
        hold.status if hold else None,
        InvoiceStatus(invoice.status) if invoice else None,
        wo.has_successful_release or command.released_flag,
    )
    changed = False
    for action in actions:
        if action.kind is CompensationKind.RELEASE_HOLD and hold is not None:
            release = ReleaseHold(
                idempotency_key=compensation_release_key(wo_id, action.reason),
                hold_id=hold.id,
                reason=action.reason,
            )
            await release_credit(uow, ReleaseAccountHold(hold.account_id, release))
            changed = True
        elif (
            action.kind is CompensationKind.VOID_INVOICE
            and invoice is not None
            and await invoices.void_draft(invoice.id, action.reason)
        ):
            await record_usage(
                uow,
                "invoice_voided",
                f"v2:invoice_voided:{invoice.id}",
                {"invoice_id": invoice.id, "reason": action.reason},
                account_id=invoice.account_id,
                tenant_id=invoice.tenant_id,
            )
            changed = True
    if changed:
        version = await work_orders.touch(wo_id)
        await emit_work_order_billing(uow, wo_id, version, command.message_id)
