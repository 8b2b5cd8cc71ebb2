"""All SQL of the service-invoice lifecycle (domain.md §7.6): the invoice row under its lock, its lines,
payments, credits, attachments and audit trail, the gap-free number counter, the keyset list and the
header idempotency keys. Amounts are minor units in the tables and ``Money`` above. Never commits."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Select, and_, func, insert, literal, or_, select, text, tuple_, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from billing_service.domain.invoice_book import AdjustmentLine, InvoiceHeader, ListCursor, PaymentLine
from billing_service.domain.invoices import InvoiceItem, InvoiceStatus
from billing_service.domain.money import Money
from billing_service.repositories._rows import is_uuid
from billing_service.tables import (
    accounts,
    invoice_sequences,
    known_documents,
    service_idempotency_keys,
    service_invoice_adjustments,
    service_invoice_attachments,
    service_invoice_audit_logs,
    service_invoice_items,
    service_invoice_payments,
    service_invoices,
)
from shared.db.uow import Repository
from shared.validation import JsonObject

_I = service_invoices.c

#: header columns written by ``add`` / ``save`` (amounts as ``<name>_minor``)
_MONEY = {
    "subtotal": "subtotal_minor",
    "tax": "tax_minor",
    "total": "total_minor",
    "amount_paid": "amount_paid_minor",
    "amount_credited": "amount_credited_minor",
    "amount_due": "amount_due_minor",
}
_PLAIN = (
    "work_order_id",
    "assignment_id",
    "channel_request_id",
    "invoice_number",
    "currency",
    "issued_date",
    "due_date",
    "sent_at",
    "is_paid",
    "paid_at",
    "voided_at",
    "void_reason",
    "bill_to_name",
    "bill_to_address",
    "notes",
    "created_by_user_id",
)


@dataclass(frozen=True, slots=True)
class ItemRow:
    """A stored invoice line."""

    id: str
    item: InvoiceItem


@dataclass(frozen=True, slots=True)
class AttachmentRow:
    """A stored attachment (payment proof, invoice document, other)."""

    id: str
    invoice_id: str
    kind: str
    original_name: str
    storage_key: str
    mime_type: str | None
    size_bytes: int
    created_at: datetime


@dataclass(frozen=True, slots=True)
class AuditRow:
    """One audit entry of an invoice."""

    id: str
    event_type: str
    actor_user_id: str | None
    reason: str | None
    diff_json: JsonObject
    created_at: datetime


@dataclass(frozen=True, slots=True)
class NewAudit:
    """An audit entry to write."""

    event_type: str
    actor_user_id: str | None
    reason: str | None
    diff: JsonObject


@dataclass(frozen=True, slots=True)
class NewAttachment:
    """An attachment to write."""

    kind: str
    original_name: str
    storage_key: str
    mime_type: str | None
    size_bytes: int
    created_by_user_id: str | None


@dataclass(frozen=True, slots=True)
class StoredKey:
    """A header ``Idempotency-Key`` already used: its request hash and stored response."""

    request_hash: str
    invoice_id: str | None
    response: JsonObject


@dataclass(frozen=True, slots=True)
class KnownDocument:
    """A document uploaded through ``/v1/documents``, as evidence announced it."""

    document_id: str
    storage_key: str
    sha256: str
    original_filename: str
    content_type: str
    size_bytes: int
    source_version: int


@dataclass(frozen=True, slots=True)
class InvoiceFilter:
    """The list's filters (all optional) and page."""

    status: InvoiceStatus | None = None
    account_id: str | None = None
    overdue_on: date | None = None  # overdue: due before this day with something due, not void
    issued_from: date | None = None
    issued_to: date | None = None
    search: str | None = None
    cursor: ListCursor | None = None
    limit: int = 100


def _money(row: Any, column: str, currency: str) -> Money:
    return Money.from_minor(int(row[column]), currency)


def _header(row: Any) -> InvoiceHeader:
    currency = str(row["currency"])
    values: dict[str, Any] = {name: row[name] for name in _PLAIN}
    values.update({name: _money(row, column, currency) for name, column in _MONEY.items()})
    return InvoiceHeader(
        id=str(row["id"]),
        tenant_id=str(row["tenant_id"]),
        account_id=str(row["account_id"]),
        account_display_name=str(row["account_display_name"]),
        status=InvoiceStatus(row["status"]),
        created_at=row["created_at"],
        updated_at=row["updated_at"],
        **values,
    )


