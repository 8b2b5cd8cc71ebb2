"""Reads: account status and lists, holds, ledger, timeline, and one work order's billing state."""

from __future__ import annotations

from dataclasses import dataclass

from billing_service.domain.ledger import HoldStatus
from billing_service.handlers._common import iso
from billing_service.handlers.accounts import load_account
from billing_service.handlers.projections import work_order_billing
from billing_service.repositories import (
    AccountRepository,
    AccountState,
    HoldRow,
    LedgerEntryRow,
    LedgerRepository,
    UsageRepository,
    WorkOrderRepository,
    WorkOrderRow,
)
from shared.contracts.billing import WorkOrderBilling
from shared.db.uow import UnitOfWork
from shared.validation import JsonObject


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
    """Ledger and usage of an account or a tenant (one of them is required), newest first."""

    account_id: str | None
    tenant_id: str | None
    ref_type: str | None
    ref_id: str | None
    limit: int


@dataclass(frozen=True, slots=True)
class TimelineItem:
    """One ledger entry or usage event on the timeline."""

    timestamp: str | None
    source: str
    account_id: str | None
    tenant_id: str | None
    event_type: str
    ref_type: str | None
    ref_id: str | None
    amount: int | None
    idempotency_key: str
    payload_json: JsonObject


async def show_timeline(uow: UnitOfWork, query: ShowTimeline) -> list[TimelineItem]:
    """Ledger + usage events, newest first (domain.md §7.5; invoices join in Billing 2)."""
    ledger = await uow.repo(LedgerRepository).entries(
        account_id=query.account_id,
        tenant_id=query.tenant_id,
        ref_type=query.ref_type,
        ref_id=query.ref_id,
        limit=query.limit,
    )
    usage = await uow.repo(UsageRepository).list(
        account_id=query.account_id, tenant_id=query.tenant_id, limit=query.limit
    )
    items = [
        TimelineItem(
            timestamp=iso(r.created_at),
            source="CREDITS_LEDGER",
            account_id=r.account_id,
            tenant_id=r.tenant_id,
            event_type=r.reason.upper(),
            ref_type=r.ref_type,
            ref_id=r.ref_id,
            amount=r.delta,
            idempotency_key=r.idempotency_key,
            payload_json=r.metadata_json,
        )
        for r in ledger
    ]
    items += [
        TimelineItem(
            timestamp=iso(u.created_at),
            source=f"USAGE_{u.source_system.upper()}",
            account_id=u.account_id,
            tenant_id=u.tenant_id,
            event_type=u.event_type,
            ref_type=None,
            ref_id=None,
            amount=None,
            idempotency_key=u.idempotency_key,
            payload_json=u.payload_json,
        )
        for u in usage
    ]
    # By the millisecond text, stable: ledger before usage within one millisecond, as always.
    items.sort(key=lambda i: i.timestamp or "", reverse=True)
    return items[: query.limit]


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
