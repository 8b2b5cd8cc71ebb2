"""Billing's reads on fakes: accounts (404), lists with their filters and orderings, the timeline and a
work order's billing state."""

from __future__ import annotations

import pytest

from billing_service.domain.accounts import BillingMode
from billing_service.domain.errors import AccountNotFound
from billing_service.domain.ledger import GrantCredits, ReleaseHold, ReserveCredit
from billing_service.handlers import (
    GrantAccountCredits,
    ReleaseAccountHold,
    ReserveAccountCredit,
    grant_credits,
    release_credit,
    reserve_credit,
)
from billing_service.handlers.queries import (
    ListHolds,
    ShowTimeline,
    account_state,
    list_accounts,
    list_holds,
    list_ledger,
    show_timeline,
    show_work_order_billing,
    work_order_source_version,
)
from billing_service.repositories import AccountState
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
    timeline = await show_timeline(uow, ShowTimeline(None, TENANT, None, None, 3))
    assert len(timeline) == 3
    stamps = [i.timestamp or "" for i in timeline]
    assert stamps == sorted(stamps, reverse=True)
    assert {i.source for i in timeline} <= {"CREDITS_LEDGER", "USAGE_V2"}
    by_ref = await show_timeline(uow, ShowTimeline(busy.account.id, None, "job", "j-1", 10))
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
