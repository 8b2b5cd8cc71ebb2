"""The provider simulator's request checks and signatures (pure parts; the HTTP app runs in the
integration tests): it refuses what the real provider refuses, with that provider's error body."""

from __future__ import annotations

import hashlib
import hmac

import pytest

from devstack.provider_sim import Refused, razorpay_order, sign_razorpay, sign_stripe, stripe_session

FORM = {
    "mode": "payment",
    "success_url": "https://app.local/ok",
    "cancel_url": "https://app.local/ko",
    "line_items[0][quantity]": "1",
    "line_items[0][price_data][currency]": "inr",
    "line_items[0][price_data][unit_amount]": "1000",
    "line_items[0][price_data][product_data][name]": "Credits Topup",
    "metadata[payment_order_id]": "o-1",
}


def test_a_valid_session_is_answered_as_stripe_would() -> None:
    session = stripe_session(dict(FORM), "http://sim")
    assert session["id"].startswith("cs_test_")
    assert (session["amount_total"], session["currency"], session["status"]) == (1000, "inr", "open")
    assert session["metadata"] == {"payment_order_id": "o-1"}


@pytest.mark.parametrize(
    ("field", "value", "param"),
    [
        ("line_items[0][price_data][unit_amount]", "10.5", "line_items[0][price_data][unit_amount]"),
        ("line_items[0][price_data][unit_amount]", "0", "line_items[0][price_data][unit_amount]"),
        ("line_items[0][price_data][currency]", "INRX", "line_items[0][price_data][currency]"),
        ("mode", "subscription", "mode"),
        ("success_url", "not-a-url", "success_url"),
        (
            "line_items[0][price_data][product_data][name]",
            "",
            "line_items[0][price_data][product_data][name]",
        ),
    ],
)
def test_stripe_refuses_field_by_field(field: str, value: str, param: str) -> None:
    with pytest.raises(Refused) as caught:
        stripe_session({**FORM, field: value}, "http://sim")
    assert caught.value.status == 400
    assert caught.value.body["error"]["type"] == "invalid_request_error"
    assert caught.value.body["error"]["param"] == param


def test_razorpay_orders_take_integer_paise_with_a_minimum() -> None:
    order = razorpay_order({"amount": 1000, "currency": "INR", "receipt": "r-1", "notes": {"k": "v"}})
    assert (order["status"], order["amount_due"], order["notes"]) == ("created", 1000, {"k": "v"})
    for body, field in (
        ({"amount": 10.5, "currency": "INR"}, "amount"),
        ({"amount": 99, "currency": "INR"}, "amount"),
        ({"currency": "INR"}, "amount"),
        ({"amount": 1000, "currency": "inr"}, "currency"),
        ({"amount": 1000, "currency": "INR", "receipt": "x" * 41}, "receipt"),
        ({"amount": 1000, "currency": "INR", "notes": {str(i): "v" for i in range(16)}}, "notes"),
    ):
        with pytest.raises(Refused) as caught:
            razorpay_order(body)
        assert caught.value.body["error"]["code"] == "BAD_REQUEST_ERROR"
        assert caught.value.body["error"]["field"] == field


def test_signatures_are_the_providers_schemes() -> None:
    body = b'{"id":"evt_1"}'
    header = sign_stripe("whsec_x", body, at=1700000000)
    expected = hmac.new(b"whsec_x", b"1700000000." + body, hashlib.sha256).hexdigest()
    assert header == f"t=1700000000,v1={expected}"
    assert sign_razorpay("s", body) == hmac.new(b"s", body, hashlib.sha256).hexdigest()
