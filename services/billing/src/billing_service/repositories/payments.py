"""Payment orders, provider customers, provider events and invoice links (domain.md §7.8, §7.9).

The provider event's insert is the webhook de-dup: ``INSERT … ON CONFLICT (provider, event_id) DO
NOTHING`` in the transaction of the event's effect, so of N concurrent deliveries of one event exactly
one inserts (the others wait on the unique index until it commits, then find it) and only that one's
effect is committed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Select, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from billing_service.payment_tables import (
    invoice_payment_links,
    payment_customers,
    payment_events,
    payment_orders,
)
from billing_service.repositories._rows import equal_to, from_row, is_uuid
from billing_service.tables import accounts, service_invoices
from shared.db.uow import Repository
from shared.validation import JsonObject


@dataclass(frozen=True, slots=True)
class PaymentOrderRow:
    """A stored payment order with its account's name and key and its invoice's number and status."""

    id: str
    tenant_id: str
    account_id: str
    provider: str
    purpose: str
    status: str
    amount_minor: int
    currency: str
    credits_amount: int | None
    ref_type: str | None
    ref_id: str | None
    idempotency_key: str
    provider_customer_id: str | None
    provider_order_id: str | None
    provider_payment_id: str | None
    checkout_url: str | None
    service_invoice_id: str | None
    settled_at: datetime | None
    last_error: str | None
    metadata_json: JsonObject
    created_at: datetime
    updated_at: datetime
    account_display_name: str | None = None
    external_key: str | None = None
    service_invoice_number: str | None = None
    service_invoice_status: str | None = None


@dataclass(frozen=True, slots=True)
class NewPaymentOrder:
    """A payment order as first stored (pending, no provider handle yet)."""

    id: str
    tenant_id: str
    account_id: str
    provider: str
    purpose: str
    amount_minor: int
    currency: str
    credits_amount: int | None
    ref_type: str | None
    ref_id: str | None
    idempotency_key: str
    service_invoice_id: str | None
    metadata_json: JsonObject = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class OrderUpdate:
    """What an event or the provider's answer changes on an order (None: keep)."""

    status: str | None = None
    settled_at: datetime | None = None
    provider_customer_id: str | None = None
    provider_order_id: str | None = None
    provider_payment_id: str | None = None
    checkout_url: str | None = None
    last_error: str | None = None


@dataclass(frozen=True, slots=True)
class PaymentEventRow:
    """A stored provider event."""

    id: str
    tenant_id: str | None
    account_id: str | None
    payment_order_id: str | None
    service_invoice_id: str | None
    provider: str
    event_id: str
    event_type: str
    idempotency_key: str | None
    signature_ok: bool
    payload_hash: str
    payload_json: JsonObject
    payment_status: str
    received_at: datetime
    processed_at: datetime | None
    created_at: datetime


_ORDER_COLUMNS = list(payment_orders.c)


def _orders() -> Select[Any]:
    return (
        select(
            *_ORDER_COLUMNS,
            accounts.c.display_name.label("account_display_name"),
            accounts.c.external_key,
            service_invoices.c.invoice_number.label("service_invoice_number"),
            service_invoices.c.status.label("service_invoice_status"),
        )
        .join(accounts, accounts.c.id == payment_orders.c.account_id)
        .outerjoin(service_invoices, service_invoices.c.id == payment_orders.c.service_invoice_id)
    )


