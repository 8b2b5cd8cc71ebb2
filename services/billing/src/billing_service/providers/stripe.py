"""Stripe's HTTP API (form-encoded, bearer secret key): customers, Checkout Sessions and their status.

``POST /v1/checkout/sessions`` with ``mode=payment``, one line item whose ``price_data`` carries the
amount in minor units (``unit_amount``) and the lower-cased currency, and ``metadata[...]`` naming the
payment order; the order id is the ``Idempotency-Key`` header, so a retried create returns the same
session. ``GET /v1/checkout/sessions/{id}`` answers ``status`` (open/complete/expired) and
``payment_status`` (paid/unpaid/no_payment_required).
"""

from __future__ import annotations

from collections.abc import Mapping
from urllib.parse import quote, urlencode

import httpx

from billing_service.domain.payments import OrderStatus, Provider
from billing_service.providers.base import (
    CheckoutHandle,
    CheckoutRequest,
    CustomerRequest,
    RemoteOrder,
    optional_text,
    send,
    text_field,
)

P = Provider.STRIPE


def checkout_form(request: CheckoutRequest) -> list[tuple[str, str]]:
    """The form fields of ``POST /v1/checkout/sessions`` (Stripe's bracket notation)."""
    form = [
        ("mode", "payment"),
        ("success_url", request.success_url),
        ("cancel_url", request.cancel_url),
        ("client_reference_id", request.order_id),
        ("line_items[0][quantity]", "1"),
        ("line_items[0][price_data][currency]", request.currency.lower()),
        ("line_items[0][price_data][unit_amount]", str(request.amount_minor)),
        ("line_items[0][price_data][product_data][name]", request.description),
    ]
    if request.customer_id:
        form.append(("customer", request.customer_id))
    for key, value in request.metadata.items():
        form.append((f"metadata[{key}]", value))
        form.append((f"payment_intent_data[metadata][{key}]", value))
    return form


def session_status(body: Mapping[str, object]) -> OrderStatus:
    """A session's status as an order status: paid once ``payment_status`` is paid; expired; else open."""
    if body.get("payment_status") == "paid":
        return OrderStatus.PAID
    if body.get("status") == "expired":
        return OrderStatus.EXPIRED
    return OrderStatus.REQUIRES_ACTION


class StripeAdapter:
    """:class:`billing_service.providers.base.PaymentProvider` for Stripe."""

    def __init__(self, client: httpx.AsyncClient, base_url: str, secret_key: str) -> None:
        self._client = client
        self._base = base_url.rstrip("/")
        self._key = secret_key

    @property
    def name(self) -> Provider:
        """Stripe."""
        return P

    def _headers(self, idempotency_key: str | None = None) -> dict[str, str]:
        headers = {"Authorization": f"Bearer {self._key}"}
        if idempotency_key:
            headers["Idempotency-Key"] = idempotency_key
        return headers

    def customer_request(self, customer: CustomerRequest) -> httpx.Request:
        """``POST /v1/customers``."""
        form = [
            ("name", customer.display_name or customer.account_id),
            ("metadata[account_id]", customer.account_id),
            ("metadata[tenant_id]", customer.tenant_id),
        ]
        return self._client.build_request(
            "POST",
            f"{self._base}/v1/customers",
            data=dict(form),
            headers=self._headers(f"customer:{customer.account_id}"),
        )

    def checkout_request(self, request: CheckoutRequest) -> httpx.Request:
        """``POST /v1/checkout/sessions`` (form-encoded; repeated keys kept in order)."""
        body = urlencode(checkout_form(request)).encode()
        headers = {
            **self._headers(f"checkout:{request.order_id}"),
            "Content-Type": "application/x-www-form-urlencoded",
        }
        return self._client.build_request(
            "POST", f"{self._base}/v1/checkout/sessions", content=body, headers=headers
        )

    async def create_customer(self, customer: CustomerRequest) -> str:
        """The customer id (``cus_...``)."""
        body = await send(P, self._client, self.customer_request(customer))
        return text_field(P, body, "id")

    async def create_checkout(self, request: CheckoutRequest) -> CheckoutHandle:
        """The session id, its payment intent (when already made) and its hosted URL."""
        body = await send(P, self._client, self.checkout_request(request))
        return CheckoutHandle(
            text_field(P, body, "id"), optional_text(body, "payment_intent"), optional_text(body, "url")
        )

    async def fetch_order(self, provider_order_id: str) -> RemoteOrder:
        """``GET /v1/checkout/sessions/{id}``."""
        request = self._client.build_request(
            "GET",
            f"{self._base}/v1/checkout/sessions/{quote(provider_order_id, safe='')}",
            headers=self._headers(),
        )
        body = await send(P, self._client, request)
        return RemoteOrder(
            text_field(P, body, "id"),
            session_status(body),
            optional_text(body, "payment_intent"),
            f"{body.get('status')}/{body.get('payment_status')}",
        )
