"""Wire shapes of the service-invoice routes (domain.md §7.6 summary/detail, §9.3).

Amounts are ``Decimal`` up to here and JSON numbers with at most two decimals on the wire; statuses and
kinds are upper-case; dates ``YYYY-MM-DD``; instants ISO-8601 UTC with ``Z``.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Annotated

from pydantic import PlainSerializer

from billing_service.domain.invoice_book import InvoiceHeader
from billing_service.domain.money import Money
from billing_service.handlers.invoice_notes import Reminder
from billing_service.handlers.invoice_queries import InvoiceContext, InvoiceDetail
from billing_service.repositories.invoice_book import AttachmentRow
from billing_service.views import AccountStatusView, Instant, Upper, View, account_status


def _json_number(value: Decimal) -> float:
    # The edge only: a Decimal with two places becomes the JSON number with the same text (domain.md §0).
    return float(value)


Amount = Annotated[Decimal, PlainSerializer(_json_number, return_type=float, when_used="json")]
"""A money amount: ``Decimal`` inside, a JSON number with at most two decimals on the wire."""


def _amount(money: Money) -> Decimal:
    return money.amount


class InvoiceSummaryView(View):
    """An invoice in the list (§7.6 summary shape)."""

    id: str
    tenant_id: str
    account_id: str
    account_display_name: str
    assignment_id: str | None
    channel_request_id: str | None
    work_order_id: str | None
    invoice_number: str | None
    status: Upper
    issued_date: date | None
    due_date: date | None
    currency: str
    subtotal_amount: Amount
    tax_amount: Amount
    total_amount: Amount
    amount_paid: Amount
    amount_due: Amount
    amount_credited: Amount
    is_paid: bool
    paid_at: Instant
    created_at: Instant
    updated_at: Instant


class InvoiceItemView(View):
    """One line."""

    id: str
    description: str
    quantity: Amount
    unit_price: Amount
    line_total: Amount
    tax_code: str | None
    tax_rate: Amount | None
    service_code: str | None
    order_index: int


class PaymentView(View):
    """One payment."""

    id: str
    amount: Amount
    paid_at: Instant
    mode: str
    reference: str | None
    notes: str | None


class AdjustmentView(View):
    """One credit note."""

    id: str
    amount: Amount
    adjustment_type: str
    reason: str | None
    issued_at: Instant


class AttachmentView(View):
    """One attachment of the detail."""

    id: str
    kind: Upper
    original_name: str
    storage_key: str
    mime_type: str | None
    size_bytes: int
    created_at: Instant


class PaymentProofView(View):
    """The answer of ``POST /:id/payment-proof``."""

    id: str
    invoice_id: str
    kind: Upper
    original_name: str
    storage_key: str
    created_at: Instant


class AuditLogView(View):
    """One audit entry."""

    id: str
    event_type: str
    actor_user_id: str | None
    reason: str | None
    diff_json: dict[str, object]
    created_at: Instant


class InvoiceDetailView(InvoiceSummaryView):
    """The §7.6 detail: the summary and everything that explains the total."""

    notes: str | None
    bill_to_name: str | None
    bill_to_address: str | None
    sent_at: Instant
    voided_at: Instant
    void_reason: str | None
    items: list[InvoiceItemView]
    payments: list[PaymentView]
    adjustments: list[AdjustmentView]
    attachments: list[AttachmentView]
    audit_logs: list[AuditLogView]


class InvoiceContextView(View):
    """``GET /:id/context``."""

    invoice: InvoiceDetailView
    account: AccountStatusView


class ReminderView(View):
    """``POST /:id/remind``."""

    status: str
    invoice_id: str
    message: str


def _summary_fields(h: InvoiceHeader) -> dict[str, object]:
    return {
        "id": h.id,
        "tenant_id": h.tenant_id,
        "account_id": h.account_id,
        "account_display_name": h.account_display_name,
        "assignment_id": h.assignment_id,
        "channel_request_id": h.channel_request_id,
        "work_order_id": h.work_order_id,
        "invoice_number": h.invoice_number,
        "status": h.status.value,
        "issued_date": h.issued_date,
        "due_date": h.due_date,
        "currency": h.currency,
        "subtotal_amount": _amount(h.subtotal),
        "tax_amount": _amount(h.tax),
        "total_amount": _amount(h.total),
        "amount_paid": _amount(h.amount_paid),
        "amount_due": _amount(h.amount_due),
        "amount_credited": _amount(h.amount_credited),
        "is_paid": h.is_paid,
        "paid_at": h.paid_at,
        "created_at": h.created_at,
        "updated_at": h.updated_at,
    }


def invoice_summary(header: InvoiceHeader) -> InvoiceSummaryView:
    """The list shape of one invoice."""
    return InvoiceSummaryView.model_validate(_summary_fields(header))


def invoice_detail(detail: InvoiceDetail) -> InvoiceDetailView:
    """The detail shape."""
    h = detail.header
    return InvoiceDetailView.model_validate(
        {
            **_summary_fields(h),
            "notes": h.notes,
            "bill_to_name": h.bill_to_name,
            "bill_to_address": h.bill_to_address,
            "sent_at": h.sent_at,
            "voided_at": h.voided_at,
            "void_reason": h.void_reason,
            "items": [
                {
                    "id": row.id,
                    "description": row.item.description,
                    "quantity": row.item.quantity,
                    "unit_price": _amount(row.item.unit_price),
                    "line_total": _amount(row.item.line_total),
                    "tax_code": row.item.tax_code,
                    "tax_rate": row.item.tax_rate,
                    "service_code": row.item.service_code,
                    "order_index": row.item.order_index,
                }
                for row in detail.items
            ],
            "payments": [
                {
                    "id": p.id,
                    "amount": _amount(p.amount),
                    "paid_at": p.paid_at,
                    "mode": p.mode,
                    "reference": p.reference,
                    "notes": p.notes,
                }
                for p in detail.payments
            ],
            "adjustments": [
                {
                    "id": a.id,
                    "amount": _amount(a.amount),
                    "adjustment_type": a.adjustment_type,
                    "reason": a.reason,
                    "issued_at": a.issued_at,
                }
                for a in detail.adjustments
            ],
            "attachments": [AttachmentView.of(a) for a in detail.attachments],
            "audit_logs": [AuditLogView.of(a) for a in detail.audit_logs],
        }
    )


def invoice_context(context: InvoiceContext) -> InvoiceContextView:
    """``{invoice, account}``."""
    return InvoiceContextView(
        invoice=invoice_detail(context.invoice), account=account_status(context.account)
    )


def payment_proof(row: AttachmentRow) -> PaymentProofView:
    """The attachment as the payment-proof route answers it."""
    return PaymentProofView.of(row)


def reminder(answer: Reminder) -> ReminderView:
    """The reminder answer."""
    return ReminderView.of(answer)
