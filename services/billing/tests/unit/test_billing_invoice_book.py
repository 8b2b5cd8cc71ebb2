"""The invoice aggregate's pure rules: §7.6 recompute, §9.3 access, the list cursor, audit diffs and the
request hashes of the header Idempotency-Key (vectors J with decisions 12 and 13)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from billing_service.domain.invoice_book import (
    InvoiceCaller,
    InvoiceHeader,
    ListCursor,
    assert_can_read,
    assert_can_write,
    audit_diff,
    body_request_hash,
    check_date_range,
    mark_paid_key,
    page_of,
    parse_status_filter,
    payment_usage_key,
    recomputed,
)
from billing_service.domain.invoice_errors import (
    InvalidCursor,
    InvalidInvoiceFilter,
    InvoiceReadForbidden,
    InvoiceTenantRequired,
    InvoiceWriteForbidden,
    PortalInvoiceWriteForbidden,
)
from billing_service.domain.invoices import InvoiceItem, InvoiceStatus
from billing_service.domain.money import Money

NOW = datetime(2026, 2, 24, 10, 0, tzinfo=UTC)
TENANT = "11111111-1111-4111-8111-111111111111"
ZERO = Money.zero()


def _header(status: InvoiceStatus = InvoiceStatus.ISSUED, **changes: object) -> InvoiceHeader:
    header = InvoiceHeader(
        id="00000000-0000-4000-8000-000000000001",
        tenant_id=TENANT,
        account_id="acc-1",
        account_display_name="Acme",
        work_order_id=None,
        assignment_id=None,
        channel_request_id=None,
        invoice_number="INV-25-26-00001",
        status=status,
        currency="INR",
        issued_date=date(2026, 2, 24),
        due_date=date(2026, 3, 11),
        sent_at=None,
        subtotal=ZERO,
        tax=ZERO,
        total=ZERO,
        amount_paid=ZERO,
        amount_credited=ZERO,
        amount_due=ZERO,
        is_paid=False,
        paid_at=None,
        voided_at=None,
        void_reason=None,
        bill_to_name=None,
        bill_to_address=None,
        notes=None,
        created_by_user_id=None,
        created_at=NOW,
        updated_at=NOW,
    )
    return replace(header, **changes)  # type: ignore[arg-type]


ITEM = InvoiceItem.normalized("Valuation", Decimal(1), Money.of("136"))


class TestRecompute:
    def test_partial_payment_and_credit(self) -> None:
        after = recomputed(_header(), [ITEM], [Money.of("36")], [Money.of("50")], NOW)
        assert (after.total, after.amount_due, after.status, after.is_paid, after.paid_at) == (
            Money.of("136"),
            Money.of("50"),
            InvoiceStatus.PARTIALLY_PAID,
            False,
            None,
        )

    def test_paid_keeps_its_first_paid_at(self) -> None:
        earlier = datetime(2026, 1, 1, tzinfo=UTC)
        after = recomputed(_header(paid_at=earlier), [ITEM], [Money.of("136")], [], NOW)
        assert (after.status, after.is_paid, after.paid_at) == (InvoiceStatus.PAID, True, earlier)
        fresh = recomputed(_header(), [ITEM], [Money.of("136")], [], NOW)
        assert fresh.paid_at == NOW

    def test_sent_without_money_stays_sent_and_void_owes_nothing(self) -> None:
        assert recomputed(_header(sent_at=NOW), [ITEM], [], [], NOW).status is InvoiceStatus.SENT
        void = recomputed(_header(InvoiceStatus.VOID), [ITEM], [], [], NOW)
        assert (void.status, void.amount_due, void.total) == (InvoiceStatus.VOID, ZERO, Money.of("136"))

    def test_audit_diff_names_what_changed(self) -> None:
        before = _header()
        after = recomputed(before, [ITEM], [Money.of("36")], [], NOW)
        diff = audit_diff(before, after)
        assert diff["amount_paid"] == {"from": "0", "to": "36"}
        assert diff["status"] == {"from": "ISSUED", "to": "PARTIALLY_PAID"}
        assert "invoice_number" not in diff


def _caller(
    *caps: str, portal: bool = False, super_: bool = False, tenant: str | None = TENANT
) -> InvoiceCaller:
    return InvoiceCaller(tenant, super_, portal, frozenset(caps))


class TestAccess:
    def test_read(self) -> None:
        assert assert_can_read(_caller("invoices.read")) == TENANT
        assert assert_can_read(_caller(portal=True)) == TENANT
        assert assert_can_read(_caller(super_=True)) == TENANT
        with pytest.raises(InvoiceReadForbidden):
            assert_can_read(_caller("masterdata.read"))
        with pytest.raises(InvoiceTenantRequired):
            assert_can_read(_caller("invoices.read", tenant=None))

    def test_write(self) -> None:
        assert assert_can_write(_caller("invoices.write")) == TENANT
        assert assert_can_write(_caller("billing:write")) == TENANT
        with pytest.raises(PortalInvoiceWriteForbidden):
            assert_can_write(_caller("invoices.write", portal=True))
        with pytest.raises(InvoiceWriteForbidden):
            assert_can_write(_caller("invoices.read"))


class TestList:
    def test_cursor_round_trip_and_refusals(self) -> None:
        cursor = ListCursor(NOW, "00000000-0000-4000-8000-000000000001")
        assert ListCursor.decode(cursor.encode()) == cursor
        for bad in ("", "x", ListCursor(NOW, "short").encode()):
            with pytest.raises(InvalidCursor):
                ListCursor.decode(bad)

    def test_page_of_gives_a_cursor_only_when_more_exist(self) -> None:
        rows = [_header(id=f"00000000-0000-4000-8000-00000000000{i}") for i in range(3)]
        page, cursor = page_of(rows, 2)
        assert (len(page), cursor) == (2, ListCursor(NOW, rows[1].id).encode())
        assert page_of(rows, 3) == (rows, None)

    def test_filters(self) -> None:
        assert parse_status_filter("partially_paid") is InvoiceStatus.PARTIALLY_PAID
        assert parse_status_filter(" ") is None
        with pytest.raises(InvalidInvoiceFilter):
            parse_status_filter("overdue")
        with pytest.raises(InvalidInvoiceFilter):
            check_date_range(date(2026, 2, 2), date(2026, 2, 1))


class TestKeys:
    def test_request_hashes_and_derived_keys(self) -> None:
        assert body_request_hash("void", "i-1", {"reason": "x"}) == body_request_hash(
            "void", "i-1", {"reason": "x"}
        )
        assert body_request_hash("void", "i-1", {"reason": "x"}) != body_request_hash(
            "void", "i-2", {"reason": "x"}
        )
        assert mark_paid_key("inv-1") == "invoice_mark_paid:inv-1"
        assert payment_usage_key("inv-1", None, "pay-1") == "v2:payment:inv-1:pay-1"
        assert payment_usage_key("inv-1", "k", "pay-1") == "v2:payment:inv-1:k"
