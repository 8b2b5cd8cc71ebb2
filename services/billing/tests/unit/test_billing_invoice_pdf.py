"""The invoice PDF renderer (decision 33): reproducible bytes, the text layer, Indian grouping."""

from __future__ import annotations

import io
from dataclasses import replace
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from pypdf import PdfReader

from billing_service.domain.invoice_book import AdjustmentLine, InvoiceHeader, PaymentLine
from billing_service.domain.invoices import InvoiceItem, InvoiceStatus
from billing_service.domain.money import Money
from billing_service.handlers.invoice_queries import InvoiceDetail
from billing_service.rendering.amounts import format_amount, indian_grouping
from billing_service.rendering.invoice_pdf import canonical_state, render_invoice_pdf, verification_hash
from billing_service.repositories.invoice_book import ItemRow
from shared.stable_json import stable_sha256

AT = datetime(2026, 4, 2, 6, 30, tzinfo=UTC)


def _detail(*, number: str | None = "ZO/2026-27/0007", paid: str = "50000.00") -> InvoiceDetail:
    items = [
        ItemRow(
            "a0000000-0000-4000-8000-000000000001",
            InvoiceItem.normalized(
                "Valuation of Flat 4B, Indiranagar", Decimal("2"), Money.of("52320"), tax_rate=Decimal("18")
            ),
        ),
        ItemRow(
            "a0000000-0000-4000-8000-000000000002",
            InvoiceItem.normalized("Site visit", Decimal("1"), Money.of("3000"), order_index=1),
        ),
    ]
    header = InvoiceHeader(
        id="b0000000-0000-4000-8000-000000000001",
        tenant_id="c0000000-0000-4000-8000-000000000001",
        account_id="d0000000-0000-4000-8000-000000000001",
        account_display_name="Acme Bank",
        work_order_id=None,
        assignment_id=None,
        channel_request_id=None,
        invoice_number=number,
        status=InvoiceStatus.PARTIALLY_PAID if number else InvoiceStatus.DRAFT,
        currency="INR",
        issued_date=date(2026, 4, 1) if number else None,
        due_date=date(2026, 4, 16) if number else None,
        sent_at=None,
        subtotal=Money.of("107640.00"),
        tax=Money.of("18835.20"),
        total=Money.of("126475.20"),
        amount_paid=Money.of(paid),
        amount_credited=Money.of("1000.00"),
        amount_due=Money.of("126475.20") - Money.of(paid) - Money.of("1000.00"),
        is_paid=False,
        paid_at=None,
        voided_at=None,
        void_reason=None,
        bill_to_name="Acme Bank Ltd",
        bill_to_address="12 MG Road\nBengaluru 560001",
        notes="Thank you",
        created_by_user_id=None,
        created_at=AT,
        updated_at=AT,
    )
    payments = [
        PaymentLine("e0000000-0000-4000-8000-000000000001", Money.of(paid), AT, "upi", "UTR123", None)
    ]
    credits = [
        AdjustmentLine("f0000000-0000-4000-8000-000000000001", Money.of("1000"), "credit", "Goodwill", AT)
    ]
    return InvoiceDetail(header, items, payments, credits, [], [])


def _text(pdf: bytes) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)


@pytest.mark.parametrize(
    ("amount", "text"),
    [
        ("0", "₹0.00"),
        ("5.5", "₹5.50"),
        ("999", "₹999.00"),
        ("1000", "₹1,000.00"),
        ("123456", "₹1,23,456.00"),
        ("12345678.9", "₹1,23,45,678.90"),
        ("-500", "-₹500.00"),
    ],
)
def test_indian_grouping(amount: str, text: str) -> None:
    assert format_amount(Decimal(amount)) == text


def test_grouping_of_digits() -> None:
    assert [indian_grouping(d) for d in ("1", "1234", "123456789")] == ["1", "1,234", "12,34,56,789"]


def test_same_state_same_bytes() -> None:
    first = render_invoice_pdf(_detail())
    assert first.startswith(b"%PDF-")
    assert render_invoice_pdf(_detail()) == first


def test_another_state_other_bytes_and_hash() -> None:
    assert render_invoice_pdf(_detail(paid="60000.00")) != render_invoice_pdf(_detail())
    assert verification_hash(_detail(paid="60000.00")) != verification_hash(_detail())


def test_the_audit_trail_and_update_time_do_not_change_the_document() -> None:
    detail = _detail()
    touched = replace(detail, header=replace(detail.header, updated_at=datetime(2027, 1, 1, tzinfo=UTC)))
    assert render_invoice_pdf(touched) == render_invoice_pdf(detail)


def test_the_text_layer_carries_number_totals_items_payments_and_hash() -> None:
    detail = _detail()
    text = _text(render_invoice_pdf(detail))
    digest = stable_sha256(canonical_state(detail))
    assert digest == verification_hash(detail)
    for expected in (
        "ZO/2026-27/0007",
        "PARTIALLY_PAID",
        "Acme Bank Ltd",
        "Bengaluru 560001",
        "2026-04-01",
        "2026-04-16",
        "Valuation of Flat 4B, Indiranagar",
        "₹52,320.00",
        "₹1,04,640.00",
        "18",
        "₹1,07,640.00",
        "₹18,835.20",
        "₹1,26,475.20",
        "₹50,000.00",
        "₹1,000.00",
        "₹75,475.20",
        "UTR123",
        "Goodwill",
        digest,
    ):
        assert expected in text, expected


def test_a_draft_says_draft() -> None:
    text = _text(render_invoice_pdf(_detail(number=None)))
    assert "Invoice number: DRAFT" in text
    assert "DRAFT INVOICE" in text


def test_many_items_flow_onto_more_pages() -> None:
    detail = _detail()
    row = detail.items[1]
    many = [replace(row, item=replace(row.item, order_index=i)) for i in range(120)]
    pdf = render_invoice_pdf(replace(detail, items=many))
    reader = PdfReader(io.BytesIO(pdf))
    assert len(reader.pages) > 1
    assert all(verification_hash(replace(detail, items=many)) in p.extract_text() for p in reader.pages)


def test_long_and_foreign_text_wraps_and_renders() -> None:
    detail = _detail()
    reason = " ".join(f"word{n}" for n in range(80))
    credit = replace(detail.adjustments[0], reason=reason)
    header = replace(detail.header, bill_to_name="ಕನ್ನಡ हिन्दी " + "Acme " * 60, notes="a\tb\u202ec")
    text = _text(render_invoice_pdf(replace(detail, header=header, adjustments=[credit])))
    assert "word79" in text
    assert text.count("Acme") >= 60  # the whole wrapped bill-to name, none cut off at the edge
