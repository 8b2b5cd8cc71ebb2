"""Plans, subscriptions and refills (domain.md §7.7, vectors I): pure rules, no I/O.

A refill grants the plan's allowance once per period under the key ``refill:<sub>:<YYYY-MM-DD of the
period start>`` and moves the period on by ``cycle_days``; due processing decides, from the values
loaded before any change, whether a subscription is refilled, falls past due, is suspended after its
grace or is reactivated by a payment (decision 16: a successful subscription payment sets
``last_payment_at``, and a period is paid when a payment was recorded at or after its start).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from enum import StrEnum


class SubscriptionStatus(StrEnum):
    """§7.7 subscription statuses."""

    ACTIVE = "active"
    PAUSED = "paused"
    PAST_DUE = "past_due"
    SUSPENDED = "suspended"
    CANCELLED = "cancelled"


#: statuses ``GET /billing/subscription`` reports (§7.11) and due processing scans (§7.7, plus active)
CURRENT_STATUSES = (
    SubscriptionStatus.ACTIVE,
    SubscriptionStatus.PAUSED,
    SubscriptionStatus.PAST_DUE,
    SubscriptionStatus.SUSPENDED,
)
DUE_SCAN_STATUSES = (SubscriptionStatus.ACTIVE, SubscriptionStatus.PAST_DUE, SubscriptionStatus.SUSPENDED)

DEFAULT_CYCLE_DAYS = 30
DEFAULT_GRACE_DAYS = 7
#: the widest cycle a plan may set (a year and a day): keeps every period arithmetic in range
MAX_CYCLE_DAYS = 366


def cycle_length(cycle_days: int) -> timedelta:
    """A plan's cycle: ``cycle_days`` days, 30 when it is 0 (§7.7)."""
    return timedelta(days=cycle_days if cycle_days > 0 else DEFAULT_CYCLE_DAYS)


def grace_days(configured: int | None) -> int:
    """``BILLING_SUBSCRIPTION_GRACE_DAYS``: default 7, at least 1 (§7.7)."""
    return DEFAULT_GRACE_DAYS if configured is None else max(1, configured)


@dataclass(frozen=True, slots=True)
class Subscription:
    """The state of one subscription the rules read (the plan's allowance and cycle included)."""

    id: str
    status: SubscriptionStatus
    starts_at: datetime
    current_period_start: datetime | None
    current_period_end: datetime | None
    next_refill_at: datetime | None
    allowance: int
    cycle_days: int
    last_refilled_at: datetime | None = None
    grace_until: datetime | None = None
    last_payment_at: datetime | None = None


def refill_key(subscription: Subscription) -> str:
    """``refill:<sub_id>:<YYYY-MM-DD of current_period_start (or starts_at)>`` (§7.7, SUB-05)."""
    start = subscription.current_period_start or subscription.starts_at
    return f"refill:{subscription.id}:{start.date().isoformat()}"


def first_period(now: datetime, cycle_days: int) -> tuple[datetime, datetime]:
    """A new subscription's period ``[now, now + cycle]``; its first refill is due at the end (§7.7)."""
    return now, now + cycle_length(cycle_days)


def advanced(subscription: Subscription, now: datetime) -> Subscription:
    """The subscription after a refill: the new period starts at the old end (or the old start), lasts one
    cycle, and the next refill is due at its end (§7.7, SUB-03)."""
    start = subscription.current_period_end or subscription.current_period_start or subscription.starts_at
    end = start + cycle_length(subscription.cycle_days)
    return replace(
        subscription,
        current_period_start=start,
        current_period_end=end,
        next_refill_at=end,
        last_refilled_at=now,
    )


class DueAction(StrEnum):
    """One change due processing makes to a subscription (§7.7 (a)–(c))."""

    REFILL = "refill"
    PAST_DUE = "past_due"
    REACTIVATE = "reactivate"
    SUSPEND = "suspend"


@dataclass(frozen=True, slots=True)
class DuePlan:
    """What due processing does to one subscription, in order, and the grace it sets when past due."""

    actions: tuple[DueAction, ...]
    grace_until: datetime | None = None


def period_paid(subscription: Subscription) -> bool:
    """Decision 16: the current period is paid when a successful payment was recorded at or after its start
    (``last_payment_at >= current_period_start``, or ``starts_at`` before the first period is set)."""
    start = subscription.current_period_start or subscription.starts_at
    return subscription.last_payment_at is not None and subscription.last_payment_at >= start


def latest_payment(stored: datetime | None, paid_at: datetime) -> datetime:
    """Decision 16: ``last_payment_at`` only moves forward; a payment recorded late never moves it back."""
    return paid_at if stored is None else max(stored, paid_at)


def reactivates(subscription: Subscription) -> bool:
    """A past-due or suspended subscription whose current period a recorded payment covers is active
    again (decision 16; the payment path applies it at once, due processing at its next pass)."""
    lapsed = subscription.status in (SubscriptionStatus.PAST_DUE, SubscriptionStatus.SUSPENDED)
    return lapsed and period_paid(subscription)


def due_plan(subscription: Subscription, now: datetime, grace: int) -> DuePlan:
    """Decide from the values loaded before any update (§7.7 with decision 16, SUB-04).

    (a) active and ``next_refill_at <= now`` → refill; (b) an active subscription whose period has ended
    (``current_period_end <= now``) goes past due only when no successful payment covers that period
    (:func:`period_paid`: none recorded at or after the period's start), with ``grace_until`` = the stored
    one or the period end + ``grace`` days; a past-due or suspended one that a payment covers is
    reactivated (:func:`reactivates`, whether or not its period has ended: a refill before it fell past
    due may have moved the period on); (c) past due with ``grace_until <= now`` and not reactivated →
    suspended. The original (``paid = last_payment_at >= period_end``) put every subscription past due at
    its period end, paid or not; this rule keeps a paid one active."""
    s = subscription
    actions: list[DueAction] = []
    grace_until: datetime | None = None
    status = s.status
    if status is SubscriptionStatus.ACTIVE and s.next_refill_at is not None and s.next_refill_at <= now:
        actions.append(DueAction.REFILL)
    end = s.current_period_end
    if status is SubscriptionStatus.ACTIVE and end is not None and end <= now and not period_paid(s):
        actions.append(DueAction.PAST_DUE)
        grace_until = s.grace_until or end + timedelta(days=grace)
        status = SubscriptionStatus.PAST_DUE
    elif reactivates(s):
        actions.append(DueAction.REACTIVATE)
        status = SubscriptionStatus.ACTIVE
    if (
        s.status is SubscriptionStatus.PAST_DUE
        and status is SubscriptionStatus.PAST_DUE
        and s.grace_until is not None
        and s.grace_until <= now
    ):
        actions.append(DueAction.SUSPEND)
    return DuePlan(tuple(actions), grace_until)
