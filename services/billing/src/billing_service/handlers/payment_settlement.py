"""One provider event applied to one payment order (domain.md §7.9 "apply status" and "settlement"):
the webhook intake and the payment janitor both come here, with the same idempotency keys.

The settlement ordering rule (``domain.payments.next_status``): ``paid`` is final, so a ``failed`` that
arrives after ``paid`` (or any redelivery) never undoes a settlement; a top-up grants under
``payment_topup:<order>`` and an invoice payment records under ``payment_invoice:<order>``, both unique,
so even a second path to ``paid`` could not pay twice. The caller holds the order's row lock.
"""

from __future__ import annotations

from billing_service.domain.ledger import GrantCredits, LedgerReason
from billing_service.domain.money import Money
from billing_service.domain.payments import OrderStatus, ProviderEvent, Purpose, next_status
from billing_service.handlers._common import record_usage, utcnow
from billing_service.handlers.credits import GrantAccountCredits, grant_credits
from billing_service.handlers.invoice_common import InvoiceActor
from billing_service.handlers.invoice_payments import RecordPayment, record_payment
from billing_service.repositories.payments import OrderUpdate, PaymentOrderRow, PaymentRepository
from shared.db.uow import UnitOfWork


def topup_grant(order: PaymentOrderRow, event_id: str) -> GrantAccountCredits:
    """The ledger grant of a paid top-up (PAY-02: reason topup, key ``payment_topup:<order>``)."""
    return GrantAccountCredits(
        order.account_id,
        GrantCredits(
            idempotency_key=f"payment_topup:{order.id}",
            amount=order.credits_amount or 0,
            reason=LedgerReason.TOPUP,
            ref_type="payment_topup",
            ref_id=order.id,
            metadata={
                "provider": order.provider,
                "provider_order_id": order.provider_order_id,
                "event_id": event_id,
            },
        ),
    )


def invoice_payment(order: PaymentOrderRow, event_id: str) -> RecordPayment:
    """The service-invoice payment of a paid invoice order (key ``payment_invoice:<order>``)."""
    assert order.service_invoice_id is not None  # noqa: S101  invoice orders always name their invoice
    return RecordPayment(
        actor=InvoiceActor(order.tenant_id, None),
        invoice_id=order.service_invoice_id,
        amount=Money.from_minor(order.amount_minor, order.currency),
        mode=order.provider,
        reference=order.provider_payment_id or order.provider_order_id or event_id,
        notes=f"Settled by {order.provider.upper()} webhook",
        idempotency_key=f"payment_invoice:{order.id}",
    )


async def apply_event(
    uow: UnitOfWork, order: PaymentOrderRow, event: ProviderEvent, *, event_row_id: str, event_id: str
) -> OrderStatus:
    """Move the (locked) order by the event, settle a payment, record the usage event; its status after."""
    payments = uow.repo(PaymentRepository)
    current = OrderStatus(order.status)
    target = next_status(current, event.status)
    now = utcnow()
    ids = OrderUpdate(
        provider_order_id=event.provider_order_id if order.provider_order_id is None else None,
        provider_payment_id=event.provider_payment_id if order.provider_payment_id is None else None,
    )
    change = OrderUpdate(
        status=target.value if target is not None else None,
        settled_at=now if target is OrderStatus.PAID else None,
        provider_order_id=ids.provider_order_id,
        provider_payment_id=ids.provider_payment_id,
    )
    await payments.change(order.id, change, now=now)
    settled = order
    if ids.provider_order_id or ids.provider_payment_id:
        settled = await payments.get(order.id) or order
    if target is not None:
        await payments.mirror_links(order.id, target.value, now=now)
    if target is OrderStatus.PAID:
        if order.purpose == Purpose.TOPUP.value and (order.credits_amount or 0) > 0:
            await grant_credits(uow, topup_grant(settled, event_id))
        elif order.purpose == Purpose.INVOICE.value and order.service_invoice_id is not None:
            await record_payment(uow, invoice_payment(settled, event_id))
    after = target or current
    await record_usage(
        uow,
        "payment_settled" if target is OrderStatus.PAID else "payment_updated",
        f"v2:payment_event:{event_row_id}",
        {
            "payment_order_id": order.id,
            "provider": order.provider,
            "event_id": event_id,
            "event_type": event.event_type,
            "status": after.value.upper(),
            "previous_status": current.value.upper(),
            "applied": target is not None,
        },
        account_id=order.account_id,
        tenant_id=order.tenant_id,
    )
    return after
