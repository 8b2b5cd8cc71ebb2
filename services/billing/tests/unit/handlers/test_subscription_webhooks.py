"""Subscription webhooks on fakes (domain.md §7.9 B, SUB-06, decision 16): once per (provider, event id)."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest

from billing_service.domain.payments import Provider
from billing_service.handlers.subscription_webhooks import (
    UNMATCHED_TENANT,
    IngestSubscriptionEvent,
    ingest_subscription_event,
)
from billing_service.handlers.subscriptions import CreateSubscription, create_subscription
from billing_service.repositories import PlanUpsert
from services.billing.tests.unit.fakes import TENANT
from services.billing.tests.unit.payment_fakes import PaymentWorld


@pytest.fixture
def world() -> PaymentWorld:
    return PaymentWorld()


async def _subscribed(world: PaymentWorld) -> str:
    world.billing.account()
    row = await create_subscription(
        world.uow,
        CreateSubscription(
            TENANT,
            PlanUpsert("gold", monthly_credit_allowance=5),
            external_provider="stripe",
            external_subscription_id="sub_1",
        ),
    )
    return row.id


def event(event_id: str, event_type: str, sub: str | None = "sub_1") -> IngestSubscriptionEvent:
    return IngestSubscriptionEvent(
        Provider.STRIPE, event_id, event_type, sub, {"id": event_id}, "h", grace_days=7
    )


async def test_sub_06_past_due_sets_grace_and_a_payment_reactivates(world: PaymentWorld) -> None:
    sub_id = await _subscribed(world)
    late = await ingest_subscription_event(world.uow, event("evt_1", "invoice.payment_failed"))
    row = world.billing.subscriptions.subs[sub_id]
    assert (late.duplicate, late.status, row.status) == (False, "past_due", "past_due")
    assert row.grace_until is not None
    assert row.grace_until - row.updated_at == timedelta(days=7)
    paid = await ingest_subscription_event(world.uow, event("evt_2", "invoice.paid"))  # decision 16
    row = world.billing.subscriptions.subs[sub_id]
    assert (paid.status, row.status, row.grace_until) == ("active", "active", None)
    assert row.last_payment_at is not None


async def test_a_payment_webhook_never_moves_last_payment_back(world: PaymentWorld) -> None:
    """Decision 16, the same rule as the payment route: the later of the stored time and the event's."""
    sub_id = await _subscribed(world)
    ahead = world.billing.subscriptions.subs[sub_id].updated_at + timedelta(days=3)
    world.billing.subscriptions.subs[sub_id] = replace(
        world.billing.subscriptions.subs[sub_id], status="past_due", last_payment_at=ahead
    )
    paid = await ingest_subscription_event(world.uow, event("evt_p", "invoice.paid"))
    row = world.billing.subscriptions.subs[sub_id]
    assert (paid.status, row.status, row.last_payment_at) == ("active", "active", ahead)


async def test_a_redelivered_event_changes_nothing(world: PaymentWorld) -> None:
    sub_id = await _subscribed(world)
    first = await ingest_subscription_event(world.uow, event("evt_c", "customer.subscription.suspended"))
    world.billing.subscriptions.subs[sub_id] = replace(
        world.billing.subscriptions.subs[sub_id], status="active"
    )
    again = await ingest_subscription_event(world.uow, event("evt_c", "customer.subscription.suspended"))
    assert (again.duplicate, again.event_id) == (True, first.event_id)
    assert world.billing.subscriptions.subs[sub_id].status == "active"


async def test_cancel_is_final(world: PaymentWorld) -> None:
    sub_id = await _subscribed(world)
    await ingest_subscription_event(world.uow, event("evt_x", "customer.subscription.cancelled"))
    row = world.billing.subscriptions.subs[sub_id]
    assert (row.status, row.next_refill_at) == ("cancelled", None)
    assert row.ends_at is not None
    resumed = await ingest_subscription_event(world.uow, event("evt_y", "subscription.resumed"))
    assert resumed.status == "cancelled"


async def test_an_unknown_subscription_is_stored_unmatched(world: PaymentWorld) -> None:
    result = await ingest_subscription_event(world.uow, event("evt_u", "invoice.paid", sub="sub_nobody"))
    assert (result.duplicate, result.subscription_id) == (False, None)
    assert world.hooks.trail[("stripe", "evt_u")].tenant_id == UNMATCHED_TENANT
    again = await ingest_subscription_event(world.uow, event("evt_u", "invoice.paid", sub="sub_nobody"))
    assert again.duplicate
