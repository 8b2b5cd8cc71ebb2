"""The service invoice as one aggregate (domain.md §7.6): header, lines, payments, credits; the recompute
after every change, the access rules of §9.3, the list cursor and the request hashes of the header
``Idempotency-Key``. Pure: no I/O.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime
from typing import Any

from billing_service.domain.invoice_errors import (
    InvalidCursor,
    InvalidInvoiceFilter,
    InvoiceReadForbidden,
    InvoiceTenantRequired,
    InvoiceWriteForbidden,
    PortalInvoiceWriteForbidden,
)
from billing_service.domain.invoices import InvoiceItem, InvoiceStatus, compute_totals, derive_status
from billing_service.domain.money import Money
from shared.stable_json import stable_dumps


@dataclass(frozen=True, slots=True)
class InvoiceHeader:
    """One ``service_invoices`` row as the domain sees it (amounts as ``Money``)."""

    id: str
    tenant_id: str
    account_id: str
    account_display_name: str
    work_order_id: str | None
    assignment_id: str | None
    channel_request_id: str | None
    invoice_number: str | None
    status: InvoiceStatus
    currency: str
    issued_date: date | None
    due_date: date | None
    sent_at: datetime | None
    subtotal: Money
    tax: Money
    total: Money
    amount_paid: Money
    amount_credited: Money
    amount_due: Money
    is_paid: bool
    paid_at: datetime | None
    voided_at: datetime | None
    void_reason: str | None
    bill_to_name: str | None
    bill_to_address: str | None
    notes: str | None
    created_by_user_id: str | None
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True, slots=True)
class PaymentLine:
    """A recorded payment."""

    id: str
    amount: Money
    paid_at: datetime
    mode: str
    reference: str | None
    notes: str | None


@dataclass(frozen=True, slots=True)
class AdjustmentLine:
    """A credit note (adjustment) on an invoice."""

    id: str
    amount: Money
    adjustment_type: str
    reason: str | None
    issued_at: datetime


def recomputed(
    header: InvoiceHeader,
    items: Iterable[InvoiceItem],
    payments: Iterable[Money],
    adjustments: Iterable[Money],
    now: datetime,
) -> InvoiceHeader:
    """The header after §7.6's recompute: totals from the lines, status from the amounts (draft and void
    keep theirs), ``is_paid`` = status paid, ``paid_at`` kept or now when paid, else null. A void
    invoice owes nothing."""
    totals = compute_totals(items, payments, adjustments, header.currency)
    status = derive_status(header.status, totals, sent=header.sent_at is not None)
    is_paid = status is InvoiceStatus.PAID
    due = Money.zero(header.currency) if status is InvoiceStatus.VOID else totals.amount_due
    return replace(
        header,
        subtotal=totals.subtotal,
        tax=totals.tax,
        total=totals.total,
        amount_paid=totals.amount_paid,
        amount_credited=totals.amount_credited,
        amount_due=due,
        status=status,
        is_paid=is_paid,
        paid_at=(header.paid_at or now) if is_paid else None,
    )


#: the header fields an audit diff compares (what a person would ask "what changed?" about)
AUDITED_FIELDS = (
    "status",
    "invoice_number",
    "issued_date",
    "due_date",
    "sent_at",
    "total",
    "amount_paid",
    "amount_credited",
    "amount_due",
    "is_paid",
    "void_reason",
    "bill_to_name",
    "bill_to_address",
    "notes",
)


def _plain(value: object) -> object:
    if isinstance(value, Money):
        return value.to_json_text()
    if isinstance(value, InvoiceStatus):
        return value.value.upper()
    if isinstance(value, date | datetime):
        return value.isoformat()
    return value


def audit_diff(before: InvoiceHeader | None, after: InvoiceHeader) -> dict[str, Any]:
    """``{field: {"from": old, "to": new}}`` of the audited fields that changed (all of them on create)."""
    diff: dict[str, Any] = {}
    for name in AUDITED_FIELDS:
        new = _plain(getattr(after, name))
        old = _plain(getattr(before, name)) if before is not None else None
        if before is None or old != new:
            diff[name] = {"from": old, "to": new}
    return diff


# --- access (§9.3 assertCanRead / assertCanWrite) -------------------------------------------------------


@dataclass(frozen=True, slots=True)
class InvoiceCaller:
    """What the access rules need of a caller."""

    tenant_id: str | None
    is_super: bool
    is_portal: bool
    capabilities: frozenset[str]


def assert_can_read(caller: InvoiceCaller) -> str:
    """The caller's tenant when it may read invoices (403 otherwise)."""
    if not caller.tenant_id:
        raise InvoiceTenantRequired()
    if caller.is_super or caller.is_portal:
        return caller.tenant_id
    if {"invoices.read", "invoices.write"} & caller.capabilities:
        return caller.tenant_id
    raise InvoiceReadForbidden()


