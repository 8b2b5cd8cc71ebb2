"""The provider simulator's request checks and signatures (pure parts; the HTTP app runs in the
integration tests): it refuses what the real provider refuses, with that provider's error body."""

from __future__ import annotations

import hashlib
import hmac
from pathlib import Path

import pytest

from devstack import catalog
from devstack.launcher import StackInfo, registry
from devstack.postgres import PgEndpoint, Secrets
from devstack.provider_sim import Refused, razorpay_order, sign_razorpay, sign_stripe, stripe_session
from devstack.zipkin import Tracing

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


def _stack(sim_port: int | None) -> StackInfo:
    names = (
        "postgres_password",
        "jwt_secret",
        "service_token",
        "studio_admin_token",
        "webhook_secret",
        "stripe_secret_key",
        "razorpay_key_id",
        "razorpay_key_secret",
        "stripe_webhook_secret",
        "razorpay_webhook_secret",
    )
    return StackInfo(
        state_dir=Path("/nonexistent"),
        postgres=PgEndpoint("127.0.0.1", 5432, "zenops"),
        admin_dsn="postgresql://admin@127.0.0.1:5432/zenops",
        dsns={s: {"owner": "o", "app": "a", "system": "s"} for s in catalog.db_services()},
        kafka_bootstrap="127.0.0.1:9092",
        urls={"gateway": "http://127.0.0.1:8080", "billing": "http://127.0.0.1:8084"},
        secrets=Secrets(Path("/nonexistent/secrets.json"), {n: f"v-{n}" for n in names} | {"roles": {}}),
        postgres_embedded=False,
        kafka_embedded=False,
        tracing=Tracing(mode="off"),
        provider_sim_port=sim_port,
    )


def test_the_launcher_runs_the_simulator_and_points_billing_at_it() -> None:
    info = _stack(58000)
    (entry,) = [e for e in registry(info) if e.name == "provider-sim"]
    assert entry.command == ("-m", "devstack.provider_sim", "run", "--port", "58000")
    assert entry.env["ZENOPS_PROVIDER_SIM_WEBHOOK_BASE"] == "http://127.0.0.1:8080"
    billing = info.env("billing")
    assert (
        billing["ZENOPS_STRIPE_API_BASE"] == billing["ZENOPS_RAZORPAY_API_BASE"] == "http://127.0.0.1:58000"
    )
    # billing verifies with exactly the secrets the simulator signs with
    for name in (
        "ZENOPS_STRIPE_WEBHOOK_SECRET",
        "ZENOPS_RAZORPAY_WEBHOOK_SECRET",
        "ZENOPS_STRIPE_SECRET_KEY",
    ):
        assert billing[name] == entry.env[name]
    assert "ZENOPS_STRIPE_API_BASE" not in info.env("workorders")


def test_without_a_simulator_port_nothing_is_registered() -> None:
    info = _stack(None)
    assert "provider-sim" not in {e.name for e in registry(info)}
    assert "ZENOPS_STRIPE_API_BASE" not in info.env("billing")
