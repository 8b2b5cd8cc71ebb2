"""Reminders and payment proofs on fakes: the remind order of checks, its stored answer, attachments."""

from __future__ import annotations

import pytest

from billing_service.domain.errors import IdempotencyKeyReused, InvoiceNotRemindable
from billing_service.domain.invoice_book import body_request_hash
from billing_service.domain.invoice_errors import InvoiceIdempotencyKeyRequired
from billing_service.domain.money import Money
from billing_service.handlers.invoice_common import IdempotencyKey, InvoiceActor
from billing_service.handlers.invoice_notes import (
    AddPaymentProof,
    RemindInvoice,
    add_payment_proof,
    remind_invoice,
)
from billing_service.handlers.invoice_payments import RecordPayment, record_payment
from billing_service.repositories.invoice_book import NewAttachment
from devstack.testing.fakes import FakeUnitOfWork
from services.billing.tests.unit.handlers.conftest import USER, Draft
from services.billing.tests.unit.invoice_fakes import FakeInvoiceBook

PROOF = NewAttachment("payment_proof", "utr.pdf", "sha256/ab/cd", "application/pdf", 1234, USER)


class TestRemind:
    async def test_a_reminder_is_recorded_once_per_key(
        self, book: FakeInvoiceBook, iuow: FakeUnitOfWork, actor: InvoiceActor, issued: Draft
    ) -> None:
        made = await issued("100")
        first = await remind_invoice(iuow, RemindInvoice(actor, made.header.id, "r-1"))
        again = await remind_invoice(iuow, RemindInvoice(actor, made.header.id, "r-1"))
        assert first == again
        assert (first.status, first.message) == ("ok", f"Reminder recorded for {made.header.invoice_number}")
        assert [a.event_type for a in book.audits[made.header.id]].count("reminder_sent") == 1

    async def test_a_settled_invoice_is_409_before_the_missing_key(
        self, iuow: FakeUnitOfWork, actor: InvoiceActor, issued: Draft
    ) -> None:
        made = await issued("10")
        with pytest.raises(InvoiceIdempotencyKeyRequired, match="Idempotency-Key header is required"):
            await remind_invoice(iuow, RemindInvoice(actor, made.header.id, None))
        await record_payment(iuow, RecordPayment(actor, made.header.id, Money.of("10")))
        with pytest.raises(InvoiceNotRemindable, match="Invoice already settled or voided"):
            await remind_invoice(iuow, RemindInvoice(actor, made.header.id, None))


class TestPaymentProof:
    async def test_a_proof_is_attached_and_audited(
        self, book: FakeInvoiceBook, iuow: FakeUnitOfWork, actor: InvoiceActor, issued: Draft
    ) -> None:
        made = await issued("100")
        row = await add_payment_proof(iuow, AddPaymentProof(actor, made.header.id, PROOF))
        assert (row.kind, row.storage_key, row.size_bytes) == ("payment_proof", "sha256/ab/cd", 1234)
        assert book.audits[made.header.id][-1].diff_json["attachment_id"] == row.id

    async def test_a_retry_with_the_key_attaches_once(
        self, book: FakeInvoiceBook, iuow: FakeUnitOfWork, actor: InvoiceActor, draft: Draft
    ) -> None:
        made = await draft("100")
        iid = made.header.id
        key = IdempotencyKey(
            "invoice_payment_proof", "pp-1", body_request_hash("payment_proof", iid, {"n": 1})
        )
        first = await add_payment_proof(iuow, AddPaymentProof(actor, iid, PROOF, key))
        again = await add_payment_proof(iuow, AddPaymentProof(actor, iid, PROOF, key))
        assert first == again
        assert len(book.attached[iid]) == 1
        other = IdempotencyKey(
            "invoice_payment_proof", "pp-1", body_request_hash("payment_proof", iid, {"n": 2})
        )
        with pytest.raises(IdempotencyKeyReused):
            await add_payment_proof(iuow, AddPaymentProof(actor, iid, PROOF, other))
        assert len(book.attached[iid]) == 1
