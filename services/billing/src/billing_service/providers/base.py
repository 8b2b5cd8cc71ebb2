"""The one interface of the payment providers (seed 002: adapters isolate each provider's API shape).

An adapter builds the provider's HTTP request, sends it with ``httpx`` and parses the answer into the
types below; a refusal or an unreadable answer is a normalized :class:`PaymentProviderError` (502), an
unreachable provider :class:`PaymentProviderUnavailable` (503, safe to retry).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

import httpx

from billing_service.domain.payment_errors import PaymentProviderError, PaymentProviderUnavailable
from billing_service.domain.payments import OrderStatus, Provider


@dataclass(frozen=True, slots=True)
class CustomerRequest:
    """A billing account as the provider's customer."""

    account_id: str
    tenant_id: str
    display_name: str


@dataclass(frozen=True, slots=True)
class CheckoutRequest:
    """One payment order to open at the provider (amount in minor units)."""

    order_id: str
    amount_minor: int
    currency: str
    description: str
    customer_id: str | None
    success_url: str
    cancel_url: str
    metadata: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class CheckoutHandle:
    """The provider's order/session for a payment order."""

    provider_order_id: str
    provider_payment_id: str | None
    checkout_url: str | None


@dataclass(frozen=True, slots=True)
class RemoteOrder:
    """What the provider says about an order now (the janitor's question)."""

    provider_order_id: str
    status: OrderStatus
    provider_payment_id: str | None
    raw_status: str


class PaymentProvider(Protocol):
    """Create a customer, open a checkout/order, and fetch an order's status."""

    @property
    def name(self) -> Provider:
        """Which provider this is."""
        ...

    async def create_customer(self, customer: CustomerRequest) -> str:
        """The provider's customer id."""
        ...

    async def create_checkout(self, request: CheckoutRequest) -> CheckoutHandle:
        """Open the checkout session (Stripe) / order (Razorpay)."""
        ...

    async def fetch_order(self, provider_order_id: str) -> RemoteOrder:
        """The order's status at the provider."""
        ...


def refused(provider: Provider, response: httpx.Response) -> PaymentProviderError:
    """A provider's 4xx/5xx as the normalized 502: its status, error code and message (both providers
    answer ``{"error": {...}}``; Stripe names ``code``/``type`` + ``message``, Razorpay ``code`` +
    ``description``)."""
    code: str | None = None
    message: str | None = None
    try:
        body = response.json()
    except ValueError:
        body = None
    error = body.get("error") if isinstance(body, dict) else None
    if isinstance(error, dict):
        raw_code = error.get("code") or error.get("type")
        code = str(raw_code)[:100] if raw_code else None
        raw_message = error.get("message") or error.get("description")
        message = str(raw_message)[:300] if raw_message else None
    return PaymentProviderError(
        f"{provider.value} refused the request",
        {
            "provider": provider.value,
            "status": response.status_code,
            "provider_code": code,
            "reason": message,
        },
    )


def unreadable(provider: Provider, what: str) -> PaymentProviderError:
    """An answer without the fields the provider documents."""
    return PaymentProviderError(
        f"{provider.value} answered an unreadable {what}", {"provider": provider.value, "reason": what}
    )


async def send(provider: Provider, client: httpx.AsyncClient, request: httpx.Request) -> dict[str, Any]:
    """Send, and answer the JSON object of a 2xx (else the normalized errors)."""
    try:
        response = await client.send(request)
    except httpx.TransportError as exc:
        raise PaymentProviderUnavailable(
            f"{provider.value} is unavailable", {"provider": provider.value, "error": type(exc).__name__}
        ) from exc
    if response.status_code >= 300:
        raise refused(provider, response)
    try:
        body = response.json()
    except ValueError:
        body = None
    if not isinstance(body, dict):
        raise unreadable(provider, "response body")
    return body


def text_field(provider: Provider, body: Mapping[str, Any], name: str) -> str:
    """A required non-empty string field of a provider answer."""
    value = body.get(name)
    if not isinstance(value, str) or not value:
        raise unreadable(provider, f"field {name}")
    return value


def optional_text(body: Mapping[str, Any], name: str) -> str | None:
    """An optional string field."""
    value = body.get(name)
    return value if isinstance(value, str) and value else None
