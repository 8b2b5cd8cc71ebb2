"""Release gate: domain.md §6 table with decision 9; FAC-02/03/06/07/10; decision hash."""

from __future__ import annotations

import hashlib
import json

import pytest

from billing_service.domain.accounts import BillingMode
from billing_service.domain.gate import (
    BlockedReason,
    GateDecision,
    GateInputs,
    GateResult,
    billing_gate_status,
    consume_idempotency_key,
    decide_gate,
    decision_hash,
    gate_error,
    release_metadata,
    release_usage_event_type,
    release_usage_key,
)
from billing_service.domain.ledger import HoldStatus

REASON = "Manual payment proof verified offline"


class TestCredit:
    def test_fac_02_reservation_is_consumed(self) -> None:
        inputs = GateInputs(mode=BillingMode.CREDIT, hold_id="resv-1", hold_status=HoldStatus.ACTIVE)
        decision = decide_gate(inputs)
        assert (decision.result, decision.consume_hold_id, decision.blocked_reason) == (
            GateResult.CREDIT_CONSUMED,
            "resv-1",
            None,
        )
        assert consume_idempotency_key("release-credit-1") == "repogen_release_consume:release-credit-1"
        assert release_usage_event_type(decision) == "repogen_deliverables_released"
        assert release_usage_key("release-credit-1") == "v2:repogen_deliverables_release:release-credit-1"
        meta = release_metadata(inputs, decision, account_id="acct-1", consume_ledger_id="ledger-1")
        assert meta["credit_consume_ledger_id"] == "ledger-1"
        assert meta["billing_reservation_id"] == "resv-1"

    def test_decision_9_override_is_not_applied_when_a_hold_exists(self) -> None:
        decision = decide_gate(
            GateInputs(mode=BillingMode.CREDIT, hold_id="resv-1", override=True, override_reason="because")
        )
        assert decision.result is GateResult.CREDIT_CONSUMED
        assert decision.consume_hold_id == "resv-1"
        assert decision.override_applied is False
        assert decision.blocked_reason is None

    @pytest.mark.parametrize(
        ("status", "code"),
        [
            (HoldStatus.RELEASED, "RESERVATION_ALREADY_RELEASED"),
            (HoldStatus.CONSUMED, "RESERVATION_ALREADY_CONSUMED"),
        ],
    )
    def test_resolved_hold_is_an_error_with_the_consume_code(self, status: HoldStatus, code: str) -> None:
        decision = decide_gate(GateInputs(mode=BillingMode.CREDIT, hold_id="resv-1", hold_status=status))
        assert (decision.result, decision.error_code, decision.consume_hold_id) == (
            GateResult.ERROR,
            code,
            None,
        )
        assert not decision.successful
        assert not decision.blocked

    def test_failed_consume_becomes_error(self) -> None:
        decision = gate_error("RESERVATION_EXPIRED")
        assert (decision.result, decision.error_code) == (GateResult.ERROR, "RESERVATION_EXPIRED")

    def test_fac_06_no_reservation(self) -> None:
        blocked = decide_gate(GateInputs(mode=BillingMode.CREDIT))
        overridden = decide_gate(GateInputs(mode=BillingMode.CREDIT, override=True, override_reason="ok"))
        assert (blocked.result, blocked.blocked_reason) == (
            GateResult.BLOCKED,
            BlockedReason.CREDIT_RESERVATION_MISSING,
        )
        assert (overridden.result, overridden.blocked_reason, overridden.consume_hold_id) == (
            GateResult.OVERRIDE,
            BlockedReason.CREDIT_RESERVATION_MISSING_OVERRIDE,
            None,
        )


