"""Checkout links and credit top-ups (domain.md §7.8): a payment order, then the provider's handle.

Three short steps so no transaction waits on a provider: (1) store the order ``pending`` under its
UNIQUE (provider, idempotency_key) with its invoice link and usage event, commit; (2) ask the provider
(customer, then checkout session / order) outside any transaction; (3) store the handle
(``requires_action``), commit. A retry with the same key finds the order: one that already has its
handle is answered as it is, one without (the provider failed or the process died between the steps)
repeats (2) and (3). The provider sees the order id as its idempotency key (Stripe) / receipt (Razorpay).
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, replace
from decimal import Decimal

from billing_service.domain.errors import AccountNotFound, NoAccountForTenant
from billing_service.domain.invoice_errors import InvoiceNotFound
from billing_service.domain.payment_errors import (
    InvalidPaymentRequest,
    PaymentAmountOutOfRange,
    PaymentOrderConflict,
    PaymentProviderError,
    PaymentProviderUnavailable,
)
from billing_service.domain.payments import (
    DEFAULT_RAZORPAY_CHECKOUT_URL,
    INVOICE_REF_TYPE,
    OrderStatus,
    Provider,
    Purpose,
    minor_units,
    return_urls,
)
from billing_service.handlers._common import new_id, record_usage, utcnow
from billing_service.providers import CheckoutRequest, CustomerRequest, Providers
from billing_service.repositories import AccountRepository
from billing_service.repositories.invoice_book import InvoiceBookRepository
from billing_service.repositories.payments import (
    NewPaymentOrder,
    OrderUpdate,
    PaymentOrderRow,
    PaymentRepository,
)
from shared.db.uow import UnitOfWork

#: the most one checkout may ask for (8 digits of minor units: what both providers accept)
MAX_AMOUNT_MINOR = 99_999_999
#: the least one order may ask for, in minor units (Razorpay's documented minimum is 100 paise)
MIN_AMOUNT_MINOR = {Provider.STRIPE: 1, Provider.RAZORPAY: 100}
#: the currencies both providers settle (ISO 4217, two minor digits)
CURRENCIES = frozenset({"INR", "USD", "EUR", "GBP", "AED", "SGD", "AUD", "CAD"})

OpenUnitOfWork = Callable[[], AbstractAsyncContextManager[UnitOfWork]]


@dataclass(frozen=True, slots=True)
class CheckoutConfig:
    """What the checkout reads from the settings."""

    dev_bypass: bool = False
    success_url: str = ""
    cancel_url: str = ""
    web_app_base_url: str = ""
    razorpay_checkout_url: str = ""
    razorpay_key_id: str = ""


@dataclass(frozen=True, slots=True)
class CreateCheckout:
    """``POST /payments/checkout-link`` (top-ups arrive here too, priced by :func:`topup_amount`)."""

    tenant_id: str
    account_id: str | None
    external_key: str | None
    amount: Decimal
    currency: str
    purpose: Purpose
    provider: Provider
    idempotency_key: str
    ref_type: str | None = None
    ref_id: str | None = None
    service_invoice_id: str | None = None
    credits_amount: int | None = None


@dataclass(frozen=True, slots=True)
class OrderOpened:
    """Step (1)'s outcome: the order and whether the provider must still be asked."""

    order: PaymentOrderRow
    needs_provider: bool
    customer_id: str | None
    account_display_name: str


async def _account(uow: UnitOfWork, command: CreateCheckout) -> tuple[str, str]:
    accounts = uow.repo(AccountRepository)
    account_id = command.account_id
    if account_id is None and command.external_key:
        account_id = await accounts.id_by_key(command.external_key)
        if account_id is None:
            raise AccountNotFound(details={"external_key": command.external_key})
    if account_id is None:
        account_id = (await accounts.credit_summary(command.tenant_id)).primary_account_id
        if account_id is None:
            raise NoAccountForTenant(
                f"no billing account found for tenant {command.tenant_id}", {"tenant_id": command.tenant_id}
            )
    state = await accounts.get(account_id)
    # another tenant's account is not found either
    if state is None or state.account.tenant_id != command.tenant_id:
        raise AccountNotFound(details={"account_id": account_id})
    return state.account.id, state.account.display_name


def invoice_of(command: CreateCheckout) -> str | None:
    """``service_invoice_id``, or ``ref_id`` when ``ref_type`` is ``service_invoice`` (§7.8)."""
    if command.service_invoice_id:
        return command.service_invoice_id
    if command.ref_type == INVOICE_REF_TYPE and command.ref_id:
        return command.ref_id
    return None


