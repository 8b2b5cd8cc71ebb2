"""Service invoices (the acceptance draft; the lifecycle is Billing 2)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from billing_service.domain.invoices import DraftInvoice
from billing_service.repositories._rows import from_row, is_uuid, new_id
from billing_service.tables import service_invoice_items, service_invoices
from shared.db.uow import Repository


@dataclass(frozen=True, slots=True)
class InvoiceRow:
    """What billing reads back of a service invoice (amounts in minor units, status lower-case)."""

    id: str
    tenant_id: str
    account_id: str
    work_order_id: str | None
    invoice_number: str | None
    status: str
    currency: str
    total_minor: int
    amount_due_minor: int
    is_paid: bool


class InvoiceRepository(Repository):
    """Service invoices and their items. Never commits."""

    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def add_draft(self, draft: DraftInvoice, *, work_order_id: str | None) -> None:
        """Insert a draft invoice and its items (amounts in minor units)."""
        totals = draft.totals
        await self._session.execute(
            insert(service_invoices).values(
                id=draft.id,
                tenant_id=draft.tenant_id,
                account_id=draft.account_id,
                work_order_id=work_order_id,
                assignment_id=draft.assignment_id,
                status=draft.status.value,
                currency=draft.currency,
                subtotal_minor=totals.subtotal.to_minor(),
                tax_minor=totals.tax.to_minor(),
                total_minor=totals.total.to_minor(),
                amount_due_minor=totals.amount_due.to_minor(),
                bill_to_name=draft.bill_to_name,
                notes=draft.notes,
            )
        )
        for item in draft.items:
            await self._session.execute(
                insert(service_invoice_items).values(
                    id=new_id(),
                    tenant_id=draft.tenant_id,
                    invoice_id=draft.id,
                    description=item.description,
                    quantity=item.quantity,
                    unit_price_minor=item.unit_price.to_minor(),
                    line_total_minor=item.line_total.to_minor(),
                    tax_rate=item.tax_rate,
                    tax_code=item.tax_code,
                    service_code=item.service_code,
                    order_index=item.order_index,
                )
            )

    async def get(self, invoice_id: str) -> InvoiceRow | None:
        """One invoice."""
        if not is_uuid(invoice_id):
            return None
        t = service_invoices.c
        query = select(
            t.id,
            t.tenant_id,
            t.account_id,
            t.work_order_id,
            t.invoice_number,
            t.status,
            t.currency,
            t.total_minor,
            t.amount_due_minor,
            t.is_paid,
        ).where(t.id == invoice_id)
        row = (await self._session.execute(query)).mappings().first()
        return from_row(InvoiceRow, row) if row else None

    async def live_for_work_order(self, work_order_id: str) -> str | None:
        """The id of the non-void acceptance invoice of a work order."""
        t = service_invoices.c
        query = (
            select(t.id)
            .where(t.work_order_id == work_order_id, t.status != "void")
            .order_by(t.created_at)
            .limit(1)
        )
        found: str | None = (await self._session.execute(query)).scalar_one_or_none()
        return found

    async def void_draft(self, invoice_id: str, reason: str) -> bool:
        """Void an invoice only while it is a draft (decision 10); True when it changed."""
        t = service_invoices
        statement = (
            update(t)
            .where(t.c.id == invoice_id, t.c.status == "draft")
            .values(
                status="void",
                voided_at=func.now(),
                void_reason=reason,
                amount_due_minor=0,
                is_paid=False,
                updated_at=func.now(),
            )
            .returning(t.c.id)
        )
        return (await self._session.execute(statement)).first() is not None
