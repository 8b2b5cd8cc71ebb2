"""Pure release and bridge rules: FAC-05, FAC-10, §5.2 warnings, decision 8/29 key shapes."""

from __future__ import annotations

from typing import Any

import pytest

from factory_service.domain.release import (
    billing_gate_status,
    derive_billing_mode,
    downloads_unlocked,
    generation_idempotency_key,
    readiness_warnings,
    release_audit_action,
    validate_release_request,
)
from shared.errors import BadRequest

WO = "aaaaaaaa-aaaa-aaaa-aaaa-aaaaaaaaaaaa"


class TestValidateReleaseRequest:
    @pytest.mark.parametrize("key", [None, "", "   ", "\t"])
    def test_blank_key_is_idempotency_key_required(self, key: str | None) -> None:
        with pytest.raises(BadRequest) as err:
            validate_release_request(key, False, None)
        assert err.value.code == "IDEMPOTENCY_KEY_REQUIRED"

    @pytest.mark.parametrize("reason", [None, "", "  "])
    def test_override_without_reason_is_rejected(self, reason: str | None) -> None:
        with pytest.raises(BadRequest) as err:
            validate_release_request("k", True, reason)
        assert err.value.code == "OVERRIDE_REASON_REQUIRED"

    def test_key_and_reason_are_trimmed(self) -> None:
        req = validate_release_request("  release-1 ", True, "  proof seen  ")
        assert (req.idempotency_key, req.override, req.override_reason) == ("release-1", True, "proof seen")

    def test_reason_is_dropped_without_override(self) -> None:
        assert validate_release_request("k", False, "ignored").override_reason is None


class TestBillingGateStatus:
    def test_fac_10_credit_with_reservation(self, fac10_gate_status: dict[str, Any]) -> None:
        state = {"mode": "CREDIT", "hold": {"id": "resv-1", "status": "active", "amount": 1}}
        assert billing_gate_status(state) == fac10_gate_status

    def test_postpaid_unpaid_invoice_is_not_releasable(self) -> None:
        state: dict[str, Any] = {
            "mode": "POSTPAID",
            "invoice": {"id": "svc-1", "status": "issued", "is_paid": False},
        }
        status = billing_gate_status(state)
        assert status["service_invoice_status"] == "ISSUED"
        assert status["service_invoice_is_paid"] is False
        assert status["releasable_without_override"] is False

    def test_postpaid_paid_invoice_is_releasable(self) -> None:
        state = {"mode": "POSTPAID", "invoice": {"id": "svc-1", "status": "PAID", "is_paid": True}}
        assert billing_gate_status(state)["releasable_without_override"] is True

    @pytest.mark.parametrize(
        ("state", "mode"),
        [
            (None, None),
            ({}, None),
            ({"hold": {"id": "h"}}, "CREDIT"),
            ({"invoice": {"id": "i"}}, "POSTPAID"),
            ({"mode": "POSTPAID", "hold": {"id": "h"}}, "POSTPAID"),
        ],
    )
    def test_mode_derivation(self, state: dict[str, Any] | None, mode: str | None) -> None:
        assert derive_billing_mode(state) == mode

    def test_unknown_mode_is_not_releasable(self) -> None:
        assert billing_gate_status(None)["releasable_without_override"] is False


class TestBridgeRules:
    def test_fac_01_generation_key(self) -> None:
        assert generation_idempotency_key(WO, 2, 1) == f"repogen_factory_generate:{WO}:v2"

    def test_render_after_reopen_gets_a_distinct_key(self) -> None:
        assert generation_idempotency_key(WO, 2, 2) == f"repogen_factory_generate:{WO}:v2:g2"

    def test_readiness_warnings_order(self) -> None:
        readiness = {"warnings": ["w1"], "missing_fields": ["Address"], "missing_evidence": ["Deed"]}
        assert [w["message"] for w in readiness_warnings(readiness)] == [
            "w1",
            "missing_field:Address",
            "missing_evidence:Deed",
        ]
        assert {w["code"] for w in readiness_warnings(readiness)} == {"READINESS_CONTEXT"}

    def test_no_readiness_no_warnings(self) -> None:
        assert readiness_warnings(None) == []


class TestReleaseOutcomes:
    @pytest.mark.parametrize(
        ("result", "action"),
        [
            ("BLOCKED", "deliverables_release_blocked"),
            ("ERROR", "deliverables_release_failed"),
            ("PAID", "deliverables_released"),
            ("OVERRIDE", "deliverables_released"),
            ("CREDIT_CONSUMED", "deliverables_released"),
        ],
    )
    def test_audit_action(self, result: str, action: str) -> None:
        assert release_audit_action(result) == action

    @pytest.mark.parametrize(
        ("results", "unlocked"),
        [
            ([], False),
            (["BLOCKED", "ERROR", "PENDING"], False),
            (["BLOCKED", "OVERRIDE"], True),
            (["PAID"], True),
            (["CREDIT_CONSUMED"], True),
        ],
    )
    def test_downloads_unlock_only_after_a_successful_release(
        self, results: list[str], unlocked: bool
    ) -> None:
        assert downloads_unlocked(results) is unlocked
