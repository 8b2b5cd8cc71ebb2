"""The reconciliation sweep on fakes (domain.md §7.4, decision 31): which holds it releases, the counts
it reports, one commit per release, a dry run that writes nothing and per-hold errors."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import replace
from datetime import UTC, datetime

import pytest

from billing_service.domain.accounts import BillingMode
from billing_service.domain.ledger import ReserveCredit
from billing_service.handlers import ReconcileCredits, ReserveAccountCredit, reconcile_credits, reserve_credit
from billing_service.handlers.reconcile import OpenUnitOfWork
from billing_service.repositories import AccountState
from devstack.testing.fakes import FakeUnitOfWork
from services.billing.tests.unit.fakes import WORK_ORDER, Accept, FakeBilling
from shared.contracts.billing import WorkOrderBilling
from shared.db.uow import UnitOfWork

LONG_AGO = datetime(2020, 1, 1, tzinfo=UTC)


@pytest.fixture
def credit(billing: FakeBilling) -> AccountState:
    """A CREDIT account with three credits."""
    return billing.account(mode=BillingMode.CREDIT, wallet=3)


def _opener(uow: FakeUnitOfWork) -> OpenUnitOfWork:
    """Every transaction of the sweep on the one fake (``commits`` counts them)."""

    @asynccontextmanager
    async def open_uow() -> AsyncIterator[UnitOfWork]:
        yield uow

    return open_uow


async def _job_hold(billing: FakeBilling, uow: FakeUnitOfWork, credit: AccountState, *, expired: bool) -> str:
    applied = await reserve_credit(
        uow, ReserveAccountCredit(credit.account.id, ReserveCredit("job", "job", "j-1"))
    )
    hold_id = applied.outcome.result.hold_id
    assert hold_id is not None
    if expired:
        billing.ledger.holds[hold_id] = replace(billing.ledger.holds[hold_id], expires_at=LONG_AGO)
    return hold_id


@pytest.mark.parametrize(
    ("expired", "action", "reason"), [(True, "release", "timeout"), (False, "skip", "not_timed_out")]
)
async def test_other_holds_are_released_when_timed_out(
    billing: FakeBilling, uow: FakeUnitOfWork, credit: AccountState, expired: bool, action: str, reason: str
) -> None:
    hold_id = await _job_hold(billing, uow, credit, expired=expired)
    report = await reconcile_credits(_opener(uow), ReconcileCredits())
    [swept] = report.actions
    assert (swept.reservation_id, swept.action, swept.reason) == (hold_id, action, reason)
    assert (report.scanned, report.released, report.skipped, report.errors) == (
        1,
        int(expired),
        1 - expired,
        [],
    )
    assert billing.ledger.holds[hold_id].status == ("released" if expired else "active")
    assert uow.commits == int(expired)


@pytest.mark.parametrize(
    ("status", "action", "reason"),
    [("CANCELLED", "release", "cancelled"), ("IN_PROGRESS", "skip", "work_order_active")],
)
async def test_work_order_holds_follow_the_work_order(
    billing: FakeBilling,
    uow: FakeUnitOfWork,
    accept: Accept,
    credit: AccountState,
    status: str,
    action: str,
    reason: str,
) -> None:
    await accept(credit.account.external_key)
    await billing.work_orders.set_status(WORK_ORDER, status, 5)
    published = len(uow.events_of(WorkOrderBilling.TYPE))
    report = await reconcile_credits(_opener(uow), ReconcileCredits(ref_type="repogen_work_order"))
    assert [(a.ref_id, a.action, a.reason) for a in report.actions] == [(WORK_ORDER, action, reason)]
    [hold] = billing.ledger.holds.values()
    assert hold.release_reason == (reason if action == "release" else None)
    # A released hold changes the work order's billing view: it is published again.
    assert len(uow.events_of(WorkOrderBilling.TYPE)) == published + (action == "release")


async def test_a_dry_run_decides_and_writes_nothing(
    billing: FakeBilling, uow: FakeUnitOfWork, credit: AccountState
) -> None:
    hold_id = await _job_hold(billing, uow, credit, expired=True)
    report = await reconcile_credits(_opener(uow), ReconcileCredits(dry_run=True))
    assert (report.dry_run, report.released, report.actions[0].reason) == (True, 1, "timeout")
    assert (billing.ledger.holds[hold_id].status, uow.commits) == ("active", 0)


async def test_a_failed_release_is_reported_and_the_sweep_goes_on(
    billing: FakeBilling, uow: FakeUnitOfWork, credit: AccountState
) -> None:
    hold_id = await _job_hold(billing, uow, credit, expired=True)
    billing.ledger.refuse_next_write = True
    report = await reconcile_credits(_opener(uow), ReconcileCredits(account_id=credit.account.id))
    assert [(e.reservation_id, e.error) for e in report.errors] == [
        (hold_id, "CREDIT_BALANCE_INVARIANT_FAILED")
    ]
    assert (report.scanned, report.released, report.actions) == (1, 0, [])
