"""The deliverables release gate (domain.md §6 table, decision 9) as a pure decision.

Billing owns the decision; factory owns the release request (architecture §4). The handler:
1. builds ``GateInputs`` from its work-order billing projection and the release request,
2. calls ``decide_gate``; when the decision says ``consume_hold_id``, it consumes that hold with key
   ``consume_idempotency_key(release_key)`` in the same transaction,
3. if the consume fails with a billing error, replaces the decision with ``gate_error(code)``,
4. stores inputs + decision + ``decision_hash`` and emits ``gate_decided``.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, replace
from enum import StrEnum

from billing_service.domain.accounts import BillingMode, api_enum
from billing_service.domain.ledger import HoldStatus

DECISION_HASH_VERSION = 1


class GateResult(StrEnum):
    """Release gate outcomes; the first three are "successful releases"."""

    PAID = "PAID"
    CREDIT_CONSUMED = "CREDIT_CONSUMED"
    OVERRIDE = "OVERRIDE"
    BLOCKED = "BLOCKED"
    ERROR = "ERROR"


SUCCESSFUL_RESULTS = frozenset({GateResult.PAID, GateResult.CREDIT_CONSUMED, GateResult.OVERRIDE})


class BlockedReason(StrEnum):
    """Why the gate did not pass on its own (``_override`` when an operator overrode it)."""

    CREDIT_RESERVATION_MISSING = "credit_reservation_missing"
    INVOICE_UNPAID = "invoice_unpaid"
    SERVICE_INVOICE_MISSING = "service_invoice_missing"
    CREDIT_RESERVATION_MISSING_OVERRIDE = "credit_reservation_missing_override"
    INVOICE_UNPAID_OVERRIDE = "invoice_unpaid_override"
    SERVICE_INVOICE_MISSING_OVERRIDE = "service_invoice_missing_override"


_OVERRIDDEN = {
    BlockedReason.CREDIT_RESERVATION_MISSING: BlockedReason.CREDIT_RESERVATION_MISSING_OVERRIDE,
    BlockedReason.INVOICE_UNPAID: BlockedReason.INVOICE_UNPAID_OVERRIDE,
    BlockedReason.SERVICE_INVOICE_MISSING: BlockedReason.SERVICE_INVOICE_MISSING_OVERRIDE,
}


@dataclass(frozen=True, slots=True)
class GateInputs:
    """Everything the decision depends on, as plain values.

    ``mode`` is the work order's billing mode (callers default an unknown mode to POSTPAID, domain.md §6
    step 7). ``invoice_status`` is the upper-case API status (``ISSUED``…). ``hold_status`` None means
    the projection does not know it; the consume then decides.
    """

    mode: BillingMode
    hold_id: str | None = None
    hold_status: HoldStatus | None = None
    invoice_id: str | None = None
    invoice_status: str | None = None
    invoice_is_paid: bool | None = None
    override: bool = False
    override_reason: str | None = None

    def normalized(self) -> GateInputs:
        """Canonical form: trimmed reason (None when not overriding), upper-case invoice status."""
        reason = (self.override_reason or "").strip() or None
        return replace(
            self,
            hold_id=self.hold_id or None,
            invoice_id=self.invoice_id or None,
            invoice_status=self.invoice_status.upper() if self.invoice_status else None,
            override_reason=reason if self.override else None,
        )

    def as_plain(self) -> dict[str, str | bool | None]:
        """Plain JSON values (used for storage and the decision hash)."""
        n = self.normalized()
        return {
            "mode": api_enum(n.mode),
            "hold_id": n.hold_id,
            "hold_status": api_enum(n.hold_status) if n.hold_status else None,
            "invoice_id": n.invoice_id,
            "invoice_status": n.invoice_status,
            "invoice_is_paid": n.invoice_is_paid,
            "override": n.override,
            "override_reason": n.override_reason,
        }


@dataclass(frozen=True, slots=True)
class GateDecision:
    """The gate outcome.

    ``consume_hold_id`` is set exactly when the result is CREDIT_CONSUMED: the handler must consume
    that hold for the result to stand. ``override_applied`` is False when an override was requested but
    not needed (decision 9, or a paid invoice).
    """

    result: GateResult
    blocked_reason: BlockedReason | None = None
    error_code: str | None = None
    consume_hold_id: str | None = None
    override_applied: bool = False

    @property
    def blocked(self) -> bool:
        """True for BLOCKED (what the release response reports as ``blocked``)."""
        return self.result is GateResult.BLOCKED

    @property
    def successful(self) -> bool:
        """PAID, CREDIT_CONSUMED or OVERRIDE."""
        return self.result in SUCCESSFUL_RESULTS

    def as_plain(self) -> dict[str, str | bool | None]:
        """Plain JSON values (used for storage and the decision hash)."""
        return {
            "result": self.result.value,
            "blocked_reason": self.blocked_reason.value if self.blocked_reason else None,
            "error_code": self.error_code,
            "consume_hold_id": self.consume_hold_id,
            "override_applied": self.override_applied,
        }


def consume_idempotency_key(release_idempotency_key: str) -> str:
    """Ledger key of the release consume: ``repogen_release_consume:<release key>`` (FAC-02)."""
    return f"repogen_release_consume:{release_idempotency_key.strip()}"


def _blocked_or_override(inputs: GateInputs, reason: BlockedReason) -> GateDecision:
    if inputs.override:
        return GateDecision(GateResult.OVERRIDE, blocked_reason=_OVERRIDDEN[reason], override_applied=True)
    return GateDecision(GateResult.BLOCKED, blocked_reason=reason)


def decide_gate(inputs: GateInputs) -> GateDecision:
    """The §6 gate table with decision 9.

    CREDIT with a hold → consume it (CREDIT_CONSUMED) whether or not an override was asked; a hold
    already resolved → ERROR with the consume's code. Otherwise override turns BLOCKED into OVERRIDE.
    An override without a reason is an ERROR (factory validates it first; billing never trusts it).
    """
    n = inputs.normalized()
    if n.override and n.override_reason is None:
        return GateDecision(GateResult.ERROR, error_code="OVERRIDE_REASON_REQUIRED")
    if n.mode is BillingMode.CREDIT:
        if n.hold_id is None:
            return _blocked_or_override(n, BlockedReason.CREDIT_RESERVATION_MISSING)
        if n.hold_status is HoldStatus.CONSUMED:
            return GateDecision(GateResult.ERROR, error_code="RESERVATION_ALREADY_CONSUMED")
        if n.hold_status is HoldStatus.RELEASED:
            return GateDecision(GateResult.ERROR, error_code="RESERVATION_ALREADY_RELEASED")
        return GateDecision(GateResult.CREDIT_CONSUMED, consume_hold_id=n.hold_id)
    if n.invoice_id is None:
        return _blocked_or_override(n, BlockedReason.SERVICE_INVOICE_MISSING)
    if n.invoice_is_paid:
        return GateDecision(GateResult.PAID)
    return _blocked_or_override(n, BlockedReason.INVOICE_UNPAID)


def gate_error(error_code: str) -> GateDecision:
    """The decision when the planned consume failed (e.g. ``RESERVATION_EXPIRED``): ERROR with its code."""
    return GateDecision(GateResult.ERROR, error_code=error_code)


def canonical_json(value: object) -> str:
    """Sorted keys, no spaces, UTF-8 literal (domain.md §0.2 stable JSON for plain str/int/bool/None)."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)


