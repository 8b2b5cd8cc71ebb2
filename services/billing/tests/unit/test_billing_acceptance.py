"""Acceptance (architecture §4, §7.10; INV-07; decisions 11, 32) and compensation (decision 10)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest

from billing_service.domain.acceptance import (
    AcceptancePlan,
    AcceptanceRequest,
    AcceptanceStatus,
    CompensationKind,
    QuotaUsage,
    RejectionCode,
    compensation_for,
    decide_acceptance,
    quota_period,
    quota_window,
    rejection_from_error,
    resolve_payer,
)
from billing_service.domain.accounts import Account, AccountStatus, AccountType, BillingMode, Policy
from billing_service.domain.credit_book import CreditBook
from billing_service.domain.errors import BillingModeNotCredit, InsufficientCredits
from billing_service.domain.invoices import InvoiceStatus
from billing_service.domain.ledger import (
    WORK_ORDER_REF_TYPE,
    CreditAccount,
    CreditBalance,
    GrantCredits,
    Hold,
    HoldStatus,
)
from billing_service.domain.money import Money

TENANT = "11111111-1111-1111-1111-111111111111"
ACCEPTED_AT = datetime(2026, 2, 24, 10, 0, tzinfo=UTC)


def request(key: str | None = None, accepted_at: datetime = ACCEPTED_AT) -> AcceptanceRequest:
    return AcceptanceRequest(
        tenant_id=TENANT,
        work_order_id="W",
        assignment_id=None,
        report_type="VALUATION",
        bank_name="State Bank of India",
        billing_external_key=key,
        accepted_at=accepted_at,
    )


def account(status: AccountStatus = AccountStatus.ACTIVE, tenant: str = TENANT) -> Account:
    return Account(
        id="acc-1",
        tenant_id=tenant,
        account_type=AccountType.TENANT,
        external_key=f"v2:tenant:{TENANT}",
        display_name=f"Tenant {TENANT}",
        status=status,
    )


def decide(**overrides: Any) -> AcceptancePlan:
    """``decide_acceptance`` of :func:`request` for an active tenant account on the default (postpaid) policy,
    with nothing used, held or invoiced yet, unless ``overrides`` say otherwise."""
    inputs: dict[str, Any] = {
        "account": account(),
        "policy": Policy(),
        "balance": CreditBalance.empty(),
        "quota": QuotaUsage(),
        "existing_hold": None,
        "existing_invoice_id": None,
        "new_invoice_id": "inv-1",
    }
    return decide_acceptance(request(), **(inputs | overrides))


class TestPayer:
    def test_tenant_account_is_created_postpaid_on_first_use(self) -> None:
        res = resolve_payer(request(), None)
        assert res.external_key == f"v2:tenant:{TENANT}"
        assert res.create is not None
        assert res.create.display_name == f"Tenant {TENANT}"

    def test_existing_tenant_account_is_not_recreated(self) -> None:
        assert resolve_payer(request(), account()).create is None

    def test_named_key_wins_and_is_never_created(self) -> None:
        res = resolve_payer(request(" v1:partner:10 "), None)
        assert (res.external_key, res.create) == ("v1:partner:10", None)
        assert resolve_payer(request("v1:channel:5"), None).invalid_key

    def test_missing_or_foreign_account_is_rejected(self) -> None:
        for acc in (None, account(tenant="22222222-2222-2222-2222-222222222222")):
            plan = decide(account=acc, policy=None)
            assert (plan.status, plan.rejection_code) == (
                AcceptanceStatus.REJECTED,
                RejectionCode.ACCOUNT_NOT_ACTIVE,
            )


class TestPostpaid:
    def test_inv_07_draft_invoice(self) -> None:
        plan = decide()
        assert plan.status is AcceptanceStatus.ACCEPTED
        assert plan.reserve is None
        draft = plan.draft_invoice
        assert draft is not None
        assert draft.notes == "[REPOGEN_WO:W] Repogen VALUATION work order for State Bank of India"
        assert draft.status is InvoiceStatus.DRAFT
        (item,) = draft.items
        assert (item.description, item.quantity, item.unit_price) == (
            "Repogen VALUATION work order",
            Decimal(1),
            Money.of(100),
        )
        assert draft.totals.total == Money.of(100)
        assert plan.usage is not None
        assert (plan.usage.event_type, plan.usage.idempotency_key) == (
            "repogen_work_accepted",
            "repogen_accept:W",
        )
        assert plan.usage.payload["service_invoice_id"] == "inv-1"
        assert plan.response() == {
            "mode": "POSTPAID",
            "account_id": "acc-1",
            "reservation_id": None,
            "service_invoice_id": "inv-1",
        }

    def test_existing_acceptance_invoice_is_reused(self) -> None:
        plan = decide(
            quota=QuotaUsage(monthly_report_allowance=1, accepted_in_period=1), existing_invoice_id="inv-0"
        )
        assert (plan.status, plan.draft_invoice, plan.service_invoice_id) == (
            AcceptanceStatus.ACCEPTED,
            None,
            "inv-0",
        )


class TestCredit:
    def test_reserves_one_credit_for_the_work_order(self, ids: Callable[[], str]) -> None:
        plan = decide(policy=Policy(billing_mode=BillingMode.CREDIT), balance=CreditBalance.of(1, 0))
        assert plan.reserve is not None
        assert plan.draft_invoice is None
        assert (
            plan.reserve.idempotency_key,
            plan.reserve.ref_type,
            plan.reserve.ref_id,
            plan.reserve.amount,
        ) == (
            "repogen_accept_reserve:W",
            WORK_ORDER_REF_TYPE,
            "W",
            1,
        )
        # The plan's reserve runs through the ledger as is.
        book = CreditBook(account=CreditAccount("acc-1", AccountStatus.ACTIVE, BillingMode.CREDIT))
        book, _ = book.grant(GrantCredits(idempotency_key="g", amount=1), ids)
        book, out = book.reserve(plan.reserve, ACCEPTED_AT, ids)
        assert plan.response(out.result.hold_id)["reservation_id"] == out.result.hold_id
        assert book.holds[out.result.hold_id or ""].expires_at is None

    def test_insufficient_credits(self) -> None:
        plan = decide(policy=Policy(billing_mode=BillingMode.CREDIT), balance=CreditBalance.of(1, 1))
        assert plan.rejection_code is RejectionCode.INSUFFICIENT_CREDITS
        assert plan.details == {"available": 0, "required": 1}

    def test_redelivery_with_existing_hold_is_accepted_without_new_credit(
        self, make_hold: Callable[..., Hold]
    ) -> None:
        plan = decide(
            policy=Policy(billing_mode=BillingMode.CREDIT),
            balance=CreditBalance.of(1, 1),
            quota=QuotaUsage(monthly_report_allowance=1, accepted_in_period=1),
            existing_hold=make_hold(),
        )
        assert plan.status is AcceptanceStatus.ACCEPTED

    @pytest.mark.parametrize(
        ("acc_status", "enabled"), [(AccountStatus.SUSPENDED, True), (AccountStatus.ACTIVE, False)]
    )
    def test_inactive_account(self, acc_status: AccountStatus, enabled: bool) -> None:
        plan = decide(
            account=account(acc_status),
            policy=Policy(billing_mode=BillingMode.CREDIT, is_enabled=enabled),
            balance=CreditBalance.of(5, 0),
        )
        assert plan.rejection_code is RejectionCode.ACCOUNT_NOT_ACTIVE

    def test_ledger_errors_map_to_rejections(self) -> None:
        assert rejection_from_error(InsufficientCredits(), "acc-1").rejection_code is (
            RejectionCode.INSUFFICIENT_CREDITS
        )
        mapped = rejection_from_error(BillingModeNotCredit(), "acc-1")
        assert (mapped.rejection_code, mapped.details) == (
            RejectionCode.ACCOUNT_NOT_ACTIVE,
            {"reason": "BILLING_MODE_NOT_CREDIT"},
        )


class TestDecision32Quota:
    @pytest.mark.parametrize("mode", [BillingMode.POSTPAID, BillingMode.CREDIT])
    def test_one_over_the_allowance_is_rejected_with_remaining(self, mode: BillingMode) -> None:
        def plan_for(used: int) -> RejectionCode | None:
            return decide(
                policy=Policy(billing_mode=mode),
                balance=CreditBalance.of(10, 0),
                quota=QuotaUsage(monthly_report_allowance=3, accepted_in_period=used),
            ).rejection_code

        assert plan_for(2) is None
        assert plan_for(3) is RejectionCode.LIMIT_EXCEEDED

    def test_details_carry_remaining_and_period(self) -> None:
        plan = decide(quota=QuotaUsage(monthly_report_allowance=0, accepted_in_period=0))
        assert plan.details == {"allowance": 0, "used": 0, "remaining": 0, "period": "2026-02"}

    def test_month_is_the_ist_calendar_month(self) -> None:
        assert quota_period(datetime(2026, 3, 31, 18, 29, tzinfo=UTC)) == "2026-03"
        assert quota_period(datetime(2026, 3, 31, 18, 30, tzinfo=UTC)) == "2026-04"
        start, end = quota_window(datetime(2026, 12, 31, 20, 0, tzinfo=UTC))
        assert start.astimezone(UTC) == datetime(2026, 12, 31, 18, 30, tzinfo=UTC)
        assert end.astimezone(UTC) == datetime(2027, 1, 31, 18, 30, tzinfo=UTC)


class TestDecision10Compensation:
    def test_cancelled_releases_hold_and_voids_draft(self) -> None:
        actions = compensation_for("CANCELLED", HoldStatus.ACTIVE, InvoiceStatus.DRAFT, False)
        assert [(a.kind, a.reason) for a in actions] == [
            (CompensationKind.RELEASE_HOLD, "cancelled"),
            (CompensationKind.VOID_INVOICE, "work order cancelled"),
        ]

    def test_cancelled_keeps_issued_invoice(self) -> None:
        assert compensation_for("CANCELLED", None, InvoiceStatus.ISSUED, False) == ()

    def test_closed_without_release_releases_hold_and_keeps_invoice(self) -> None:
        actions = compensation_for("CLOSED", HoldStatus.ACTIVE, InvoiceStatus.DRAFT, False)
        assert [(a.kind, a.reason) for a in actions] == [(CompensationKind.RELEASE_HOLD, "closed")]

    @pytest.mark.parametrize("status", ["CLOSED", "CANCELLED"])
    def test_after_successful_release_nothing_changes(self, status: str) -> None:
        assert compensation_for(status, HoldStatus.ACTIVE, InvoiceStatus.DRAFT, True) == ()

    def test_resolved_hold_and_other_statuses(self) -> None:
        assert compensation_for("CANCELLED", HoldStatus.CONSUMED, None, False) == ()
        assert compensation_for("READY_FOR_RENDER", HoldStatus.ACTIVE, InvoiceStatus.DRAFT, False) == ()
