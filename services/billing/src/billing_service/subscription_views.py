"""Response models of the subscription routes (domain.md §7.7, §7.11, §9.5): instants as ISO-8601 UTC
with milliseconds and ``Z``, the plan price a JSON number with two decimals."""

from __future__ import annotations

from billing_service.handlers.subscription_refills import RefillDueReport, RefillResult
from billing_service.handlers.subscriptions import SubscriptionPaymentRecorded
from billing_service.invoice_views import Amount
from billing_service.repositories.subscriptions import SubscriptionRow
from billing_service.views import Instant, View

RefillDueView = RefillDueReport
"""The due-subscription sweep's report (domain.md §7.7): the typed result is its wire shape."""

RefillResultView = RefillResult
"""``applyRefill``'s answer ``{duplicate, status, amount}`` (domain.md §7.7)."""


class SubscriptionCreated(View):
    """The answer of create/assign (§7.7)."""

    id: str
    tenant_id: str
    account_id: str
    plan_id: str
    plan_name: str
    status: str
    next_refill_at: Instant


class CurrentSubscriptionView(View):
    """A tenant's current subscription (§7.11)."""

    id: str
    tenant_id: str
    account_id: str
    plan_id: str
    plan_name: str
    status: str
    monthly_credit_grant: int
    cycle_days: int
    currency: str
    next_refill_at: Instant
    current_period_start: Instant
    current_period_end: Instant


class SubscriptionListItem(CurrentSubscriptionView):
    """One row of ``GET /control/subscriptions`` (§9.5), with the plan's report allowance (decision 32)."""

    account_display_name: str
    price_monthly: Amount
    monthly_report_allowance: int | None
    starts_at: Instant
    ends_at: Instant
    last_refilled_at: Instant
    grace_until: Instant
    last_payment_at: Instant
    external_provider: str | None
    external_subscription_id: str | None


def created(row: SubscriptionRow) -> SubscriptionCreated:
    """The create/assign answer."""
    return SubscriptionCreated.of(row)


def current(row: SubscriptionRow | None) -> CurrentSubscriptionView | None:
    """The §7.11 view, or ``None`` (``null``)."""
    return CurrentSubscriptionView.of(row) if row is not None else None


def list_item(row: SubscriptionRow) -> SubscriptionListItem:
    """A §9.5 list row."""
    return SubscriptionListItem.of(row)


class SubscriptionPaymentView(View):
    """``POST /control/subscriptions/:id/payments`` (decision 16): the subscription after the payment,
    whether this payment was recorded before (``duplicate``) and whether it reactivated it."""

    duplicate: bool
    reactivated: bool
    subscription: SubscriptionListItem


def payment_recorded(result: SubscriptionPaymentRecorded) -> SubscriptionPaymentView:
    """The answer of a recorded subscription payment."""
    return SubscriptionPaymentView(
        duplicate=result.duplicate,
        reactivated=result.reactivated,
        subscription=list_item(result.subscription),
    )
