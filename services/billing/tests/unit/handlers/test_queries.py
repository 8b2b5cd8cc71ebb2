"""Billing's reads on fakes: accounts (404), lists with their filters and orderings, the timeline and a
work order's billing state."""

from __future__ import annotations

import base64
import uuid
from dataclasses import replace
from datetime import datetime
from decimal import Decimal
from typing import Any

import pytest
from pydantic import TypeAdapter

from billing_service.domain.accounts import AccountStatus, BillingMode
from billing_service.domain.errors import AccountNotFound, AccountOrTenantRequired, InvalidCursor
from billing_service.domain.ledger import GrantCredits, ReleaseHold, ReserveCredit
from billing_service.handlers import (
    GrantAccountCredits,
    IngestUsage,
    ReleaseAccountHold,
    ReserveAccountCredit,
    grant_credits,
    ingest_usage,
    release_credit,
    reserve_credit,
)
from billing_service.handlers._common import iso
from billing_service.handlers.queries import (
    ListHolds,
    ShowTimeline,
    TimelineItem,
    account_state,
    credit_summary,
    list_accounts,
    list_holds,
    list_ledger,
    show_timeline,
    show_work_order_billing,
    work_order_source_version,
)
from billing_service.repositories import AccountState, CreditSummaryRow, InvoiceTimelineRow
from devstack.testing.fakes import FakeUnitOfWork
from services.billing.tests.unit.fakes import TENANT, WORK_ORDER, FakeBilling


@pytest.fixture
async def busy(billing: FakeBilling, uow: FakeUnitOfWork) -> AccountState:
    """A CREDIT account with a grant, a released hold and an active one (in that order)."""
    state = billing.account(mode=BillingMode.CREDIT)
    account_id = state.account.id
    await grant_credits(uow, GrantAccountCredits(account_id, GrantCredits("g-1", 5)))
    await reserve_credit(uow, ReserveAccountCredit(account_id, ReserveCredit("r-1", "job", "j-1")))
    await release_credit(
        uow, ReleaseAccountHold(account_id, ReleaseHold("x-1", ref_type="job", ref_id="j-1"))
    )
    await reserve_credit(uow, ReserveAccountCredit(account_id, ReserveCredit("r-2", "job", "j-2")))
    return state


async def test_accounts(billing: FakeBilling, uow: FakeUnitOfWork) -> None:
    acme = billing.account()
    other = billing.account("v1:client:zeta", tenant_id="33333333-3333-4333-8333-333333333333")
    assert await account_state(uow, acme.account.id) == acme
    assert [s.account.id for s in await list_accounts(uow)] == [acme.account.id, other.account.id]
    assert await list_accounts(uow, search="ZETA") == [other]
    assert await list_accounts(uow, tenant_id=TENANT) == [acme]
    with pytest.raises(AccountNotFound):
        await account_state(uow, WORK_ORDER)


@pytest.mark.parametrize(("status", "refs"), [(None, ["j-2", "j-1"]), ("RELEASED", ["j-1"]), ("lost", [])])
async def test_holds_newest_first_by_any_case_of_status(
    uow: FakeUnitOfWork, busy: AccountState, status: str | None, refs: list[str]
) -> None:
    holds = await list_holds(uow, ListHolds(busy.account.id, None, status, 10))
    assert [h.ref_id for h in holds] == refs


async def test_ledger_and_timeline_newest_first(uow: FakeUnitOfWork, busy: AccountState) -> None:
    ledger = await list_ledger(uow, account_id=busy.account.id, tenant_id=None, limit=10)
    assert [e.idempotency_key for e in ledger] == ["r-2", "x-1", "r-1", "g-1"]
    timeline = (await show_timeline(uow, ShowTimeline(None, TENANT, None, None, 3))).items
    assert len(timeline) == 3
    stamps = [i.timestamp or "" for i in timeline]
    assert stamps == sorted(stamps, reverse=True)
    assert {i.source for i in timeline} <= {"CREDITS_LEDGER", "USAGE_V2"}
    by_ref = (await show_timeline(uow, ShowTimeline(busy.account.id, None, "job", "j-1", 10))).items
    ledger_items = [(i.event_type, i.amount) for i in by_ref if i.source == "CREDITS_LEDGER"]
    assert ledger_items == [("RELEASE", 1), ("RESERVE", 1)]


