"""The invoice list (filters, keyset pages, bad cursors), the detail and the context on fakes."""

from __future__ import annotations

from datetime import date

import pytest

from billing_service.domain.invoice_errors import InvalidCursor, InvalidInvoiceFilter, InvoiceNotFound
from billing_service.domain.invoices import InvoiceStatus
from billing_service.domain.money import Money
from billing_service.handlers.invoice_common import InvoiceActor
from billing_service.handlers.invoice_lifecycle import IssueInvoice, issue_invoice
from billing_service.handlers.invoice_payments import RecordPayment, record_payment
from billing_service.handlers.invoice_queries import (
    ListInvoices,
    ShowInvoice,
    invoice_context,
    list_invoices,
    show_invoice,
)
from devstack.testing.fakes import FakeUnitOfWork
from services.billing.tests.unit.handlers.conftest import USER, Draft

OTHER = InvoiceActor("44444444-4444-4444-8444-444444444444", USER)


class TestList:
    async def test_newest_first_in_pages(
        self, iuow: FakeUnitOfWork, actor: InvoiceActor, draft: Draft
    ) -> None:
        made = [(await draft("1")).header.id for _ in range(5)]
        first = await list_invoices(iuow, ListInvoices(actor, limit=2))
        assert [h.id for h in first.invoices] == made[::-1][:2]
        assert first.next_cursor is not None
        second = await list_invoices(iuow, ListInvoices(actor, limit=2, cursor=first.next_cursor))
        third = await list_invoices(iuow, ListInvoices(actor, limit=2, cursor=second.next_cursor))
        assert [h.id for h in second.invoices + third.invoices] == made[::-1][2:]
        assert third.next_cursor is None

    async def test_filters(self, iuow: FakeUnitOfWork, actor: InvoiceActor, draft: Draft) -> None:
        old = await draft("100", notes="Flat 4B valuation")
        await issue_invoice(iuow, IssueInvoice(actor, old.header.id, date(2020, 1, 1)))
        paid = await draft("10")
        await issue_invoice(iuow, IssueInvoice(actor, paid.header.id, date(2020, 1, 2)))
        await record_payment(iuow, RecordPayment(actor, paid.header.id, Money.of("10")))
        await draft("5")
        overdue = await list_invoices(iuow, ListInvoices(actor, overdue=True))
        assert [h.id for h in overdue.invoices] == [old.header.id]
        by_status = await list_invoices(iuow, ListInvoices(actor, status="paid"))
        assert [h.status for h in by_status.invoices] == [InvoiceStatus.PAID]
        ranged = await list_invoices(
            iuow, ListInvoices(actor, issued_from=date(2020, 1, 2), issued_to=date(2020, 1, 2))
        )
        assert [h.id for h in ranged.invoices] == [paid.header.id]
        found = await list_invoices(iuow, ListInvoices(actor, search="4b"))
        assert [h.id for h in found.invoices] == [old.header.id]
        assert (await list_invoices(iuow, ListInvoices(OTHER))).invoices == []

    @pytest.mark.parametrize("cursor", ["garbage", "bm90IGEgY3Vyc29y", "%%%"])
    async def test_a_bad_cursor_is_400(self, iuow: FakeUnitOfWork, actor: InvoiceActor, cursor: str) -> None:
        with pytest.raises(InvalidCursor):
            await list_invoices(iuow, ListInvoices(actor, cursor=cursor))

    async def test_bad_filters_are_400(self, iuow: FakeUnitOfWork, actor: InvoiceActor) -> None:
        with pytest.raises(InvalidInvoiceFilter):
            await list_invoices(iuow, ListInvoices(actor, status="unpaid"))
        with pytest.raises(InvalidInvoiceFilter):
            await list_invoices(
                iuow, ListInvoices(actor, issued_from=date(2026, 2, 1), issued_to=date(2026, 1, 1))
            )


class TestDetail:
    async def test_detail_and_context(self, iuow: FakeUnitOfWork, actor: InvoiceActor, issued: Draft) -> None:
        made = await issued("100")
        await record_payment(iuow, RecordPayment(actor, made.header.id, Money.of("40")))
        detail = await show_invoice(iuow, ShowInvoice(actor, made.header.id))
        assert [p.amount for p in detail.payments] == [Money.of("40")]
        assert [a.event_type for a in detail.audit_logs] == ["created", "issued", "payment_recorded"]
        assert len(detail.items) == 1
        context = await invoice_context(iuow, ShowInvoice(actor, made.header.id))
        assert context.account.account.id == made.header.account_id

    async def test_another_tenant_sees_404(self, iuow: FakeUnitOfWork, draft: Draft) -> None:
        made = await draft("100")
        with pytest.raises(InvoiceNotFound):
            await show_invoice(iuow, ShowInvoice(OTHER, made.header.id))
        with pytest.raises(InvoiceNotFound):
            await show_invoice(iuow, ShowInvoice(OTHER, "not-a-uuid"))
