"""Reads: account status and lists, holds, ledger, timeline, and one work order's billing state."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Annotated, Any

from pydantic import PlainSerializer

from billing_service.domain.errors import AccountOrTenantRequired
from billing_service.domain.ledger import HoldStatus
from billing_service.domain.money import Money
from billing_service.domain.timeline import (
    INVOICE_REF_TYPE,
    INVOICE_SOURCE,
    LEDGER_SOURCE,
    TimelineKey,
    decode_cursor,
    encode_cursor,
    invoice_event_type,
    merge_page,
    usage_source,
)
from billing_service.handlers._common import iso
from billing_service.handlers.accounts import load_account
from billing_service.handlers.projections import work_order_billing
from billing_service.repositories import (
    AccountRepository,
    AccountState,
    CreditSummaryRow,
    HoldRow,
    InvoiceTimelineRow,
    LedgerEntryRow,
    LedgerRepository,
    TimelineRepository,
    TimelineScope,
    UsageEventRow,
    WorkOrderRepository,
    WorkOrderRow,
)
from shared.contracts.billing import WorkOrderBilling
from shared.db.uow import UnitOfWork


async def account_state(uow: UnitOfWork, account_id: str) -> AccountState:
    """The account with policy and balance (404 when unknown)."""
    return await load_account(uow, account_id)


async def list_accounts(
    uow: UnitOfWork, *, search: str | None = None, tenant_id: str | None = None
) -> list[AccountState]:
    """Accounts by name/key substring or of one tenant, oldest first."""
    return await uow.repo(AccountRepository).list(search=search, tenant_id=tenant_id)


@dataclass(frozen=True, slots=True)
class ListHolds:
    """Holds filtered by account, tenant and (case-insensitive) status, newest first."""

    account_id: str | None
    tenant_id: str | None
    status: str | None
    limit: int


async def list_holds(uow: UnitOfWork, query: ListHolds) -> list[HoldRow]:
    """Stored holds (an unknown status matches nothing)."""
    status = query.status
    if status is not None:
        try:
            status = HoldStatus(status.lower()).value
        except ValueError:
            status = status.lower()
    return await uow.repo(LedgerRepository).hold_rows(
        account_id=query.account_id, tenant_id=query.tenant_id, status=status, limit=query.limit
    )


async def list_ledger(
    uow: UnitOfWork, *, account_id: str | None, tenant_id: str | None, limit: int
) -> list[LedgerEntryRow]:
    """Ledger entries, newest first."""
    return await uow.repo(LedgerRepository).entries(account_id=account_id, tenant_id=tenant_id, limit=limit)


@dataclass(frozen=True, slots=True)
class ShowTimeline:
    """Ledger, invoices and usage of an account or a tenant (one of them is required), newest first,
    ``limit`` items after ``cursor`` (the ``x-next-cursor`` of the previous page; None: the first page)."""

    account_id: str | None
    tenant_id: str | None
    ref_type: str | None
    ref_id: str | None
    limit: int
    cursor: str | None = None


def _json_number(value: int | Decimal | None) -> int | float | None:
    """An amount on the wire: a JSON number (at most two decimals); ``Decimal`` everywhere before."""
    return float(value) if isinstance(value, Decimal) else value


def _json_numbers(payload: dict[str, Any]) -> dict[str, Any]:
    """A payload on the wire: its ``Decimal`` amounts (invoice items) as JSON numbers."""
    return {k: float(v) if isinstance(v, Decimal) else v for k, v in payload.items()}


#: a credit delta (int) or an invoice total (``Decimal``, two decimals), a JSON number on the wire
TimelineAmount = Annotated[
    int | Decimal | None,
    PlainSerializer(_json_number, return_type=int | float | None, when_used="json"),
]
#: a stored payload (ledger metadata, usage payload) or an invoice's summary with ``Decimal`` amounts
TimelinePayload = Annotated[
    dict[str, Any], PlainSerializer(_json_numbers, return_type=dict[str, Any], when_used="json")
]


@dataclass(frozen=True, slots=True)
class TimelineItem:
    """One ledger entry, service invoice or usage event on the timeline."""

    timestamp: str | None
    source: str
    account_id: str | None
    tenant_id: str | None
    event_type: str
    ref_type: str | None
    ref_id: str | None
    amount: TimelineAmount
    idempotency_key: str | None
    payload_json: TimelinePayload


@dataclass(frozen=True, slots=True)
class TimelinePage:
    """One page of the timeline and the cursor of the next one (None: the last page)."""

    items: list[TimelineItem]
    next_cursor: str | None


@dataclass(frozen=True, slots=True)
class _Placed:
    """A timeline item at its position in the timeline order."""

    key: TimelineKey
    item: TimelineItem


def _ledger_item(r: LedgerEntryRow) -> _Placed:
    item = TimelineItem(
        timestamp=iso(r.created_at),
        source=LEDGER_SOURCE,
        account_id=r.account_id,
        tenant_id=r.tenant_id,
        event_type=r.reason.upper(),
        ref_type=r.ref_type,
        ref_id=r.ref_id,
        amount=r.delta,
        idempotency_key=r.idempotency_key,
        payload_json=r.metadata_json,
    )
    return _Placed(TimelineKey(r.created_at, LEDGER_SOURCE, r.id), item)


def _usage_item(u: UsageEventRow) -> _Placed:
    source = usage_source(u.source_system)
    item = TimelineItem(
        timestamp=iso(u.created_at),
        source=source,
        account_id=u.account_id,
        tenant_id=u.tenant_id,
        event_type=u.event_type,
        ref_type=None,
        ref_id=None,
        amount=None,
        idempotency_key=u.idempotency_key,
        payload_json=u.payload_json,
    )
    return _Placed(TimelineKey(u.created_at, source, u.id), item)


def _invoice_item(i: InvoiceTimelineRow) -> _Placed:
    """An invoice as of its last change (domain.md §7.5): amount = total; no idempotency key."""
    item = TimelineItem(
        timestamp=iso(i.updated_at),
        source=INVOICE_SOURCE,
        account_id=i.account_id,
        tenant_id=i.tenant_id,
        event_type=invoice_event_type(i.status),
        ref_type=INVOICE_REF_TYPE,
        ref_id=i.id,
        amount=Money.from_minor(i.total_minor, i.currency).amount,
        idempotency_key=None,
        payload_json={
            "invoice_id": i.id,
            "invoice_number": i.invoice_number,
            "status": i.status.upper(),
            "amount_due": Money.from_minor(i.amount_due_minor, i.currency).amount,
            "amount_paid": Money.from_minor(i.amount_paid_minor, i.currency).amount,
            "is_paid": i.is_paid,
        },
    )
    return _Placed(TimelineKey(i.updated_at, INVOICE_SOURCE, i.id), item)


async def show_timeline(uow: UnitOfWork, query: ShowTimeline) -> TimelinePage:
    """Ledger + service invoices + usage events, newest first, one keyset page (domain.md §7.5).

    400 ``ACCOUNT_OR_TENANT_REQUIRED`` without an account or a tenant, 400 ``INVALID_CURSOR`` for a
    cursor this list did not answer. Each source reads its first ``limit + 1`` rows after the cursor; the
    merged first ``limit`` are the page, and a row beyond them means a next page exists.
    """
    if query.account_id is None and query.tenant_id is None:
        raise AccountOrTenantRequired()
    bound = decode_cursor(query.cursor) if query.cursor is not None else None
    scope = TimelineScope(query.account_id, query.tenant_id, query.ref_type, query.ref_id)
    repo = uow.repo(TimelineRepository)
    fetch = query.limit + 1
    ledger = [_ledger_item(r) for r in await repo.ledger(scope, bound, fetch)]
    invoices = [_invoice_item(i) for i in await repo.invoices(scope, bound, fetch)]
    usage = [_usage_item(u) for u in await repo.usage(scope, bound, fetch)]
    page = merge_page((ledger, invoices, usage), query.limit)
    next_cursor = encode_cursor(page.next_key) if page.next_key is not None else None
    return TimelinePage([p.item for p in page.items], next_cursor)


@dataclass(frozen=True, slots=True)
class WorkOrderBillingState:
    """A work order's billing row and its projection."""

    row: WorkOrderRow
    billing: WorkOrderBilling


async def show_work_order_billing(uow: UnitOfWork, work_order_id: str) -> WorkOrderBillingState | None:
    """The billing state of one work order visible to the unit of work's tenant (None otherwise)."""
    row = await uow.repo(WorkOrderRepository).get(work_order_id)
    if row is None:
        return None
    return WorkOrderBillingState(row, await work_order_billing(uow, row))


async def work_order_source_version(uow: UnitOfWork, work_order_id: str) -> int | None:
    """The highest workorders version billing applied for a work order (None: not seen yet)."""
    return await uow.repo(WorkOrderRepository).source_version(work_order_id)


async def credit_summary(uow: UnitOfWork, tenant_id: str) -> CreditSummaryRow:
    """Balances of the tenant's active accounts, summed, and the oldest of them (domain.md §7.11)."""
    return await uow.repo(AccountRepository).credit_summary(tenant_id)