async def test_a_work_orders_billing_state(billing: FakeBilling, uow: FakeUnitOfWork) -> None:
    assert (
        await show_work_order_billing(uow, WORK_ORDER),
        await work_order_source_version(uow, WORK_ORDER),
    ) == (
        None,
        None,
    )
    row = billing.work_order(work_order_id=WORK_ORDER, source_version=4)
    shown = await show_work_order_billing(uow, WORK_ORDER)
    assert shown is not None
    assert (shown.row, shown.billing.work_order_id) == (row, WORK_ORDER)
    assert await work_order_source_version(uow, WORK_ORDER) == 4


# --- the timeline: service invoices and keyset pages (domain.md §7.5) --------------------------------------


def invoice_row(state: AccountState, at: datetime, **changes: Any) -> InvoiceTimelineRow:
    """An issued, partly paid invoice of ``state``'s account as of ``at``: total 1180.00, paid 180.00."""
    row = InvoiceTimelineRow(
        id=str(uuid.uuid4()),
        tenant_id=state.account.tenant_id,
        account_id=state.account.id,
        invoice_number="INV-25-26-00001",
        status="partially_paid",
        currency="INR",
        total_minor=118_000,
        amount_paid_minor=18_000,
        amount_due_minor=100_000,
        is_paid=False,
        updated_at=at,
    )
    return replace(row, **changes)


async def test_service_invoices_join_the_timeline(
    billing: FakeBilling, uow: FakeUnitOfWork, busy: AccountState
) -> None:
    invoice = invoice_row(busy, billing.clock())
    billing.timeline.invoice_rows.append(invoice)
    page = await show_timeline(uow, ShowTimeline(busy.account.id, None, None, None, 50))
    assert page.next_cursor is None
    shown = [i for i in page.items if i.source == "SERVICE_INVOICE"]
    assert shown == [
        TimelineItem(
            timestamp=iso(invoice.updated_at),
            source="SERVICE_INVOICE",
            account_id=busy.account.id,
            tenant_id=TENANT,
            event_type="INVOICE_PARTIALLY_PAID",
            ref_type="service_invoice",
            ref_id=invoice.id,
            amount=Decimal("1180.00"),
            idempotency_key=None,
            payload_json={
                "invoice_id": invoice.id,
                "invoice_number": "INV-25-26-00001",
                "status": "PARTIALLY_PAID",
                "amount_due": Decimal("1000.00"),
                "amount_paid": Decimal("180.00"),
                "is_paid": False,
            },
        )
    ]
    assert page.items[0] == shown[0]  # written last, so newest


async def test_invoice_amounts_are_json_numbers_on_the_wire(
    billing: FakeBilling, uow: FakeUnitOfWork, busy: AccountState
) -> None:
    billing.timeline.invoice_rows.append(invoice_row(busy, billing.clock(), total_minor=100_005))
    page = await show_timeline(uow, ShowTimeline(busy.account.id, None, None, None, 1))
    wire = TypeAdapter(list[TimelineItem]).dump_json(page.items)
    assert b'"amount":1000.05' in wire
    assert b'"amount_due":1000.0' in wire
    assert b'"amount_paid":180.0' in wire


async def test_a_service_invoice_ref_shows_that_invoice_only(
    billing: FakeBilling, uow: FakeUnitOfWork, busy: AccountState
) -> None:
    wanted, other = invoice_row(busy, billing.clock()), invoice_row(busy, billing.clock())
    billing.timeline.invoice_rows += [wanted, other]
    page = await show_timeline(uow, ShowTimeline(busy.account.id, None, "service_invoice", wanted.id, 50))
    assert [i.ref_id for i in page.items if i.source == "SERVICE_INVOICE"] == [wanted.id]
    # other reference types leave invoices unfiltered (and usage is never filtered), as the original
    page = await show_timeline(uow, ShowTimeline(busy.account.id, None, "job", "j-1", 50))
    assert {i.ref_id for i in page.items if i.source == "SERVICE_INVOICE"} == {wanted.id, other.id}
    nothing = await show_timeline(uow, ShowTimeline(busy.account.id, None, "service_invoice", "x", 50))
    assert [i for i in nothing.items if i.source == "SERVICE_INVOICE"] == []


