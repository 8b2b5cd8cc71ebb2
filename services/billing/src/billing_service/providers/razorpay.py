"""Razorpay's HTTP API (JSON, basic auth ``key_id:key_secret``): customers, Orders and their payments.

``POST /v1/orders`` with ``amount`` in paise (integer), ``currency``, ``receipt`` (≤ 40 characters: the
first 40 of the payment order id) and ``notes`` (the payment order's metadata). ``GET /v1/orders/{id}``
answers ``status`` (created/attempted/paid); ``GET /v1/orders/{id}/payments`` the payments made on it.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import httpx

from billing_service.domain.payments import OrderStatus, Provider
from billing_service.providers.base import (
    CheckoutHandle,
    CheckoutRequest,
    CustomerRequest,
    RemoteOrder,
    send,
    text_field,
)

P = Provider.RAZORPAY
#: Razorpay's limits: a receipt of 40 characters, 15 notes of 256 characters
MAX_RECEIPT = 40
MAX_NOTES = 15
MAX_NOTE_VALUE = 256


def order_body(request: CheckoutRequest) -> dict[str, Any]:
    """The JSON of ``POST /v1/orders``."""
    notes = {k: v[:MAX_NOTE_VALUE] for k, v in list(request.metadata.items())[:MAX_NOTES]}
    return {
        "amount": request.amount_minor,
        "currency": request.currency.upper(),
        "receipt": request.order_id[:MAX_RECEIPT],
        "notes": notes,
        "partial_payment": False,
    }


def paid_payment(payments: Any) -> str | None:
    """The id of a captured (or authorized) payment in an order's payment collection."""
    items = payments.get("items") if isinstance(payments, dict) else None
    for item in items if isinstance(items, list) else []:
        if isinstance(item, dict) and item.get("status") in ("captured", "authorized"):
            pid = item.get("id")
            if isinstance(pid, str) and pid:
                return pid
    return None


class RazorpayAdapter:
    """:class:`billing_service.providers.base.PaymentProvider` for Razorpay."""

    def __init__(self, client: httpx.AsyncClient, base_url: str, key_id: str, key_secret: str) -> None:
        self._client = client
        self._base = base_url.rstrip("/")
        self._auth = httpx.BasicAuth(key_id, key_secret)

    @property
    def name(self) -> Provider:
        """Razorpay."""
        return P

    def customer_request(self, customer: CustomerRequest) -> httpx.Request:
        """``POST /v1/customers`` (``fail_existing: "0"`` answers the existing customer)."""
        body = {
            "name": (customer.display_name or customer.account_id)[:50],
            "fail_existing": "0",
            "notes": {"account_id": customer.account_id, "tenant_id": customer.tenant_id},
        }
        return self._build("POST", "/v1/customers", json=body)

    def order_request(self, request: CheckoutRequest) -> httpx.Request:
        """``POST /v1/orders``."""
        return self._build("POST", "/v1/orders", json=order_body(request))

    def _build(self, method: str, path: str, json: dict[str, Any] | None = None) -> httpx.Request:
        request = self._client.build_request(method, f"{self._base}{path}", json=json)
        # httpx applies auth at send time; build the header now so the request is complete as built
        return next(self._auth.auth_flow(request))

    async def create_customer(self, customer: CustomerRequest) -> str:
        """The customer id (``cust_...``)."""
        body = await send(P, self._client, self.customer_request(customer))
        return text_field(P, body, "id")

    async def create_checkout(self, request: CheckoutRequest) -> CheckoutHandle:
        """The order id; Razorpay's checkout runs in the browser (``checkout.js`` with the order id)."""
        body = await send(P, self._client, self.order_request(request))
        return CheckoutHandle(text_field(P, body, "id"), None, None)

    async def fetch_order(self, provider_order_id: str) -> RemoteOrder:
        """``GET /v1/orders/{id}`` and, when paid, its captured payment."""
        oid = quote(provider_order_id, safe="")
        body = await send(P, self._client, self._build("GET", f"/v1/orders/{oid}"))
        raw = str(body.get("status"))
        payment: str | None = None
        status = OrderStatus.REQUIRES_ACTION
        if raw == "paid":
            status = OrderStatus.PAID
            payments = await send(P, self._client, self._build("GET", f"/v1/orders/{oid}/payments"))
            payment = paid_payment(payments)
        return RemoteOrder(text_field(P, body, "id"), status, payment, raw)
