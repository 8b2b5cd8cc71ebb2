"""Subscription webhooks, family B (domain.md §7.9 B, SUB-06, decision 16): a verified provider event
changes the status of the subscription it names, once per (provider, event id).

The subscription row is locked before the trail row is inserted, so concurrent deliveries queue and only
the first changes anything. An event for no known subscription is stored under the unmatched tenant (the
nil uuid; only the system role reads it) so its redelivery is still answered ``duplicate``.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import timedelta

from billing_service.domain.payments import Provider, SubscriptionChange, subscription_change
from billing_service.domain.subscriptions import SubscriptionStatus, grace_days, latest_payment
from billing_service.handlers._common import new_id, utcnow
from billing_service.repositories.subscription_webhooks import (
    SubscriptionWebhookEvent,
    SubscriptionWebhookRepository,
)
from billing_service.repositories.subscriptions import SubscriptionRepository, SubscriptionRow
from shared.db.uow import UnitOfWork
from shared.validation import JsonObject

#: the tenant of trail rows that name no known subscription
UNMATCHED_TENANT = "00000000-0000-0000-0000-000000000000"


@dataclass(frozen=True, slots=True)
class IngestSubscriptionEvent:
    """A verified subscription event."""

    provider: Provider
    event_id: str
    event_type: str
    external_subscription_id: str | None
    payload: JsonObject
    payload_hash: str
    grace_days: int | None = None


@dataclass(frozen=True, slots=True)
class SubscriptionEventIngested:
    """``event_id`` is the trail row's id."""

    duplicate: bool
    event_id: str
    subscription_id: str | None = None
    status: str | None = None


def changed(row: SubscriptionRow, change: SubscriptionChange, now_grace: int) -> SubscriptionRow:
    """SUB-06 applied to a subscription (``now`` is ``row.updated_at``)."""
    now = row.updated_at
    if change is SubscriptionChange.CANCEL:
        return replace(row, status=SubscriptionStatus.CANCELLED.value, ends_at=now, next_refill_at=None)
    if change is SubscriptionChange.PAST_DUE:
        return replace(
            row, status=SubscriptionStatus.PAST_DUE.value, grace_until=now + timedelta(days=now_grace)
        )
    if change is SubscriptionChange.SUSPEND:
        return replace(row, status=SubscriptionStatus.SUSPENDED.value)
    if change is SubscriptionChange.ACTIVATE:
        last = latest_payment(row.last_payment_at, now)
        return replace(row, status=SubscriptionStatus.ACTIVE.value, grace_until=None, last_payment_at=last)
    return row


async def ingest_subscription_event(
    uow: UnitOfWork, command: IngestSubscriptionEvent
) -> SubscriptionEventIngested:
    """Store the event once and change its subscription (SUB-06)."""
    hooks = uow.repo(SubscriptionWebhookRepository)
    p = command.provider.value
    stored = await hooks.event_row_id(p, command.event_id)
    if stored is not None:
        return SubscriptionEventIngested(True, stored)
    subs = uow.repo(SubscriptionRepository)
    sub_id = (
        await hooks.subscription_id(p, command.external_subscription_id)
        if command.external_subscription_id
        else None
    )
    row = await subs.get(sub_id, lock=True) if sub_id else None
    now = utcnow()
    event = SubscriptionWebhookEvent(
        id=new_id(),
        tenant_id=row.tenant_id if row else UNMATCHED_TENANT,
        subscription_id=row.id if row else None,
        provider=p,
        event_type=command.event_type,
        event_id=command.event_id,
        payload_hash=command.payload_hash,
        payload=command.payload,
    )
    if not await hooks.add(event, now=now):
        again = await hooks.event_row_id(p, command.event_id)
        return SubscriptionEventIngested(True, again or event.id)
    if row is None:
        return SubscriptionEventIngested(False, event.id)
    change = subscription_change(command.event_type)
    if change is SubscriptionChange.NONE or (
        row.status == SubscriptionStatus.CANCELLED.value and change is not SubscriptionChange.CANCEL
    ):
        return SubscriptionEventIngested(False, event.id, row.id, row.status)
    after = changed(replace(row, updated_at=now), change, grace_days(command.grace_days))
    await subs.update(after)
    return SubscriptionEventIngested(False, event.id, row.id, after.status)