def _same_request(order: PaymentOrderRow, command: CreateCheckout, minor: int) -> bool:
    return (
        order.amount_minor == minor
        and order.currency == command.currency
        and order.purpose == command.purpose.value
        and (command.account_id is None or order.account_id == command.account_id)
    )


def _metadata(
    order_id: str, tenant_id: str, account_id: str, command: CreateCheckout, invoice: str | None
) -> dict[str, str]:
    meta = {
        "payment_order_id": order_id,
        "tenant_id": tenant_id,
        "account_id": account_id,
        "purpose": command.purpose.value,
        "idempotency_key": command.idempotency_key,
        "ref_type": command.ref_type or "",
        "ref_id": command.ref_id or "",
        "service_invoice_id": invoice or "",
        "credits_amount": str(command.credits_amount or 0),
    }
    return {k: v for k, v in meta.items() if v}


def dev_handle(order_id: str, account_id: str, provider: Provider, config: CheckoutConfig) -> OrderUpdate:
    """§7.8's dev bypass handle: no provider call, ids derived from the order and account."""
    success, _ = return_urls(config.success_url, config.cancel_url, config.web_app_base_url, order_id)
    if provider is Provider.STRIPE:
        return OrderUpdate(
            provider_customer_id=f"cus_dev_{account_id[:12]}",
            provider_order_id=f"cs_dev_{order_id[:18]}",
            checkout_url=f"{success}&dev_bypass=1",
        )
    base = config.razorpay_checkout_url or DEFAULT_RAZORPAY_CHECKOUT_URL
    oid = f"order_dev_{order_id[:18]}"
    return OrderUpdate(
        provider_customer_id=f"cust_dev_{account_id[:12]}",
        provider_order_id=oid,
        checkout_url=f"{base}?order_id={oid}",
    )


async def open_order(uow: UnitOfWork, command: CreateCheckout, config: CheckoutConfig) -> OrderOpened:
    """Step (1): the existing order of (provider, key), or a new pending one (with link and usage)."""
    if command.currency not in CURRENCIES:
        raise InvalidPaymentRequest(
            f"currency {command.currency} is not supported",
            {"currency": command.currency, "supported": sorted(CURRENCIES)},
        )
    minor = minor_units(command.amount)
    low = MIN_AMOUNT_MINOR[command.provider]
    if not low <= minor <= MAX_AMOUNT_MINOR:
        raise PaymentAmountOutOfRange(
            f"payment amount must be between {low} and {MAX_AMOUNT_MINOR} minor units for {command.provider.value}",
            {"amount": str(command.amount), "min_minor": low, "max_minor": MAX_AMOUNT_MINOR},
        )
    payments = uow.repo(PaymentRepository)
    provider = command.provider.value
    existing = await payments.by_key(provider, command.idempotency_key)
    if (
        existing is not None
        and existing.tenant_id == command.tenant_id
        and _same_request(existing, command, minor)
    ):
        customer = await payments.customer_id(existing.account_id, provider)
        return OrderOpened(
            existing, existing.provider_order_id is None, customer, existing.account_display_name or ""
        )
    if existing is not None:
        raise PaymentOrderConflict(
            "idempotency_key was already used for another payment",
            {"idempotency_key": command.idempotency_key},
        )
    account_id, display_name = await _account(uow, command)
    invoice_id = invoice_of(command)
    if command.purpose is Purpose.INVOICE and invoice_id is None:
        raise InvalidPaymentRequest("an invoice payment names its invoice", {"purpose": "invoice"})
    if invoice_id is not None:
        header = await uow.repo(InvoiceBookRepository).header(invoice_id)
        if header is None or header.account_id != account_id:
            raise InvoiceNotFound(f"invoice {invoice_id} not found for account", {"invoice_id": invoice_id})
        if header.currency != command.currency:
            raise InvalidPaymentRequest(
                "the payment's currency is not the invoice's",
                {"currency": command.currency, "invoice_currency": header.currency},
            )
    now = utcnow()
    order_id = new_id()
    new = NewPaymentOrder(
        id=order_id,
        tenant_id=command.tenant_id,
        account_id=account_id,
        provider=provider,
        purpose=command.purpose.value,
        amount_minor=minor,
        currency=command.currency,
        credits_amount=command.credits_amount,
        ref_type=command.ref_type,
        ref_id=command.ref_id,
        idempotency_key=command.idempotency_key,
        service_invoice_id=invoice_id,
        metadata_json=_metadata(order_id, command.tenant_id, account_id, command, invoice_id),
    )
    if not await payments.add(new, status=OrderStatus.PENDING.value, now=now):
        raced = await payments.by_key(provider, command.idempotency_key)
        if raced is None or not _same_request(raced, command, minor):
            raise PaymentOrderConflict(details={"idempotency_key": command.idempotency_key})
        return OrderOpened(raced, raced.provider_order_id is None, None, display_name)
    if invoice_id is not None:
        await payments.link_invoice(
            id=new_id(),
            tenant_id=command.tenant_id,
            invoice_id=invoice_id,
            order_id=order_id,
            status="pending",
            now=now,
        )
    await record_usage(
        uow,
        "payment_checkout_created",
        f"v2:payment_checkout:{order_id}",
        {
            "payment_order_id": order_id,
            "provider": provider,
            "purpose": command.purpose.value,
            "amount_minor": minor,
            "currency": command.currency,
            "service_invoice_id": invoice_id,
        },
        account_id=account_id,
        tenant_id=command.tenant_id,
    )
    customer = await payments.customer_id(account_id, provider)
    if config.dev_bypass:
        await payments.change(order_id, dev_handle(order_id, account_id, command.provider, config), now=now)
    order = await payments.get(order_id)
    assert order is not None  # noqa: S101  written just above in this transaction
    return OrderOpened(order, not config.dev_bypass, customer, display_name)


