"""The in-memory payment repositories: orders with UNIQUE (provider, idempotency_key), customers,
provider events with UNIQUE (provider, event_id), invoice links, the subscription webhook trail, and a
provider adapter that records its calls — with the SQL's semantics."""

from __future__ import annotations

import builtins
from dataclasses import replace
from datetime import datetime

from billing_service.domain.payments import OrderStatus, Provider
from billing_service.providers import CheckoutHandle, CheckoutRequest, CustomerRequest, Providers, RemoteOrder
from billing_service.repositories.payments import (
    NewPaymentOrder,
    OrderUpdate,
    PaymentEventRow,
    PaymentOrderRow,
    PaymentRepository,
)
from billing_service.repositories.subscription_webhooks import (
    SubscriptionWebhookEvent,
    SubscriptionWebhookRepository,
)
from devstack.testing.fakes import FakeUnitOfWork
from services.billing.tests.unit.fakes import TENANT, FakeAccounts, FakeBilling
from services.billing.tests.unit.invoice_fakes import FakeInvoiceBook
from services.billing.tests.unit.subscription_fakes import FakeSubscriptions


class FakePayments(PaymentRepository):
    """Orders, customers, events and links in dicts; ``locked`` lists the orders taken under lock."""

    def __init__(self, accounts: FakeAccounts) -> None:
        self.orders_by_id: dict[str, PaymentOrderRow] = {}
        self.customers: dict[tuple[str, str], str] = {}
        self.event_rows: dict[tuple[str, str], PaymentEventRow] = {}
        self.links: dict[tuple[str, str], str] = {}
        self.locked: builtins.list[str] = []
        self._accounts = accounts

    async def customer_id(self, account_id: str, provider: str) -> str | None:
        return self.customers.get((account_id, provider))

    async def add_customer(
        self, *, id: str, tenant_id: str, account_id: str, provider: str, customer_id: str, now: datetime
    ) -> str:
        del id, tenant_id, now  # the real signature; the fake keys customers by account and provider
        return self.customers.setdefault((account_id, provider), customer_id)

    async def _joined(self, row: PaymentOrderRow) -> PaymentOrderRow:
        state = await self._accounts.get(row.account_id)
        return replace(
            row,
            account_display_name=state.account.display_name if state else None,
            external_key=state.account.external_key if state else None,
        )

    async def get(self, order_id: str, *, lock: bool = False) -> PaymentOrderRow | None:
        row = self.orders_by_id.get(order_id)
        if row is None:
            return None
        if lock:
            self.locked.append(order_id)
        return await self._joined(row)

    async def by_key(self, provider: str, idempotency_key: str) -> PaymentOrderRow | None:
        for row in self.orders_by_id.values():
            if row.provider == provider and row.idempotency_key == idempotency_key:
                return await self._joined(row)
        return None

    async def find_id(self, provider: str, column: str, value: str) -> str | None:
        found = sorted(
            (r for r in self.orders_by_id.values() if r.provider == provider and getattr(r, column) == value),
            key=lambda r: r.created_at,
        )
        return found[0].id if found else None

    async def add(self, order: NewPaymentOrder, *, status: str, now: datetime) -> bool:
        if await self.by_key(order.provider, order.idempotency_key) is not None:
            return False
        self.orders_by_id[order.id] = PaymentOrderRow(
            **{k: getattr(order, k) for k in order.__dataclass_fields__},
            status=status,
            provider_customer_id=None,
            provider_order_id=None,
            provider_payment_id=None,
            checkout_url=None,
            settled_at=None,
            last_error=None,
            created_at=now,
            updated_at=now,
        )
        return True

    async def change(self, order_id: str, change: OrderUpdate, *, now: datetime) -> None:
        values = {
            k: getattr(change, k) for k in change.__dataclass_fields__ if getattr(change, k) is not None
        }
        row = replace(self.orders_by_id[order_id], **values, updated_at=now)
        if (row.status == OrderStatus.PAID.value) != (row.settled_at is not None):
            raise AssertionError("CHECK (status = paid) = (settled_at IS NOT NULL) violated")
        self.orders_by_id[order_id] = row

    async def orders(
        self,
        *,
        limit: int,
        tenant_id: str | None = None,
        account_id: str | None = None,
        provider: str | None = None,
        purpose: str | None = None,
    ) -> builtins.list[PaymentOrderRow]:
        match = {"tenant_id": tenant_id, "account_id": account_id, "provider": provider, "purpose": purpose}
        found = [
            r
            for r in self.orders_by_id.values()
            if all(v is None or getattr(r, k) == v for k, v in match.items())
        ]
        found.sort(key=lambda r: (r.created_at, r.id), reverse=True)
        return [await self._joined(r) for r in found[:limit]]

    async def open_orders(self, *, changed_before: datetime, limit: int) -> builtins.list[PaymentOrderRow]:
        found = sorted(
            (
                r
                for r in self.orders_by_id.values()
                if r.status in ("pending", "requires_action")
                and r.provider_order_id is not None
                and r.updated_at < changed_before
            ),
            key=lambda r: (r.updated_at, r.id),
        )
        return [await self._joined(r) for r in found[:limit]]

    async def link_invoice(
        self, *, id: str, tenant_id: str, invoice_id: str, order_id: str, status: str, now: datetime
    ) -> None:
        del id, tenant_id, now  # the real signature; the fake keeps only the status
        self.links.setdefault((invoice_id, order_id), status)

    async def mirror_links(self, order_id: str, status: str, *, now: datetime) -> None:  # noqa: ARG002
        for key in self.links:
            if key[1] == order_id:
                self.links[key] = status

    async def link_status(self, invoice_id: str, order_id: str) -> str | None:
        return self.links.get((invoice_id, order_id))

    async def event(self, provider: str, event_id: str) -> PaymentEventRow | None:
        return self.event_rows.get((provider, event_id))

    async def add_event(self, event: PaymentEventRow) -> bool:
        key = (event.provider, event.event_id)
        if key in self.event_rows:
            return False
        self.event_rows[key] = event
        return True

    async def events(
        self,
        *,
        limit: int,
        tenant_id: str | None = None,
        account_id: str | None = None,
        provider: str | None = None,
    ) -> builtins.list[PaymentEventRow]:
        match = {"tenant_id": tenant_id, "account_id": account_id, "provider": provider}
        found = [
            r
            for r in self.event_rows.values()
            if all(v is None or getattr(r, k) == v for k, v in match.items())
        ]
        found.sort(key=lambda r: (r.received_at, r.id), reverse=True)
        return found[:limit]


