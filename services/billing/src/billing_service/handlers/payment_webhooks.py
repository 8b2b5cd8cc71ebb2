"""Payment webhooks, family A (domain.md §7.9 A, PAY-01/02/07/08): one provider event, verified by the
edge, stored under UNIQUE (provider, event_id) in the transaction of its effect.

Lookup order of the event's payment order: ``payment_order_id`` (metadata/notes) → (provider, provider
order id) → (provider, provider payment id) → (provider, idempotency key). The order is locked before the
event row is inserted, so concurrent deliveries of one event queue on the order: the first inserts and
settles, the others find the event and answer ``duplicate`` with no effect. An event naming no known
order is stored without tenant and reported ``processed: false`` (PAY-08).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from billing_service.domain.payment_errors import WebhookSignatureInvalid
from billing_service.domain.payments import OrderStatus, Provider, ProviderEvent
from billing_service.handlers._common import new_id, utcnow
from billing_service.handlers.payment_settlement import apply_event
from billing_service.repositories._rows import is_uuid
from billing_service.repositories.payments import PaymentEventRow, PaymentOrderRow, PaymentRepository
from shared.db.uow import UnitOfWork
from shared.validation import JsonObject


@dataclass(frozen=True, slots=True)
class IngestPaymentEvent:
    """A provider event as the edge verified and parsed it (or the janitor's answer from the provider)."""

    provider: Provider
    event_id: str
    event: ProviderEvent
    payload: JsonObject
    payload_hash: str
    signature_ok: bool
    received_at: datetime


@dataclass(frozen=True, slots=True)
class PaymentEventIngested:
    """§7.9's result: ``event_id`` is the stored row's id."""

    duplicate: bool
    event_id: str
    processed: bool
    payment_order_id: str | None = None
    status: OrderStatus | None = None


async def find_order(uow: UnitOfWork, provider: Provider, event: ProviderEvent) -> str | None:
    """The id of the event's order, by §7.9's lookup order."""
    payments = uow.repo(PaymentRepository)
    p = provider.value
    if event.payment_order_id and is_uuid(event.payment_order_id):
        found = await payments.get(event.payment_order_id)
        if found is not None and found.provider == p:
            return found.id
    for column, value in (
        ("provider_order_id", event.provider_order_id),
        ("provider_payment_id", event.provider_payment_id),
        ("idempotency_key", event.idempotency_key),
    ):
        if value:
            order_id = await payments.find_id(p, column, value)
            if order_id is not None:
                return order_id
    return None


def _duplicate(stored: PaymentEventRow) -> PaymentEventIngested:
    return PaymentEventIngested(True, stored.id, stored.processed_at is not None, stored.payment_order_id)


async def ingest_payment_event(uow: UnitOfWork, command: IngestPaymentEvent) -> PaymentEventIngested:
    """Store the event once and apply it to its order (see the module)."""
    if not command.signature_ok:
        raise WebhookSignatureInvalid(details={"provider": command.provider.value})
    payments = uow.repo(PaymentRepository)
    p = command.provider.value
    stored = await payments.event(p, command.event_id)
    if stored is not None:
        return _duplicate(stored)
    order_id = await find_order(uow, command.provider, command.event)
    order: PaymentOrderRow | None = await payments.get(order_id, lock=True) if order_id else None
    now = utcnow()
    row = PaymentEventRow(
        id=new_id(),
        tenant_id=order.tenant_id if order else None,
        account_id=order.account_id if order else None,
        payment_order_id=order.id if order else None,
        service_invoice_id=order.service_invoice_id if order else None,
        provider=p,
        event_id=command.event_id,
        event_type=command.event.event_type,
        idempotency_key=command.event.idempotency_key,
        signature_ok=True,
        payload_hash=command.payload_hash,
        payload_json=command.payload,
        payment_status=command.event.status.value,
        received_at=command.received_at,
        processed_at=now if order else None,
        created_at=now,
    )
    if not await payments.add_event(row):
        # a concurrent delivery of the same event committed first: nothing more to do
        again = await payments.event(p, command.event_id)
        if again is None:  # pragma: no cover - the conflict names a stored row
            raise WebhookSignatureInvalid(details={"provider": p})
        return _duplicate(again)
    if order is None:
        return PaymentEventIngested(False, row.id, False)
    status = await apply_event(uow, order, command.event, event_row_id=row.id, event_id=command.event_id)
    return PaymentEventIngested(False, row.id, True, order.id, status)
