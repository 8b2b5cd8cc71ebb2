"""Payments, mark-paid and credit notes on fakes: INV-01 (one payment per key), INV-05 (refusals that
change nothing), partial then full payment, credits, usage and audit, and the release gate seeing the
acceptance invoice paid (result PAID, no override)."""

from __future__ import annotations

import pytest

from billing_service.domain.errors import (
    AmountExceedsDue,
    AmountNotPositive,
    IdempotencyKeyReused,
    InvoiceAlreadySettled,
    InvoiceNotAdjustable,
    InvoiceNotPayable,
)
from billing_service.domain.invoices import InvoiceStatus
from billing_service.domain.money import Money
from billing_service.handlers import DecideRelease, decide_release
from billing_service.handlers.invoice_common import InvoiceActor
from billing_service.handlers.invoice_lifecycle import IssueInvoice, VoidInvoice, issue_invoice, void_invoice
from billing_service.handlers.invoice_payments import (
    AddAdjustment,
    MarkPaid,
    RecordPayment,
    add_adjustment,
    mark_paid,
    record_payment,
)
from devstack.testing.fakes import FakeUnitOfWork
from services.billing.tests.unit.fakes import TENANT, WORK_ORDER, Accept, FakeBilling
from services.billing.tests.unit.handlers.conftest import Draft
from services.billing.tests.unit.invoice_fakes import FakeInvoiceBook
from shared.contracts.billing import WorkOrderBilling
from shared.contracts.factory import ReleaseRequested


def _pay(
    actor: InvoiceActor, invoice_id: str, amount: str, key: str | None = None, **more: str
) -> RecordPayment:
    return RecordPayment(actor, invoice_id, Money.of(amount), idempotency_key=key, **more)


class TestPayment:
    async def test_inv_01_a_retry_with_the_key_pays_once(
        self,
        billing: FakeBilling,
        book: FakeInvoiceBook,
        iuow: FakeUnitOfWork,
        actor: InvoiceActor,
        issued: Draft,
    ) -> None:
        made = await issued("100")
        iid = made.header.id
        payment = _pay(actor, iid, "100", "idem-mark-paid", mode="manual", reference="proof-1")
        first = await record_payment(iuow, payment)
        second = await record_payment(iuow, payment)
        assert (first.header.status, second.header.status, second.replayed) == (
            InvoiceStatus.PAID,
            InvoiceStatus.PAID,
            True,
        )
        assert len(book.paid[iid]) == 1
        assert book.keys[(TENANT, "invoice_payment", "idem-mark-paid")].request_hash == (
            f"invoice_payment:{iid}:100:manual:proof-1:"
        )
        [paid] = billing.usage.of_type("invoice_paid")
        assert paid.idempotency_key == f"v2:payment:{iid}:idem-mark-paid"

    async def test_the_same_key_with_another_amount_is_409(
        self, book: FakeInvoiceBook, iuow: FakeUnitOfWork, actor: InvoiceActor, issued: Draft
    ) -> None:
        made = await issued("100")
        await record_payment(iuow, _pay(actor, made.header.id, "40", "k"))
        with pytest.raises(IdempotencyKeyReused):
            await record_payment(iuow, _pay(actor, made.header.id, "41", "k"))
        assert [p.amount for p in book.paid[made.header.id]] == [Money.of("40")]

    async def test_partial_then_full(
        self,
        billing: FakeBilling,
        book: FakeInvoiceBook,
        iuow: FakeUnitOfWork,
        actor: InvoiceActor,
        issued: Draft,
    ) -> None:
        made = await issued("136")
        part = await record_payment(iuow, _pay(actor, made.header.id, "36"))
        assert (part.header.status, part.header.amount_due, part.header.amount_paid) == (
            InvoiceStatus.PARTIALLY_PAID,
            Money.of("100"),
            Money.of("36"),
        )
        full = await record_payment(iuow, _pay(actor, made.header.id, "100"))
        assert (full.header.status, full.header.is_paid, full.header.paid_at is not None) == (
            InvoiceStatus.PAID,
            True,
            True,
        )
        assert len(billing.usage.of_type("payment_recorded")) == 1
        assert len(billing.usage.of_type("invoice_paid")) == 1
        assert [a.event_type for a in book.audits[made.header.id]][-2:] == [
            "payment_recorded",
            "payment_recorded",
        ]

    @pytest.mark.parametrize(("amount", "error"), [("150", AmountExceedsDue), ("0", AmountNotPositive)])
    async def test_inv_05_amount_refusals_change_nothing(
        self,
        book: FakeInvoiceBook,
        iuow: FakeUnitOfWork,
        actor: InvoiceActor,
        issued: Draft,
        amount: str,
        error: type[Exception],
    ) -> None:
        made = await issued("136")
        before = book.headers[made.header.id]
        with pytest.raises(error):
            await record_payment(iuow, _pay(actor, made.header.id, amount, "k-refused"))
        assert book.headers[made.header.id] == before
        assert made.header.id not in book.paid
        assert book.keys == {}

    async def test_inv_05_draft_and_void_are_not_payable(
        self, book: FakeInvoiceBook, iuow: FakeUnitOfWork, actor: InvoiceActor, draft: Draft, issued: Draft
    ) -> None:
        drafted = await draft("136")
        with pytest.raises(InvoiceNotPayable, match="Invoice is not payable"):
            await record_payment(iuow, _pay(actor, drafted.header.id, "10"))
        voided = await issued("136")
        await void_invoice(iuow, VoidInvoice(actor, voided.header.id, "wrong customer"))
        with pytest.raises(InvoiceNotPayable):
            await record_payment(iuow, _pay(actor, voided.header.id, "10"))
        assert book.paid == {}

    async def test_a_settled_invoice_refuses_more(
        self, book: FakeInvoiceBook, iuow: FakeUnitOfWork, actor: InvoiceActor, issued: Draft
    ) -> None:
        made = await issued("10")
        await record_payment(iuow, _pay(actor, made.header.id, "10"))
        with pytest.raises(InvoiceAlreadySettled, match="Invoice already settled"):
            await record_payment(iuow, _pay(actor, made.header.id, "1"))
        assert len(book.paid[made.header.id]) == 1


