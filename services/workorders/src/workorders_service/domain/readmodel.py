"""Pure read-model rules of the work-order service: the serialized work order, export bundle, pack link,
readiness inputs.

No I/O: the repositories hand in typed records and these functions shape the documents the events carry
and the API answers (the documents of other services inside them stay free-form JSON). Unit tested
without a database.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

from shared.domain.numeric import to_number
from shared.domain.readiness import evaluate
from shared.stable_json import stable_sha256
from shared.timestamps import iso_utc
from workorders_service.domain.contract import base_contract, parse_contract
from workorders_service.domain.model import (
    EvidenceProjection,
    JsonObject,
    PackProjection,
    Snapshot,
    WorkOrder,
)

__all__ = [
    "SUCCESSFUL_GATE_RESULTS",
    "billing_block",
    "build_export_bundle",
    "clamp_score",
    "compute_readiness",
    "evidence_sort_key",
    "export_bundle_hash",
    "has_successful_release",
    "iso",
    "newest_first",
    "pack_link",
    "pack_state",
    "sort_evidence",
    "work_order_document",
]

# A release whose gate outcome let the deliverables out (decision 29 forbids a reopen after one).
SUCCESSFUL_GATE_RESULTS = frozenset({"PAID", "CREDIT_CONSUMED", "OVERRIDE"})


def iso(value: Any) -> Any:
    """ISO-8601 UTC with milliseconds (``2026-02-24T10:00:00.000Z``); other values pass through."""
    return iso_utc(value) if isinstance(value, datetime) else value


def _str_or_none(value: Any) -> str | None:
    return None if value is None else str(value)


# --- billing / pack projections ------------------------------------------------------------------------


def billing_block(payload: Mapping[str, Any] | None) -> dict[str, Any]:
    """The work order's ``billing`` block (domain.md §1.8) from the billing projection's payload.

    The original fields (``mode_cache``, ``account_id``, ``reservation_id``, ``service_invoice_id``,
    ``hooks``) come first; the projection's acceptance, hold, invoice and last gate are added as they are.
    """
    p = payload or {}
    acceptance = p.get("acceptance") or None
    hold = p.get("hold") or None
    invoice = p.get("invoice") or None
    hooks: dict[str, Any] = {}
    if acceptance and acceptance.get("status") == "ACCEPTED":
        hooks["acceptance_billed_at"] = acceptance.get("decided_at")
        hooks["acceptance_billing_mode"] = p.get("mode")
    if p.get("planned_consumption_logged"):
        hooks["planned_consumption_logged"] = True
    return {
        "mode_cache": p.get("mode"),
        "account_id": p.get("account_id"),
        "reservation_id": hold.get("id") if hold else None,
        "service_invoice_id": invoice.get("id") if invoice else None,
        "hooks": hooks,
        "external_key": p.get("external_key"),
        "acceptance": acceptance,
        "hold": hold,
        "invoice": invoice,
        "last_gate": p.get("last_gate"),
    }


def has_successful_release(
    billing_payload: Mapping[str, Any] | None, releases: Iterable[Mapping[str, Any]] = ()
) -> bool:
    """True when billing's last gate or a recorded release let the deliverables out."""
    last_gate = (billing_payload or {}).get("last_gate") or {}
    if last_gate.get("result") in SUCCESSFUL_GATE_RESULTS:
        return True
    for release in releases:
        result = release.get("billing_gate_result") or release.get("result")
        if result in SUCCESSFUL_GATE_RESULTS:
            return True
    return False


def _pack_is_current(baseline: int | None, column: int | None) -> bool:
    return column is not None and (baseline is None or int(column) > int(baseline))


def pack_state(pack_baseline_version: int | None, pack: PackProjection | None) -> str | None:
    """State of the pack of the current render: ``None`` outside a render, else ``PENDING`` (asked,
    factory has not answered yet), ``FAILED`` (decision 7) or the pack status upper-cased."""
    if pack_baseline_version is None:
        return None
    if pack is None:
        return "PENDING"
    created = _pack_is_current(pack_baseline_version, pack.created_source_version)
    failed = _pack_is_current(pack_baseline_version, pack.failed_source_version)
    if failed and (
        not created or int(pack.failed_source_version or 0) > int(pack.created_source_version or 0)
    ):
        return "FAILED"
    if created:
        return str(pack.status or "generating").upper()
    return "PENDING"


