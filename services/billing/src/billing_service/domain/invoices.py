"""Service invoices: numbering, dates, totals and lifecycle guards (domain.md §7.6; decisions 12, 13).

Dates follow Asia/Kolkata. India has used a fixed +05:30 offset without DST since 1945, so a fixed
offset is exact for every instant we bill and needs no tz database in the image.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from enum import StrEnum

from billing_service.domain.errors import (
    AmountExceedsDue,
    AmountNotPositive,
    IdempotencyKeyReused,
    InvalidAmount,
    InvalidPaymentTerms,
    InvoiceAlreadyIssued,
    InvoiceAlreadySettled,
    InvoiceHasPayments,
    InvoiceNotAdjustable,
    InvoiceNotDraft,
    InvoiceNotPayable,
    InvoiceNotRemindable,
    InvoiceNotSendable,
)
from billing_service.domain.money import DEFAULT_CURRENCY, Money
from shared.timestamps import iso_utc

IST = timezone(timedelta(hours=5, minutes=30), "Asia/Kolkata")


class InvoiceStatus(StrEnum):
    """Service invoice statuses (lower-case in storage, upper-case in responses)."""

    DRAFT = "draft"
    ISSUED = "issued"
    SENT = "sent"
    PARTIALLY_PAID = "partially_paid"
    PAID = "paid"
    VOID = "void"


SENDABLE = frozenset({InvoiceStatus.ISSUED, InvoiceStatus.SENT, InvoiceStatus.PARTIALLY_PAID})


# --- dates and numbers ----------------------------------------------------------------------------------


def ist_date(instant: datetime) -> date:
    """The calendar date in Asia/Kolkata of an aware instant."""
    if instant.tzinfo is None:
        raise ValueError("instant must be timezone-aware")
    return instant.astimezone(IST).date()


def financial_year_label(day: date) -> str:
    """``YY-YY`` of the April–March financial year containing ``day`` (2026-03-31 → 25-26)."""
    start = day.year if day.month >= 4 else day.year - 1
    return f"{start % 100:02d}-{(start + 1) % 100:02d}"


def financial_year_of(instant: datetime) -> str:
    """FY label of an instant, taken in Asia/Kolkata (2026-03-31T18:30Z is already April 1 in IST)."""
    return financial_year_label(ist_date(instant))


def invoice_number(fy_label: str, sequence: int) -> str:
    """``INV-<FY>-<sequence zero-padded to 5>`` (decision 12; sequence per tenant and FY, from 1)."""
    if sequence < 1:
        raise ValueError("invoice sequence starts at 1")
    return f"INV-{fy_label}-{sequence:05d}"


def due_date_for(issue_date: date, payment_terms_days: int) -> date:
    """Decision 13: due date defaults to issue date + the account's payment terms."""
    if payment_terms_days <= 0:
        raise InvalidPaymentTerms(details={"payment_terms_days": payment_terms_days})
    return issue_date + timedelta(days=payment_terms_days)


@dataclass(frozen=True, slots=True)
class IssueDates:
    """Issue and due date of an issue action."""

    issued_date: date
    due_date: date


def issue_dates(
    now: datetime, payment_terms_days: int, *, issued_date: date | None = None, due_date: date | None = None
) -> IssueDates:
    """Given dates win; otherwise issue today (IST) and due after the payment terms."""
    issued = issued_date or ist_date(now)
    return IssueDates(issued, due_date or due_date_for(issued, payment_terms_days))


# --- items and totals -----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class InvoiceItem:
    """One line. Construct through ``InvoiceItem.normalized`` to apply the original's clamps."""

    description: str
    quantity: Decimal
    unit_price: Money
    line_total: Money
    tax_rate: Decimal | None = None  # percent
    tax_code: str | None = None
    service_code: str | None = None
    order_index: int = 0

    @classmethod
    def normalized(
        cls,
        description: str,
        quantity: Decimal,
        unit_price: Money,
        *,
        tax_rate: Decimal | None = None,
        tax_code: str | None = None,
        service_code: str | None = None,
        order_index: int = 0,
    ) -> InvoiceItem:
        """Quantity ≤ 0 → 1, unit price < 0 → 0, line total = quantity × unit price (to cents)."""
        if not isinstance(quantity, Decimal) or not quantity.is_finite():
            raise InvalidAmount("quantity must be a finite Decimal", {"quantity": repr(quantity)})
        qty = quantity if quantity > 0 else Decimal(1)
        price = unit_price.max_zero()
        return cls(
            description=description,
            quantity=qty,
            unit_price=price,
            line_total=price.times(qty),
            tax_rate=tax_rate,
            tax_code=tax_code,
            service_code=service_code,
            order_index=order_index,
        )


@dataclass(frozen=True, slots=True)
class InvoiceTotals:
    """Recomputed amounts of one invoice."""

    subtotal: Money
    tax: Money
    total: Money
    amount_paid: Money
    amount_credited: Money
    amount_due: Money


def compute_totals(
    items: Iterable[InvoiceItem],
    payments: Iterable[Money] = (),
    adjustments: Iterable[Money] = (),
    currency: str = DEFAULT_CURRENCY,
) -> InvoiceTotals:
    """subtotal = Σ line totals; tax = Σ line × rate / 100 rounded once to cents (the original stored the
    sum in a ``numeric(14,2)``); paid = Σ positive payments; due = max(0, total − credited − paid)."""
    lines = list(items)
    subtotal = sum((i.line_total for i in lines), Money.zero(currency))
    raw_tax = sum(
        (i.line_total.amount * i.tax_rate / 100 for i in lines if i.tax_rate is not None), Decimal(0)
    )
    tax = Money.rounded(raw_tax, currency)
    paid = sum((p for p in payments if p.is_positive), Money.zero(currency))
    credited = sum(adjustments, Money.zero(currency))
    total = subtotal + tax
    return InvoiceTotals(
        subtotal=subtotal,
        tax=tax,
        total=total,
        amount_paid=paid,
        amount_credited=credited,
        amount_due=(total - credited - paid).max_zero(),
    )