class TestMarkPaid:
    async def test_settles_the_amount_due_once(
        self, book: FakeInvoiceBook, iuow: FakeUnitOfWork, actor: InvoiceActor, issued: Draft
    ) -> None:
        made = await issued("80", "20")
        await record_payment(iuow, _pay(actor, made.header.id, "30"))
        paid = await mark_paid(iuow, MarkPaid(actor, made.header.id))
        again = await mark_paid(iuow, MarkPaid(actor, made.header.id))
        assert (paid.header.status, again.header.status) == (InvoiceStatus.PAID, InvoiceStatus.PAID)
        assert [p.amount for p in book.paid[made.header.id]] == [Money.of("30"), Money.of("70")]
        assert (TENANT, "invoice_payment", f"invoice_mark_paid:{made.header.id}") in book.keys


class TestAdjustment:
    async def test_a_credit_note_lowers_what_is_due(
        self, book: FakeInvoiceBook, iuow: FakeUnitOfWork, actor: InvoiceActor, issued: Draft
    ) -> None:
        made = await issued("100")
        credited = await add_adjustment(
            iuow, AddAdjustment(actor, made.header.id, Money.of("25"), reason="late")
        )
        assert (credited.header.status, credited.header.amount_credited, credited.header.amount_due) == (
            InvoiceStatus.PARTIALLY_PAID,
            Money.of("25"),
            Money.of("75"),
        )
        assert book.audits[made.header.id][-1].event_type == "adjustment_added"

    async def test_a_draft_is_not_adjustable(
        self, book: FakeInvoiceBook, iuow: FakeUnitOfWork, actor: InvoiceActor, draft: Draft
    ) -> None:
        made = await draft("100")
        with pytest.raises(InvoiceNotAdjustable, match="Invoice is not adjustable"):
            await add_adjustment(iuow, AddAdjustment(actor, made.header.id, Money.of("5")))
        assert book.credited == {}


class TestTheGateSeesIt:
    async def test_a_paid_acceptance_invoice_releases_with_paid(
        self,
        billing: FakeBilling,
        accept: Accept,
        uow: FakeUnitOfWork,
        iuow: FakeUnitOfWork,
        actor: InvoiceActor,
    ) -> None:
        await accept()
        invoice_id = billing.work_orders.rows[WORK_ORDER].invoice_id
        assert invoice_id is not None
        await issue_invoice(iuow, IssueInvoice(actor, invoice_id))
        await record_payment(iuow, _pay(actor, invoice_id, "40"))
        paid = await record_payment(iuow, _pay(actor, invoice_id, "60"))
        assert paid.work_order_version == (WORK_ORDER, billing.work_orders.rows[WORK_ORDER].billing_version)
        last = iuow.events_of(WorkOrderBilling.TYPE)[-1]
        assert (last["invoice"]["status"], last["invoice"]["is_paid"]) == ("PAID", True)
        release = ReleaseRequested(
            release_id="r-1",
            work_order_id=WORK_ORDER,
            idempotency_key="rel-1",
            override=False,
            override_reason=None,
            pack_id="p-1",
            job_status="SUCCEEDED",
            requested_at="2026-02-24T10:00:00.000Z",
        )
        outcome = await decide_release(uow, DecideRelease(release, "m-r-1", TENANT))
        assert outcome is not None
        assert (outcome.result, outcome.override_applied) == ("PAID", False)