def pack_link(pack_baseline_version: int | None, pack: PackProjection | None) -> JsonObject | None:
    """``{pack: {id, version, status, template_key}, generation_job: {id, status}, ...}`` of the current
    render's pack, or ``None`` while factory has not created it (or after it failed)."""
    if (
        pack is None
        or pack.pack_id is None
        or not _pack_is_current(pack_baseline_version, pack.created_source_version)
    ):
        return None
    return {
        "pack": {
            "id": _str_or_none(pack.pack_id),
            "version": pack.pack_version,
            "status": pack.status,
            "template_key": pack.template_key,
            "report_family": pack.report_family,
            "export_bundle_hash": pack.export_bundle_hash,
            "snapshot_version": pack.snapshot_version,
        },
        "generation_job": {
            "id": _str_or_none(pack.job_id),
            "status": pack.job_status,
            "attempts": pack.attempts,
        },
        "artifacts": list(pack.artifacts),
        "releases": list(pack.releases),
        "failure": (
            {"code": pack.failure_code, "reason": pack.failure_reason} if pack.failure_code else None
        ),
        "source_version": pack.source_version,
    }


# --- serialization -------------------------------------------------------------------------------------


def work_order_document(
    wo: WorkOrder, *, billing_payload: Mapping[str, Any] | None = None, pack: PackProjection | None = None
) -> JsonObject:
    """The serialized work order of domain.md §1.8 plus our additive fields (the ``created`` event and
    every answer carrying a work order).

    ``billing`` comes from the billing projection and ``report_pack_id`` from the pack projection (the
    work-order row only remembers what factory told it).
    """
    report_pack_id = _str_or_none(wo.report_pack_id)
    if pack is not None and pack.pack_id is not None:
        report_pack_id = _str_or_none(pack.pack_id)
    return {
        "id": str(wo.id),
        "org_id": str(wo.tenant_id),
        "source_type": wo.source_type,
        "source_ref_id": _str_or_none(wo.source_ref_id),
        "assignment_id": _str_or_none(wo.assignment_id),
        "report_type": wo.report_type,
        "bank_name": wo.bank_name,
        "bank_type": wo.bank_type,
        "value_slab": wo.value_slab,
        "template_selector": wo.template_selector,
        "status": wo.status,
        "report_pack_id": report_pack_id,
        "evidence_profile_id": _str_or_none(wo.evidence_profile_id),
        "billing": billing_block(billing_payload),
        "billing_external_key": wo.billing_external_key,
        "acceptance": (
            None
            if wo.acceptance_status is None
            else {
                "status": wo.acceptance_status,
                "code": wo.acceptance_code,
                "message": wo.acceptance_message,
                "request_message_id": _str_or_none(wo.acceptance_request_id),
            }
        ),
        "render_generation": wo.render_generation,
        "pack_state": pack_state(wo.pack_baseline_version, pack),
        "version": wo.version,
        "created_by_user_id": _str_or_none(wo.created_by_user_id),
        "created_at": iso_utc(wo.created_at),
        "updated_at": iso_utc(wo.updated_at),
    }


def clamp_score(readiness: Mapping[str, Any] | None) -> int | None:
    """``completeness_score`` clamped to 0..100 and rounded, or ``None`` without readiness."""
    if not readiness:
        return None
    score = to_number(readiness.get("completeness_score"))
    if score is None:
        return None
    return max(0, min(100, int(score + 0.5)))


# --- evidence ------------------------------------------------------------------------------------------


def evidence_sort_key(item: Mapping[str, Any]) -> tuple[int, float, str, str]:
    """§1.6: ``annexure_order`` ascending with nulls last, then ``created_at``, then ``id``."""
    order = item.get("annexure_order")
    number = to_number(order)
    return (
        0 if number is not None else 1,
        number if number is not None else 0.0,
        str(item.get("created_at") or ""),
        str(item.get("id") or ""),
    )


