"""``/v1/payments/*`` (domain.md §9.4): checkout links and top-ups (JWT + payments-write), the payment
webhooks (family A) and the subscription webhooks (family B), both PUBLIC and verified over the raw
body; and the control plane's ``GET /v1/control/payments/orders|events`` (§9.5)."""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Annotated, Any

import httpx
from fastapi import APIRouter, Query, Request
from pydantic import Field, StrictInt, WithJsonSchema

from billing_service import payment_views as pv
from billing_service.api._edge import Body, ByAccountOrTenant, Limit
from billing_service.domain.errors import (
    AccountNotFound,
    AmountExceedsDue,
    CreditBalanceInvariantFailed,
    IdempotencyKeyReused,
    IdNotFound,
    InvalidAmount,
    InvoiceAlreadySettled,
    InvoiceNotPayable,
    NoAccountForTenant,
    WalletLimitExceeded,
)
from billing_service.domain.invoice_errors import InvoiceNotFound
from billing_service.domain.payment_errors import (
    DevBypassDisabledInProd,
    InvalidPaymentRequest,
    MissingRazorpaySignature,
    MissingStripeSignature,
    PaymentAmountNotPositive,
    PaymentAmountOutOfRange,
    PaymentOrderConflict,
    PaymentProviderError,
    PaymentProviderNotConfigured,
    PaymentProviderUnavailable,
    PaymentsWriteForbidden,
    RazorpaySecretNotConfigured,
    StripeSecretNotConfigured,
    WebhookBodyTooLarge,
    WebhookPayloadInvalid,
    WebhookSignatureInvalid,
)
from billing_service.domain.payments import (
    TOPUP_REF_TYPE,
    Provider,
    Purpose,
    parse_razorpay,
    parse_stripe,
    topup_amount,
)
from billing_service.handlers._common import utcnow
from billing_service.handlers.payment_checkout import CheckoutConfig, CreateCheckout, create_checkout
from billing_service.handlers.payment_webhooks import IngestPaymentEvent, ingest_payment_event
from billing_service.handlers.subscription_webhooks import IngestSubscriptionEvent, ingest_subscription_event
from billing_service.providers import Providers
from billing_service.providers.signatures import (
    VerifiedDelivery,
    WebhookConfig,
    external_subscription_id,
    verify,
)
from billing_service.repositories.payments import PaymentRepository
from billing_service.settings import Settings
from shared.api import Caller, ContainerDep, StudioCaller, errors
from shared.auth.principal import Principal
from shared.container import ServiceContainer
from shared.validation import MAX_CREDIT_AMOUNT, Code, Key

router = APIRouter()

MAX_CHECKOUT_AMOUNT = Decimal("999999.99")
CheckoutAmount = Annotated[
    Decimal,
    Field(gt=0, le=MAX_CHECKOUT_AMOUNT, decimal_places=2, allow_inf_nan=False),
    WithJsonSchema({"type": "number", "exclusiveMinimum": 0, "maximum": float(MAX_CHECKOUT_AMOUNT)}),
]
ProviderQuery = Annotated[Code | None, Query()]


class CheckoutBody(Body):
    """``POST /v1/payments/checkout-link`` (§7.8)."""

    account_id: uuid.UUID | None = None
    external_key: Key | None = None
    amount: CheckoutAmount
    currency: str = Field(default="INR", min_length=3, max_length=8)
    purpose: Code
    provider: Code
    ref_type: Key | None = None
    ref_id: Key | None = None
    service_invoice_id: uuid.UUID | None = None
    credits_amount: StrictInt | None = Field(default=None, ge=0, le=MAX_CREDIT_AMOUNT)
    idempotency_key: Key = Field(min_length=1)


class TopupBody(Body):
    """``POST /v1/payments/topup`` (§7.8)."""

    account_id: uuid.UUID | None = None
    external_key: Key | None = None
    credits_amount: StrictInt = Field(ge=1, le=MAX_CREDIT_AMOUNT)
    provider: Code
    idempotency_key: Key = Field(min_length=1)


