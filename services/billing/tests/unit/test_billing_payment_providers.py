"""The provider adapters' requests and parsing (httpx mock transport, no network) and the webhook
verification over the raw body (Stripe through its SDK, Razorpay's HMAC, the dev bypass's prod guard)."""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Callable
from urllib.parse import parse_qsl

import httpx
import pytest

from billing_service.domain.payment_errors import (
    DevBypassDisabledInProd,
    MissingRazorpaySignature,
    MissingStripeSignature,
    PaymentProviderError,
    PaymentProviderUnavailable,
    StripeSecretNotConfigured,
    WebhookPayloadInvalid,
    WebhookSignatureInvalid,
)
from billing_service.domain.payments import OrderStatus, Provider, hmac_hex
from billing_service.providers import CheckoutRequest, CustomerRequest, RazorpayAdapter, StripeAdapter
from billing_service.providers.signatures import WebhookConfig, external_subscription_id, verify

Handler = Callable[[httpx.Request], httpx.Response]
REQUEST = CheckoutRequest(
    order_id="0b5f3f0e-8a62-4c4e-9d53-6f1f1d1c0a77-extra-long-id",
    amount_minor=1000,
    currency="INR",
    description="Credits Topup",
    customer_id="cus_1",
    success_url="https://app.local/ok?payment_order_id=o",
    cancel_url="https://app.local/ko?payment_order_id=o",
    metadata={"payment_order_id": "o", "purpose": "topup"},
)


def client(handler: Handler) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.MockTransport(handler))


async def test_stripe_checkout_is_form_encoded_with_minor_units_metadata_and_bearer() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(
            200, json={"id": "cs_test_1", "url": "https://pay.test/cs_test_1", "payment_intent": None}
        )

    async with client(handler) as c:
        handle = await StripeAdapter(c, "http://sim.test/", "sk_test_x").create_checkout(REQUEST)
    assert (handle.provider_order_id, handle.checkout_url) == ("cs_test_1", "https://pay.test/cs_test_1")
    (sent,) = seen
    assert (sent.method, str(sent.url)) == ("POST", "http://sim.test/v1/checkout/sessions")
    assert sent.headers["authorization"] == "Bearer sk_test_x"
    assert sent.headers["content-type"] == "application/x-www-form-urlencoded"
    assert sent.headers["idempotency-key"] == f"checkout:{REQUEST.order_id}"
    form = dict(parse_qsl(sent.content.decode()))
    assert form["mode"] == "payment"
    assert form["line_items[0][price_data][unit_amount]"] == "1000"
    assert form["line_items[0][price_data][currency]"] == "inr"
    assert form["line_items[0][price_data][product_data][name]"] == "Credits Topup"
    assert form["line_items[0][quantity]"] == "1"
    assert form["metadata[payment_order_id]"] == "o"
    assert form["customer"] == "cus_1"
    assert form["success_url"] == REQUEST.success_url


async def test_stripe_session_status_is_read_for_the_janitor() -> None:
    answers = {
        "cs_paid": {
            "id": "cs_paid",
            "status": "complete",
            "payment_status": "paid",
            "payment_intent": "pi_1",
        },
        "cs_open": {"id": "cs_open", "status": "open", "payment_status": "unpaid"},
        "cs_gone": {"id": "cs_gone", "status": "expired", "payment_status": "unpaid"},
    }

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json=answers[request.url.path.rsplit("/", 1)[1]])

    async with client(handler) as c:
        adapter = StripeAdapter(c, "http://sim.test", "sk")
        paid = await adapter.fetch_order("cs_paid")
        assert (paid.status, paid.provider_payment_id) == (OrderStatus.PAID, "pi_1")
        assert (await adapter.fetch_order("cs_open")).status is OrderStatus.REQUIRES_ACTION
        assert (await adapter.fetch_order("cs_gone")).status is OrderStatus.EXPIRED


async def test_stripe_refusals_are_normalized() -> None:
    def handler(request: httpx.Request) -> httpx.Response:  # noqa: ARG001  a transport handler's signature
        return httpx.Response(
            400,
            json={
                "error": {"type": "invalid_request_error", "code": "parameter_missing", "message": "Missing"}
            },
        )

    async with client(handler) as c:
        with pytest.raises(PaymentProviderError) as caught:
            await StripeAdapter(c, "http://sim.test", "sk").create_checkout(REQUEST)
    assert caught.value.status == 502
    assert caught.value.details["provider_code"] == "parameter_missing"
    assert caught.value.details["status"] == 400


async def test_unreachable_provider_is_a_503_and_unreadable_answers_a_502() -> None:
    def down(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)

    async with client(down) as c:
        with pytest.raises(PaymentProviderUnavailable):
            await StripeAdapter(c, "http://sim.test", "sk").create_customer(CustomerRequest("a", "t", "A"))

    def garbage(request: httpx.Request) -> httpx.Response:  # noqa: ARG001  a transport handler's signature
        return httpx.Response(200, content=b"<html>")

    async with client(garbage) as c:
        with pytest.raises(PaymentProviderError):
            await StripeAdapter(c, "http://sim.test", "sk").create_customer(CustomerRequest("a", "t", "A"))