def sort_evidence(items: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Evidence items in the fixed order of §1.6 (detail and export)."""
    return [dict(item) for item in sorted(items, key=evidence_sort_key)]


def newest_first(items: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Rows sorted by ``created_at`` descending (then ``id`` descending, for a stable order)."""
    return [
        dict(item)
        for item in sorted(
            items, key=lambda i: (str(i.get("created_at") or ""), str(i.get("id") or "")), reverse=True
        )
    ]


def compute_readiness(
    *,
    report_type: str,
    bank_type: str,
    bank_name: str,
    latest_contract: Mapping[str, Any] | None,
    rule_warnings: Sequence[str],
    evidence: EvidenceProjection | None,
) -> JsonObject:
    """Current readiness (decision 5) from the latest snapshot's contract (or the seeded default contract
    when there is none), the evidence projection (items, required profile items, linked field keys) and the
    latest rules run's warnings formatted ``"<CODE>: <message>"``."""
    contract = base_contract(
        latest_contract, report_type=report_type, bank_type=bank_type, bank_name=bank_name
    )
    ev = evidence or EvidenceProjection()
    return evaluate(
        report_type,
        contract,
        list(ev.items or []),
        list(rule_warnings),
        evidence_profile_requirements=list(ev.profile_requirements or []),
        field_evidence_linked_keys=list(ev.linked_field_keys or []),
    )


_MANIFEST_FIELDS = (
    "id",
    "evidence_type",
    "doc_type",
    "annexure_order",
    "classification",
    "sensitivity",
    "source",
    "document_id",
    "file_ref",
    "captured_by_employee_id",
    "captured_at",
    "tags",
    "created_at",
)
_DOCUMENT_FIELDS = (
    "id",
    "original_filename",
    "content_type",
    "size_bytes",
    "status",
    "classification",
    "source",
    "storage_key",
)


def _manifest_document(document: Any) -> dict[str, Any] | None:
    if not isinstance(document, Mapping):
        return None
    return {key: copy.deepcopy(document.get(key)) for key in _DOCUMENT_FIELDS}


def build_export_bundle(
    *,
    work_order_id: str,
    snapshot: Snapshot,
    evidence_items: Iterable[Mapping[str, Any]],
    render_state: Mapping[str, Any] | None = None,
) -> JsonObject:
    """The export bundle of domain.md §1.9 for one stored snapshot and the current evidence.

    ``render_state`` (only for the bundle frozen at READY_FOR_RENDER, issue 21) adds what the work order
    looks like at that moment: the recomputed readiness, the evidence checklist and the evidence version.
    ``readiness_json`` stays the snapshot's own (decision 5); the report reads ``render_state``.

    Raises ``ContractValidationError`` when the stored contract no longer validates (→ 409).
    """
    contract_json = snapshot.contract_json
    parsed = parse_contract(contract_json)
    annexures = parsed.get("annexures") or {}
    hints = {
        str(item.get("evidence_item_id")): item
        for item in annexures.get("items") or []
        if isinstance(item, Mapping)
    }
    manifest = []
    for item in sort_evidence(evidence_items):
        entry = {key: copy.deepcopy(item.get(key)) for key in _MANIFEST_FIELDS}
        entry["document"] = _manifest_document(item.get("document"))
        hint = hints.get(str(item.get("id")))
        entry["annexure_hint"] = (
            None
            if hint is None
            else {
                "label": hint.get("label"),
                "category": hint.get("category"),
                "sort_order": hint.get("sort_order"),
                "group_hint": copy.deepcopy(hint.get("group_hint")),
            }
        )
        manifest.append(entry)
    bundle: JsonObject = {
        "work_order_id": work_order_id,
        "snapshot_version": snapshot.version,
        "contract_json": copy.deepcopy(contract_json),
        "derived_json": copy.deepcopy(snapshot.derived_json),
        "readiness_json": copy.deepcopy(snapshot.readiness_json),
        "annexure_defaults": copy.deepcopy(annexures.get("image_grouping_default")),
        "evidence_manifest": manifest,
    }
    if render_state is not None:
        bundle["render_state"] = copy.deepcopy(dict(render_state))
    return bundle


def export_bundle_hash(bundle: Mapping[str, Any]) -> str:
    """SHA-256 over the stable JSON of the bundle only (domain.md §0.2, §1.9)."""
    return stable_sha256(dict(bundle))