def _provider(value: str) -> Provider:
    try:
        return Provider(value.strip().lower())
    except ValueError:
        raise InvalidPaymentRequest("provider must be stripe or razorpay", {"provider": value}) from None


def _purpose(value: str) -> Purpose:
    try:
        return Purpose(value.strip().lower())
    except ValueError:
        raise InvalidPaymentRequest("purpose must be topup or invoice", {"purpose": value}) from None


def require_payments_write(principal: Principal) -> str:
    """§9.4's payments-write: super admin/``*``; any portal; web with invoices.read or invoices.write;
    otherwise invoices.write or ``billing:write`` — else 401 ``PAYMENTS_WRITE_FORBIDDEN``. The tenant."""
    allowed = (
        principal.is_super
        or principal.is_portal
        or (principal.aud == "web" and (principal.has("invoices.read") or principal.has("invoices.write")))
        or principal.has("invoices.write")
        or principal.has("billing:write")
    )
    if not allowed:
        raise PaymentsWriteForbidden(details={"aud": principal.aud})
    return principal.require_tenant()


def checkout_config(settings: Settings) -> CheckoutConfig:
    """The checkout's settings (the bypass only in dev/test)."""
    return CheckoutConfig(
        dev_bypass=settings.payment_webhook_dev_bypass and settings.is_dev,
        success_url=settings.payment_success_url,
        cancel_url=settings.payment_cancel_url,
        web_app_base_url=settings.web_app_base_url,
        razorpay_checkout_url=settings.razorpay_checkout_url,
        razorpay_key_id=settings.razorpay_key_id,
    )


async def _checkout(c: ServiceContainer[Any], tenant_id: str, command: CreateCheckout) -> pv.PaymentOrderView:
    settings: Settings = c.settings
    async with httpx.AsyncClient(timeout=settings.payment_provider_timeout_s) as client:
        order = await create_checkout(
            lambda: c.system_uow(tenant_id),
            Providers.from_settings(settings, client),
            command,
            checkout_config(settings),
        )
    return pv.payment_order(order)


_CHECKOUT_FAILURES = (
    PaymentsWriteForbidden,
    InvalidPaymentRequest,
    PaymentAmountNotPositive,
    PaymentAmountOutOfRange,
    PaymentProviderNotConfigured,
    InvalidAmount,
    AccountNotFound,
    NoAccountForTenant,
    InvoiceNotFound,
    PaymentOrderConflict,
    PaymentProviderError,
    PaymentProviderUnavailable,
)


@router.post(
    "/v1/payments/checkout-link",
    status_code=201,
    response_model=pv.PaymentOrderView,
    responses=errors(*_CHECKOUT_FAILURES),
)
async def checkout_link(body: CheckoutBody, principal: Caller, c: ContainerDep) -> pv.PaymentOrderView:
    """A payment order and its provider checkout (the same key answers the same order)."""
    tenant_id = require_payments_write(principal)
    command = CreateCheckout(
        tenant_id=tenant_id,
        account_id=str(body.account_id) if body.account_id else None,
        external_key=body.external_key,
        amount=body.amount,
        currency=body.currency.strip().upper(),
        purpose=_purpose(body.purpose),
        provider=_provider(body.provider),
        idempotency_key=body.idempotency_key,
        ref_type=body.ref_type,
        ref_id=body.ref_id,
        service_invoice_id=str(body.service_invoice_id) if body.service_invoice_id else None,
        credits_amount=body.credits_amount,
    )
    return await _checkout(c, tenant_id, command)


