"""The invoice PDF (decision 33): a pure function from an invoice detail to PDF bytes.

Byte-reproducible for the same invoice state: ReportLab's ``invariant`` mode fixes the creation date and
the document ``/ID``, the metadata comes from the invoice only, and nothing of the request (clock, caller,
host) reaches the page. Printed on it: the number (or "DRAFT"), status, bill-to, dates, the items with
quantity, unit price, tax rate and line total, the totals, payments and credit notes, and the
verification hash: SHA-256 of the invoice's canonical JSON state (``shared.stable_json``), which
anyone holding the invoice's JSON can recompute (``canonical_state`` names the fields).

Amounts use the DejaVu Sans TrueType font (Debian ``fonts-dejavu-core``) for the rupee sign; on a machine
without it the page falls back to Helvetica and writes "INR " instead of "₹".
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

from reportlab.lib.pagesizes import A4

from billing_service.domain.invoices import InvoiceStatus
from billing_service.domain.money import Money
from billing_service.handlers.invoice_queries import InvoiceDetail
from billing_service.rendering.amounts import RUPEE, format_amount, format_quantity
from shared.stable_json import stable_sha256

if TYPE_CHECKING:
    from reportlab.pdfgen.canvas import Canvas

__all__ = ["PDF_MEDIA_TYPE", "canonical_state", "render_invoice_pdf", "verification_hash"]

PDF_MEDIA_TYPE = "application/pdf"

#: where Debian's fonts-dejavu-core puts the fonts (deploy/system-packages.txt)
FONT_DIRS = (Path("/usr/share/fonts/truetype/dejavu"), Path("/usr/share/fonts/dejavu"))
_REGULAR, _BOLD = "ZenOpsDejaVuSans", "ZenOpsDejaVuSans-Bold"


@dataclass(frozen=True, slots=True)
class _Fonts:
    regular: str
    bold: str
    symbol: str  # the currency symbol the font can draw


def _fonts() -> _Fonts:
    # reportlab's canvas and fonts (~6 MB) are imported where an invoice is rendered, not at start-up
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.ttfonts import TTFont

    registered = pdfmetrics.getRegisteredFontNames()
    if _REGULAR in registered and _BOLD in registered:
        return _Fonts(_REGULAR, _BOLD, RUPEE)
    for folder in FONT_DIRS:
        regular, bold = folder / "DejaVuSans.ttf", folder / "DejaVuSans-Bold.ttf"
        if regular.is_file() and bold.is_file():
            pdfmetrics.registerFont(TTFont(_REGULAR, str(regular)))
            pdfmetrics.registerFont(TTFont(_BOLD, str(bold)))
            return _Fonts(_REGULAR, _BOLD, RUPEE)
    return _Fonts("Helvetica", "Helvetica-Bold", "INR ")  # pragma: no cover - machines without DejaVu


# --- the canonical state and its hash --------------------------------------------------------------------


def _money(value: Money) -> str:
    return f"{value.amount:f}"


def _day(value: date | None) -> str | None:
    return value.isoformat() if value else None


def _instant(value: datetime | None) -> str | None:
    if value is None:
        return None
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _decimal(value: Decimal | None) -> str | None:
    return None if value is None else format_quantity(value)


def canonical_state(detail: InvoiceDetail) -> dict[str, Any]:
    """What the verification hash covers: everything printed, plus the ids that name it. Amounts are
    decimal strings (exact), dates ``YYYY-MM-DD``, instants ISO-8601 UTC. Attachments, the audit trail and
    ``updated_at`` are left out: they do not change what the invoice says."""
    h = detail.header
    return {
        "id": h.id,
        "tenant_id": h.tenant_id,
        "account_id": h.account_id,
        "invoice_number": h.invoice_number,
        "status": h.status.value.upper(),
        "currency": h.currency,
        "issued_date": _day(h.issued_date),
        "due_date": _day(h.due_date),
        "bill_to_name": h.bill_to_name,
        "bill_to_address": h.bill_to_address,
        "notes": h.notes,
        "void_reason": h.void_reason,
        "subtotal": _money(h.subtotal),
        "tax": _money(h.tax),
        "total": _money(h.total),
        "amount_credited": _money(h.amount_credited),
        "amount_paid": _money(h.amount_paid),
        "amount_due": _money(h.amount_due),
        "items": [
            {
                "id": row.id,
                "description": row.item.description,
                "quantity": _decimal(row.item.quantity),
                "unit_price": _money(row.item.unit_price),
                "tax_rate": _decimal(row.item.tax_rate),
                "tax_code": row.item.tax_code,
                "service_code": row.item.service_code,
                "line_total": _money(row.item.line_total),
                "order_index": row.item.order_index,
            }
            for row in detail.items
        ],
        "payments": [
            {
                "id": p.id,
                "amount": _money(p.amount),
                "paid_at": _instant(p.paid_at),
                "mode": p.mode,
                "reference": p.reference,
            }
            for p in detail.payments
        ],
        "credit_notes": [
            {
                "id": a.id,
                "amount": _money(a.amount),
                "adjustment_type": a.adjustment_type,
                "reason": a.reason,
                "issued_at": _instant(a.issued_at),
            }
            for a in detail.adjustments
        ],
    }


def verification_hash(detail: InvoiceDetail) -> str:
    """SHA-256 (hex) of the canonical state's stable JSON."""
    return stable_sha256(canonical_state(detail))


