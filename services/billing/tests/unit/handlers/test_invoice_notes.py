"""Reminders and payment proofs on fakes: the remind order of checks, its stored answer, attachments."""

from __future__ import annotations

import uuid

import pytest

from billing_service.domain.errors import IdempotencyKeyReused, InvoiceNotRemindable
from billing_service.domain.invoice_book import body_request_hash
from billing_service.domain.invoice_errors import InvoiceIdempotencyKeyRequired, PaymentProofDocumentUnknown
from billing_service.domain.money import Money
from billing_service.handlers.invoice_common import IdempotencyKey, InvoiceActor
from billing_service.handlers.invoice_documents import ProjectDocument, project_document
from billing_service.handlers.invoice_notes import (
    AddPaymentProof,
    RemindInvoice,
    add_payment_proof,
    remind_invoice,
)
from billing_service.handlers.invoice_payments import RecordPayment, record_payment
from billing_service.repositories.invoice_book import KnownDocument, NewAttachment
from devstack.testing.fakes import FakeUnitOfWork
from services.billing.tests.unit.fakes import TENANT
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


MINE = "5b0c1f3e-0000-4000-8000-000000000001"


async def _uploaded(uow: FakeUnitOfWork, tenant: str = TENANT, document_id: str = MINE) -> None:
    document = KnownDocument(document_id, PROOF.storage_key, "ab" * 32, "utr.pdf", "application/pdf", 1234, 1)
    await project_document(uow, ProjectDocument(tenant, document))


class TestPaymentProof:
    async def test_only_an_uploaded_document_is_accepted(
        self, book: FakeInvoiceBook, iuow: FakeUnitOfWork, actor: InvoiceActor, issued: Draft
    ) -> None:
        made = await issued("100")
        with pytest.raises(PaymentProofDocumentUnknown):
            await add_payment_proof(iuow, AddPaymentProof(actor, made.header.id, PROOF))
        await _uploaded(
            iuow, "44444444-4444-4444-8444-444444444444", str(uuid.uuid4())
        )  # another tenant's upload
        with pytest.raises(PaymentProofDocumentUnknown):
            await add_payment_proof(iuow, AddPaymentProof(actor, made.header.id, PROOF))
        assert book.attached == {}
        await _uploaded(iuow)
        await _uploaded(iuow)  # a redelivery changes nothing
        assert len(book.documents) == 2
        row = await add_payment_proof(iuow, AddPaymentProof(actor, made.header.id, PROOF))
        assert book.attached[made.header.id] == [row]

    async def test_a_proof_is_attached_and_audited(
        self, book: FakeInvoiceBook, iuow: FakeUnitOfWork, actor: InvoiceActor, issued: Draft
    ) -> None:
        await _uploaded(iuow)
        made = await issued("100")
        row = await add_payment_proof(iuow, AddPaymentProof(actor, made.header.id, PROOF))
        assert (row.kind, row.storage_key, row.size_bytes) == ("payment_proof", "sha256/ab/cd", 1234)
        assert book.audits[made.header.id][-1].diff_json["attachment_id"] == row.id

    async def test_a_retry_with_the_key_attaches_once(
        self, book: FakeInvoiceBook, iuow: FakeUnitOfWork, actor: InvoiceActor, draft: Draft
    ) -> None:
        await _uploaded(iuow)
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