@router.post(
    "/v1/payments/topup",
    status_code=201,
    response_model=pv.PaymentOrderView,
    responses=errors(*_CHECKOUT_FAILURES),
)
async def topup(body: TopupBody, principal: Caller, c: ContainerDep) -> pv.PaymentOrderView:
    """A credit top-up: ``credits × CREDIT_TOPUP_UNIT_PRICE`` INR (PAY-06)."""
    tenant_id = require_payments_write(principal)
    settings: Settings = c.settings
    command = CreateCheckout(
        tenant_id=tenant_id,
        account_id=str(body.account_id) if body.account_id else None,
        external_key=body.external_key,
        amount=topup_amount(body.credits_amount, settings.credit_topup_unit_price),
        currency="INR",
        purpose=Purpose.TOPUP,
        provider=_provider(body.provider),
        idempotency_key=body.idempotency_key,
        ref_type=TOPUP_REF_TYPE,
        ref_id="manual",
        credits_amount=body.credits_amount,
    )
    return await _checkout(c, tenant_id, command)


# --- webhooks ---------------------------------------------------------------------------------------------

#: a webhook takes any JSON object (the provider's event); the signature decides, not a schema
_WEBHOOK_BODY: dict[str, Any] = {
    "requestBody": {"required": True, "content": {"application/json": {"schema": {"type": "object"}}}}
}
_WEBHOOK_FAILURES = (
    WebhookSignatureInvalid,
    DevBypassDisabledInProd,
    StripeSecretNotConfigured,
    RazorpaySecretNotConfigured,
    MissingStripeSignature,
    MissingRazorpaySignature,
    WebhookPayloadInvalid,
    WebhookBodyTooLarge,
)
_SETTLEMENT_FAILURES = (
    InvoiceAlreadySettled,
    AmountExceedsDue,
    InvoiceNotPayable,
    IdempotencyKeyReused,
    WalletLimitExceeded,
    CreditBalanceInvariantFailed,
)


def webhook_config(settings: Settings) -> WebhookConfig:
    """Secrets and the bypass switch."""
    return WebhookConfig(
        stripe_secret=settings.stripe_webhook_secret.get_secret_value(),
        razorpay_secret=settings.razorpay_webhook_secret.get_secret_value(),
        dev_bypass=settings.payment_webhook_dev_bypass,
        is_dev=settings.is_dev,
    )


