"""Subscriptions before Billing 3: the two routes of domain.md §9.2 answer what holds while billing keeps
no subscriptions (the plan catalogue, subscriptions and refills arrive with Billing 3, §7.7)."""

from __future__ import annotations

from dataclasses import dataclass, field

from shared.db.uow import UnitOfWork


@dataclass(frozen=True, slots=True)
class RefillDueSubscriptions:
    """Process the due subscriptions (``POST /v1/billing/subscriptions/refill-due``, domain.md §7.7)."""

    limit: int
    dry_run: bool


@dataclass(frozen=True, slots=True)
class RefillFailure:
    """A subscription whose processing failed."""

    subscription_id: str
    error: str


@dataclass(frozen=True, slots=True)
class RefillDueReport:
    """The §7.7 due-processing report."""

    dry_run: bool
    scanned: int = 0
    refilled: int = 0
    skipped: int = 0
    past_due: int = 0
    suspended: int = 0
    reactivated: int = 0
    errors: list[RefillFailure] = field(default_factory=list)


async def refill_due_subscriptions(_uow: UnitOfWork, command: RefillDueSubscriptions) -> RefillDueReport:
    """Billing keeps no subscriptions yet, so none is due: the report scans nothing and changes nothing
    (a dry run likewise). Billing 3 replaces this with the §7.7 sweep behind the same command."""
    return RefillDueReport(dry_run=command.dry_run)


@dataclass(frozen=True, slots=True)
class CurrentSubscription:
    """A tenant's subscription (domain.md §7.11: the newest active/paused/past-due/suspended one)."""

    id: str
    tenant_id: str
    account_id: str
    plan_id: str
    plan_name: str
    status: str
    monthly_credit_grant: int
    cycle_days: int
    currency: str
    #: instants as ISO-8601 UTC with milliseconds and ``Z`` (domain.md §0)
    next_refill_at: str | None
    current_period_start: str | None
    current_period_end: str | None


async def current_subscription(_uow: UnitOfWork, tenant_id: str) -> CurrentSubscription | None:  # noqa: ARG001  the §7.11 signature Billing 3 fills
    """The tenant's newest active/paused/past-due/suspended subscription (domain.md §7.11): none exists
    before Billing 3, so ``None`` (``null`` on the wire)."""
    return None
