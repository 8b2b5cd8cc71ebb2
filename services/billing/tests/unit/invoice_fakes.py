"""In-memory fake of :class:`InvoiceBookRepository` for the invoice handler tests.

It keeps the SQL's semantics: ``None`` for a malformed or missing id, lines in ``order_index`` order,
payments/credits/attachments/audit oldest first, the CHECKs on amounts, the (tenant, FY) counter, the
keyset list newest first by (created_at, id) and the primary key of the idempotency keys. Every header
write is mirrored into :class:`FakeInvoices` rows, as the SQL writes the one ``service_invoices`` table
the release gate and the billing projection read; an acceptance draft inserted through
:class:`FakeInvoices` is visible here too.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime

from billing_service.domain.invoice_book import AdjustmentLine, InvoiceHeader, PaymentLine, recomputed
from billing_service.domain.invoices import DraftInvoice, InvoiceStatus
from billing_service.domain.money import Money
from billing_service.repositories import InvoiceRow
from billing_service.repositories._rows import is_uuid, new_id
from billing_service.repositories.invoice_book import (
    AttachmentRow,
    AuditRow,
    InvoiceBookRepository,
    InvoiceFilter,
    ItemRow,
    KnownDocument,
    NewAttachment,
    NewAudit,
    StoredKey,
)
from services.billing.tests.unit.fakes import FakeAccounts, FakeInvoices
from shared.validation import JsonObject


@dataclass
class StoredKeyRow:
    """A stored idempotency key (what the table holds)."""

    tenant_id: str
    scope: str
    key: str
    request_hash: str
    account_id: str | None
    invoice_id: str | None
    response: JsonObject


class FakeInvoiceBook(InvoiceBookRepository):
    """Service invoices for their lifecycle, in memory."""

    def __init__(self, invoices: FakeInvoices, accounts: FakeAccounts, clock: Callable[[], datetime]) -> None:
        self._invoices = invoices
        self._accounts = accounts
        self._clock = clock
        self.headers: dict[str, InvoiceHeader] = {}
        self.lines: dict[str, list[ItemRow]] = {}
        self.paid: dict[str, list[PaymentLine]] = {}
        self.credited: dict[str, list[AdjustmentLine]] = {}
        self.attached: dict[str, list[AttachmentRow]] = {}
        self.audits: dict[str, list[AuditRow]] = {}
        self.counters: dict[tuple[str, str], int] = {}
        self.keys: dict[tuple[str, str, str], StoredKeyRow] = {}
        self.locked: list[str] = []
        self.documents: dict[str, tuple[str, KnownDocument]] = {}

    # --- the invoice row -----------------------------------------------------------------------------

    def _adopt(self, draft: DraftInvoice) -> InvoiceHeader:
        """The header of an acceptance draft the saga inserted through ``FakeInvoices``."""
        row = self._invoices.rows[draft.id]
        state = self._accounts.states[draft.account_id]
        now = self._clock()
        zero = Money.zero(draft.currency)
        header = InvoiceHeader(
            id=draft.id,
            tenant_id=draft.tenant_id,
            account_id=draft.account_id,
            account_display_name=state.account.display_name,
            work_order_id=row.work_order_id,
            assignment_id=draft.assignment_id,
            channel_request_id=None,
            invoice_number=None,
            status=InvoiceStatus(row.status),
            currency=draft.currency,
            issued_date=None,
            due_date=None,
            sent_at=None,
            subtotal=zero,
            tax=zero,
            total=zero,
            amount_paid=zero,
            amount_credited=zero,
            amount_due=zero,
            is_paid=False,
            paid_at=None,
            voided_at=None,
            void_reason=None,
            bill_to_name=draft.bill_to_name,
            bill_to_address=None,
            notes=draft.notes,
            created_by_user_id=None,
            created_at=now,
            updated_at=now,
        )
        self.lines[draft.id] = [ItemRow(new_id(), item) for item in draft.items]
        return recomputed(header, [i.item for i in self.lines[draft.id]], [], [], now)

    async def header(self, invoice_id: str, *, lock: bool = False) -> InvoiceHeader | None:
        if not is_uuid(invoice_id):
            return None
        if invoice_id not in self.headers:
            draft = next((d for d in self._invoices.drafts if d.id == invoice_id), None)
            if draft is None:
                return None
            self.headers[invoice_id] = self._adopt(draft)
        if lock:
            self.locked.append(invoice_id)
        stored = self.headers[invoice_id]
        # the acceptance saga's compensation writes the invoice through ``FakeInvoices``
        mirrored = self._invoices.rows.get(invoice_id)
        if mirrored is not None and mirrored.status == "void" and stored.status is not InvoiceStatus.VOID:
            stored = replace(stored, status=InvoiceStatus.VOID, amount_due=Money.zero(stored.currency))
            self.headers[invoice_id] = stored
        return stored

    def _mirror(self, header: InvoiceHeader) -> None:
        self._invoices.rows[header.id] = InvoiceRow(
            id=header.id,
            tenant_id=header.tenant_id,
            account_id=header.account_id,
            work_order_id=header.work_order_id,
            invoice_number=header.invoice_number,
            status=header.status.value,
            currency=header.currency,
            total_minor=header.total.to_minor(),
            amount_due_minor=header.amount_due.to_minor(),
            is_paid=header.is_paid,
        )

    def _check(self, header: InvoiceHeader) -> None:
        # the table's CHECKs: no negative amount, is_paid = (status = paid), total = subtotal + tax
        for money in (header.subtotal, header.tax, header.total, header.amount_paid, header.amount_due):
            if money.amount < 0:
                raise ValueError(f"CHECK violated: negative amount in {header.id}")
        if header.is_paid != (header.status is InvoiceStatus.PAID):
            raise ValueError("CHECK invoices_paid_shape violated")
        if header.total != header.subtotal + header.tax:
            raise ValueError("CHECK invoices_total violated")
        numbered = [
            h
            for h in self.headers.values()
            if h.id != header.id and h.tenant_id == header.tenant_id and h.invoice_number is not None
        ]
        if header.invoice_number is not None and any(
            h.invoice_number == header.invoice_number for h in numbered
        ):
            raise ValueError("UNIQUE (tenant_id, invoice_number) violated")

    async def add(self, header: InvoiceHeader) -> None:
        if header.id in self.headers:
            raise ValueError("duplicate invoice id")
        self._check(header)
        self.headers[header.id] = header
        self._mirror(header)

    async def save(self, header: InvoiceHeader) -> InvoiceHeader:
        self._check(header)
        saved = replace(header, updated_at=self._clock())
        self.headers[header.id] = saved
        self._mirror(saved)
        return saved

    # --- lines --------------------------------------------------------------------------------------

    async def items(self, invoice_id: str) -> list[ItemRow]:
        return sorted(self.lines.get(invoice_id, []), key=lambda r: (r.item.order_index, r.id))

    async def replace_items(self, tenant_id: str, invoice_id: str, items: list[ItemRow]) -> None:  # noqa: ARG002  the real repository's signature
        for row in items:
            if row.item.quantity <= 0 or row.item.unit_price.amount < 0:
                raise ValueError("CHECK violated on service_invoice_items")
        self.lines[invoice_id] = list(items)

    async def payments(self, invoice_id: str) -> list[PaymentLine]:
        return list(self.paid.get(invoice_id, []))

    async def add_payment(
        self,
        tenant_id: str,  # noqa: ARG002  the real repository's signature
        invoice_id: str,
        payment: PaymentLine,
        *,
        idempotency_key: str | None,  # noqa: ARG002  the real repository's signature
        user_id: str | None,  # noqa: ARG002  the real repository's signature
    ) -> None:
        if not payment.amount.is_positive:
            raise ValueError("CHECK amount_minor > 0 violated")
        self.paid.setdefault(invoice_id, []).append(payment)

    async def adjustments(self, invoice_id: str) -> list[AdjustmentLine]:
        return list(self.credited.get(invoice_id, []))

    async def add_adjustment(self, tenant_id: str, invoice_id: str, adjustment: AdjustmentLine) -> None:  # noqa: ARG002  the real repository's signature
        if not adjustment.amount.is_positive:
            raise ValueError("CHECK amount_minor > 0 violated")
        self.credited.setdefault(invoice_id, []).append(adjustment)

    async def attachments(self, invoice_id: str) -> list[AttachmentRow]:
        return list(self.attached.get(invoice_id, []))

    async def add_attachment(
        self,
        tenant_id: str,  # noqa: ARG002  the real repository's signature
        invoice_id: str,
        attachment_id: str,
        new: NewAttachment,
    ) -> AttachmentRow:
        row = AttachmentRow(
            attachment_id,
            invoice_id,
            new.kind,
            new.original_name,
            new.storage_key,
            new.mime_type,
            new.size_bytes,
            self._clock(),
        )
        self.attached.setdefault(invoice_id, []).append(row)
        return row

    async def audit_logs(self, invoice_id: str) -> list[AuditRow]:
        return list(self.audits.get(invoice_id, []))

    async def add_audit(self, tenant_id: str, invoice_id: str, audit_id: str, entry: NewAudit) -> None:  # noqa: ARG002  the real repository's signature
        row = AuditRow(
            audit_id, entry.event_type, entry.actor_user_id, entry.reason, dict(entry.diff), self._clock()
        )
        self.audits.setdefault(invoice_id, []).append(row)

    # --- numbering and the list -----------------------------------------------------------------------

    async def next_number(self, tenant_id: str, financial_year: str) -> int:
        key = (tenant_id, financial_year)
        self.counters[key] = self.counters.get(key, 0) + 1
        return self.counters[key]

    async def list(self, tenant_id: str, where: InvoiceFilter) -> list[InvoiceHeader]:
        rows = [h for h in self.headers.values() if h.tenant_id == tenant_id]
        if where.status is not None:
            rows = [h for h in rows if h.status is where.status]
        if where.account_id is not None:
            rows = [h for h in rows if h.account_id == where.account_id]
        if where.overdue_on is not None:
            rows = [
                h
                for h in rows
                if h.due_date is not None
                and h.due_date < where.overdue_on
                and h.amount_due.is_positive
                and h.status not in (InvoiceStatus.DRAFT, InvoiceStatus.VOID, InvoiceStatus.PAID)
            ]
        if where.issued_from is not None:
            rows = [h for h in rows if h.issued_date is not None and h.issued_date >= where.issued_from]
        if where.issued_to is not None:
            rows = [h for h in rows if h.issued_date is not None and h.issued_date <= where.issued_to]
        if where.search:
            needle = where.search.lower()
            rows = [
                h
                for h in rows
                if any(needle in (v or "").lower() for v in (h.invoice_number, h.bill_to_name, h.notes))
            ]
        if where.cursor is not None:
            position = (where.cursor.created_at, where.cursor.id)
            rows = [h for h in rows if (h.created_at, h.id) < position]
        rows.sort(key=lambda h: (h.created_at, h.id), reverse=True)
        return rows[: where.limit + 1]

    # --- idempotency keys -----------------------------------------------------------------------------

    async def claim_key(self, tenant_id: str, scope: str, key: str) -> StoredKey | None:
        found = self.keys.get((tenant_id, scope, key))
        return StoredKey(found.request_hash, found.invoice_id, dict(found.response)) if found else None

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
        if (tenant_id, scope, key) in self.keys:
            raise ValueError("PRIMARY KEY (tenant_id, scope, key) violated")
        self.keys[(tenant_id, scope, key)] = StoredKeyRow(
            tenant_id, scope, key, request_hash, account_id, invoice_id, dict(response)
        )

    # --- documents ------------------------------------------------------------------------------------

    async def knows_document(self, tenant_id: str, storage_key: str) -> bool:
        return any(t == tenant_id and d.storage_key == storage_key for t, d in self.documents.values())

    async def add_document(self, tenant_id: str, document: KnownDocument) -> None:
        self.documents.setdefault(document.document_id, (tenant_id, document))