async def raw_body(request: Request, limit: int) -> bytes:
    """The body as received, at most ``limit`` bytes (413 beyond)."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise WebhookBodyTooLarge(details={"max_bytes": limit})
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            raise WebhookBodyTooLarge(details={"max_bytes": limit})
    return bytes(body)


async def _verified(provider: Provider, request: Request, c: ServiceContainer[Any]) -> VerifiedDelivery:
    settings: Settings = c.settings
    body = await raw_body(request, settings.webhook_max_body_bytes)
    return verify(provider, body, request.headers, webhook_config(settings))


async def _payment_webhook(
    provider: Provider, request: Request, c: ServiceContainer[Any]
) -> pv.PaymentWebhookView:
    received = utcnow()
    delivery = await _verified(provider, request, c)
    parse = parse_stripe if provider is Provider.STRIPE else parse_razorpay
    command = IngestPaymentEvent(
        provider=provider,
        event_id=delivery.event_id,
        event=parse(delivery.event_type, delivery.payload),
        payload=delivery.payload,
        payload_hash=delivery.payload_hash,
        signature_ok=delivery.signature_ok,
        received_at=received,
    )
    async with c.system_uow() as uow:
        result = await ingest_payment_event(uow, command)
        await uow.commit()
    return pv.payment_webhook(result)


@router.post(
    "/v1/payments/webhooks/stripe",
    response_model=pv.PaymentWebhookView,
    responses=errors(*_WEBHOOK_FAILURES, *_SETTLEMENT_FAILURES),
    openapi_extra=_WEBHOOK_BODY,
)
async def stripe_payment_webhook(request: Request, c: ContainerDep) -> pv.PaymentWebhookView:
    """A Stripe event for a payment order (signed: ``stripe-signature``)."""
    return await _payment_webhook(Provider.STRIPE, request, c)


@router.post(
    "/v1/payments/webhooks/razorpay",
    response_model=pv.PaymentWebhookView,
    responses=errors(*_WEBHOOK_FAILURES, *_SETTLEMENT_FAILURES),
    openapi_extra=_WEBHOOK_BODY,
)
async def razorpay_payment_webhook(request: Request, c: ContainerDep) -> pv.PaymentWebhookView:
    """A Razorpay event for a payment order (signed: ``x-razorpay-signature``, ``x-razorpay-event-id``)."""
    return await _payment_webhook(Provider.RAZORPAY, request, c)


async def _subscription_webhook(
    provider: Provider, request: Request, c: ServiceContainer[Any]
) -> pv.SubscriptionWebhookView:
    delivery = await _verified(provider, request, c)
    settings: Settings = c.settings
    command = IngestSubscriptionEvent(
        provider=provider,
        event_id=delivery.event_id,
        event_type=delivery.event_type,
        external_subscription_id=external_subscription_id(provider, delivery.payload),
        payload=delivery.payload,
        payload_hash=delivery.payload_hash,
        grace_days=settings.subscription_grace_days,
    )
    async with c.system_uow() as uow:
        result = await ingest_subscription_event(uow, command)
        await uow.commit()
    return pv.subscription_webhook(result)


@router.post(
    "/v1/webhooks/stripe",
    response_model=pv.SubscriptionWebhookView,
    responses=errors(*_WEBHOOK_FAILURES),
    openapi_extra=_WEBHOOK_BODY,
)
async def stripe_subscription_webhook(request: Request, c: ContainerDep) -> pv.SubscriptionWebhookView:
    """A Stripe subscription event (SUB-06)."""
    return await _subscription_webhook(Provider.STRIPE, request, c)


@router.post(
    "/v1/webhooks/razorpay",
    response_model=pv.SubscriptionWebhookView,
    responses=errors(*_WEBHOOK_FAILURES),
    openapi_extra=_WEBHOOK_BODY,
)
async def razorpay_subscription_webhook(request: Request, c: ContainerDep) -> pv.SubscriptionWebhookView:
    """A Razorpay subscription event (SUB-06)."""
    return await _subscription_webhook(Provider.RAZORPAY, request, c)


# --- control plane (§9.5) -----------------------------------------------------------------------------------


def _provider_filter(value: str | None) -> str | None:
    return _provider(value).value if value else None


@router.get(
    "/v1/control/payments/orders",
    response_model=list[pv.PaymentOrderView],
    responses=errors(IdNotFound, InvalidPaymentRequest),
)
async def control_payment_orders(
    principal: StudioCaller,
    c: ContainerDep,
    by: ByAccountOrTenant,
    provider: ProviderQuery = None,
    purpose: ProviderQuery = None,
    limit: Limit = 200,
) -> list[pv.PaymentOrderView]:
    """Payment orders, newest first."""
    principal.require("masterdata.read")
    filters = {
        "tenant_id": by.tenant_id,
        "account_id": by.account_id,
        "provider": _provider_filter(provider),
        "purpose": _purpose(purpose).value if purpose else None,
    }
    async with c.system_uow() as uow:
        rows = await uow.repo(PaymentRepository).orders(limit=limit, **filters)
    return [pv.payment_order(r) for r in rows]


@router.get(
    "/v1/control/payments/events",
    response_model=list[pv.PaymentEventView],
    responses=errors(IdNotFound, InvalidPaymentRequest),
)
async def control_payment_events(
    principal: StudioCaller,
    c: ContainerDep,
    by: ByAccountOrTenant,
    provider: ProviderQuery = None,
    limit: Limit = 200,
) -> list[pv.PaymentEventView]:
    """Provider events, newest first."""
    principal.require("masterdata.read")
    async with c.system_uow() as uow:
        rows = await uow.repo(PaymentRepository).events(
            limit=limit, tenant_id=by.tenant_id, account_id=by.account_id, provider=_provider_filter(provider)
        )
    return [pv.payment_event(r) for r in rows]