class PaymentRepository(Repository):
    """Payment orders, customers, events and invoice links. Never commits."""

    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    # --- customers ------------------------------------------------------------------------------------

    async def customer_id(self, account_id: str, provider: str) -> str | None:
        """The provider's customer id of an account."""
        query = select(payment_customers.c.provider_customer_id).where(
            payment_customers.c.account_id == account_id, payment_customers.c.provider == provider
        )
        return (await self._session.execute(query)).scalar_one_or_none()

    async def add_customer(
        self, *, id: str, tenant_id: str, account_id: str, provider: str, customer_id: str, now: datetime
    ) -> str:
        """Store the account's customer id (a concurrent store wins); the stored id."""
        stmt = (
            pg_insert(payment_customers)
            .values(
                id=id,
                tenant_id=tenant_id,
                account_id=account_id,
                provider=provider,
                provider_customer_id=customer_id,
                created_at=now,
            )
            .on_conflict_do_nothing()
        )
        await self._session.execute(stmt)
        return await self.customer_id(account_id, provider) or customer_id

    # --- orders ---------------------------------------------------------------------------------------

    async def get(self, order_id: str, *, lock: bool = False) -> PaymentOrderRow | None:
        """One order (``lock``: under its row lock)."""
        if not is_uuid(order_id):
            return None
        query = _orders().where(payment_orders.c.id == order_id)
        if lock:
            query = query.with_for_update(of=payment_orders)
        found = (await self._session.execute(query)).mappings().first()
        return from_row(PaymentOrderRow, found) if found else None

    async def by_key(self, provider: str, idempotency_key: str) -> PaymentOrderRow | None:
        """The order of (provider, idempotency key)."""
        query = _orders().where(
            payment_orders.c.provider == provider, payment_orders.c.idempotency_key == idempotency_key
        )
        found = (await self._session.execute(query)).mappings().first()
        return from_row(PaymentOrderRow, found) if found else None

    async def find_id(self, provider: str, column: str, value: str) -> str | None:
        """The id of the order whose ``column`` (provider_order_id/provider_payment_id/idempotency_key)
        is ``value`` for ``provider``."""
        query = (
            select(payment_orders.c.id)
            .where(payment_orders.c.provider == provider, payment_orders.c[column] == value)
            .order_by(payment_orders.c.created_at.asc())
            .limit(1)
        )
        return (await self._session.execute(query)).scalar_one_or_none()

    async def add(self, order: NewPaymentOrder, *, status: str, now: datetime) -> bool:
        """Insert a new order; ``False`` when (provider, key) is already taken (nothing written)."""
        stmt = (
            pg_insert(payment_orders)
            .values(
                id=order.id,
                tenant_id=order.tenant_id,
                account_id=order.account_id,
                provider=order.provider,
                purpose=order.purpose,
                status=status,
                amount_minor=order.amount_minor,
                currency=order.currency,
                credits_amount=order.credits_amount,
                ref_type=order.ref_type,
                ref_id=order.ref_id,
                idempotency_key=order.idempotency_key,
                service_invoice_id=order.service_invoice_id,
                metadata_json=order.metadata_json,
                created_at=now,
                updated_at=now,
            )
            .on_conflict_do_nothing(index_elements=["provider", "idempotency_key"])
            .returning(payment_orders.c.id)
        )
        return (await self._session.execute(stmt)).scalar_one_or_none() is not None

    async def change(self, order_id: str, change: OrderUpdate, *, now: datetime) -> None:
        """Write the given (non-None) fields and ``updated_at``."""
        values = {
            k: getattr(change, k) for k in change.__dataclass_fields__ if getattr(change, k) is not None
        }
        await self._session.execute(
            update(payment_orders).where(payment_orders.c.id == order_id).values(**values, updated_at=now)
        )

    async def orders(
        self,
        *,
        limit: int,
        tenant_id: str | None = None,
        account_id: str | None = None,
        provider: str | None = None,
        purpose: str | None = None,
    ) -> list[PaymentOrderRow]:
        """Orders, newest first."""
        query = (
            _orders()
            .where(
                equal_to(
                    payment_orders,
                    tenant_id=tenant_id,
                    account_id=account_id,
                    provider=provider,
                    purpose=purpose,
                )
            )
            .order_by(payment_orders.c.created_at.desc(), payment_orders.c.id.desc())
            .limit(limit)
        )
        return [from_row(PaymentOrderRow, r) for r in (await self._session.execute(query)).mappings()]

    async def open_orders(self, *, changed_before: datetime, limit: int) -> list[PaymentOrderRow]:
        """Orders still pending/requires_action whose last change is before ``changed_before`` and that
        have a provider handle, oldest first, ``FOR UPDATE SKIP LOCKED`` (two janitors, or a janitor and a
        webhook, never settle one order at once)."""
        query = (
            _orders()
            .where(
                payment_orders.c.status.in_(["pending", "requires_action"]),
                payment_orders.c.provider_order_id.is_not(None),
                payment_orders.c.updated_at < changed_before,
            )
            .order_by(payment_orders.c.updated_at.asc(), payment_orders.c.id.asc())
            .limit(limit)
            .with_for_update(of=payment_orders, skip_locked=True)
        )
        return [from_row(PaymentOrderRow, r) for r in (await self._session.execute(query)).mappings()]

    # --- invoice links --------------------------------------------------------------------------------

    async def link_invoice(
        self, *, id: str, tenant_id: str, invoice_id: str, order_id: str, status: str, now: datetime
    ) -> None:
        """Link an invoice and an order (once)."""
        stmt = (
            pg_insert(invoice_payment_links)
            .values(
                id=id,
                tenant_id=tenant_id,
                service_invoice_id=invoice_id,
                payment_order_id=order_id,
                status=status,
                created_at=now,
                updated_at=now,
            )
            .on_conflict_do_nothing()
        )
        await self._session.execute(stmt)

    async def mirror_links(self, order_id: str, status: str, *, now: datetime) -> None:
        """The links of an order take its status."""
        await self._session.execute(
            update(invoice_payment_links)
            .where(invoice_payment_links.c.payment_order_id == order_id)
            .values(status=status, updated_at=now)
        )

    async def link_status(self, invoice_id: str, order_id: str) -> str | None:
        """The status of one link."""
        query = select(invoice_payment_links.c.status).where(
            invoice_payment_links.c.service_invoice_id == invoice_id,
            invoice_payment_links.c.payment_order_id == order_id,
        )
        return (await self._session.execute(query)).scalar_one_or_none()

    # --- provider events ------------------------------------------------------------------------------

    async def event(self, provider: str, event_id: str) -> PaymentEventRow | None:
        """The stored event (provider, event id)."""
        query = select(*payment_events.c).where(
            payment_events.c.provider == provider, payment_events.c.event_id == event_id
        )
        found = (await self._session.execute(query)).mappings().first()
        return from_row(PaymentEventRow, found) if found else None

    async def add_event(self, event: PaymentEventRow) -> bool:
        """Insert the event; ``False`` when (provider, event id) is already stored (nothing written)."""
        values = {name: getattr(event, name) for name in event.__dataclass_fields__}
        stmt = (
            pg_insert(payment_events)
            .values(**values)
            .on_conflict_do_nothing(index_elements=["provider", "event_id"])
            .returning(payment_events.c.id)
        )
        return (await self._session.execute(stmt)).scalar_one_or_none() is not None

    async def events(
        self,
        *,
        limit: int,
        tenant_id: str | None = None,
        account_id: str | None = None,
        provider: str | None = None,
    ) -> list[PaymentEventRow]:
        """Events, newest first."""
        query = (
            select(*payment_events.c)
            .where(equal_to(payment_events, tenant_id=tenant_id, account_id=account_id, provider=provider))
            .order_by(payment_events.c.received_at.desc(), payment_events.c.id.desc())
            .limit(limit)
        )
        return [from_row(PaymentEventRow, r) for r in (await self._session.execute(query)).mappings()]