def assert_can_write(caller: InvoiceCaller) -> str:
    """The caller's tenant when it may change invoices (403 otherwise; portal never)."""
    if not caller.tenant_id:
        raise InvoiceTenantRequired()
    if caller.is_super:
        return caller.tenant_id
    if caller.is_portal:
        raise PortalInvoiceWriteForbidden()
    if {"invoices.write", "billing:write"} & caller.capabilities:
        return caller.tenant_id
    raise InvoiceWriteForbidden()


# --- the list --------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ListCursor:
    """Position after the last invoice of a page: newest first by (created_at, id)."""

    created_at: datetime
    id: str

    def encode(self) -> str:
        """Opaque URL-safe text for the ``x-next-cursor`` header."""
        raw = f"{self.created_at.isoformat()}|{self.id}".encode()
        return base64.urlsafe_b64encode(raw).decode().rstrip("=")

    @classmethod
    def decode(cls, text: str) -> ListCursor:
        """The cursor of ``text`` (400 ``INVALID_CURSOR`` unless this service made it)."""
        try:
            raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)).decode()
            when, ident = raw.split("|")
            created_at = datetime.fromisoformat(when)
            ident = str(uuid.UUID(ident))
        except (binascii.Error, UnicodeDecodeError, ValueError):
            raise InvalidCursor(details={"cursor": text[:64]}) from None
        if created_at.tzinfo is None:
            raise InvalidCursor(details={"cursor": text[:64]})
        return cls(created_at, ident)


def parse_status_filter(value: str | None) -> InvoiceStatus | None:
    """A status filter in any case (400 ``INVALID_FILTER`` for an unknown status)."""
    if value is None or not value.strip():
        return None
    try:
        return InvoiceStatus(value.strip().lower())
    except ValueError:
        raise InvalidInvoiceFilter(
            "status must be one of DRAFT, ISSUED, SENT, PARTIALLY_PAID, PAID, VOID", {"status": value}
        ) from None


def check_date_range(issued_from: date | None, issued_to: date | None) -> None:
    """``issued_from`` ≤ ``issued_to`` when both are given."""
    if issued_from and issued_to and issued_from > issued_to:
        raise InvalidInvoiceFilter(
            "issued_from must not be after issued_to",
            {"issued_from": issued_from.isoformat(), "issued_to": issued_to.isoformat()},
        )


def page_of(rows: Sequence[InvoiceHeader], limit: int) -> tuple[list[InvoiceHeader], str | None]:
    """The first ``limit`` of ``limit + 1`` fetched rows and the cursor of the next page (None: last)."""
    page = list(rows[:limit])
    if len(rows) > limit and page:
        return page, ListCursor(page[-1].created_at, page[-1].id).encode()
    return page, None


# --- request hashes of actions without a §7.6 hash -------------------------------------------------------


def body_request_hash(action: str, invoice_id: str, params: Mapping[str, Any]) -> str:
    """``invoice_<action>:<id>:<sha256 of the canonical request>``: same key + other body → 409."""
    digest = hashlib.sha256(stable_dumps(dict(params)).encode()).hexdigest()
    return f"invoice_{action}:{invoice_id}:{digest}"


def mark_paid_key(invoice_id: str) -> str:
    """The key of a mark-paid without ``Idempotency-Key`` (§7.6)."""
    return f"invoice_mark_paid:{invoice_id}"


def payment_usage_key(invoice_id: str, idempotency_key: str | None, payment_id: str) -> str:
    """``v2:payment:<invoice>:<idempotency key or payment id>`` (§7.6)."""
    return f"v2:payment:{invoice_id}:{idempotency_key or payment_id}"


def reminder_message(header: InvoiceHeader) -> str:
    """``Reminder recorded for <number or id>``."""
    return f"Reminder recorded for {header.invoice_number or header.id}"