def checkout_request(opened: OrderOpened, config: CheckoutConfig, customer_id: str | None) -> CheckoutRequest:
    """What the provider is asked to open for this order."""
    order = opened.order
    success, cancel = return_urls(config.success_url, config.cancel_url, config.web_app_base_url, order.id)
    description = "Credits Topup" if order.purpose == Purpose.TOPUP.value else "Invoice Payment"
    meta = {k: str(v) for k, v in order.metadata_json.items() if isinstance(v, str | int)}
    return CheckoutRequest(
        order.id, order.amount_minor, order.currency, description, customer_id, success, cancel, meta
    )


async def store_handle(uow: UnitOfWork, order_id: str, update: OrderUpdate) -> PaymentOrderRow:
    """Step (3): the handle on the order (unless a concurrent request stored one first)."""
    payments = uow.repo(PaymentRepository)
    order = await payments.get(order_id, lock=True)
    if order is None:  # pragma: no cover - orders are never deleted
        raise AccountNotFound(details={"payment_order_id": order_id})
    if order.provider_order_id is None:
        status = OrderStatus.REQUIRES_ACTION.value if order.status == OrderStatus.PENDING.value else None
        # "" clears the failure a previous attempt left
        await payments.change(order_id, replace(update, status=status, last_error=""), now=utcnow())
    if update.provider_customer_id and order.provider_customer_id is None:
        await payments.add_customer(
            id=new_id(),
            tenant_id=order.tenant_id,
            account_id=order.account_id,
            provider=order.provider,
            customer_id=update.provider_customer_id,
            now=utcnow(),
        )
    stored = await payments.get(order_id)
    assert stored is not None  # noqa: S101
    return stored


async def create_checkout(
    open_uow: OpenUnitOfWork, providers: Providers, command: CreateCheckout, config: CheckoutConfig
) -> PaymentOrderRow:
    """The three steps (see the module); the order as stored at the end."""
    async with open_uow() as uow:
        opened = await open_order(uow, command, config)
        await uow.commit()
    if not opened.needs_provider:
        return opened.order
    adapter = providers.get(command.provider)
    order = opened.order
    try:
        customer = opened.customer_id or await adapter.create_customer(
            CustomerRequest(order.account_id, order.tenant_id, opened.account_display_name)
        )
        handle = await adapter.create_checkout(checkout_request(opened, config, customer))
    except (PaymentProviderError, PaymentProviderUnavailable) as exc:
        async with open_uow() as uow:
            await uow.repo(PaymentRepository).change(
                order.id, OrderUpdate(last_error=f"{exc.code}: {exc.message}"[:500]), now=utcnow()
            )
            await uow.commit()
        raise
    url = handle.checkout_url
    if command.provider is Provider.RAZORPAY:
        base = config.razorpay_checkout_url or DEFAULT_RAZORPAY_CHECKOUT_URL
        url = f"{base}?order_id={handle.provider_order_id}&key_id={config.razorpay_key_id}"
    update = OrderUpdate(
        provider_customer_id=customer,
        provider_order_id=handle.provider_order_id,
        provider_payment_id=handle.provider_payment_id,
        checkout_url=url,
    )
    async with open_uow() as uow:
        stored = await store_handle(uow, order.id, update)
        await uow.commit()
    return stored