# --- the page -----------------------------------------------------------------------------------------

_WIDTH, _HEIGHT = A4
_MARGIN = 40.0
_LINE = 14.0
# item table columns: (left edge, right-aligned?)
_COL_DESC, _COL_QTY, _COL_PRICE, _COL_TAX, _COL_TOTAL = 40.0, 330.0, 420.0, 470.0, 555.0
_DESC_WIDTH = 240.0
_ENTRY_WIDTH = 400.0


class _Page:
    """A cursor over the pages: writes lines top-down and starts a new page when the current is full."""

    def __init__(self, canvas: Canvas, fonts: _Fonts, footer: str) -> None:
        self.canvas = canvas
        self.fonts = fonts
        self.footer = footer
        self.number = 1
        self.y = _HEIGHT - _MARGIN

    def _finish(self) -> None:
        c = self.canvas
        c.setFont(self.fonts.regular, 7)
        c.drawString(_MARGIN, 20, self.footer)
        c.drawRightString(_WIDTH - _MARGIN, 20, f"Page {self.number}")

    def need(self, height: float) -> None:
        if self.y - height < _MARGIN + 20:
            self._finish()
            self.canvas.showPage()
            self.number += 1
            self.y = _HEIGHT - _MARGIN

    def text(self, value: str, *, size: float = 10, bold: bool = False, x: float = _MARGIN) -> None:
        self.need(_LINE)
        self.canvas.setFont(self.fonts.bold if bold else self.fonts.regular, size)
        self.canvas.drawString(x, self.y, value)
        self.y -= size + 4

    def row(self, cells: list[tuple[float, str, bool]], *, bold: bool = False, size: float = 9) -> None:
        """One line of cells: (x, text, right-aligned)."""
        self.need(_LINE)
        self.canvas.setFont(self.fonts.bold if bold else self.fonts.regular, size)
        for x, value, right in cells:
            if right:
                self.canvas.drawRightString(x, self.y, value)
            else:
                self.canvas.drawString(x, self.y, value)
        self.y -= size + 4

    def gap(self, height: float = 8) -> None:
        self.y -= height

    def close(self) -> None:
        self._finish()
        self.canvas.showPage()


def _lines(value: str, font: str, size: float, width: float) -> Iterator[str]:
    from reportlab.lib.utils import simpleSplit

    for paragraph in value.splitlines() or [""]:
        yield from simpleSplit(paragraph, font, size, width) or [""]


def _entry(page: _Page, label: str, amount: str) -> None:
    """A payment or credit note: its label wrapped left of the amount column, the amount on line one."""
    lines = list(_lines(label.rstrip(), page.fonts.regular, 9, _ENTRY_WIDTH))
    page.row([(_COL_DESC, lines[0], False), (_COL_TOTAL, amount, True)])
    for more in lines[1:]:
        page.row([(_COL_DESC, more, False)])