class FakeSubscriptionWebhooks(SubscriptionWebhookRepository):
    """The webhook's view of :class:`FakeSubscriptions`: lookups by provider id, the trail by event id."""

    def __init__(self, subscriptions: FakeSubscriptions) -> None:
        self._subs = subscriptions
        self.trail: dict[tuple[str, str], SubscriptionWebhookEvent] = {}

    async def subscription_id(self, provider: str, external_subscription_id: str) -> str | None:
        found = sorted(
            (
                r
                for r in self._subs.subs.values()
                if r.external_subscription_id == external_subscription_id
                and r.external_provider in (provider, None)
            ),
            key=lambda r: r.created_at,
            reverse=True,
        )
        return found[0].id if found else None

    async def event_row_id(self, provider: str, event_id: str) -> str | None:
        stored = self.trail.get((provider, event_id))
        return stored.id if stored else None

    async def add(self, event: SubscriptionWebhookEvent, *, now: datetime) -> bool:  # noqa: ARG002
        key = (event.provider, event.event_id)
        if key in self.trail:
            return False
        self.trail[key] = event
        return True


class FakeProvider:
    """A :class:`billing_service.providers.PaymentProvider` that records its calls and answers from
    ``remote`` (the janitor's question) or raises ``fail`` (the provider refusing)."""

    def __init__(self, name: Provider) -> None:
        self._name = name
        self.customers: builtins.list[CustomerRequest] = []
        self.checkouts: builtins.list[CheckoutRequest] = []
        self.remote: dict[str, RemoteOrder] = {}
        self.fail: Exception | None = None

    @property
    def name(self) -> Provider:
        return self._name

    async def create_customer(self, customer: CustomerRequest) -> str:
        if self.fail is not None:
            raise self.fail
        self.customers.append(customer)
        return f"cus_{len(self.customers)}"

    async def create_checkout(self, request: CheckoutRequest) -> CheckoutHandle:
        if self.fail is not None:
            raise self.fail
        self.checkouts.append(request)
        n = len(self.checkouts)
        if self._name is Provider.STRIPE:
            return CheckoutHandle(f"cs_test_{n}", None, f"https://checkout.stripe.test/c/{n}")
        return CheckoutHandle(f"order_{n}", None, None)

    async def fetch_order(self, provider_order_id: str) -> RemoteOrder:
        if self.fail is not None:
            raise self.fail
        return self.remote.get(
            provider_order_id,
            RemoteOrder(provider_order_id, OrderStatus.REQUIRES_ACTION, None, "open/unpaid"),
        )


class PaymentWorld:
    """Billing's fakes plus the invoice book, the payment repositories and one fake adapter per provider:
    what the payment handler tests hand to ``FakeUnitOfWork``."""

    def __init__(self) -> None:
        self.billing = FakeBilling.new()
        self.book = FakeInvoiceBook(self.billing.invoices, self.billing.accounts, self.billing.clock)
        self.payments = FakePayments(self.billing.accounts)
        self.hooks = FakeSubscriptionWebhooks(self.billing.subscriptions)
        self.uow = FakeUnitOfWork(
            *self.billing.repositories(), self.book, self.payments, self.hooks, tenant_id=TENANT
        )
        self.stripe = FakeProvider(Provider.STRIPE)
        self.razorpay = FakeProvider(Provider.RAZORPAY)

    def providers(self) -> Providers:
        """The registry over the fake adapters."""
        return Providers({Provider.STRIPE: self.stripe, Provider.RAZORPAY: self.razorpay})
