"""Vectors I (domain.md §7.7): refill keys, period arithmetic and due processing as pure rules."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

import pytest

from billing_service.domain.subscriptions import (
    DueAction,
    Subscription,
    SubscriptionStatus,
    advanced,
    cycle_length,
    due_plan,
    first_period,
    grace_days,
    period_paid,
    reactivates,
    refill_key,
)


def _at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


#: the vectors I fixture
SUB = Subscription(
    id="sub-1",
    status=SubscriptionStatus.ACTIVE,
    starts_at=_at("2026-01-01T00:00"),
    current_period_start=_at("2026-01-01T00:00"),
    current_period_end=_at("2026-02-01T00:00"),
    next_refill_at=_at("2026-01-02T00:00"),
    allowance=5,
    cycle_days=30,
)


def test_sub05_default_refill_key_names_the_period_start_date() -> None:
    assert refill_key(SUB) == "refill:sub-1:2026-01-01"
    assert refill_key(replace(SUB, current_period_start=None)) == "refill:sub-1:2026-01-01"


def test_sub03_refill_advances_the_period_from_the_old_end() -> None:
    now = _at("2026-01-05T10:00")
    after = advanced(SUB, now)
    assert after.current_period_start == _at("2026-02-01T00:00")
    assert after.current_period_end == _at("2026-03-03T00:00")
    assert after.next_refill_at == _at("2026-03-03T00:00")
    assert after.last_refilled_at == now
    # the next period has its own key: one refill per period
    assert refill_key(after) == "refill:sub-1:2026-02-01"


def test_zero_cycle_means_thirty_days_and_the_first_period_starts_now() -> None:
    assert cycle_length(0).days == 30
    now = _at("2026-01-01T00:00")
    assert first_period(now, 7) == (now, _at("2026-01-08T00:00"))


@pytest.mark.parametrize(("configured", "expected"), [(None, 7), (0, 1), (-3, 1), (3, 3)])
def test_grace_days_default_seven_at_least_one(configured: int | None, expected: int) -> None:
    assert grace_days(configured) == expected


def test_sub04_active_and_due_is_refilled() -> None:
    plan = due_plan(replace(SUB, next_refill_at=_at("2026-01-01T00:00")), _at("2026-01-10T00:00"), 7)
    assert plan.actions == (DueAction.REFILL,)


def test_sub04_unpaid_at_period_end_is_refilled_and_falls_past_due_with_seven_days_grace() -> None:
    sub = replace(SUB, next_refill_at=_at("2026-01-01T00:00"))
    plan = due_plan(sub, _at("2026-02-01T00:00"), 7)
    assert plan.actions == (DueAction.REFILL, DueAction.PAST_DUE)
    assert plan.grace_until == _at("2026-02-08T00:00")
    paid = due_plan(replace(sub, last_payment_at=_at("2026-02-01T00:00")), _at("2026-02-01T00:00"), 7)
    assert paid.actions == (DueAction.REFILL,)


@pytest.mark.parametrize("status", [SubscriptionStatus.PAUSED, SubscriptionStatus.CANCELLED])
def test_sub02_inactive_subscriptions_are_not_refilled(status: SubscriptionStatus) -> None:
    assert due_plan(replace(SUB, status=status), _at("2026-03-01T00:00"), 7).actions == ()


def test_not_yet_due_changes_nothing() -> None:
    assert due_plan(SUB, _at("2026-01-01T12:00"), 7).actions == ()


def test_past_due_after_grace_is_suspended_and_payment_reactivates() -> None:
    late = replace(SUB, status=SubscriptionStatus.PAST_DUE, grace_until=_at("2026-02-08T00:00"))
    assert due_plan(late, _at("2026-02-07T00:00"), 7).actions == ()
    assert due_plan(late, _at("2026-02-08T00:00"), 7).actions == (DueAction.SUSPEND,)
    paid = replace(late, last_payment_at=_at("2026-02-03T00:00"))
    assert due_plan(paid, _at("2026-02-09T00:00"), 7).actions == (DueAction.REACTIVATE,)
    suspended = replace(paid, status=SubscriptionStatus.SUSPENDED)
    assert due_plan(suspended, _at("2026-02-09T00:00"), 7).actions == (DueAction.REACTIVATE,)


# --- decision 16: a period is paid when a successful payment was recorded at or after its start -------


def test_d16_a_payment_during_the_period_keeps_it_active_at_its_end() -> None:
    sub = replace(SUB, next_refill_at=_at("2026-02-01T00:00"), last_payment_at=_at("2026-01-15T09:30"))
    assert period_paid(sub)
    assert due_plan(sub, _at("2026-02-01T00:00"), 7).actions == (DueAction.REFILL,)


def test_d16_a_payment_at_the_period_start_covers_it_one_before_does_not() -> None:
    at_start = replace(SUB, last_payment_at=_at("2026-01-01T00:00"))
    before = replace(SUB, last_payment_at=_at("2025-12-31T23:59"))
    assert (period_paid(at_start), period_paid(before)) == (True, False)
    plan = due_plan(replace(before, next_refill_at=_at("2026-02-01T00:00")), _at("2026-02-01T00:00"), 7)
    assert plan.actions == (DueAction.REFILL, DueAction.PAST_DUE)


def test_d16_before_any_period_the_start_of_the_subscription_counts() -> None:
    fresh = replace(SUB, current_period_start=None, last_payment_at=_at("2026-01-01T00:00"))
    assert period_paid(fresh)


def test_d16_the_period_after_a_refill_needs_a_payment_of_its_own() -> None:
    # refilled at 2026-02-01: the new period [02-01, 03-03) is judged by payments from 02-01 on
    refilled = advanced(replace(SUB, last_payment_at=_at("2026-01-15T00:00")), _at("2026-02-01T00:00"))
    assert not period_paid(refilled)
    assert due_plan(refilled, _at("2026-03-03T00:00"), 7).actions == (DueAction.REFILL, DueAction.PAST_DUE)
    paid = replace(refilled, last_payment_at=_at("2026-02-01T01:00"))
    assert due_plan(paid, _at("2026-03-03T00:00"), 7).actions == (DueAction.REFILL,)


def test_d16_a_payment_reactivates_before_the_moved_period_ends() -> None:
    # fell past due at 02-01 in the pass that refilled it, so its stored period is already [02-01, 03-03)
    lapsed = replace(
        advanced(SUB, _at("2026-02-01T00:00")),
        status=SubscriptionStatus.PAST_DUE,
        grace_until=_at("2026-02-08T00:00"),
    )
    assert due_plan(lapsed, _at("2026-02-05T00:00"), 7).actions == ()
    paid = replace(lapsed, last_payment_at=_at("2026-02-03T00:00"))
    assert reactivates(paid)
    assert due_plan(paid, _at("2026-02-05T00:00"), 7).actions == (DueAction.REACTIVATE,)
    # a payment from before the unpaid period does not: grace runs out and it is suspended
    stale = replace(lapsed, last_payment_at=_at("2026-01-20T00:00"))
    assert not reactivates(stale)
    assert due_plan(stale, _at("2026-02-08T00:00"), 7).actions == (DueAction.SUSPEND,)


@pytest.mark.parametrize(
    "status", [SubscriptionStatus.ACTIVE, SubscriptionStatus.PAUSED, SubscriptionStatus.CANCELLED]
)
def test_d16_only_a_lapsed_subscription_is_reactivated(status: SubscriptionStatus) -> None:
    assert not reactivates(replace(SUB, status=status, last_payment_at=_at("2026-01-10T00:00")))
