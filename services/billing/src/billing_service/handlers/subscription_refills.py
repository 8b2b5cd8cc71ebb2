"""Refills (domain.md §7.7): one refill of a subscription, and the due processing the scheduler and
``POST /subscriptions/refill-due`` run.

One refill per period, however often it is asked for and by how many replicas: the refill runs under the
subscription's row lock, its key ``refill:<sub>:<period start>`` is looked up in the event trail first
(UNIQUE (provider, key) backs it), the ledger grant carries the same key (the ledger replays a key), and
the due scan takes its rows ``FOR UPDATE SKIP LOCKED`` so a concurrent scan skips them.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime

from billing_service.domain.errors import BillingError
from billing_service.domain.ledger import GrantCredits, LedgerReason
from billing_service.domain.subscriptions import (
    DueAction,
    SubscriptionStatus,
    advanced,
    due_plan,
    grace_days,
    refill_key,
)
from billing_service.handlers._common import iso, new_id, utcnow
from billing_service.handlers.credits import GrantAccountCredits, grant_credits
from billing_service.handlers.subscriptions import INTERNAL, load_subscription
from billing_service.repositories.subscriptions import (
    NewSubscriptionEvent,
    SubscriptionRepository,
    SubscriptionRow,
)
from shared.db.uow import UnitOfWork
from shared.validation import JsonObject

REFILL_REF_TYPE = "subscription_refill"


@dataclass(frozen=True, slots=True)
class RefillSubscription:
    """``POST /control/subscriptions/:id/refill`` (``applyRefill``, §7.7)."""

    subscription_id: str
    idempotency_key: str | None = None
    source: str = "manual"


@dataclass(frozen=True, slots=True)
class RefillResult:
    """``{duplicate, status, amount}``: ``refilled``, ``already_processed`` or ``skipped_inactive``."""

    duplicate: bool
    status: str
    amount: int = 0


async def _record(
    uow: UnitOfWork, row: SubscriptionRow, event_type: str, key: str, payload: JsonObject
) -> bool:
    event = NewSubscriptionEvent(new_id(), row.tenant_id, row.id, INTERNAL, event_type, key, payload)
    return await uow.repo(SubscriptionRepository).add_event(event, now=utcnow())


async def apply_refill(uow: UnitOfWork, row: SubscriptionRow, key: str | None, source: str) -> RefillResult:
    """Refill ``row`` (loaded under its lock): skip when inactive, replay a stored key, else grant the
    allowance, advance the period and record ``credits_refilled`` under the key."""
    if row.status != SubscriptionStatus.ACTIVE:
        return RefillResult(duplicate=False, status="skipped_inactive")
    sub = row.to_domain()
    key = key or refill_key(sub)
    subs = uow.repo(SubscriptionRepository)
    if await subs.has_event(INTERNAL, key):
        return RefillResult(duplicate=True, status="already_processed")
    amount = row.monthly_credit_grant
    if amount > 0:
        grant = GrantCredits(key, amount, LedgerReason.GRANT, REFILL_REF_TYPE, row.id, {"source": source})
        await grant_credits(uow, GrantAccountCredits(row.account_id, grant))
    now = utcnow()
    after = advanced(sub, now)
    changed = replace(
        row,
        current_period_start=after.current_period_start,
        current_period_end=after.current_period_end,
        next_refill_at=after.next_refill_at,
        last_refilled_at=after.last_refilled_at,
        updated_at=now,
    )
    await subs.update(changed)
    payload: JsonObject = {
        "amount": amount,
        "period_start": iso(after.current_period_start),
        "period_end": iso(after.current_period_end),
        "source": source,
    }
    await _record(uow, changed, "credits_refilled", key, payload)
    return RefillResult(duplicate=False, status="refilled", amount=amount)


async def refill_subscription(uow: UnitOfWork, command: RefillSubscription) -> RefillResult:
    """One refill under the subscription's row lock (404 when unknown)."""
    row = await load_subscription(uow, command.subscription_id, lock=True)
    return await apply_refill(uow, row, command.idempotency_key, command.source)


