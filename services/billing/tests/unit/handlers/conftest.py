"""Fixtures of the invoice handler tests: the invoice book fake beside billing's other fakes."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from decimal import Decimal

import pytest

from billing_service.domain.invoices import InvoiceItem
from billing_service.domain.money import Money
from billing_service.handlers.invoice_common import InvoiceActor, InvoiceChanged
from billing_service.handlers.invoice_drafts import CreateInvoice, create_invoice
from billing_service.handlers.invoice_lifecycle import IssueInvoice, issue_invoice
from devstack.testing.fakes import FakeUnitOfWork
from services.billing.tests.unit.fakes import TENANT, FakeBilling
from services.billing.tests.unit.invoice_fakes import FakeInvoiceBook

#: the user acting in the invoice tests
USER = "33333333-3333-4333-8333-333333333333"

Draft = Callable[..., Awaitable[InvoiceChanged]]
"""The ``draft`` fixture: a draft invoice of :data:`TENANT` with lines of the given prices."""


@pytest.fixture
def book(billing: FakeBilling) -> FakeInvoiceBook:
    """The invoice book over the billing fakes."""
    return FakeInvoiceBook(billing.invoices, billing.accounts, billing.clock)


@pytest.fixture
def iuow(billing: FakeBilling, book: FakeInvoiceBook) -> FakeUnitOfWork:
    """A unit of work of :data:`TENANT` with the invoice book."""
    return FakeUnitOfWork(*billing.repositories(), book, tenant_id=TENANT)


@pytest.fixture
def actor() -> InvoiceActor:
    """A finance user of :data:`TENANT`."""
    return InvoiceActor(TENANT, USER)


def line(price: str, quantity: str = "1", tax_rate: str | None = None, index: int = 0) -> InvoiceItem:
    """A normalized line."""
    return InvoiceItem.normalized(
        f"Service {index}",
        Decimal(quantity),
        Money.of(price),
        tax_rate=Decimal(tax_rate) if tax_rate is not None else None,
        order_index=index,
    )


@pytest.fixture
def draft(iuow: FakeUnitOfWork, actor: InvoiceActor) -> Draft:
    """Creates a draft with one line per price (on the tenant's implicit account)."""

    async def make(*prices: str, **fields: object) -> InvoiceChanged:
        items = tuple(line(p, index=i) for i, p in enumerate(prices))
        return await create_invoice(iuow, CreateInvoice(actor=actor, items=items, **fields))  # type: ignore[arg-type]

    return make


@pytest.fixture
def issued(iuow: FakeUnitOfWork, actor: InvoiceActor, draft: Draft) -> Draft:
    """Creates and issues an invoice with one line per price."""

    async def make(*prices: str, **fields: object) -> InvoiceChanged:
        made = await draft(*prices, **fields)
        return await issue_invoice(iuow, IssueInvoice(actor, made.header.id))

    return make
