"""Checkout links and top-ups on fakes (domain.md §7.8, PAY-06): one order per (provider, key), the
provider asked outside the transaction, invoices checked against the account, the dev bypass's ids."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import replace
from decimal import Decimal

import pytest

from billing_service.domain.errors import AccountNotFound
from billing_service.domain.invoice_errors import InvoiceNotFound
from billing_service.domain.payment_errors import (
    InvalidPaymentRequest,
    PaymentOrderConflict,
    PaymentProviderError,
)
from billing_service.domain.payments import OrderStatus, Provider, Purpose, topup_amount
from billing_service.handlers.invoice_common import InvoiceActor
from billing_service.handlers.invoice_drafts import CreateInvoice, create_invoice
from billing_service.handlers.invoice_lifecycle import IssueInvoice, issue_invoice
from billing_service.handlers.payment_checkout import CheckoutConfig, CreateCheckout, create_checkout
from billing_service.repositories.payments import PaymentOrderRow
from devstack.testing.fakes import FakeUnitOfWork
from services.billing.tests.unit.fakes import TENANT
from services.billing.tests.unit.handlers.conftest import line
from services.billing.tests.unit.payment_fakes import PaymentWorld
from shared.db.uow import UnitOfWork

OTHER_TENANT = "99999999-9999-4999-8999-999999999999"


@pytest.fixture
def world() -> PaymentWorld:
    return PaymentWorld()


def opener(uow: FakeUnitOfWork):  # type: ignore[no-untyped-def]
    @asynccontextmanager
    async def open_uow() -> AsyncIterator[UnitOfWork]:
        yield uow

    return open_uow


def topup(account_id: str | None, key: str = "k-1", provider: Provider = Provider.STRIPE) -> CreateCheckout:
    return CreateCheckout(
        tenant_id=TENANT,
        account_id=account_id,
        external_key=None,
        amount=topup_amount(10, Decimal(0)),
        currency="INR",
        purpose=Purpose.TOPUP,
        provider=provider,
        idempotency_key=key,
        ref_type="credit_topup",
        ref_id="manual",
        credits_amount=10,
    )


async def run(
    world: PaymentWorld, command: CreateCheckout, config: CheckoutConfig | None = None
) -> PaymentOrderRow:
    return await create_checkout(opener(world.uow), world.providers(), command, config or CheckoutConfig())


async def test_pay_06_topup_opens_a_stripe_session_of_1000_minor_units(world: PaymentWorld) -> None:
    account = world.billing.account()
    order = await run(world, topup(account.account.id))
    assert (order.status, order.amount_minor, order.currency, order.purpose) == (
        "requires_action",
        1000,
        "INR",
        "topup",
    )
    assert (order.ref_type, order.ref_id, order.credits_amount) == ("credit_topup", "manual", 10)
    assert order.provider_order_id == "cs_test_1"
    (asked,) = world.stripe.checkouts
    assert asked.amount_minor == 1000
    assert asked.description == "Credits Topup"
    assert asked.metadata["payment_order_id"] == order.id
    assert asked.success_url.endswith(f"?payment_order_id={order.id}")
    assert world.payments.customers[(account.account.id, "stripe")] == "cus_1"
    assert [u.event_type for u in world.billing.usage.of_type("payment_checkout_created")] == [
        "payment_checkout_created"
    ]


async def test_the_same_key_answers_the_same_order_without_asking_again(world: PaymentWorld) -> None:
    account = world.billing.account()
    first = await run(world, topup(account.account.id))
    again = await run(world, topup(account.account.id))
    assert again.id == first.id
    assert len(world.stripe.checkouts) == 1
    assert len(world.payments.orders_by_id) == 1


async def test_the_same_key_for_another_amount_is_409(world: PaymentWorld) -> None:
    account = world.billing.account()
    await run(world, topup(account.account.id))
    with pytest.raises(PaymentOrderConflict):
        await run(world, replace(topup(account.account.id), amount=Decimal(11)))


async def test_a_provider_failure_keeps_the_order_pending_and_a_retry_completes_it(
    world: PaymentWorld,
) -> None:
    account = world.billing.account()
    world.stripe.fail = PaymentProviderError("stripe refused the request", {"provider": "stripe"})
    with pytest.raises(PaymentProviderError):
        await run(world, topup(account.account.id))
    (stored,) = world.payments.orders_by_id.values()
    assert stored.status == OrderStatus.PENDING.value
    assert stored.last_error
    world.stripe.fail = None
    order = await run(world, topup(account.account.id))
    assert order.id == stored.id
    assert order.status == "requires_action"
    assert not order.last_error


async def test_razorpay_checkout_url_names_the_order_and_key(world: PaymentWorld) -> None:
    account = world.billing.account()
    order = await run(
        world, topup(account.account.id, provider=Provider.RAZORPAY), CheckoutConfig(razorpay_key_id="rzp_k")
    )
    assert order.checkout_url == "https://checkout.razorpay.com/v1/checkout.js?order_id=order_1&key_id=rzp_k"


async def test_dev_bypass_derives_ids_and_asks_no_provider(world: PaymentWorld) -> None:
    account = world.billing.account()
    order = await run(world, topup(account.account.id), CheckoutConfig(dev_bypass=True))
    assert order.status == "pending"
    assert order.provider_order_id == f"cs_dev_{order.id[:18]}"
    assert order.checkout_url is not None
    assert order.checkout_url.endswith("&dev_bypass=1")
    assert world.stripe.checkouts == []


async def test_another_tenants_account_is_not_found(world: PaymentWorld) -> None:
    other = world.billing.account("v2:tenant:other", tenant_id=OTHER_TENANT)
    with pytest.raises(AccountNotFound):
        await run(world, topup(other.account.id))


async def test_the_tenant_account_is_the_default(world: PaymentWorld) -> None:
    account = world.billing.account()
    order = await run(world, topup(None))
    assert order.account_id == account.account.id


async def _issued_invoice(world: PaymentWorld, account_id: str) -> str:
    actor = InvoiceActor(TENANT, None)
    made = await create_invoice(
        world.uow, CreateInvoice(actor=actor, items=(line("500"),), account_id=account_id)
    )
    issued = await issue_invoice(world.uow, IssueInvoice(actor, made.header.id))
    return issued.header.id


def invoice_checkout(account_id: str, invoice_id: str | None, key: str = "inv-1") -> CreateCheckout:
    return CreateCheckout(
        tenant_id=TENANT,
        account_id=account_id,
        external_key=None,
        amount=Decimal(500),
        currency="INR",
        purpose=Purpose.INVOICE,
        provider=Provider.STRIPE,
        idempotency_key=key,
        ref_type="service_invoice",
        ref_id=invoice_id,
    )


async def test_an_invoice_payment_links_its_invoice(world: PaymentWorld) -> None:
    account = world.billing.account()
    invoice_id = await _issued_invoice(world, account.account.id)
    order = await run(world, invoice_checkout(account.account.id, invoice_id))
    assert order.service_invoice_id == invoice_id
    assert world.payments.links[(invoice_id, order.id)] == "pending"
    assert world.stripe.checkouts[0].description == "Invoice Payment"


async def test_an_invoice_of_another_account_is_404_and_none_is_400(world: PaymentWorld) -> None:
    account = world.billing.account()
    other = world.billing.account("v1:partner:other")
    invoice_id = await _issued_invoice(world, other.account.id)
    with pytest.raises(InvoiceNotFound) as caught:
        await run(world, invoice_checkout(account.account.id, invoice_id))
    assert caught.value.message == f"invoice {invoice_id} not found for account"
    with pytest.raises(InvalidPaymentRequest):
        await run(world, invoice_checkout(account.account.id, None, key="inv-2"))
    assert world.payments.orders_by_id == {}


async def test_an_unsupported_currency_is_400(world: PaymentWorld) -> None:
    account = world.billing.account()
    with pytest.raises(InvalidPaymentRequest):
        await run(world, replace(topup(account.account.id), currency="XYZZ"))
