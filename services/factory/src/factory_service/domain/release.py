"""Pure rules of the pack bridge and the deliverables release (domain.md §5.2, §5.3, §6; decision 8).

No I/O: the handlers load state, these functions decide, the handlers write.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

from factory_service.domain.errors import IdempotencyKeyRequired, OverrideReasonRequired

SUCCESSFUL_GATE_RESULTS: Final = frozenset({"PAID", "CREDIT_CONSUMED", "OVERRIDE"})
"""Gate results that release the deliverables (and unlock downloads for external audiences)."""

PENDING: Final = "PENDING"

RELEASE_DECIDED_CHANNEL: Final = "factory_release_decided"
"""The Postgres NOTIFY channel on which the stream process announces a release it recorded billing's
outcome on (payload: the release id); the HTTP requests waiting for it (``?wait=``) listen on it."""


@dataclass(frozen=True)
class ReleaseRequest:
    """A validated release request body (domain.md §6 steps 1–2)."""

    idempotency_key: str
    override: bool
    override_reason: str | None


def validate_release_request(
    idempotency_key: str | None, override: bool | None, override_reason: str | None
) -> ReleaseRequest:
    """Trim the key and the reason; 400 ``IDEMPOTENCY_KEY_REQUIRED`` / ``OVERRIDE_REASON_REQUIRED`` (FAC-05).

    The stored reason is the trimmed one, and only when an override is requested (§6 step 9).
    """
    key = (idempotency_key or "").strip()
    if not key:
        raise IdempotencyKeyRequired
    wants_override = bool(override)
    reason = (override_reason or "").strip()
    if wants_override and not reason:
        raise OverrideReasonRequired
    return ReleaseRequest(key, wants_override, reason if wants_override else None)


def generation_idempotency_key(work_order_id: str, snapshot_version: int, render_generation: int) -> str:
    """``repogen_factory_generate:<wo>:v<snapshot>`` (FAC-01); a render after a reopen adds ``:g<N>``.

    The suffix keeps keys unique per tenant when a reopened work order is rendered again from the same
    snapshot version (decision 29), while the first render keeps the original key.
    """
    base = f"repogen_factory_generate:{work_order_id}:v{snapshot_version}"
    return base if render_generation <= 1 else f"{base}:g{render_generation}"


def readiness_warnings(readiness: Mapping[str, Any] | None) -> list[dict[str, str]]:
    """Pack warnings from the snapshot's stored readiness (§5.2 step 3), in the original's order."""
    if not readiness:
        return []
    messages: list[str] = [str(w) for w in _strings(readiness.get("warnings"))]
    messages += [f"missing_field:{m}" for m in _strings(readiness.get("missing_fields"))]
    messages += [f"missing_evidence:{m}" for m in _strings(readiness.get("missing_evidence"))]
    return [{"code": "READINESS_CONTEXT", "severity": "warn", "message": m} for m in messages]


def _strings(value: object) -> Sequence[str]:
    if not isinstance(value, list):
        return []
    return [item if isinstance(item, str) else str(item) for item in value]


def derive_billing_mode(state: Mapping[str, Any] | None) -> str | None:
    """The billing mode of a work order (§5.3): the stated mode, else CREDIT with a hold, else POSTPAID
    with an invoice, else ``None``."""
    if not state:
        return None
    mode = state.get("mode")
    if mode in ("CREDIT", "POSTPAID"):
        return str(mode)
    if state.get("hold"):
        return "CREDIT"
    if state.get("invoice"):
        return "POSTPAID"
    return None


def billing_gate_status(state: Mapping[str, Any] | None) -> dict[str, Any]:
    """``billing_gate_status`` of the pack view (§5.3, FAC-10) from the billing projection.

    As in the original, a CREDIT work order is releasable without override when a reservation (hold)
    is stored, whatever its status; billing re-checks the hold when it decides.
    """
    mode = derive_billing_mode(state)
    hold = (state or {}).get("hold") or None
    invoice = (state or {}).get("invoice") or None
    invoice_status: str | None = None
    invoice_paid: bool | None = None
    invoice_id: str | None = None
    if mode == "POSTPAID" and invoice:
        invoice_id = str(invoice.get("id")) if invoice.get("id") else None
        invoice_status = str(invoice.get("status", "NOT_FOUND")).upper()
        invoice_paid = bool(invoice.get("is_paid", False))
    if mode == "CREDIT":
        releasable = hold is not None
    elif mode == "POSTPAID":
        releasable = bool(invoice_id) and bool(invoice_paid)
    else:
        releasable = False
    return {
        "mode": mode,
        "reservation_id_present": hold is not None,
        "service_invoice_id": invoice_id,
        "service_invoice_status": invoice_status,
        "service_invoice_is_paid": invoice_paid,
        "releasable_without_override": releasable,
    }


def billing_metadata(state: Mapping[str, Any] | None) -> dict[str, Any]:
    """The billing facts §6 step 9 stores on a release, as the factory's projection knows them."""
    state = state or {}
    hold = state.get("hold") or {}
    invoice = state.get("invoice") or {}
    return {
        "billing_account_id": state.get("account_id"),
        "billing_reservation_id": hold.get("id"),
        "billing_service_invoice_id": invoice.get("id"),
        "billing_service_invoice_status": str(invoice["status"]).upper() if invoice.get("status") else None,
        "billing_service_invoice_is_paid": invoice.get("is_paid") if invoice else None,
    }


def release_audit_action(result: str) -> str:
    """Audit action of a decided release (§6 step 12; ERROR is ours: a failed consume)."""
    if result == "BLOCKED":
        return "deliverables_release_blocked"
    if result == "ERROR":
        return "deliverables_release_failed"
    return "deliverables_released"


def downloads_unlocked(gate_results: Sequence[str]) -> bool:
    """External audiences may download once one release of the work order succeeded (architecture §6)."""
    return any(result in SUCCESSFUL_GATE_RESULTS for result in gate_results)