def render_invoice_pdf(detail: InvoiceDetail) -> bytes:
    """The invoice as PDF bytes: the same detail gives the same bytes, on any request."""
    fonts = _fonts()
    h = detail.header
    digest = verification_hash(detail)

    def money(value: Money) -> str:
        return format_amount(value.amount, fonts.symbol)

    from reportlab.pdfgen.canvas import Canvas

    number = h.invoice_number or "DRAFT"
    buffer = io.BytesIO()
    canvas = Canvas(buffer, pagesize=A4, invariant=True, pageCompression=1)
    canvas.setTitle(f"Invoice {number}")
    canvas.setAuthor("ZenOps Repogen")
    canvas.setCreator("ZenOps Repogen billing")
    canvas.setSubject(f"SHA-256 {digest}")
    page = _Page(canvas, fonts, f"Verification SHA-256: {digest}")

    page.text("INVOICE" if h.invoice_number else "DRAFT INVOICE", size=16, bold=True)
    page.text(f"Invoice number: {number}", bold=True)
    page.text(f"Status: {h.status.value.upper()}")
    page.text(f"Issue date: {_day(h.issued_date) or '-'}    Due date: {_day(h.due_date) or '-'}")
    page.text(f"Currency: {h.currency}")
    if h.status is InvoiceStatus.VOID:
        page.text(f"VOID: {h.void_reason or '-'}", bold=True)
    page.gap()
    page.text("Bill to", bold=True)
    bill_to = f"{h.bill_to_name or h.account_display_name}\n{h.bill_to_address or ''}"
    for line in _lines(bill_to, fonts.regular, 10, _WIDTH - 2 * _MARGIN):
        if line:
            page.text(line)
    page.gap()

    page.row(
        [
            (_COL_DESC, "Description", False),
            (_COL_QTY, "Qty", True),
            (_COL_PRICE, "Unit price", True),
            (_COL_TAX, "Tax %", True),
            (_COL_TOTAL, "Line total", True),
        ],
        bold=True,
    )
    for row in detail.items:
        item = row.item
        described = list(_lines(item.description, fonts.regular, 9, _DESC_WIDTH))
        page.row(
            [
                (_COL_DESC, described[0], False),
                (_COL_QTY, format_quantity(item.quantity), True),
                (_COL_PRICE, money(item.unit_price), True),
                (_COL_TAX, format_quantity(item.tax_rate) if item.tax_rate is not None else "-", True),
                (_COL_TOTAL, money(item.line_total), True),
            ]
        )
        for more in described[1:]:
            page.row([(_COL_DESC, more, False)])
    page.gap()

    for label, value in (
        ("Subtotal", h.subtotal),
        ("Tax", h.tax),
        ("Total", h.total),
        ("Credited", h.amount_credited),
        ("Paid", h.amount_paid),
        ("Amount due", h.amount_due),
    ):
        page.row(
            [(_COL_TAX, label, True), (_COL_TOTAL, money(value), True)], bold=label in {"Total", "Amount due"}
        )
    page.gap()

    page.text("Payments", bold=True)
    if not detail.payments:
        page.text("None", size=9)
    for p in detail.payments:
        _entry(page, f"{_instant(p.paid_at)}  {p.mode}  {p.reference or ''}", money(p.amount))
    page.gap()
    page.text("Credit notes", bold=True)
    if not detail.adjustments:
        page.text("None", size=9)
    for a in detail.adjustments:
        _entry(page, f"{_instant(a.issued_at)}  {a.adjustment_type}  {a.reason or ''}", money(a.amount))
    if h.notes:
        page.gap()
        page.text("Notes", bold=True)
        for line in _lines(h.notes, fonts.regular, 9, _WIDTH - 2 * _MARGIN):
            page.text(line, size=9)
    page.gap()
    page.text("Verification hash (SHA-256 of the invoice's canonical JSON state):", size=8, bold=True)
    page.text(digest, size=8)
    page.close()
    canvas.save()
    return buffer.getvalue()