def decision_hash(inputs: GateInputs, outcome: GateDecision) -> str:
    """SHA-256 (hex) of the canonical JSON of the normalized inputs and the outcome.

    Only str/bool/None values go in (no floats, Decimals or datetimes), so the text is stable across
    Python versions; ``v`` versions the hashed shape.
    """
    payload = {"v": DECISION_HASH_VERSION, "inputs": inputs.as_plain(), "outcome": outcome.as_plain()}
    return hashlib.sha256(canonical_json(payload).encode("utf-8")).hexdigest()


def release_metadata(
    inputs: GateInputs,
    decision: GateDecision,
    *,
    account_id: str | None = None,
    consume_ledger_id: str | None = None,
) -> dict[str, str | bool | None]:
    """The billing part of the release row's ``metadata_json`` (domain.md §6 step 9)."""
    n = inputs.normalized()
    return {
        "blocked_reason": decision.blocked_reason.value if decision.blocked_reason else None,
        "billing_account_id": account_id,
        "billing_reservation_id": n.hold_id,
        "billing_service_invoice_id": n.invoice_id,
        "billing_service_invoice_status": n.invoice_status,
        "billing_service_invoice_is_paid": n.invoice_is_paid,
        "credit_consume_ledger_id": consume_ledger_id,
        "override_requested": n.override,
        "override_applied": decision.override_applied,
        "error_code": decision.error_code,
    }


def release_usage_event_type(decision: GateDecision) -> str:
    """``repogen_deliverables_release_blocked`` for BLOCKED, else ``repogen_deliverables_released``."""
    return "repogen_deliverables_release_blocked" if decision.blocked else "repogen_deliverables_released"


def release_usage_key(release_idempotency_key: str) -> str:
    """Usage idempotency key ``v2:repogen_deliverables_release:<key>``."""
    return f"v2:repogen_deliverables_release:{release_idempotency_key.strip()}"


def billing_gate_status(projected: GateInputs) -> dict[str, str | bool | None]:
    """The pack view's ``billing_gate_status`` (FAC-10): would a release of the ``projected`` inputs pass
    without override?"""
    inputs = projected.normalized()
    decision = decide_gate(inputs)
    return {
        "mode": api_enum(inputs.mode),
        "reservation_id_present": inputs.hold_id is not None,
        "service_invoice_id": inputs.invoice_id,
        "service_invoice_status": inputs.invoice_status,
        "service_invoice_is_paid": inputs.invoice_is_paid if inputs.invoice_id is not None else None,
        "releasable_without_override": decision.result in (GateResult.PAID, GateResult.CREDIT_CONSUMED),
    }
