"""One event applied to one order on fakes: the top-up grant and the invoice payment of a settlement,
with their idempotency keys (domain.md §7.9 "settlement translation")."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from billing_service.domain.money import Money
from billing_service.domain.payments import OrderStatus, ProviderEvent
from billing_service.handlers.invoice_common import InvoiceActor
from billing_service.handlers.invoice_drafts import CreateInvoice, create_invoice
from billing_service.handlers.invoice_lifecycle import IssueInvoice, issue_invoice
from billing_service.handlers.payment_settlement import apply_event, invoice_payment, topup_grant
from billing_service.repositories.payments import NewPaymentOrder, OrderUpdate, PaymentOrderRow
from services.billing.tests.unit.fakes import TENANT
from services.billing.tests.unit.handlers.conftest import line
from services.billing.tests.unit.payment_fakes import PaymentWorld

NOW = datetime(2026, 3, 1, tzinfo=UTC)
PAID = ProviderEvent("checkout.session.completed", OrderStatus.PAID, "cs_1", "pi_1", None, None)


async def _invoice_order(world: PaymentWorld) -> tuple[str, str]:
    account = world.billing.account()
    actor = InvoiceActor(TENANT, None)
    made = await create_invoice(
        world.uow, CreateInvoice(actor=actor, items=(line("500"),), account_id=account.account.id)
    )
    invoice_id = (await issue_invoice(world.uow, IssueInvoice(actor, made.header.id))).header.id
    order_id = "1f0e0d0c-0b0a-4909-8807-060504030201"
    new = NewPaymentOrder(
        order_id,
        TENANT,
        account.account.id,
        "stripe",
        "invoice",
        50_000,
        "INR",
        None,
        "service_invoice",
        invoice_id,
        "inv-1",
        invoice_id,
    )
    await world.payments.add(new, status="pending", now=NOW)
    await world.payments.link_invoice(
        id="l-1", tenant_id=TENANT, invoice_id=invoice_id, order_id=order_id, status="pending", now=NOW
    )
    await world.payments.change(order_id, OrderUpdate(provider_order_id="cs_1"), now=NOW)
    return order_id, invoice_id


async def test_a_paid_invoice_order_pays_its_invoice_once() -> None:
    world = PaymentWorld()
    order_id, invoice_id = await _invoice_order(world)
    order = await world.payments.get(order_id, lock=True)
    assert order is not None
    status = await apply_event(world.uow, order, PAID, event_row_id="r-1", event_id="evt_1")
    assert status is OrderStatus.PAID
    header = await world.book.header(invoice_id)
    assert header is not None
    assert header.is_paid
    assert header.amount_paid == Money.of(Decimal(500))
    (payment,) = await world.book.payments(invoice_id)
    assert (payment.mode, payment.reference, payment.notes) == ("stripe", "pi_1", "Settled by STRIPE webhook")
    assert world.payments.links[(invoice_id, order_id)] == "paid"
    # a second application (another path to paid) changes nothing
    again = await world.payments.get(order_id, lock=True)
    assert again is not None
    assert await apply_event(world.uow, again, PAID, event_row_id="r-2", event_id="evt_2") is OrderStatus.PAID
    assert len(await world.book.payments(invoice_id)) == 1


def test_the_settlement_keys() -> None:
    row = PaymentOrderRow(
        id="o-1",
        tenant_id=TENANT,
        account_id="a-1",
        provider="razorpay",
        purpose="topup",
        status="pending",
        amount_minor=1000,
        currency="INR",
        credits_amount=10,
        ref_type=None,
        ref_id=None,
        idempotency_key="k",
        provider_customer_id=None,
        provider_order_id="order_1",
        provider_payment_id=None,
        checkout_url=None,
        service_invoice_id="inv-9",
        settled_at=None,
        last_error=None,
        metadata_json={},
        created_at=NOW,
        updated_at=NOW,
    )
    grant = topup_grant(row, "evt")
    assert (grant.operation.idempotency_key, grant.operation.amount, grant.operation.ref_type) == (
        "payment_topup:o-1",
        10,
        "payment_topup",
    )
    assert dict(grant.operation.metadata) == {
        "provider": "razorpay",
        "provider_order_id": "order_1",
        "event_id": "evt",
    }
    pay = invoice_payment(row, "evt")
    assert (pay.idempotency_key, pay.reference, pay.mode) == ("payment_invoice:o-1", "order_1", "razorpay")
