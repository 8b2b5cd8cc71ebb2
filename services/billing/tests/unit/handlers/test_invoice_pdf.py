"""``GET /:id/pdf`` on fakes: the PDF of the detail ``GET /:id`` reads, reproducible, tenant-scoped."""

from __future__ import annotations

import io

import pytest
from pypdf import PdfReader

from billing_service.domain.invoice_errors import InvoiceNotFound
from billing_service.domain.money import Money
from billing_service.handlers.invoice_common import InvoiceActor
from billing_service.handlers.invoice_payments import RecordPayment, record_payment
from billing_service.handlers.invoice_pdf import invoice_pdf
from billing_service.handlers.invoice_queries import ShowInvoice, show_invoice
from billing_service.rendering.invoice_pdf import verification_hash
from devstack.testing.fakes import FakeUnitOfWork
from services.billing.tests.unit.handlers.conftest import USER, Draft

OTHER = InvoiceActor("44444444-4444-4444-8444-444444444444", USER)


def _text(pdf: bytes) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)


async def test_the_pdf_of_an_issued_invoice(iuow: FakeUnitOfWork, actor: InvoiceActor, issued: Draft) -> None:
    made = await issued("123456")
    number = made.header.invoice_number
    assert number is not None
    first = await invoice_pdf(iuow, ShowInvoice(actor, made.header.id))
    again = await invoice_pdf(iuow, ShowInvoice(actor, made.header.id))
    assert first == again
    detail = await show_invoice(iuow, ShowInvoice(actor, made.header.id))
    assert first.sha256 == verification_hash(detail)
    assert first.filename.endswith(".pdf")
    assert "/" not in first.filename
    text = _text(first.content)
    assert number in text
    assert "₹1,23,456.00" in text
    assert first.sha256 in text


async def test_a_payment_changes_the_document(
    iuow: FakeUnitOfWork, actor: InvoiceActor, issued: Draft
) -> None:
    made = await issued("100")
    before = await invoice_pdf(iuow, ShowInvoice(actor, made.header.id))
    await record_payment(iuow, RecordPayment(actor, made.header.id, Money.of("40")))
    after = await invoice_pdf(iuow, ShowInvoice(actor, made.header.id))
    assert after.content != before.content
    assert after.sha256 != before.sha256
    assert "PARTIALLY_PAID" in _text(after.content)


async def test_a_draft_is_marked_draft(iuow: FakeUnitOfWork, actor: InvoiceActor, draft: Draft) -> None:
    made = await draft("10")
    pdf = await invoice_pdf(iuow, ShowInvoice(actor, made.header.id))
    assert "Invoice number: DRAFT" in _text(pdf.content)
    assert pdf.filename == f"invoice-DRAFT-{made.header.id}.pdf"


async def test_another_tenant_gets_404(iuow: FakeUnitOfWork, issued: Draft) -> None:
    made = await issued("10")
    with pytest.raises(InvoiceNotFound):
        await invoice_pdf(iuow, ShowInvoice(OTHER, made.header.id))
