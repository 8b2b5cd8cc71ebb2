"""Issue, send and void on fakes: decision 12 numbers, decision 13 due dates, the refusals of §7.6 (INV-04,
INV-06) changing nothing, usage and audit, and the acceptance invoice's work-order billing stream."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from billing_service.domain.errors import (
    IdempotencyKeyReused,
    InvoiceAlreadyIssued,
    InvoiceHasPayments,
    InvoiceNotSendable,
)
from billing_service.domain.invoice_errors import ReasonRequired
from billing_service.domain.invoices import InvoiceStatus, issue_request_hash
from billing_service.domain.money import Money
from billing_service.handlers.invoice_common import IdempotencyKey, InvoiceActor
from billing_service.handlers.invoice_lifecycle import (
    IssueInvoice,
    SendInvoice,
    VoidInvoice,
    issue_invoice,
    send_invoice,
    void_invoice,
)
from billing_service.handlers.invoice_payments import RecordPayment, record_payment
from devstack.testing.fakes import FakeUnitOfWork
from services.billing.tests.unit.fakes import TENANT, WORK_ORDER, Accept, FakeBilling
from services.billing.tests.unit.handlers.conftest import Draft
from services.billing.tests.unit.invoice_fakes import FakeInvoiceBook
from shared.contracts.billing import WorkOrderBilling


def _issue_key(invoice_id: str, key: str, due: date | None = None) -> IdempotencyKey:
    return IdempotencyKey("invoice_issue", key, issue_request_hash(invoice_id, None, due))


class TestIssue:
    async def test_decision_12_numbers_per_tenant_and_financial_year(
        self, iuow: FakeUnitOfWork, actor: InvoiceActor, draft: Draft
    ) -> None:
        march = await draft("10")
        april = await draft("10")
        april_too = await draft("10")
        first = await issue_invoice(iuow, IssueInvoice(actor, march.header.id, date(2026, 3, 31)))
        second = await issue_invoice(iuow, IssueInvoice(actor, april.header.id, date(2026, 4, 1)))
        third = await issue_invoice(iuow, IssueInvoice(actor, april_too.header.id, date(2026, 4, 2)))
        assert [i.header.invoice_number for i in (first, second, third)] == [
            "INV-25-26-00001",
            "INV-26-27-00001",
            "INV-26-27-00002",
        ]

    async def test_decision_13_due_date_from_the_payment_terms(
        self, iuow: FakeUnitOfWork, actor: InvoiceActor, draft: Draft
    ) -> None:
        made = await draft("100")
        issued = await issue_invoice(iuow, IssueInvoice(actor, made.header.id, date(2026, 5, 10)))
        assert (issued.header.status, issued.header.issued_date, issued.header.due_date) == (
            InvoiceStatus.ISSUED,
            date(2026, 5, 10),
            date(2026, 5, 10) + timedelta(days=15),
        )

    async def test_a_given_due_date_wins(
        self, iuow: FakeUnitOfWork, actor: InvoiceActor, draft: Draft
    ) -> None:
        made = await draft("100")
        issued = await issue_invoice(
            iuow, IssueInvoice(actor, made.header.id, date(2026, 5, 10), date(2026, 6, 1))
        )
        assert issued.header.due_date == date(2026, 6, 1)

    async def test_a_zero_total_is_paid_at_issue(
        self, iuow: FakeUnitOfWork, actor: InvoiceActor, draft: Draft
    ) -> None:
        made = await draft()
        issued = await issue_invoice(iuow, IssueInvoice(actor, made.header.id))
        assert (issued.header.status, issued.header.is_paid) == (InvoiceStatus.PAID, True)

    async def test_inv_04_replay_mismatch_and_already_issued(
        self,
        billing: FakeBilling,
        book: FakeInvoiceBook,
        iuow: FakeUnitOfWork,
        actor: InvoiceActor,
        draft: Draft,
    ) -> None:
        made = await draft("100")
        iid = made.header.id
        first = await issue_invoice(iuow, IssueInvoice(actor, iid, idempotency=_issue_key(iid, "k")))
        again = await issue_invoice(iuow, IssueInvoice(actor, iid, idempotency=_issue_key(iid, "k")))
        assert (again.replayed, again.header.invoice_number) == (True, first.header.invoice_number)
        stored = book.keys[(TENANT, "invoice_issue", "k")]
        assert stored.request_hash == f"invoice_issue:{iid}::"
        assert stored.response == {"invoice_id": iid, "invoice_number": first.header.invoice_number}
        before = book.headers[iid]
        with pytest.raises(IdempotencyKeyReused, match="Idempotency key mismatch"):
            await issue_invoice(
                iuow,
                IssueInvoice(
                    actor, iid, due_date=date(2030, 1, 1), idempotency=_issue_key(iid, "k", date(2030, 1, 1))
                ),
            )
        with pytest.raises(InvoiceAlreadyIssued, match="Invoice already issued"):
            await issue_invoice(iuow, IssueInvoice(actor, iid))
        assert book.headers[iid] == before
        assert len(billing.usage.of_type("invoice_issued")) == 1
        assert [a.event_type for a in book.audits[iid]] == ["created", "issued"]


class TestSend:
    async def test_issued_becomes_sent(
        self, billing: FakeBilling, iuow: FakeUnitOfWork, actor: InvoiceActor, issued: Draft
    ) -> None:
        made = await issued("100")
        sent = await send_invoice(iuow, SendInvoice(actor, made.header.id))
        assert (sent.header.status, sent.header.sent_at is not None) == (InvoiceStatus.SENT, True)
        assert len(billing.usage.of_type("invoice_sent")) == 1

    async def test_a_draft_is_not_sendable(
        self, book: FakeInvoiceBook, iuow: FakeUnitOfWork, actor: InvoiceActor, draft: Draft
    ) -> None:
        made = await draft("100")
        with pytest.raises(InvoiceNotSendable, match="Invoice not in sendable state"):
            await send_invoice(iuow, SendInvoice(actor, made.header.id))
        assert book.headers[made.header.id].sent_at is None


class TestVoid:
    async def test_void_needs_a_reason(
        self, book: FakeInvoiceBook, iuow: FakeUnitOfWork, actor: InvoiceActor, issued: Draft
    ) -> None:
        made = await issued("100")
        with pytest.raises(ReasonRequired):
            await void_invoice(iuow, VoidInvoice(actor, made.header.id, "  "))
        assert book.headers[made.header.id].status is InvoiceStatus.ISSUED

    async def test_void_then_void_again_is_a_no_op(
        self,
        billing: FakeBilling,
        book: FakeInvoiceBook,
        iuow: FakeUnitOfWork,
        actor: InvoiceActor,
        issued: Draft,
    ) -> None:
        made = await issued("100")
        voided = await void_invoice(iuow, VoidInvoice(actor, made.header.id, "duplicate"))
        assert (voided.header.status, voided.header.amount_due, voided.header.void_reason) == (
            InvoiceStatus.VOID,
            Money.zero(),
            "duplicate",
        )
        again = await void_invoice(iuow, VoidInvoice(actor, made.header.id, "other"))
        assert again.header.void_reason == "duplicate"
        assert len(billing.usage.of_type("invoice_voided")) == 1
        assert book.audits[made.header.id][-1].reason == "duplicate"

    async def test_inv_06_void_with_payments_is_409(
        self, book: FakeInvoiceBook, iuow: FakeUnitOfWork, actor: InvoiceActor, issued: Draft
    ) -> None:
        made = await issued("136")
        await record_payment(iuow, RecordPayment(actor, made.header.id, Money.of("50")))
        before = book.headers[made.header.id]
        with pytest.raises(InvoiceHasPayments, match="Cannot void invoice with payments"):
            await void_invoice(iuow, VoidInvoice(actor, made.header.id, "mistake"))
        assert book.headers[made.header.id] == before


class TestAcceptanceInvoice:
    async def test_voiding_the_acceptance_invoice_publishes_the_work_orders_billing(
        self, billing: FakeBilling, accept: Accept, iuow: FakeUnitOfWork, actor: InvoiceActor
    ) -> None:
        await accept()
        invoice_id = billing.work_orders.rows[WORK_ORDER].invoice_id
        assert invoice_id is not None
        voided = await void_invoice(iuow, VoidInvoice(actor, invoice_id, "customer cancelled"))
        assert voided.work_order_version == (WORK_ORDER, billing.work_orders.rows[WORK_ORDER].billing_version)
        [published] = iuow.events_of(WorkOrderBilling.TYPE)
        assert published["invoice"]["status"] == "VOID"
        assert published["invoice"]["is_paid"] is False
