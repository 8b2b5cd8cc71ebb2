"""Plans and subscriptions on fakes (domain.md §7.7, §7.11, decision 32)."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest

from billing_service.domain.errors import (
    AccountNotFound,
    NoAccountForTenant,
    SubscriptionAccountMismatch,
    SubscriptionNotFound,
)
from billing_service.domain.subscriptions import SubscriptionStatus
from billing_service.handlers._common import utcnow
from billing_service.handlers.subscriptions import (
    AssignSubscription,
    CreateSubscription,
    RecordSubscriptionPayment,
    UpdateSubscription,
    assign_subscription,
    create_subscription,
    current_subscription,
    list_subscriptions,
    monthly_report_allowance,
    record_subscription_payment,
    update_subscription,
)
from billing_service.repositories import PlanUpsert, SubscriptionRow
from devstack.testing.fakes import FakeUnitOfWork
from services.billing.tests.unit.fakes import TENANT, FakeBilling

OTHER_TENANT = "44444444-4444-4444-8444-444444444444"


async def test_create_upserts_the_plan_and_defers_the_first_refill(
    billing: FakeBilling, uow: FakeUnitOfWork
) -> None:
    state = billing.account()
    plan = PlanUpsert("gold", monthly_credit_allowance=5, cycle_days=30, monthly_report_allowance=3)
    row = await create_subscription(uow, CreateSubscription(TENANT, plan))
    assert (row.account_id, row.plan_name, row.status, row.monthly_credit_grant) == (
        state.account.id,
        "gold",
        "active",
        5,
    )
    assert row.current_period_start is not None
    assert row.current_period_end is not None
    assert row.current_period_end - row.current_period_start == timedelta(days=30)
    assert row.next_refill_at == row.current_period_end
    assert billing.ledger.entry_rows == []  # no immediate grant
    assert ("internal", f"subscription_create:{row.id}") in billing.subscriptions.events
    # a second create of the plan by name overwrites only the provided fields
    await create_subscription(uow, CreateSubscription(TENANT, PlanUpsert("gold", cycle_days=10)))
    stored = billing.subscriptions.plans["gold"]
    assert (stored.cycle_days, stored.monthly_credit_allowance, stored.monthly_report_allowance) == (10, 5, 3)


async def test_create_checks_the_account_tenant(billing: FakeBilling, uow: FakeUnitOfWork) -> None:
    with pytest.raises(NoAccountForTenant):
        await create_subscription(uow, CreateSubscription(TENANT, PlanUpsert("gold")))
    other = billing.account("v1:partner:other", tenant_id=OTHER_TENANT)
    with pytest.raises(SubscriptionAccountMismatch):
        await create_subscription(uow, CreateSubscription(TENANT, PlanUpsert("gold"), other.account.id))
    with pytest.raises(AccountNotFound):
        await assign_subscription(uow, AssignSubscription("55555555-5555-4555-8555-555555555555", "gold"))
    assert billing.subscriptions.subs == {}


async def test_assign_creates_on_the_account_tenant_and_lists(
    billing: FakeBilling, uow: FakeUnitOfWork
) -> None:
    other = billing.account("v1:partner:other", tenant_id=OTHER_TENANT)
    row = await assign_subscription(uow, AssignSubscription(other.account.id, "silver", 7))
    assert (row.tenant_id, row.monthly_credit_grant) == (OTHER_TENANT, 7)
    assert [r.id for r in await list_subscriptions(uow, OTHER_TENANT)] == [row.id]
    assert await list_subscriptions(uow, TENANT) == []
    assert (await current_subscription(uow, OTHER_TENANT)) is not None
    assert await current_subscription(uow, TENANT) is None


async def test_cancel_ends_now_and_stops_refills(billing: FakeBilling, uow: FakeUnitOfWork) -> None:
    billing.account()
    row = await create_subscription(uow, CreateSubscription(TENANT, PlanUpsert("gold")))
    changed = await update_subscription(uow, UpdateSubscription(row.id, SubscriptionStatus.CANCELLED))
    assert (changed.status, changed.next_refill_at) == ("cancelled", None)
    assert changed.ends_at is not None
    assert await current_subscription(uow, TENANT) is None
    with pytest.raises(SubscriptionNotFound):
        await update_subscription(uow, UpdateSubscription("55555555-5555-4555-8555-555555555555"))


async def test_decision_32_the_active_plan_sets_the_report_allowance(
    billing: FakeBilling, uow: FakeUnitOfWork
) -> None:
    state = billing.account(allowance=10)
    assert await monthly_report_allowance(uow, state.account.id, 10) == 10
    row = await create_subscription(
        uow, CreateSubscription(TENANT, PlanUpsert("gold", monthly_report_allowance=2))
    )
    assert await monthly_report_allowance(uow, state.account.id, 10) == 2
    await update_subscription(uow, UpdateSubscription(row.id, SubscriptionStatus.PAUSED))
    assert await monthly_report_allowance(uow, state.account.id, 10) == 10


# --- decision 16: recording a successful subscription payment ------------------------------------------


async def _subscribed(billing: FakeBilling, uow: FakeUnitOfWork) -> SubscriptionRow:
    billing.account()
    return await create_subscription(uow, CreateSubscription(TENANT, PlanUpsert("gold")))


async def test_a_payment_sets_last_payment_at_once_per_reference(
    billing: FakeBilling, uow: FakeUnitOfWork
) -> None:
    row = await _subscribed(billing, uow)
    paid_at = utcnow() - timedelta(minutes=1)
    command = RecordSubscriptionPayment(row.id, paid_at, reference="pay_1")
    first = await record_subscription_payment(uow, command)
    again = await record_subscription_payment(uow, replace(command, paid_at=paid_at + timedelta(seconds=30)))
    assert (first.duplicate, first.reactivated, first.subscription.last_payment_at) == (False, False, paid_at)
    assert (again.duplicate, again.subscription.last_payment_at) == (True, paid_at)
    assert billing.subscriptions.subs[row.id].last_payment_at == paid_at
    recorded = [
        e for e in billing.subscriptions.events.values() if e.event_type == "subscription_payment_recorded"
    ]
    assert [(e.provider, e.idempotency_key) for e in recorded] == [
        ("internal", f"subscription_payment:{row.id}:pay_1")
    ]
    assert row.id in billing.subscriptions.locked


async def test_an_older_payment_arriving_late_never_moves_it_back(
    billing: FakeBilling, uow: FakeUnitOfWork
) -> None:
    row = await _subscribed(billing, uow)
    newer = utcnow() - timedelta(minutes=1)
    await record_subscription_payment(uow, RecordSubscriptionPayment(row.id, newer, reference="pay_2"))
    late = await record_subscription_payment(
        uow, RecordSubscriptionPayment(row.id, newer - timedelta(days=3), reference="pay_1")
    )
    assert (late.duplicate, late.subscription.last_payment_at) == (False, newer)


@pytest.mark.parametrize("status", [SubscriptionStatus.PAST_DUE, SubscriptionStatus.SUSPENDED])
async def test_a_payment_covering_the_period_reactivates_a_lapsed_subscription(
    billing: FakeBilling, uow: FakeUnitOfWork, status: SubscriptionStatus
) -> None:
    row = await _subscribed(billing, uow)
    grace = utcnow() + timedelta(days=3)
    billing.subscriptions.subs[row.id] = replace(row, status=status.value, grace_until=grace)
    # a payment from before the current period does not cover it: still lapsed
    stale = await record_subscription_payment(
        uow, RecordSubscriptionPayment(row.id, row.starts_at - timedelta(days=1), reference="old")
    )
    assert (stale.reactivated, stale.subscription.status, stale.subscription.grace_until) == (
        False,
        status.value,
        grace,
    )
    paid = await record_subscription_payment(
        uow, RecordSubscriptionPayment(row.id, utcnow(), reference="new")
    )
    assert (paid.reactivated, paid.subscription.status, paid.subscription.grace_until) == (
        True,
        "active",
        None,
    )
    types = [e.event_type for e in billing.subscriptions.events.values()]
    assert types.count("subscription_reactivated") == 1


async def test_a_payment_for_an_unknown_subscription_is_404(
    billing: FakeBilling, uow: FakeUnitOfWork
) -> None:
    missing = "55555555-5555-4555-8555-555555555555"
    with pytest.raises(SubscriptionNotFound):
        await record_subscription_payment(uow, RecordSubscriptionPayment(missing, utcnow()))
    assert billing.subscriptions.events == {}
