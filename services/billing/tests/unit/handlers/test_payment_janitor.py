"""The payment janitor on fakes: an order still open after the while is asked about at its provider and
settled exactly as its webhook would (same keys), once; open ones wait; provider failures are reported."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta

import pytest

from billing_service.domain.payment_errors import PaymentProviderUnavailable
from billing_service.domain.payments import OrderStatus, Provider, parse_stripe
from billing_service.handlers.payment_janitor import SweepOpenOrders, sweep_open_orders
from billing_service.handlers.payment_webhooks import IngestPaymentEvent, ingest_payment_event
from billing_service.providers import RemoteOrder
from billing_service.repositories.payments import NewPaymentOrder, OrderUpdate
from services.billing.tests.unit.fakes import TENANT
from services.billing.tests.unit.payment_fakes import PaymentWorld
from shared.db.uow import UnitOfWork

LONG_AGO = datetime(2026, 1, 1, tzinfo=UTC)
ORDER = "2f0e0d0c-0b0a-4909-8807-060504030201"
SWEEP = SweepOpenOrders(timedelta(minutes=15), 50)


@pytest.fixture
def world() -> PaymentWorld:
    return PaymentWorld()


def opener(world: PaymentWorld):  # type: ignore[no-untyped-def]
    @asynccontextmanager
    async def open_uow() -> AsyncIterator[UnitOfWork]:
        yield world.uow

    return open_uow


async def _stale_order(world: PaymentWorld) -> None:
    account = world.billing.account()
    new = NewPaymentOrder(
        ORDER,
        TENANT,
        account.account.id,
        "stripe",
        "topup",
        500,
        "INR",
        5,
        "credit_topup",
        "manual",
        "k-j",
        None,
    )
    await world.payments.add(new, status="pending", now=LONG_AGO)
    await world.payments.change(
        ORDER, OrderUpdate(status="requires_action", provider_order_id="cs_j"), now=LONG_AGO
    )


async def test_an_order_whose_webhook_never_came_is_settled_once(world: PaymentWorld) -> None:
    await _stale_order(world)
    world.stripe.remote["cs_j"] = RemoteOrder("cs_j", OrderStatus.PAID, "pi_j", "complete/paid")
    report = await sweep_open_orders(opener(world), world.providers(), SWEEP)
    assert (report.asked, report.settled) == (1, [ORDER])
    (entry,) = world.billing.ledger.entry_rows
    assert entry.idempotency_key == f"payment_topup:{ORDER}"
    assert world.payments.orders_by_id[ORDER].status == "paid"
    assert ("stripe", f"janitor:{ORDER}:paid") in world.payments.event_rows
    # the late webhook finds it settled: no second grant
    payload = {"id": "evt_late", "data": {"object": {"id": "cs_j"}}}
    late = await ingest_payment_event(
        world.uow,
        IngestPaymentEvent(
            Provider.STRIPE,
            "evt_late",
            parse_stripe("checkout.session.completed", payload),
            payload,
            "h",
            True,
            LONG_AGO,
        ),
    )
    assert late.status is OrderStatus.PAID
    assert len(world.billing.ledger.entry_rows) == 1
    again = await sweep_open_orders(opener(world), world.providers(), SWEEP)
    assert again.asked == 0


async def test_an_order_still_open_waits_another_while(world: PaymentWorld) -> None:
    await _stale_order(world)
    report = await sweep_open_orders(opener(world), world.providers(), SWEEP)
    assert (report.asked, report.still_open, report.settled) == (1, 1, [])
    assert world.payments.orders_by_id[ORDER].status == "requires_action"
    assert (await sweep_open_orders(opener(world), world.providers(), SWEEP)).asked == 0  # touched


async def test_a_fresh_order_is_not_asked_and_provider_failures_are_reported(world: PaymentWorld) -> None:
    await _stale_order(world)
    assert (
        await sweep_open_orders(opener(world), world.providers(), SweepOpenOrders(timedelta(days=3650)))
    ).asked == 0
    world.stripe.fail = PaymentProviderUnavailable("stripe is unavailable")
    report = await sweep_open_orders(opener(world), world.providers(), SWEEP)
    assert report.errors == [f"{ORDER}: PAYMENT_PROVIDER_UNAVAILABLE"]