async def test_razorpay_order_is_json_with_paise_receipt_notes_and_basic_auth() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json={"id": "order_1", "entity": "order", "status": "created"})

    async with client(handler) as c:
        handle = await RazorpayAdapter(c, "http://sim.test", "rzp_test_k", "sec").create_checkout(REQUEST)
    assert handle.provider_order_id == "order_1"
    (sent,) = seen
    assert (sent.method, str(sent.url)) == ("POST", "http://sim.test/v1/orders")
    assert sent.headers["authorization"] == "Basic " + base64.b64encode(b"rzp_test_k:sec").decode()
    body = json.loads(sent.content)
    assert body["amount"] == 1000
    assert isinstance(body["amount"], int)
    assert body["currency"] == "INR"
    assert body["receipt"] == REQUEST.order_id[:40]
    assert body["notes"] == {"payment_order_id": "o", "purpose": "topup"}


async def test_razorpay_paid_order_names_its_captured_payment() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/payments"):
            return httpx.Response(
                200, json={"entity": "collection", "items": [{"id": "pay_7", "status": "captured"}]}
            )
        return httpx.Response(200, json={"id": "order_1", "status": "paid"})

    async with client(handler) as c:
        remote = await RazorpayAdapter(c, "http://sim.test", "k", "s").fetch_order("order_1")
    assert (remote.status, remote.provider_payment_id) == (OrderStatus.PAID, "pay_7")


# --- webhook verification -----------------------------------------------------------------------------------

SECRETS = WebhookConfig(
    stripe_secret="whsec_test", razorpay_secret="rzp_whsec", dev_bypass=False, is_dev=False
)
BODY = json.dumps(
    {"id": "evt_1", "type": "checkout.session.completed", "data": {"object": {"id": "cs_1"}}}
).encode()


def stripe_header(body: bytes, secret: str = "whsec_test", at: int | None = None) -> str:  # noqa: S107  a test secret
    t = int(time.time()) if at is None else at
    return f"t={t},v1={hmac_hex(secret, f'{t}.'.encode() + body)}"


def test_stripe_signed_body_verifies_through_the_sdk() -> None:
    delivery = verify(Provider.STRIPE, BODY, {"stripe-signature": stripe_header(BODY)}, SECRETS)
    assert (delivery.event_id, delivery.event_type) == ("evt_1", "checkout.session.completed")
    assert delivery.payload["data"] == {"object": {"id": "cs_1"}}


@pytest.mark.parametrize(
    "header",
    [
        stripe_header(BODY, secret="whsec_other"),  # forged
        stripe_header(BODY + b" "),  # signed another body
        stripe_header(BODY, at=int(time.time()) - 301),  # stale
        "garbage",
    ],
)
def test_stripe_forged_altered_or_stale_is_401(header: str) -> None:
    with pytest.raises(WebhookSignatureInvalid):
        verify(Provider.STRIPE, BODY, {"stripe-signature": header}, SECRETS)


def test_stripe_without_header_or_secret_is_401_with_its_code() -> None:
    with pytest.raises(MissingStripeSignature):
        verify(Provider.STRIPE, BODY, {}, SECRETS)
    with pytest.raises(StripeSecretNotConfigured):
        verify(
            Provider.STRIPE,
            BODY,
            {"stripe-signature": stripe_header(BODY)},
            WebhookConfig("", "", False, False),
        )


def test_razorpay_verifies_the_raw_body_and_takes_the_event_id_from_the_header() -> None:
    body = b'{"event": "payment.captured", "event_id": "body-id"}'
    headers = {"x-razorpay-signature": hmac_hex("rzp_whsec", body), "x-razorpay-event-id": "evt_hdr"}
    delivery = verify(Provider.RAZORPAY, body, headers, SECRETS)
    assert (delivery.event_id, delivery.event_type) == ("evt_hdr", "payment.captured")
    # the same JSON re-serialised is another body: refused (decision 15)
    reserialised = json.dumps(json.loads(body), separators=(",", ":")).encode()
    with pytest.raises(WebhookSignatureInvalid):
        verify(Provider.RAZORPAY, reserialised, headers, SECRETS)
    with pytest.raises(MissingRazorpaySignature):
        verify(Provider.RAZORPAY, body, {"x-razorpay-event-id": "e"}, SECRETS)
    with pytest.raises(WebhookPayloadInvalid):
        verify(Provider.RAZORPAY, body, {"x-razorpay-signature": hmac_hex("rzp_whsec", body)}, SECRETS)


def test_dev_bypass_is_refused_outside_dev_and_reads_the_body_in_dev() -> None:
    with pytest.raises(DevBypassDisabledInProd):
        verify(Provider.STRIPE, BODY, {}, WebhookConfig("", "", dev_bypass=True, is_dev=False))
    delivery = verify(Provider.STRIPE, BODY, {}, WebhookConfig("", "", dev_bypass=True, is_dev=True))
    assert delivery.event_id == "evt_1"
    generated = verify(Provider.RAZORPAY, b"{}", {}, WebhookConfig("", "", dev_bypass=True, is_dev=True))
    assert generated.event_id.startswith("razorpay-dev-")
    assert generated.event_type == "dev.event"


def test_subscription_ids_of_both_providers() -> None:
    assert (
        external_subscription_id(Provider.STRIPE, {"data": {"object": {"subscription": "sub_1"}}}) == "sub_1"
    )
    assert external_subscription_id(Provider.STRIPE, {"data": {"object": {"id": "sub_2"}}}) == "sub_2"
    assert external_subscription_id(Provider.STRIPE, {"data": {"object": {"id": "in_3"}}}) is None
    rzp = {"payload": {"subscription": {"entity": {"id": "sub_R"}}}}
    assert external_subscription_id(Provider.RAZORPAY, rzp) == "sub_R"
