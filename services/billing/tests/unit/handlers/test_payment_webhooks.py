"""The payment webhook intake on fakes (domain.md §7.9 A, vectors PAY-01, PAY-02, PAY-07, PAY-08):
once per (provider, event id), unknown orders stored and reported, a late ``failed`` never undoes ``paid``."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from billing_service.domain.payment_errors import WebhookSignatureInvalid
from billing_service.domain.payments import OrderStatus, Provider, parse_razorpay, parse_stripe
from billing_service.handlers.payment_webhooks import IngestPaymentEvent, ingest_payment_event
from billing_service.repositories.payments import NewPaymentOrder, OrderUpdate, PaymentEventRow
from services.billing.tests.unit.fakes import TENANT
from services.billing.tests.unit.payment_fakes import PaymentWorld

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
ORDER = "0f0e0d0c-0b0a-4909-8807-060504030201"


@pytest.fixture
def world() -> PaymentWorld:
    return PaymentWorld()


async def _order(world: PaymentWorld, *, provider: str = "stripe", handle: str = "cs_test_123") -> str:
    """PAY-02's order: pending top-up of 100 for 10 credits, provider order ``cs_test_123``."""
    account = world.billing.account()
    new = NewPaymentOrder(
        id=ORDER,
        tenant_id=TENANT,
        account_id=account.account.id,
        provider=provider,
        purpose="topup",
        amount_minor=10_000,
        currency="INR",
        credits_amount=10,
        ref_type="credit_topup",
        ref_id="manual",
        idempotency_key="topup-1",
        service_invoice_id=None,
    )
    await world.payments.add(new, status="pending", now=NOW)
    await world.payments.change(ORDER, OrderUpdate(provider_order_id=handle), now=NOW)
    return account.account.id


def stripe_event(
    event_id: str, event_type: str, object_id: str = "cs_test_123", *, ok: bool = True
) -> IngestPaymentEvent:
    payload = {"id": event_id, "type": event_type, "data": {"object": {"id": object_id}}}
    return IngestPaymentEvent(
        Provider.STRIPE, event_id, parse_stripe(event_type, payload), payload, "h" * 64, ok, NOW
    )


async def test_pay_02_a_settled_topup_grants_once_however_often_it_arrives(world: PaymentWorld) -> None:
    account_id = await _order(world)
    first = await ingest_payment_event(world.uow, stripe_event("evt_topup_1", "checkout.session.completed"))
    second = await ingest_payment_event(world.uow, stripe_event("evt_topup_1", "checkout.session.completed"))
    assert (first.duplicate, first.processed, first.status) == (False, True, OrderStatus.PAID)
    assert (second.duplicate, second.event_id) == (True, first.event_id)
    (entry,) = world.billing.ledger.entry_rows
    assert (entry.delta, entry.reason, entry.idempotency_key) == (10, "topup", "payment_topup:" + ORDER)
    assert len(world.billing.usage.of_type("payment_settled")) == 1
    order = world.payments.orders_by_id[ORDER]
    assert order.status == "paid"
    assert order.settled_at is not None
    assert world.billing.accounts.states[account_id].balance.wallet == 10


async def test_pay_01_a_stored_event_is_answered_duplicate_without_side_effects(world: PaymentWorld) -> None:
    await _order(world)
    world.payments.event_rows[("stripe", "evt_123")] = PaymentEventRow(
        id="evt-existing",
        tenant_id=TENANT,
        account_id=None,
        payment_order_id=ORDER,
        service_invoice_id=None,
        provider="stripe",
        event_id="evt_123",
        event_type="checkout.session.completed",
        idempotency_key=None,
        signature_ok=True,
        payload_hash="h",
        payload_json={},
        payment_status="paid",
        received_at=NOW,
        processed_at=NOW,
        created_at=NOW,
    )
    result = await ingest_payment_event(world.uow, stripe_event("evt_123", "checkout.session.completed"))
    assert (result.duplicate, result.processed, result.event_id) == (True, True, "evt-existing")
    assert world.billing.ledger.entry_rows == []
    assert world.payments.orders_by_id[ORDER].status == "pending"


async def test_pay_07_an_unverified_event_is_401_and_nothing_is_stored(world: PaymentWorld) -> None:
    await _order(world)
    with pytest.raises(WebhookSignatureInvalid):
        await ingest_payment_event(world.uow, stripe_event("evt_x", "checkout.session.completed", ok=False))
    assert world.payments.event_rows == {}


async def test_pay_08_an_event_for_an_unknown_order_is_stored_and_reported(world: PaymentWorld) -> None:
    result = await ingest_payment_event(
        world.uow, stripe_event("evt_u", "checkout.session.completed", "cs_nobody")
    )
    assert (result.duplicate, result.processed) == (False, False)
    stored = world.payments.event_rows[("stripe", "evt_u")]
    assert (stored.tenant_id, stored.processed_at, stored.payment_order_id) == (None, None, None)


async def test_a_failed_after_paid_never_undoes_the_settlement(world: PaymentWorld) -> None:
    await _order(world)
    await ingest_payment_event(world.uow, stripe_event("evt_paid", "checkout.session.completed"))
    late = await ingest_payment_event(world.uow, stripe_event("evt_fail", "payment_intent.payment_failed"))
    assert (late.duplicate, late.processed, late.status) == (False, True, OrderStatus.PAID)
    assert world.payments.orders_by_id[ORDER].status == "paid"
    assert len(world.billing.ledger.entry_rows) == 1
    assert len(world.billing.usage.of_type("payment_updated")) == 1


async def test_paid_after_failed_settles(world: PaymentWorld) -> None:
    await _order(world)
    failed = await ingest_payment_event(world.uow, stripe_event("evt_fail", "payment_intent.payment_failed"))
    assert failed.status is OrderStatus.FAILED
    paid = await ingest_payment_event(world.uow, stripe_event("evt_paid", "checkout.session.completed"))
    assert paid.status is OrderStatus.PAID
    assert len(world.billing.ledger.entry_rows) == 1


async def test_decision_14_stripe_expired_marks_the_order_expired(world: PaymentWorld) -> None:
    await _order(world)
    result = await ingest_payment_event(world.uow, stripe_event("evt_exp", "checkout.session.expired"))
    assert result.status is OrderStatus.EXPIRED
    assert world.payments.orders_by_id[ORDER].status == "expired"


async def test_razorpay_capture_finds_its_order_by_provider_order_id(world: PaymentWorld) -> None:
    await _order(world, provider="razorpay", handle="order_R1")
    payload = {
        "event": "payment.captured",
        "payload": {"payment": {"entity": {"id": "pay_1", "order_id": "order_R1", "notes": {}}}},
    }
    event = IngestPaymentEvent(
        Provider.RAZORPAY, "evt_r", parse_razorpay("payment.captured", payload), payload, "h", True, NOW
    )
    result = await ingest_payment_event(world.uow, event)
    assert (result.processed, result.status) == (True, OrderStatus.PAID)
    assert world.payments.orders_by_id[ORDER].provider_payment_id == "pay_1"
    assert ORDER in world.payments.locked