def derive_status(current: InvoiceStatus, totals: InvoiceTotals, *, sent: bool) -> InvoiceStatus:
    """Status after a recompute; draft and void are never changed by amounts."""
    if current in (InvoiceStatus.DRAFT, InvoiceStatus.VOID):
        return current
    if not totals.amount_due.is_positive:
        return InvoiceStatus.PAID
    if totals.amount_paid.is_positive or totals.amount_credited.is_positive:
        return InvoiceStatus.PARTIALLY_PAID
    return InvoiceStatus.SENT if sent else InvoiceStatus.ISSUED


# --- lifecycle guards (INV-04..06) ----------------------------------------------------------------------


def ensure_can_update(status: InvoiceStatus) -> None:
    """Only drafts are editable."""
    if status is not InvoiceStatus.DRAFT:
        raise InvoiceNotDraft(details={"status": status.value.upper()})


def ensure_can_issue(status: InvoiceStatus) -> None:
    """Only drafts are issued (a replay with the same key is answered before this check)."""
    if status is not InvoiceStatus.DRAFT:
        raise InvoiceAlreadyIssued(details={"status": status.value.upper()})


def ensure_can_send(status: InvoiceStatus) -> None:
    """Send from issued, sent or partially paid."""
    if status not in SENDABLE:
        raise InvoiceNotSendable(details={"status": status.value.upper()})


def should_void(status: InvoiceStatus, amount_paid: Money) -> bool:
    """False when already void (no-op); raises when payments exist; True otherwise."""
    if status is InvoiceStatus.VOID:
        return False
    if amount_paid.is_positive:
        raise InvoiceHasPayments(details={"amount_paid": amount_paid.to_json_text()})
    return True


def ensure_can_pay(status: InvoiceStatus, amount: Money, amount_due: Money) -> None:
    """Payment guards in the original's order: payable status, positive amount, something due, ≤ due."""
    if status in (InvoiceStatus.DRAFT, InvoiceStatus.VOID):
        raise InvoiceNotPayable(details={"status": status.value.upper()})
    if not amount.is_positive:
        raise AmountNotPositive(details={"amount": amount.to_json_text()})
    if not amount_due.is_positive:
        raise InvoiceAlreadySettled()
    if amount > amount_due:
        raise AmountExceedsDue(
            details={"amount": amount.to_json_text(), "amount_due": amount_due.to_json_text()}
        )


def ensure_can_adjust(status: InvoiceStatus, amount: Money) -> None:
    """Adjustments (credits) need an issued, non-void invoice and a positive amount."""
    if status in (InvoiceStatus.DRAFT, InvoiceStatus.VOID):
        raise InvoiceNotAdjustable(details={"status": status.value.upper()})
    if not amount.is_positive:
        raise AmountNotPositive(details={"amount": amount.to_json_text()})


def ensure_can_remind(status: InvoiceStatus, amount_due: Money) -> None:
    """Reminders need something due on a non-void invoice."""
    if status is InvoiceStatus.VOID or not amount_due.is_positive:
        raise InvoiceNotRemindable()


# --- request hashes for header idempotency --------------------------------------------------------------


def issue_request_hash(invoice_id: str, issued_date: date | None, due_date: date | None) -> str:
    """``invoice_issue:<id>:<issued_date or "">:<due_date or "">``."""
    issued = issued_date.isoformat() if issued_date else ""
    due = due_date.isoformat() if due_date else ""
    return f"invoice_issue:{invoice_id}:{issued}:{due}"


def payment_request_hash(
    invoice_id: str, amount: Money, mode: str | None, reference: str | None, notes: str | None
) -> str:
    """``invoice_payment:<id>:<amount>:<mode or manual>:<reference or "">:<notes or "">`` (INV-01)."""
    return f"invoice_payment:{invoice_id}:{amount.to_json_text()}:{mode or 'manual'}:{reference or ''}:{notes or ''}"


def remind_request_hash(invoice_id: str) -> str:
    """``invoice_remind:<id>``."""
    return f"invoice_remind:{invoice_id}"


def is_replay(stored_hash: str | None, request_hash: str) -> bool:
    """True when the key was used with the same request (return the stored response); False when the
    key is new; 409 ``IDEMPOTENCY_KEY_REUSED`` with the original message when it was used differently."""
    if stored_hash is None:
        return False
    if stored_hash != request_hash:
        raise IdempotencyKeyReused("Idempotency key mismatch")
    return True


# --- drafts ---------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class DraftInvoice:
    """A new draft invoice to insert."""

    id: str
    tenant_id: str
    account_id: str
    notes: str | None
    bill_to_name: str | None
    items: tuple[InvoiceItem, ...]
    currency: str = DEFAULT_CURRENCY
    assignment_id: str | None = None
    status: InvoiceStatus = InvoiceStatus.DRAFT

    @property
    def totals(self) -> InvoiceTotals:
        """Totals of the draft (no payments or adjustments yet)."""
        return compute_totals(self.items, currency=self.currency)


def utc_now_iso(instant: datetime) -> str:
    """ISO-8601 UTC with milliseconds and ``Z`` (domain.md §0)."""
    return iso_utc(instant)