@dataclass(frozen=True, slots=True)
class RefillDueSubscriptions:
    """Process the due subscriptions (``POST /v1/billing/subscriptions/refill-due``, domain.md §7.7)."""

    limit: int
    dry_run: bool
    grace_days: int | None = None
    source: str = "refill_due"


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


def _is_due(row: SubscriptionRow, now: datetime) -> bool:
    return (
        row.status == SubscriptionStatus.ACTIVE
        and row.next_refill_at is not None
        and row.next_refill_at <= now
    )


async def _set_status(
    uow: UnitOfWork, row: SubscriptionRow, status: SubscriptionStatus, grace_until: datetime | None
) -> None:
    """Write the new status on the stored row (a refill earlier in the pass may have moved its period)."""
    subs = uow.repo(SubscriptionRepository)
    base = await subs.get(row.id) or row
    await subs.update(replace(base, status=status.value, grace_until=grace_until, updated_at=utcnow()))


async def _process(
    uow: UnitOfWork, row: SubscriptionRow, now: datetime, command: RefillDueSubscriptions
) -> dict[str, int]:
    counts = {"refilled": 0, "skipped": 0, "past_due": 0, "suspended": 0, "reactivated": 0}
    plan = due_plan(row.to_domain(), now, grace_days(command.grace_days))
    for action in plan.actions:
        if action is DueAction.REFILL:
            result = await apply_refill(uow, row, None, command.source)
            counts["refilled" if not result.duplicate else "skipped"] += 1
        elif action is DueAction.PAST_DUE:
            await _set_status(uow, row, SubscriptionStatus.PAST_DUE, plan.grace_until)
            await _record(
                uow,
                row,
                "subscription_past_due",
                f"subscription_past_due:{row.id}:{iso(row.current_period_end)}",
                {"grace_until": iso(plan.grace_until)},
            )
            counts["past_due"] += 1
        elif action is DueAction.REACTIVATE:
            await _set_status(uow, row, SubscriptionStatus.ACTIVE, None)
            await _record(
                uow,
                row,
                "subscription_reactivated",
                f"subscription_reactivated:{row.id}:{iso(row.last_payment_at)}",
                {},
            )
            counts["reactivated"] += 1
        else:
            await _set_status(uow, row, SubscriptionStatus.SUSPENDED, row.grace_until)
            await _record(
                uow,
                row,
                "subscription_suspended",
                f"subscription_suspended:{row.id}:{iso(row.grace_until)}",
                {},
            )
            counts["suspended"] += 1
    return counts


async def refill_due_subscriptions(uow: UnitOfWork, command: RefillDueSubscriptions) -> RefillDueReport:
    """Scan active/past-due/suspended subscriptions (oldest change first) and apply §7.7 (a)–(c) to each
    from the values loaded before any update; a dry run counts the due active ones and changes nothing.
    A subscription that fails is reported in ``errors`` and the others still proceed."""
    now = utcnow()
    subs = uow.repo(SubscriptionRepository)
    rows = await subs.due_scan(limit=command.limit, lock=not command.dry_run)
    if command.dry_run:
        return RefillDueReport(dry_run=True, scanned=len(rows), refilled=sum(_is_due(r, now) for r in rows))
    totals = {"refilled": 0, "skipped": 0, "past_due": 0, "suspended": 0, "reactivated": 0}
    errors: list[RefillFailure] = []
    for row in rows:
        try:
            counts = await _process(uow, row, now, command)
        except BillingError as exc:
            errors.append(RefillFailure(row.id, exc.code))
            continue
        for name, value in counts.items():
            totals[name] += value
    return RefillDueReport(dry_run=False, scanned=len(rows), errors=errors, **totals)
