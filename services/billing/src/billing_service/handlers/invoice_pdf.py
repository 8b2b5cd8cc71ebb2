"""``GET /:id/pdf`` (decision 33): the invoice rendered as a PDF from the detail ``GET /:id`` reads."""

from __future__ import annotations

from dataclasses import dataclass

from billing_service.handlers.invoice_queries import ShowInvoice, show_invoice
from billing_service.rendering.invoice_pdf import render_invoice_pdf, verification_hash
from shared.db.uow import UnitOfWork


@dataclass(frozen=True, slots=True)
class InvoicePdf:
    """The document, its download name and the verification hash printed on it."""

    content: bytes
    filename: str
    sha256: str


def _filename(number: str | None, invoice_id: str) -> str:
    name = number or f"DRAFT-{invoice_id}"
    safe = "".join(ch if ch.isalnum() or ch in "-_." else "-" for ch in name)
    return f"invoice-{safe}.pdf"


async def invoice_pdf(uow: UnitOfWork, query: ShowInvoice) -> InvoicePdf:
    """The PDF of one invoice of the actor's tenant (404 ``INVOICE_NOT_FOUND`` as ``GET /:id``)."""
    detail = await show_invoice(uow, query)
    return InvoicePdf(
        render_invoice_pdf(detail),
        _filename(detail.header.invoice_number, detail.header.id),
        verification_hash(detail),
    )
