"""Reads of service invoices: the list (filters, keyset pages), the detail and the context (§9.3)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from billing_service.domain.errors import AccountNotFound
from billing_service.domain.invoice_book import (
    AdjustmentLine,
    InvoiceHeader,
    ListCursor,
    PaymentLine,
    check_date_range,
    page_of,
    parse_status_filter,
)
from billing_service.domain.invoices import ist_date
from billing_service.handlers._common import utcnow
from billing_service.handlers.invoice_common import InvoiceActor, load_invoice
from billing_service.repositories import AccountRepository, AccountState
from billing_service.repositories.invoice_book import (
    AttachmentRow,
    AuditRow,
    InvoiceBookRepository,
    InvoiceFilter,
    ItemRow,
)
from shared.db.uow import UnitOfWork


@dataclass(frozen=True, slots=True)
class ListInvoices:
    """The list's filters as given (validated here) and the page."""

    actor: InvoiceActor
    status: str | None = None
    account_id: str | None = None
    overdue: bool | None = None
    issued_from: date | None = None
    issued_to: date | None = None
    search: str | None = None
    cursor: str | None = None
    limit: int = 100


@dataclass(frozen=True, slots=True)
class InvoicePage:
    """One page, newest first, and the cursor of the next (None on the last page)."""

    invoices: list[InvoiceHeader]
    next_cursor: str | None


async def list_invoices(uow: UnitOfWork, query: ListInvoices) -> InvoicePage:
    """400 ``INVALID_FILTER`` / ``INVALID_CURSOR`` for bad filters; ``overdue`` = due before today (IST)
    with something due on an issued, sent or partially paid invoice."""
    check_date_range(query.issued_from, query.issued_to)
    where = InvoiceFilter(
        status=parse_status_filter(query.status),
        account_id=query.account_id,
        overdue_on=ist_date(utcnow()) if query.overdue else None,
        issued_from=query.issued_from,
        issued_to=query.issued_to,
        search=query.search.strip() if query.search and query.search.strip() else None,
        cursor=ListCursor.decode(query.cursor) if query.cursor else None,
        limit=query.limit,
    )
    rows = await uow.repo(InvoiceBookRepository).list(query.actor.tenant_id, where)
    page, cursor = page_of(rows, query.limit)
    return InvoicePage(page, cursor)


@dataclass(frozen=True, slots=True)
class ShowInvoice:
    """One invoice of the actor's tenant."""

    actor: InvoiceActor
    invoice_id: str


@dataclass(frozen=True, slots=True)
class InvoiceDetail:
    """An invoice with everything that explains its total."""

    header: InvoiceHeader
    items: list[ItemRow]
    payments: list[PaymentLine]
    adjustments: list[AdjustmentLine]
    attachments: list[AttachmentRow]
    audit_logs: list[AuditRow]


async def show_invoice(uow: UnitOfWork, query: ShowInvoice) -> InvoiceDetail:
    """The detail (404 ``INVOICE_NOT_FOUND``)."""
    header = await load_invoice(uow, query.actor, query.invoice_id)
    return await detail_of(uow, header)


async def detail_of(uow: UnitOfWork, header: InvoiceHeader) -> InvoiceDetail:
    """The detail of a loaded invoice."""
    book = uow.repo(InvoiceBookRepository)
    return InvoiceDetail(
        header,
        await book.items(header.id),
        await book.payments(header.id),
        await book.adjustments(header.id),
        await book.attachments(header.id),
        await book.audit_logs(header.id),
    )


@dataclass(frozen=True, slots=True)
class InvoiceContext:
    """``GET /:id/context``: the invoice and its account."""

    invoice: InvoiceDetail
    account: AccountState


async def invoice_context(uow: UnitOfWork, query: ShowInvoice) -> InvoiceContext:
    """The detail and the account status of one invoice."""
    header = await load_invoice(uow, query.actor, query.invoice_id)
    account = await uow.repo(AccountRepository).get(header.account_id)
    if account is None:  # pragma: no cover - the invoice's account is a foreign key
        raise AccountNotFound(details={"account_id": header.account_id})
    return InvoiceContext(await detail_of(uow, header), account)
