"""Payment rules from vectors K (PAY-03, PAY-06), SUB-06 and decisions 14-16: pure, no I/O."""

from __future__ import annotations

from decimal import Decimal

import pytest

from billing_service.domain.payment_errors import PaymentAmountNotPositive
from billing_service.domain.payments import (
    OrderStatus,
    SubscriptionChange,
    hmac_hex,
    minor_units,
    next_status,
    parse_razorpay,
    parse_stripe,
    razorpay_signature_ok,
    razorpay_status,
    return_urls,
    stripe_status,
    subscription_change,
    topup_amount,
)

P, F, E, C, PE = (
    OrderStatus.PAID,
    OrderStatus.FAILED,
    OrderStatus.EXPIRED,
    OrderStatus.CANCELLED,
    OrderStatus.PENDING,
)


@pytest.mark.parametrize(
    ("event_type", "status"),
    [
        ("checkout.session.completed", P),
        ("payment_intent.succeeded", P),
        ("payment_intent.payment_failed", F),
        ("checkout.session.expired", E),
        ("charge.refunded", PE),
    ],
)
def test_pay_03_stripe_status_mapping(event_type: str, status: OrderStatus) -> None:
    assert stripe_status(event_type) is status


@pytest.mark.parametrize(
    ("event_type", "status"),
    [
        ("payment.captured", P),
        ("payment.authorized", P),
        ("payment.failed", F),
        ("order.cancelled", C),
        ("order.paid", PE),
    ],
)
def test_pay_03_razorpay_status_mapping(event_type: str, status: OrderStatus) -> None:
    assert razorpay_status(event_type) is status


def test_decision_14_expired_is_applied_but_pending_is_not() -> None:
    assert next_status(OrderStatus.REQUIRES_ACTION, E) is E
    assert next_status(OrderStatus.REQUIRES_ACTION, PE) is None


@pytest.mark.parametrize("late", [F, C, E, PE, P])
def test_paid_is_final_whatever_arrives_after_it(late: OrderStatus) -> None:
    assert next_status(OrderStatus.PAID, late) is None


@pytest.mark.parametrize("before", [F, C, E, OrderStatus.PENDING, OrderStatus.REQUIRES_ACTION])
def test_money_after_a_failure_still_settles(before: OrderStatus) -> None:
    assert next_status(before, P) is P


def test_pay_06_topup_price_and_minor_units() -> None:
    amount = topup_amount(10, Decimal(1))
    assert amount == Decimal("10.00")
    assert minor_units(amount) == 1000
    assert topup_amount(10, Decimal(0)) == Decimal("10.00")  # non-positive price counts as 1
    assert topup_amount(3, Decimal("2.50")) == Decimal("7.50")


def test_minor_units_round_half_up_and_refuse_non_positive() -> None:
    assert minor_units(Decimal("0.005")) == 1
    assert minor_units(Decimal("123.45")) == 12345
    with pytest.raises(PaymentAmountNotPositive):
        minor_units(Decimal("0.004"))


def test_return_urls_append_the_order_id() -> None:
    ok, ko = return_urls("", "", "", "o-1")
    assert ok == "https://app.local/payment-success?payment_order_id=o-1"
    assert ko == "https://app.local/payment-cancelled?payment_order_id=o-1"
    ok, _ = return_urls("https://x.test/done?a=1", "", "", "o-1")
    assert ok == "https://x.test/done?a=1&payment_order_id=o-1"
    ok, ko = return_urls("", "", "https://web.test/", "o-2")
    assert (ok, ko) == (
        "https://web.test/payment-success?payment_order_id=o-2",
        "https://web.test/payment-cancelled?payment_order_id=o-2",
    )


def test_stripe_parse_reads_object_metadata_and_payment_intent() -> None:
    payload = {
        "type": "checkout.session.completed",
        "data": {"object": {"id": "cs_1", "payment_intent": "pi_9", "metadata": {"payment_order_id": "o-1"}}},
    }
    event = parse_stripe("checkout.session.completed", payload)
    assert (event.status, event.provider_order_id, event.provider_payment_id, event.payment_order_id) == (
        P,
        "cs_1",
        "pi_9",
        "o-1",
    )
    intent = parse_stripe("payment_intent.succeeded", {"data": {"object": {"id": "pi_5"}}})
    assert intent.provider_payment_id == "pi_5"


def test_razorpay_parse_reads_the_payment_entity_and_notes() -> None:
    payload = {
        "event": "payment.captured",
        "payload": {
            "payment": {"entity": {"id": "pay_1", "order_id": "order_1", "notes": {"idempotency_key": "k-1"}}}
        },
    }
    event = parse_razorpay("payment.captured", payload)
    assert (event.provider_order_id, event.provider_payment_id, event.idempotency_key) == (
        "order_1",
        "pay_1",
        "k-1",
    )


def test_parse_survives_any_json_shape() -> None:
    payloads: list[dict[str, object]] = [
        {},
        {"data": []},
        {"data": {"object": "x"}},
        {"payload": {"payment": 3}},
    ]
    for payload in payloads:
        assert parse_stripe("x", payload).provider_order_id is None
        assert parse_razorpay("x", payload).provider_order_id is None


def test_razorpay_signature_is_the_hex_hmac_of_the_raw_body() -> None:
    body = b'{"event":"payment.captured"}'
    good = hmac_hex("s3cret", body)
    assert razorpay_signature_ok("s3cret", body, good)
    assert not razorpay_signature_ok("s3cret", body + b" ", good)
    assert not razorpay_signature_ok("other", body, good)
    assert not razorpay_signature_ok("s3cret", body, "zz\u00e9")


@pytest.mark.parametrize(
    ("event_type", "change"),
    [
        ("customer.subscription.cancelled", SubscriptionChange.CANCEL),
        ("subscription.cancelled", SubscriptionChange.CANCEL),
        ("customer.subscription.past_due", SubscriptionChange.PAST_DUE),
        ("invoice.payment_failed", SubscriptionChange.PAST_DUE),
        ("subscription.suspended", SubscriptionChange.SUSPEND),
        ("subscription.resumed", SubscriptionChange.ACTIVATE),
        ("subscription.activated", SubscriptionChange.ACTIVATE),
        ("invoice.paid", SubscriptionChange.ACTIVATE),  # decision 16
        ("subscription.charged", SubscriptionChange.ACTIVATE),  # decision 16
        ("customer.subscription.updated", SubscriptionChange.NONE),
    ],
)
def test_sub_06_subscription_event_types(event_type: str, change: SubscriptionChange) -> None:
    assert subscription_change(event_type) is change
