"""Service invoices: FY labels in IST (decision 12), due dates (decision 13), totals and guards."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from billing_service.domain.errors import (
    AmountExceedsDue,
    AmountNotPositive,
    IdempotencyKeyReused,
    InvoiceAlreadyIssued,
    InvoiceAlreadySettled,
    InvoiceHasPayments,
    InvoiceNotAdjustable,
    InvoiceNotDraft,
    InvoiceNotPayable,
    InvoiceNotRemindable,
    InvoiceNotSendable,
)
from billing_service.domain.invoices import (
    InvoiceItem,
    InvoiceStatus,
    compute_totals,
    derive_status,
    due_date_for,
    ensure_can_adjust,
    ensure_can_issue,
    ensure_can_pay,
    ensure_can_remind,
    ensure_can_send,
    ensure_can_update,
    financial_year_label,
    financial_year_of,
    invoice_number,
    is_replay,
    issue_dates,
    issue_request_hash,
    payment_request_hash,
    should_void,
)
from billing_service.domain.money import Money


class TestNumbering:
    @pytest.mark.parametrize(
        ("day", "label"),
        [
            (date(2026, 3, 31), "25-26"),
            (date(2026, 4, 1), "26-27"),
            (date(2026, 1, 1), "25-26"),
            (date(2099, 12, 31), "99-00"),
            (date(2000, 2, 1), "99-00"),
        ],
    )
    def test_fy_label(self, day: date, label: str) -> None:
        assert financial_year_label(day) == label

    def test_fy_boundary_is_taken_in_ist(self) -> None:
        # 18:29:59Z on March 31 is 23:59:59 IST (old FY); 18:30Z is midnight April 1 IST (new FY).
        assert financial_year_of(datetime(2026, 3, 31, 18, 29, 59, tzinfo=UTC)) == "25-26"
        assert financial_year_of(datetime(2026, 3, 31, 18, 30, tzinfo=UTC)) == "26-27"

    def test_naive_instants_are_refused(self) -> None:
        with pytest.raises(ValueError, match="timezone-aware"):
            financial_year_of(datetime(2026, 3, 31, 18, 30))  # noqa: DTZ001  the naive instant is the input under test

    def test_number_format(self) -> None:
        assert invoice_number("26-27", 1) == "INV-26-27-00001"
        assert invoice_number("25-26", 12345) == "INV-25-26-12345"
        with pytest.raises(ValueError, match="starts at 1"):
            invoice_number("25-26", 0)


class TestDates:
    def test_decision_13_due_date_from_terms(self) -> None:
        assert due_date_for(date(2026, 3, 20), 15) == date(2026, 4, 4)

    def test_issue_dates_default_to_ist_today(self) -> None:
        dates = issue_dates(datetime(2026, 3, 31, 19, 0, tzinfo=UTC), 7)
        assert (dates.issued_date, dates.due_date) == (date(2026, 4, 1), date(2026, 4, 8))
        given = issue_dates(datetime(2026, 3, 31, 19, 0, tzinfo=UTC), 7, due_date=date(2026, 5, 1))
        assert given.due_date == date(2026, 5, 1)


class TestTotals:
    def test_items_are_normalised(self) -> None:
        item = InvoiceItem.normalized("x", Decimal("0"), Money.of("-5"))
        assert (item.quantity, item.unit_price, item.line_total) == (Decimal(1), Money.zero(), Money.zero())

    def test_totals_with_tax_payments_and_credits(self) -> None:
        items = [
            InvoiceItem.normalized("a", Decimal("2"), Money.of("50.00"), tax_rate=Decimal("18")),
            InvoiceItem.normalized("b", Decimal("1.5"), Money.of("10.01")),
        ]
        totals = compute_totals(items, payments=[Money.of("20"), Money.of("-3")], adjustments=[Money.of("5")])
        assert totals.subtotal == Money.of("115.02")  # 100 + 15.015 → 15.02
        assert totals.tax == Money.of("18.00")
        assert totals.total == Money.of("133.02")
        assert totals.amount_paid == Money.of("20")
        assert totals.amount_due == Money.of("108.02")
        assert derive_status(InvoiceStatus.ISSUED, totals, sent=False) is InvoiceStatus.PARTIALLY_PAID

    def test_status_derivation(self) -> None:
        zero = compute_totals([])
        assert derive_status(InvoiceStatus.ISSUED, zero, sent=False) is InvoiceStatus.PAID
        assert derive_status(InvoiceStatus.DRAFT, zero, sent=False) is InvoiceStatus.DRAFT
        due = compute_totals([InvoiceItem.normalized("a", Decimal(1), Money.of(100))])
        assert derive_status(InvoiceStatus.ISSUED, due, sent=True) is InvoiceStatus.SENT
        assert derive_status(InvoiceStatus.SENT, due, sent=False) is InvoiceStatus.ISSUED


class TestLifecycleGuards:
    def test_inv_04_issue_and_idempotency(self) -> None:
        stored = issue_request_hash("inv-1", date(2026, 2, 1), date(2026, 2, 16))
        assert stored == "invoice_issue:inv-1:2026-02-01:2026-02-16"
        assert is_replay(stored, issue_request_hash("inv-1", date(2026, 2, 1), date(2026, 2, 16)))
        assert not is_replay(None, stored)
        with pytest.raises(IdempotencyKeyReused) as exc:
            is_replay(stored, issue_request_hash("inv-1", date(2026, 2, 1), date(2026, 3, 1)))
        assert (exc.value.message, exc.value.status) == ("Idempotency key mismatch", 409)
        with pytest.raises(InvoiceAlreadyIssued) as exc2:
            ensure_can_issue(InvoiceStatus.ISSUED)
        assert exc2.value.message == "Invoice already issued"
        ensure_can_issue(InvoiceStatus.DRAFT)

    def test_inv_01_payment_hash(self) -> None:
        assert payment_request_hash("inv-1", Money.of(100), "manual", "proof-1", None) == (
            "invoice_payment:inv-1:100:manual:proof-1:"
        )

    def test_inv_05_payment_guards(self) -> None:
        with pytest.raises(AmountExceedsDue) as exc:
            ensure_can_pay(InvoiceStatus.ISSUED, Money.of(150), Money.of(136))
        assert (exc.value.message, exc.value.status) == ("amount exceeds due", 400)
        for status in (InvoiceStatus.DRAFT, InvoiceStatus.VOID):
            with pytest.raises(InvoiceNotPayable) as exc2:
                ensure_can_pay(status, Money.of(10), Money.of(136))
            assert (exc2.value.message, exc2.value.status) == ("Invoice is not payable", 409)
        with pytest.raises(InvoiceAlreadySettled):
            ensure_can_pay(InvoiceStatus.PAID, Money.of(10), Money.zero())
        with pytest.raises(AmountNotPositive):
            ensure_can_pay(InvoiceStatus.ISSUED, Money.zero(), Money.of(10))
        ensure_can_pay(InvoiceStatus.PARTIALLY_PAID, Money.of(136), Money.of(136))

    def test_inv_06_void_with_payments(self) -> None:
        with pytest.raises(InvoiceHasPayments) as exc:
            should_void(InvoiceStatus.PARTIALLY_PAID, Money.of(50))
        assert exc.value.message == "Cannot void invoice with payments"
        assert should_void(InvoiceStatus.VOID, Money.zero()) is False
        assert should_void(InvoiceStatus.DRAFT, Money.zero()) is True

    def test_other_guards(self) -> None:
        with pytest.raises(InvoiceNotDraft) as exc:
            ensure_can_update(InvoiceStatus.ISSUED)
        assert exc.value.message == "Only DRAFT invoices can be updated"
        with pytest.raises(InvoiceNotSendable):
            ensure_can_send(InvoiceStatus.DRAFT)
        ensure_can_send(InvoiceStatus.PARTIALLY_PAID)
        with pytest.raises(InvoiceNotAdjustable):
            ensure_can_adjust(InvoiceStatus.DRAFT, Money.of(1))
        with pytest.raises(InvoiceNotRemindable) as exc2:
            ensure_can_remind(InvoiceStatus.PAID, Money.zero())
        assert exc2.value.message == "Invoice already settled or voided"