class TestPostpaid:
    def test_fac_03_unpaid_blocks_then_override(self) -> None:
        base = GateInputs(
            mode=BillingMode.POSTPAID, invoice_id="svc-1", invoice_status="ISSUED", invoice_is_paid=False
        )
        blocked = decide_gate(base)
        assert (blocked.result, blocked.blocked_reason) == (GateResult.BLOCKED, BlockedReason.INVOICE_UNPAID)
        assert release_usage_event_type(blocked) == "repogen_deliverables_release_blocked"
        meta = release_metadata(base, blocked)
        assert (meta["blocked_reason"], meta["billing_service_invoice_status"]) == (
            "invoice_unpaid",
            "ISSUED",
        )
        assert meta["billing_service_invoice_is_paid"] is False
        over_inputs = GateInputs(
            mode=BillingMode.POSTPAID,
            invoice_id="svc-1",
            invoice_status="ISSUED",
            invoice_is_paid=False,
            override=True,
            override_reason=f"  {REASON} ",
        )
        over = decide_gate(over_inputs)
        assert (over.result, over.blocked_reason, over.override_applied) == (
            GateResult.OVERRIDE,
            BlockedReason.INVOICE_UNPAID_OVERRIDE,
            True,
        )
        assert over_inputs.normalized().override_reason == REASON

    def test_fac_07_missing_invoice_and_paid(self) -> None:
        assert decide_gate(GateInputs(mode=BillingMode.POSTPAID)).blocked_reason is (
            BlockedReason.SERVICE_INVOICE_MISSING
        )
        over = decide_gate(GateInputs(mode=BillingMode.POSTPAID, override=True, override_reason="r"))
        assert (over.result, over.blocked_reason) == (
            GateResult.OVERRIDE,
            BlockedReason.SERVICE_INVOICE_MISSING_OVERRIDE,
        )
        for override in (False, True):
            paid = decide_gate(
                GateInputs(
                    mode=BillingMode.POSTPAID,
                    invoice_id="svc-1",
                    invoice_status="PAID",
                    invoice_is_paid=True,
                    override=override,
                    override_reason="r" if override else None,
                )
            )
            assert (paid.result, paid.blocked_reason, paid.override_applied) == (GateResult.PAID, None, False)

    def test_override_without_reason_is_an_error(self) -> None:
        decision = decide_gate(GateInputs(mode=BillingMode.POSTPAID, override=True, override_reason="   "))
        assert (decision.result, decision.error_code) == (GateResult.ERROR, "OVERRIDE_REASON_REQUIRED")


class TestDecisionHash:
    def test_hash_is_sha256_of_canonical_json(self) -> None:
        inputs = GateInputs(mode=BillingMode.CREDIT, hold_id="resv-1")
        decision = decide_gate(inputs)
        expected_text = json.dumps(
            {"v": 1, "inputs": inputs.as_plain(), "outcome": decision.as_plain()},
            sort_keys=True,
            separators=(",", ":"),
            ensure_ascii=False,
        )
        assert decision_hash(inputs, decision) == hashlib.sha256(expected_text.encode()).hexdigest()
        assert '"mode":"CREDIT"' in expected_text

    def test_hash_ignores_cosmetic_differences_and_tracks_real_ones(self) -> None:
        a = GateInputs(
            mode=BillingMode.POSTPAID, invoice_id="i", invoice_status="issued", invoice_is_paid=False
        )
        b = GateInputs(
            mode=BillingMode.POSTPAID, invoice_id="i", invoice_status="ISSUED", invoice_is_paid=False
        )
        c = GateInputs(
            mode=BillingMode.POSTPAID, invoice_id="i", invoice_status="ISSUED", invoice_is_paid=True
        )
        assert decision_hash(a, decide_gate(a)) == decision_hash(b, decide_gate(b))
        assert decision_hash(b, decide_gate(b)) != decision_hash(c, decide_gate(c))
        assert decision_hash(b, decide_gate(b)) != decision_hash(
            b, GateDecision(GateResult.ERROR, error_code="X")
        )


class TestGateStatus:
    def test_fac_10_credit_with_reservation(self) -> None:
        assert billing_gate_status(GateInputs(BillingMode.CREDIT, hold_id="resv-1")) == {
            "mode": "CREDIT",
            "reservation_id_present": True,
            "service_invoice_id": None,
            "service_invoice_status": None,
            "service_invoice_is_paid": None,
            "releasable_without_override": True,
        }

    @pytest.mark.parametrize(
        ("invoice_status", "is_paid", "shown_status", "releasable"),
        [("draft", False, "DRAFT", False), ("PAID", True, "PAID", True)],
    )
    def test_postpaid_is_releasable_once_paid(
        self, invoice_status: str, is_paid: bool, shown_status: str, releasable: bool
    ) -> None:
        view = billing_gate_status(
            GateInputs(
                BillingMode.POSTPAID,
                invoice_id="svc-1",
                invoice_status=invoice_status,
                invoice_is_paid=is_paid,
            )
        )
        assert view["service_invoice_status"] == shown_status
        assert view["releasable_without_override"] is releasable