async def pages(uow: FakeUnitOfWork, query: ShowTimeline) -> list[list[TimelineItem]]:
    """Every page of ``query`` from its cursor on, following ``next_cursor`` to the end."""
    found: list[list[TimelineItem]] = []
    cursor = query.cursor
    while True:
        page = await show_timeline(uow, replace(query, cursor=cursor))
        found.append(page.items)
        if page.next_cursor is None:
            return found
        cursor = page.next_cursor


@pytest.mark.parametrize("limit", [1, 2, 3, 7, 500])
async def test_pages_join_without_gaps_or_repeats(
    billing: FakeBilling, uow: FakeUnitOfWork, busy: AccountState, limit: int
) -> None:
    # Ties on purpose: an invoice, two V1 events and ledger rows at one instant, ids in any order.
    tie = billing.clock()
    billing.timeline.invoice_rows += [invoice_row(busy, tie), invoice_row(busy, billing.clock())]
    for n in range(3):
        await ingest_usage(uow, IngestUsage("v1", "invoice_paid", f"v1:k{n}", {}, busy.account.id))
    for row in list(billing.usage.rows.values())[-2:]:
        billing.usage.rows[(row.source_system, row.idempotency_key)] = replace(row, created_at=tie)
    billing.ledger.entry_rows = [replace(e, created_at=tie) for e in billing.ledger.entry_rows[:2]] + (
        billing.ledger.entry_rows[2:]
    )
    everything = (await show_timeline(uow, ShowTimeline(busy.account.id, None, None, None, 500))).items
    assert len(everything) == len(billing.ledger.entry_rows) + 2 + len(billing.usage.rows)
    walked = await pages(uow, ShowTimeline(busy.account.id, None, None, None, limit))
    assert all(len(p) <= limit for p in walked)
    assert [i for p in walked for i in p] == everything
    assert len(walked) == max(1, -(-len(everything) // limit))


async def test_later_pages_are_stable_while_newer_rows_arrive(
    uow: FakeUnitOfWork, busy: AccountState
) -> None:
    first = await show_timeline(uow, ShowTimeline(busy.account.id, None, None, None, 2))
    assert first.next_cursor is not None
    await ingest_usage(uow, IngestUsage("v1", "invoice_sent", "v1:late", {}, busy.account.id))  # newer
    rest = await pages(uow, ShowTimeline(busy.account.id, None, None, None, 2, first.next_cursor))
    keys = [i.idempotency_key for p in [first.items, *rest] for i in p]
    assert "v1:late" not in keys  # newer than the cursor: it belongs to a fresh first page
    assert len(keys) == len(set(keys))


@pytest.mark.parametrize(
    "cursor",
    ["", "not-a-cursor", "e30", "eyJ2IjoyfQ", "x" * 600, base64.urlsafe_b64encode(b'{"v":1}').decode()],
)
async def test_a_bad_cursor_is_invalid_cursor(uow: FakeUnitOfWork, busy: AccountState, cursor: str) -> None:
    with pytest.raises(InvalidCursor):
        await show_timeline(uow, ShowTimeline(busy.account.id, None, None, None, 5, cursor))


async def test_the_timeline_needs_an_account_or_a_tenant(uow: FakeUnitOfWork) -> None:
    with pytest.raises(AccountOrTenantRequired):
        await show_timeline(uow, ShowTimeline(None, None, None, None, 5))


async def test_credit_summary_of_the_active_accounts(billing: FakeBilling, uow: FakeUnitOfWork) -> None:
    assert await credit_summary(uow, TENANT) == CreditSummaryRow(0, 0, 0, 0, None)
    oldest = billing.account(mode=BillingMode.CREDIT, wallet=5)
    billing.account("v1:client:b", wallet=3)
    billing.account("v1:client:c", wallet=100, status=AccountStatus.SUSPENDED)
    billing.account("v1:client:d", wallet=7, tenant_id="33333333-3333-4333-8333-333333333333")
    assert await credit_summary(uow, TENANT) == CreditSummaryRow(2, 8, 0, 8, oldest.account.id)