def _select_headers() -> Select[Any]:
    return select(service_invoices, accounts.c.display_name.label("account_display_name")).select_from(
        service_invoices.join(accounts, accounts.c.id == _I.account_id)
    )


def _columns(header: InvoiceHeader) -> dict[str, Any]:
    values: dict[str, Any] = {name: getattr(header, name) for name in _PLAIN}
    values.update({column: getattr(header, name).to_minor() for name, column in _MONEY.items()})
    values["status"] = header.status.value
    return values


def _escape_like(value: str) -> str:
    return "%" + value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


class InvoiceBookRepository(Repository):
    """Service invoices for their lifecycle. Never commits."""

    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    # --- the invoice row ---------------------------------------------------------------------------

    async def header(self, invoice_id: str, *, lock: bool = False) -> InvoiceHeader | None:
        """One invoice (``lock``: FOR UPDATE of the invoice row, serializing its money changes)."""
        if not is_uuid(invoice_id):
            return None
        query = _select_headers().where(_I.id == invoice_id)
        if lock:
            query = query.with_for_update(of=service_invoices)
        row = (await self._session.execute(query)).mappings().first()
        return _header(row) if row else None

    async def add(self, header: InvoiceHeader) -> None:
        """Insert a new invoice row."""
        await self._session.execute(
            insert(service_invoices).values(
                id=header.id,
                tenant_id=header.tenant_id,
                account_id=header.account_id,
                created_at=header.created_at,
                updated_at=header.updated_at,
                **_columns(header),
            )
        )

    async def save(self, header: InvoiceHeader) -> InvoiceHeader:
        """Write every mutable column of ``header``; the row as stored (``updated_at`` now)."""
        await self._session.execute(
            update(service_invoices)
            .where(_I.id == header.id)
            .values(updated_at=func.now(), **_columns(header))
        )
        saved = await self.header(header.id)
        assert saved is not None  # noqa: S101  the row was just written in this transaction
        return saved

    # --- lines ------------------------------------------------------------------------------------

    async def items(self, invoice_id: str) -> list[ItemRow]:
        """The lines in ``order_index`` order."""
        t = service_invoice_items.c
        rows = await self._session.execute(
            select(service_invoice_items).where(t.invoice_id == invoice_id).order_by(t.order_index, t.id)
        )
        return [
            ItemRow(
                str(r["id"]),
                InvoiceItem(
                    description=r["description"],
                    quantity=Decimal(r["quantity"]),
                    unit_price=Money.from_minor(int(r["unit_price_minor"])),
                    line_total=Money.from_minor(int(r["line_total_minor"])),
                    tax_rate=Decimal(r["tax_rate"]) if r["tax_rate"] is not None else None,
                    tax_code=r["tax_code"],
                    service_code=r["service_code"],
                    order_index=int(r["order_index"]),
                ),
            )
            for r in rows.mappings()
        ]

    async def replace_items(self, tenant_id: str, invoice_id: str, items: list[ItemRow]) -> None:
        """Drop the lines and write ``items`` (draft edits)."""
        t = service_invoice_items
        await self._session.execute(t.delete().where(t.c.invoice_id == invoice_id))
        for row in items:
            item = row.item
            await self._session.execute(
                insert(t).values(
                    id=row.id,
                    tenant_id=tenant_id,
                    invoice_id=invoice_id,
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

    async def payments(self, invoice_id: str) -> list[PaymentLine]:
        """Payments, oldest first."""
        t = service_invoice_payments.c
        rows = await self._session.execute(
            select(service_invoice_payments).where(t.invoice_id == invoice_id).order_by(t.created_at, t.id)
        )
        return [
            PaymentLine(
                str(r["id"]),
                Money.from_minor(int(r["amount_minor"])),
                r["paid_at"],
                r["mode"],
                r["reference"],
                r["notes"],
            )
            for r in rows.mappings()
        ]

    async def add_payment(
        self,
        tenant_id: str,
        invoice_id: str,
        payment: PaymentLine,
        *,
        idempotency_key: str | None,
        user_id: str | None,
    ) -> None:
        """Record a payment."""
        await self._session.execute(
            insert(service_invoice_payments).values(
                id=payment.id,
                tenant_id=tenant_id,
                invoice_id=invoice_id,
                amount_minor=payment.amount.to_minor(),
                paid_at=payment.paid_at,
                mode=payment.mode,
                reference=payment.reference,
                notes=payment.notes,
                idempotency_key=idempotency_key,
                created_by_user_id=user_id,
            )
        )

    async def adjustments(self, invoice_id: str) -> list[AdjustmentLine]:
        """Credit notes, oldest first."""
        t = service_invoice_adjustments.c
        rows = await self._session.execute(
            select(service_invoice_adjustments).where(t.invoice_id == invoice_id).order_by(t.created_at, t.id)
        )
        return [
            AdjustmentLine(
                str(r["id"]),
                Money.from_minor(int(r["amount_minor"])),
                r["adjustment_type"],
                r["reason"],
                r["issued_at"],
            )
            for r in rows.mappings()
        ]

    async def add_adjustment(self, tenant_id: str, invoice_id: str, adjustment: AdjustmentLine) -> None:
        """Record a credit note."""
        await self._session.execute(
            insert(service_invoice_adjustments).values(
                id=adjustment.id,
                tenant_id=tenant_id,
                invoice_id=invoice_id,
                amount_minor=adjustment.amount.to_minor(),
                adjustment_type=adjustment.adjustment_type,
                reason=adjustment.reason,
                issued_at=adjustment.issued_at,
            )
        )

    async def attachments(self, invoice_id: str) -> list[AttachmentRow]:
        """Attachments, oldest first."""
        t = service_invoice_attachments.c
        rows = await self._session.execute(
            select(
                t.id,
                t.invoice_id,
                t.kind,
                t.original_name,
                t.storage_key,
                t.mime_type,
                t.size_bytes,
                t.created_at,
            )
            .where(t.invoice_id == invoice_id)
            .order_by(t.created_at, t.id)
        )
        return [
            AttachmentRow(
                str(r["id"]),
                str(r["invoice_id"]),
                r["kind"],
                r["original_name"],
                r["storage_key"],
                r["mime_type"],
                int(r["size_bytes"]),
                r["created_at"],
            )
            for r in rows.mappings()
        ]

    async def add_attachment(
        self, tenant_id: str, invoice_id: str, attachment_id: str, new: NewAttachment
    ) -> AttachmentRow:
        """Record an attachment; the stored row."""
        t = service_invoice_attachments
        created_at = (
            await self._session.execute(
                insert(t)
                .values(
                    id=attachment_id,
                    tenant_id=tenant_id,
                    invoice_id=invoice_id,
                    kind=new.kind,
                    original_name=new.original_name,
                    storage_key=new.storage_key,
                    mime_type=new.mime_type,
                    size_bytes=new.size_bytes,
                    created_by_user_id=new.created_by_user_id,
                )
                .returning(t.c.created_at)
            )
        ).scalar_one()
        return AttachmentRow(
            attachment_id,
            invoice_id,
            new.kind,
            new.original_name,
            new.storage_key,
            new.mime_type,
            new.size_bytes,
            created_at,
        )

    async def audit_logs(self, invoice_id: str) -> list[AuditRow]:
        """The audit trail, oldest first."""
        t = service_invoice_audit_logs.c
        rows = await self._session.execute(
            select(t.id, t.event_type, t.actor_user_id, t.reason, t.diff_json, t.created_at)
            .where(t.invoice_id == invoice_id)
            .order_by(t.created_at, t.id)
        )
        return [
            AuditRow(
                str(r["id"]),
                r["event_type"],
                r["actor_user_id"],
                r["reason"],
                dict(r["diff_json"]),
                r["created_at"],
            )
            for r in rows.mappings()
        ]

    async def add_audit(self, tenant_id: str, invoice_id: str, audit_id: str, entry: NewAudit) -> None:
        """Append an audit entry."""
        await self._session.execute(
            insert(service_invoice_audit_logs).values(
                id=audit_id,
                tenant_id=tenant_id,
                invoice_id=invoice_id,
                event_type=entry.event_type,
                actor_user_id=entry.actor_user_id,
                reason=entry.reason,
                diff_json=entry.diff,
            )
        )

    # --- numbering (decision 12) ------------------------------------------------------------------

    async def next_number(self, tenant_id: str, financial_year: str) -> int:
        """The next sequence of (tenant, FY): an upsert that increments the counter row, which stays
        locked until the transaction ends, so concurrent issues queue and a rollback returns the number
        (gap-free)."""
        t = invoice_sequences
        upsert = pg_insert(t).values(tenant_id=tenant_id, financial_year=financial_year, last_number=1)
        statement = upsert.on_conflict_do_update(
            index_elements=["tenant_id", "financial_year"],
            set_={"last_number": t.c.last_number + 1},
        ).returning(t.c.last_number)
        number: int = (await self._session.execute(statement)).scalar_one()
        return number

    # --- the list ---------------------------------------------------------------------------------

    async def list(self, tenant_id: str, where: InvoiceFilter) -> list[InvoiceHeader]:
        """Up to ``limit + 1`` invoices of the tenant matching ``where``, newest first (keyset)."""
        clauses = [_I.tenant_id == tenant_id]
        if where.status is not None:
            clauses.append(_I.status == where.status.value)
        if where.account_id is not None:
            clauses.append(_I.account_id == where.account_id)
        if where.overdue_on is not None:
            clauses += [
                _I.due_date < where.overdue_on,
                _I.amount_due_minor > 0,
                _I.status.notin_(("draft", "void", "paid")),
            ]
        if where.issued_from is not None:
            clauses.append(_I.issued_date >= where.issued_from)
        if where.issued_to is not None:
            clauses.append(_I.issued_date <= where.issued_to)
        if where.search:
            like = _escape_like(where.search.strip())
            clauses.append(
                or_(
                    _I.invoice_number.ilike(like, escape="\\"),
                    _I.bill_to_name.ilike(like, escape="\\"),
                    _I.notes.ilike(like, escape="\\"),
                )
            )
        if where.cursor is not None:
            after = tuple_(
                literal(where.cursor.created_at, service_invoices.c.created_at.type),
                literal(where.cursor.id, service_invoices.c.id.type),
            )
            clauses.append(tuple_(_I.created_at, _I.id) < after)
        query = (
            _select_headers()
            .where(and_(*clauses))
            .order_by(_I.created_at.desc(), _I.id.desc())
            .limit(where.limit + 1)
        )
        rows = await self._session.execute(query)
        return [_header(r) for r in rows.mappings()]

    # --- header Idempotency-Key (§7.6) --------------------------------------------------------------

    async def claim_key(self, tenant_id: str, scope: str, key: str) -> StoredKey | None:
        """Serialize requests with this key (transaction advisory lock) and return its stored use."""
        await self._session.execute(
            text("SELECT pg_advisory_xact_lock(hashtextextended(:k, 0))"),
            {"k": f"billing|invoice|{tenant_id}|{scope}|{key}"},
        )
        t = service_idempotency_keys.c
        row = (
            (
                await self._session.execute(
                    select(t.request_hash, t.invoice_id, t.response_json).where(
                        t.tenant_id == tenant_id, t.scope == scope, t.key == key
                    )
                )
            )
            .mappings()
            .first()
        )
        if row is None:
            return None
        invoice = str(row["invoice_id"]) if row["invoice_id"] is not None else None
        return StoredKey(row["request_hash"], invoice, dict(row["response_json"]))

    async def store_key(
        self,
        tenant_id: str,
        scope: str,
        key: str,
        *,
        request_hash: str,
        account_id: str | None,
        invoice_id: str | None,
        response: JsonObject,
    ) -> None:
        """Remember a key's request hash and response (in the effect's transaction)."""
        await self._session.execute(
            insert(service_idempotency_keys).values(
                tenant_id=tenant_id,
                scope=scope,
                key=key,
                account_id=account_id,
                invoice_id=invoice_id,
                request_hash=request_hash,
                response_json=response,
            )
        )

    # --- documents uploaded through /v1/documents (projection of evidence.documents.v1) -------------

    async def knows_document(self, tenant_id: str, storage_key: str) -> bool:
        """Whether the tenant uploaded a document stored under ``storage_key``."""
        t = known_documents.c
        query = select(t.document_id).where(t.tenant_id == tenant_id, t.storage_key == storage_key).limit(1)
        return (await self._session.execute(query)).first() is not None

    async def add_document(self, tenant_id: str, document: KnownDocument) -> None:
        """Record an uploaded document once (a redelivery changes nothing)."""
        statement = pg_insert(known_documents).values(
            document_id=document.document_id,
            tenant_id=tenant_id,
            storage_key=document.storage_key,
            sha256=document.sha256,
            original_filename=document.original_filename,
            content_type=document.content_type,
            size_bytes=document.size_bytes,
            source_version=document.source_version,
        )
        await self._session.execute(statement.on_conflict_do_nothing(index_elements=["document_id"]))
