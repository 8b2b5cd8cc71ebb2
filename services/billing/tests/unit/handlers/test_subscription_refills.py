"""Refills and due processing on fakes (domain.md §7.7, vectors I): one grant per period."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

from billing_service.domain.subscriptions import SubscriptionStatus
from billing_service.handlers._common import utcnow
from billing_service.handlers.subscription_refills import (
    RefillDueSubscriptions,
    RefillResult,
    RefillSubscription,
    refill_due_subscriptions,
    refill_subscription,
)
from billing_service.handlers.subscriptions import CreateSubscription, create_subscription
from billing_service.repositories import PlanUpsert, SubscriptionRow
from devstack.testing.fakes import FakeUnitOfWork
from services.billing.tests.unit.fakes import TENANT, FakeBilling


async def _subscribed(billing: FakeBilling, uow: FakeUnitOfWork, **changes: object) -> SubscriptionRow:
    billing.account()
    row = await create_subscription(
        uow, CreateSubscription(TENANT, PlanUpsert("gold", monthly_credit_allowance=5))
    )
    stored = replace(billing.subscriptions.subs[row.id], **changes)  # type: ignore[arg-type]
    billing.subscriptions.subs[row.id] = stored
    return stored


async def test_sub01_refill_twice_grants_once_and_advances(billing: FakeBilling, uow: FakeUnitOfWork) -> None:
    row = await _subscribed(billing, uow)
    first = await refill_subscription(uow, RefillSubscription(row.id))
    assert first == RefillResult(duplicate=False, status="refilled", amount=5)
    after = billing.subscriptions.subs[row.id]
    assert after.current_period_start == row.current_period_end
    assert after.next_refill_at == after.current_period_end
    # the same period key again: already processed, no second grant
    key = f"refill:{row.id}:{row.current_period_start.date().isoformat()}"  # type: ignore[union-attr]
    again = await refill_subscription(uow, RefillSubscription(row.id, key))
    assert again == RefillResult(duplicate=True, status="already_processed")
    grants = [e for e in billing.ledger.entry_rows if e.ref_type == "subscription_refill"]
    assert [(g.delta, g.idempotency_key) for g in grants] == [(5, key)]
    assert billing.subscriptions.locked == [row.id, row.id]


async def test_sub02_inactive_is_skipped(billing: FakeBilling, uow: FakeUnitOfWork) -> None:
    row = await _subscribed(billing, uow, status=SubscriptionStatus.PAUSED.value)
    assert await refill_subscription(uow, RefillSubscription(row.id)) == RefillResult(
        False, "skipped_inactive"
    )
    assert billing.ledger.entry_rows == []


async def test_sub04_due_processing_refills_the_due_once(billing: FakeBilling, uow: FakeUnitOfWork) -> None:
    now = utcnow()
    row = await _subscribed(billing, uow, next_refill_at=now - timedelta(hours=1))
    dry = await refill_due_subscriptions(uow, RefillDueSubscriptions(limit=50, dry_run=True))
    assert (dry.dry_run, dry.scanned, dry.refilled) == (True, 1, 1)
    assert billing.ledger.entry_rows == []
    report = await refill_due_subscriptions(uow, RefillDueSubscriptions(limit=50, dry_run=False))
    assert (report.scanned, report.refilled, report.past_due, report.errors) == (1, 1, 0, [])
    again = await refill_due_subscriptions(uow, RefillDueSubscriptions(limit=50, dry_run=False))
    assert (again.scanned, again.refilled) == (1, 0)
    assert len(billing.ledger.entry_rows) == 1
    assert billing.subscriptions.subs[row.id].status == "active"


async def test_period_end_unpaid_refills_and_falls_past_due_then_suspends(
    billing: FakeBilling, uow: FakeUnitOfWork
) -> None:
    now = utcnow()
    end = now - timedelta(days=1)
    row = await _subscribed(billing, uow, current_period_end=end, next_refill_at=end)
    report = await refill_due_subscriptions(
        uow, RefillDueSubscriptions(limit=50, dry_run=False, grace_days=1)
    )
    assert (report.refilled, report.past_due) == (1, 1)
    stored = billing.subscriptions.subs[row.id]
    assert (stored.status, stored.grace_until) == ("past_due", end + timedelta(days=1))
    assert stored.current_period_start == end  # the refill moved the period before the status change
    billing.subscriptions.subs[row.id] = replace(stored, grace_until=now - timedelta(minutes=1))
    later = await refill_due_subscriptions(uow, RefillDueSubscriptions(limit=50, dry_run=False))
    assert (later.suspended, later.refilled) == (1, 0)
    assert billing.subscriptions.subs[row.id].status == "suspended"


async def test_d16_paid_at_period_end_refills_and_stays_active_then_a_payment_reactivates(
    billing: FakeBilling, uow: FakeUnitOfWork
) -> None:
    now = utcnow()
    end = now - timedelta(days=1)
    start = end - timedelta(days=30)
    row = await _subscribed(
        billing,
        uow,
        current_period_start=start,
        current_period_end=end,
        next_refill_at=end,
        last_payment_at=start + timedelta(days=28),
    )
    report = await refill_due_subscriptions(uow, RefillDueSubscriptions(limit=50, dry_run=False))
    assert (report.refilled, report.past_due) == (1, 0)
    stored = billing.subscriptions.subs[row.id]
    assert (stored.status, stored.current_period_start) == ("active", end)
    # lapsed (say by a provider's payment_failed), then paid inside the new period: the pass reactivates
    billing.subscriptions.subs[row.id] = replace(
        stored,
        status="past_due",
        grace_until=now + timedelta(days=6),
        last_payment_at=end + timedelta(hours=1),
    )
    again = await refill_due_subscriptions(uow, RefillDueSubscriptions(limit=50, dry_run=False))
    assert (again.reactivated, again.refilled, again.suspended) == (1, 0, 0)
    assert (billing.subscriptions.subs[row.id].status, billing.subscriptions.subs[row.id].grace_until) == (
        "active",
        None,
    )
