"""Wire shapes of the payment routes (domain.md §7.8 order, §7.9 webhook bodies, §9.5 control lists).

Amounts are ``Decimal`` up to here (stored as minor units) and JSON numbers on the wire; provider,
purpose and status are upper-case; instants ISO-8601 UTC with ``Z``.
"""

from __future__ import annotations

from decimal import Decimal

from billing_service.domain.money import Money
from billing_service.handlers.payment_webhooks import PaymentEventIngested
from billing_service.handlers.subscription_webhooks import SubscriptionEventIngested
from billing_service.invoice_views import Amount
from billing_service.repositories.payments import PaymentEventRow, PaymentOrderRow
from billing_service.views import Instant, Upper, View


class PaymentOrderView(View):
    """A payment order (§7.8 response)."""

    id: str
    tenant_id: str
    account_id: str
    account_display_name: str | None
    external_key: str | None
    provider: Upper
    purpose: Upper
    status: Upper
    amount: Amount
    currency: str
    credits_amount: int | None
    ref_type: str | None
    ref_id: str | None
    idempotency_key: str
    provider_order_id: str | None
    provider_payment_id: str | None
    checkout_url: str | None
    service_invoice_id: str | None
    service_invoice_number: str | None
    service_invoice_status: Upper | None
    settled_at: Instant
    created_at: Instant
    updated_at: Instant


def payment_order(row: PaymentOrderRow) -> PaymentOrderView:
    """The view of a stored order."""
    amount: Decimal = Money.from_minor(row.amount_minor, row.currency).amount
    return PaymentOrderView(
        id=row.id,
        tenant_id=row.tenant_id,
        account_id=row.account_id,
        account_display_name=row.account_display_name,
        external_key=row.external_key,
        provider=row.provider,
        purpose=row.purpose,
        status=row.status,
        amount=amount,
        currency=row.currency,
        credits_amount=row.credits_amount,
        ref_type=row.ref_type,
        ref_id=row.ref_id,
        idempotency_key=row.idempotency_key,
        provider_order_id=row.provider_order_id,
        provider_payment_id=row.provider_payment_id,
        checkout_url=row.checkout_url,
        service_invoice_id=row.service_invoice_id,
        service_invoice_number=row.service_invoice_number,
        service_invoice_status=row.service_invoice_status,
        settled_at=row.settled_at,  # type: ignore[arg-type]
        created_at=row.created_at,  # type: ignore[arg-type]
        updated_at=row.updated_at,  # type: ignore[arg-type]
    )


class PaymentEventView(View):
    """A stored provider event (§9.5 ``GET /payments/events``)."""

    id: str
    tenant_id: str | None
    account_id: str | None
    payment_order_id: str | None
    service_invoice_id: str | None
    provider: Upper
    event_id: str
    event_type: str
    idempotency_key: str | None
    signature_ok: bool
    payload_hash: str
    payment_status: Upper
    received_at: Instant
    processed_at: Instant
    created_at: Instant


def payment_event(row: PaymentEventRow) -> PaymentEventView:
    """The view of a stored event."""
    return PaymentEventView.of(row)


class PaymentWebhookView(View):
    """§7.9 A's HTTP body: ``{ok, duplicate, event_id, processed}`` (+ the order and its status)."""

    ok: bool = True
    duplicate: bool
    event_id: str
    processed: bool
    payment_order_id: str | None = None
    status: Upper | None = None


def payment_webhook(result: PaymentEventIngested) -> PaymentWebhookView:
    """The answer to a payment webhook."""
    return PaymentWebhookView(
        duplicate=result.duplicate,
        event_id=result.event_id,
        processed=result.processed,
        payment_order_id=result.payment_order_id,
        status=result.status.value if result.status else None,
    )


class SubscriptionWebhookView(View):
    """§7.9 B's HTTP body: ``{ok, duplicate, event_id}`` (+ the subscription and its status)."""

    ok: bool = True
    duplicate: bool
    event_id: str
    subscription_id: str | None = None
    status: Upper | None = None


def subscription_webhook(result: SubscriptionEventIngested) -> SubscriptionWebhookView:
    """The answer to a subscription webhook."""
    return SubscriptionWebhookView(
        duplicate=result.duplicate,
        event_id=result.event_id,
        subscription_id=result.subscription_id,
        status=result.status,
    )
