"""Commands → effects of the work-orders service, through the unit of work.

The HTTP routes (``api.py``) and the Kafka subscribers (``consumers.py``) call these; every state change
and the events it causes are written in the caller's transaction (outbox). Every event on
``workorders.work-order.v1`` takes the next ``work_orders.version`` as its aggregate version.
"""

from __future__ import annotations

import copy
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, cast

from shared.contracts.base import Event
from shared.contracts.billing import WorkOrderBilling
from shared.contracts.evidence import EvidenceState
from shared.contracts.factory import PackCreated, PackFailed, PackGenerated, ReleaseRecorded
from shared.contracts.workorders import (
    AcceptanceRequest,
    ContractSnapshotted,
    Readiness,
    ReadinessChanged,
    ReadyForRender,
    StatusChanged,
    WorkOrderCancelled,
    WorkOrderClosed,
    WorkOrderCreated,
    WorkOrderReopened,
    WorkOrderStatus,
    WorkOrderView,
)
from shared.db.uow import UnitOfWork
from shared.messaging.envelope import Envelope
from shared.timestamps import utc_now_iso
from workorders_service.domain.contract import (
    apply_patch,
    base_contract,
    parse_contract,
    parse_patch_request,
)
from workorders_service.domain.errors import (
    AcceptanceNotSettled,
    AcceptanceRejected,
    ContractValidationError,
    InvalidContractPatch,
    SnapshotContractInvalid,
    SnapshotNotFound,
    WorkOrderLocked,
    WorkOrderNotFound,
)
from workorders_service.domain.rules import compute_contract, warning_strings
from workorders_service.domain.transitions import (
    check_ready_for_render,
    check_transition,
    is_reopen,
    status_change_comment,
)
from workorders_service.repository import ProjectionRepository, WorkOrderRepository
from workorders_service.views import (
    build_export_bundle,
    compute_readiness,
    export_bundle_hash,
    has_successful_release,
    newest_first,
    serialize_comment,
    serialize_rules_run,
    serialize_snapshot,
    serialize_work_order,
    sort_evidence,
)

# Decision 29: from READY_FOR_RENDER on the contract is frozen (terminal statuses have nothing left to edit).
LOCKED_STATUSES = frozenset({"READY_FOR_RENDER", "CLOSED", "CANCELLED"})


def user_uuid(user_id: str | None) -> uuid.UUID | None:
    """The actor as a uuid column value (tokens may carry non-uuid user ids: stored as NULL)."""
    if not user_id:
        return None
    try:
        return uuid.UUID(user_id)
    except ValueError:
        return None


async def _emit(uow: UnitOfWork, wo: dict[str, Any], event: Event) -> Envelope:
    """Publish one work-order event with the next aggregate version (kept in ``wo['version']``)."""
    repo = WorkOrderRepository(uow.session)
    version = await repo.bump_version(wo["id"])
    wo["version"] = version
    return await uow.emit(
        event, aggregate_id=str(wo["id"]), aggregate_version=version, tenant_id=str(wo["tenant_id"])
    )


# --- readiness (decision 5) ------------------------------------------------------------------------------


async def refresh_readiness(uow: UnitOfWork, wo: dict[str, Any]) -> dict[str, Any]:
    """Recompute the current readiness, store it, and emit ``readiness_changed`` when it changed."""
    repo = WorkOrderRepository(uow.session)
    projections = ProjectionRepository(uow.session)
    latest = await repo.latest_snapshot(wo["id"])
    runs = await repo.rules_runs(wo["id"], limit=1)
    evidence = await projections.evidence(wo["id"])
    readiness = compute_readiness(
        report_type=wo["report_type"],
        bank_type=wo["bank_type"],
        bank_name=wo["bank_name"],
        latest_contract=latest["contract_json"] if latest else None,
        rule_warnings=warning_strings(runs[0]["warnings"]) if runs else [],
        evidence=evidence,
    )
    evidence_version = int(evidence["evidence_version"]) if evidence else 0
    changed = readiness != wo.get("current_readiness")
    if changed or evidence_version != wo.get("readiness_evidence_version"):
        await repo.update(
            wo["id"], {"current_readiness": readiness, "readiness_evidence_version": evidence_version}
        )
    if changed:
        await _emit(
            uow,
            wo,
            ReadinessChanged(
                work_order_id=str(wo["id"]),
                readiness=Readiness.model_validate(readiness),
                evidence_version=evidence_version,
                snapshot_version=latest["version"] if latest else None,
            ),
        )
    wo["current_readiness"] = readiness
    wo["readiness_evidence_version"] = evidence_version
    return readiness


# --- create ------------------------------------------------------------------------------------------------


async def create_work_order(
    uow: UnitOfWork, *, tenant_id: str, user_id: str | None, body: Mapping[str, Any]
) -> dict[str, Any]:
    """Insert a DRAFT work order with its initial readiness and emit ``created`` (version 1)."""
    repo = WorkOrderRepository(uow.session)
    work_order_id = uuid.uuid4()
    readiness = compute_readiness(
        report_type=body["report_type"],
        bank_type=body["bank_type"],
        bank_name=body["bank_name"],
        latest_contract=None,
        rule_warnings=[],
        evidence=None,
    )
    await repo.insert(
        {
            "id": work_order_id,
            "tenant_id": uuid.UUID(tenant_id),
            "source_type": body["source_type"],
            "source_ref_id": body.get("source_ref_id"),
            "assignment_id": body.get("assignment_id"),
            "report_type": body["report_type"],
            "bank_name": body["bank_name"],
            "bank_type": body["bank_type"],
            "billing_external_key": body.get("billing_external_key"),
            "created_by_user_id": user_uuid(user_id),
            "current_readiness": readiness,
        }
    )
    wo = await repo.get(work_order_id)
    assert wo is not None
    work_order = serialize_work_order(wo)
    await uow.emit(
        WorkOrderCreated(work_order=WorkOrderView.model_validate(work_order)),
        aggregate_id=str(work_order_id),
        aggregate_version=1,
        tenant_id=tenant_id,
    )
    return work_order


# --- contract patch (domain.md §1.5, decisions 1, 2, 5, 29) ------------------------------------------------


def _audit(version: int, user_id: str | None) -> dict[str, Any]:
    audit: dict[str, Any] = {"snapshot_version": version}
    if user_uuid(user_id) is not None:
        audit["created_by"] = str(user_uuid(user_id))
    audit["created_at"] = utc_now_iso()
    return audit


async def patch_contract(
    uow: UnitOfWork, work_order_id: uuid.UUID, *, user_id: str | None, body: object
) -> dict[str, Any]:
    """Merge the patch, snapshot input and output, run the rules, refresh readiness; return §1.5 step 14."""
    try:
        request = parse_patch_request(body)
    except ContractValidationError as exc:
        raise InvalidContractPatch.of(exc) from None
    repo = WorkOrderRepository(uow.session)
    wo = await repo.get(work_order_id, for_update=True)
    if wo is None:
        raise WorkOrderNotFound(work_order_id)
    if wo["status"] in LOCKED_STATUSES:
        raise WorkOrderLocked(wo["status"])
    identity = {"report_type": wo["report_type"], "bank_type": wo["bank_type"], "bank_name": wo["bank_name"]}
    latest = await repo.latest_snapshot(work_order_id)
    base = base_contract(latest["contract_json"] if latest else None, **identity)
    try:
        merged = apply_patch(base, request["patch"], **identity)
    except ContractValidationError as exc:
        raise InvalidContractPatch.of(exc) from None

    input_version = (latest["version"] if latest else 0) + 1
    output_version = input_version + 1
    input_contract = copy.deepcopy(merged)
    input_contract["audit"] = _audit(input_version, user_id)

    engine = compute_contract(merged, request["ruleset_version"])
    output_contract = copy.deepcopy(engine["contract"])
    meta = output_contract.setdefault("meta", {})
    meta["report_type"] = wo["report_type"]
    meta["bank_type"] = meta.get("bank_type") or wo["bank_type"]
    party = output_contract.setdefault("party", {})
    party["bank_name"] = party.get("bank_name") or wo["bank_name"]
    output_contract["audit"] = _audit(output_version, user_id)
    output_contract = parse_contract(output_contract)

    projections = ProjectionRepository(uow.session)
    evidence = await projections.evidence(work_order_id)
    # Decision 6: field links belong to the work order, so the new snapshot's readiness counts them.
    readiness = compute_readiness(
        **identity,
        latest_contract=output_contract,
        rule_warnings=warning_strings(engine["warnings"]),
        evidence=evidence,
    )
    actor = user_uuid(user_id)
    common = {"tenant_id": wo["tenant_id"], "work_order_id": work_order_id, "created_by_user_id": actor}
    input_snapshot = await repo.insert_snapshot(
        {
            **common,
            "id": uuid.uuid4(),
            "version": input_version,
            "contract_json": input_contract,
            "derived_json": {},
            "readiness_json": {
                "completeness_score": 0,
                "missing_fields": [],
                "missing_evidence": [],
                "warnings": [],
                "required_evidence_minimums": {},
            },
        }
    )
    output_snapshot = await repo.insert_snapshot(
        {
            **common,
            "id": uuid.uuid4(),
            "version": output_version,
            "contract_json": output_contract,
            "derived_json": engine["derived"],
            "readiness_json": readiness,
        }
    )
    rules_run_id = uuid.uuid4()
    await repo.insert_rules_run(
        {
            "id": rules_run_id,
            "tenant_id": wo["tenant_id"],
            "work_order_id": work_order_id,
            "input_snapshot_id": input_snapshot["id"],
            "output_snapshot_id": output_snapshot["id"],
            "ruleset_version": request["ruleset_version"],
            "warnings": engine["warnings"],
            "errors": engine["errors"],
        }
    )
    out_meta = output_contract["meta"]
    await repo.update(
        work_order_id,
        {
            "bank_type": out_meta.get("bank_type") or wo["bank_type"],
            "value_slab": out_meta.get("value_slab") or "UNKNOWN",
            "template_selector": out_meta.get("template_selector") or "UNKNOWN",
        },
    )
    wo = await repo.get(work_order_id)
    assert wo is not None
    await _emit(
        uow,
        wo,
        ContractSnapshotted(
            work_order_id=str(work_order_id),
            snapshot_id=str(output_snapshot["id"]),
            snapshot_version=output_version,
            contract=output_contract,
            derived=engine["derived"],
            rule_warnings=engine["warnings"],
            value_slab=wo["value_slab"],
            template_selector=wo["template_selector"],
            report_type=wo["report_type"],
            bank_type=wo["bank_type"],
        ),
    )
    current = await refresh_readiness(uow, wo)
    runs = await repo.rules_runs(work_order_id, limit=1)
    return {
        "work_order_id": str(work_order_id),
        "input_snapshot": serialize_snapshot(input_snapshot),
        "output_snapshot": serialize_snapshot(output_snapshot),
        "readiness": current,
        "rules_run": serialize_rules_run(runs[0]),
        "version": wo["version"],
    }


# --- status changes and sagas (domain.md §1.3, architecture §4, decisions 7, 29) ----------------------------


@dataclass(frozen=True)
class StatusResult:
    """What a status request did; the route decides what to wait for."""

    work_order_id: uuid.UUID
    from_status: str
    to_status: str
    noop: bool
    version: int
    acceptance_request_id: str | None = None


async def change_status(
    uow: UnitOfWork,
    work_order_id: uuid.UUID,
    *,
    user_id: str | None,
    target: str,
    note: str | None,
) -> StatusResult:
    """Apply one status request: checks, comment, events of the saga it starts."""
    repo = WorkOrderRepository(uow.session)
    projections = ProjectionRepository(uow.session)
    wo = await repo.get(work_order_id, for_update=True)
    if wo is None:
        raise WorkOrderNotFound(work_order_id)
    current = wo["status"]
    if current == target:
        return StatusResult(work_order_id, current, target, True, int(wo["version"]))
    billing = await projections.billing(work_order_id)
    pack = await projections.pack(work_order_id)
    released = has_successful_release(
        billing["payload"] if billing else None, pack["releases"] if pack else ()
    )
    check_transition(current, target, note=note, has_successful_release=released)
    reopen = is_reopen(current, target)
    tenant_id = str(wo["tenant_id"])
    updates: dict[str, Any] = {"status": target}
    bundle: dict[str, Any] | None = None
    bundle_hash: str | None = None
    latest: dict[str, Any] | None = None

    if target == "READY_FOR_RENDER":
        latest = await repo.latest_snapshot(work_order_id)
        readiness = await refresh_readiness(uow, wo)
        check_ready_for_render(readiness if latest is not None else None)
        assert latest is not None
        if wo["acceptance_status"] != "ACCEPTED":
            missing = AcceptanceRejected if wo["acceptance_status"] == "REJECTED" else AcceptanceNotSettled
            raise missing(wo["acceptance_status"], wo["acceptance_code"])
        evidence = await projections.evidence(work_order_id)
        try:
            bundle = build_export_bundle(
                work_order_id=str(work_order_id),
                snapshot=latest,
                evidence_items=(evidence or {}).get("items") or [],
            )
        except ContractValidationError as exc:
            raise SnapshotContractInvalid(latest["id"], exc.issues) from None
        bundle_hash = export_bundle_hash(bundle)
        updates |= {
            "export_bundle": bundle,
            "export_bundle_hash": bundle_hash,
            "ready_snapshot_version": latest["version"],
            "pack_baseline_version": int(pack["source_version"]) if pack else 0,
        }
    elif target == "DATA_PENDING" and not reopen:
        updates |= {
            "acceptance_status": "PENDING",
            "acceptance_code": None,
            "acceptance_message": None,
            "acceptance_details": None,
            "acceptance_previous_status": current,
        }
    elif reopen:
        # The acceptance hold stays (decision 29); the next render builds pack version + 1.
        updates |= {
            "render_generation": int(wo["render_generation"]) + 1,
            "pack_baseline_version": None,
            "export_bundle": None,
            "export_bundle_hash": None,
            "ready_snapshot_version": None,
        }
    await repo.update(work_order_id, updates)
    await repo.insert_comment(
        tenant_id=wo["tenant_id"],
        work_order_id=work_order_id,
        comment_type="NOTES",
        body=status_change_comment(current, target, note),
        created_by_user_id=user_uuid(user_id),
    )
    wo.update(updates)

    acceptance_request = None
    if target == "DATA_PENDING" and not reopen:
        acceptance_request = AcceptanceRequest.model_validate(
            {
                "report_type": wo["report_type"],
                "bank_name": wo["bank_name"],
                "billing_external_key": wo["billing_external_key"],
                "tenant_id": tenant_id,
                "work_order_id": str(work_order_id),
                "assignment_id": str(wo["assignment_id"]) if wo["assignment_id"] else None,
            }
        )
    envelope = await _emit(
        uow,
        wo,
        StatusChanged(
            work_order_id=str(work_order_id),
            from_status=cast(WorkOrderStatus, current),
            to_status=cast(WorkOrderStatus, target),
            note=note,
            actor_user_id=user_id,
            acceptance_request=acceptance_request,
            reopen=reopen,
            has_successful_release=released,
        ),
    )
    request_id: str | None = None
    if acceptance_request is not None:
        request_id = envelope.message_id
        await repo.update(work_order_id, {"acceptance_request_id": uuid.UUID(request_id)})

    if target == "READY_FOR_RENDER":
        assert bundle is not None and bundle_hash is not None and latest is not None
        await _emit(
            uow,
            wo,
            ReadyForRender(
                work_order_id=str(work_order_id),
                export_bundle=bundle,
                export_bundle_hash=bundle_hash,
                snapshot_version=latest["version"],
                template_selector=wo["template_selector"],
                value_slab=wo["value_slab"],
                report_type=wo["report_type"],
                bank_type=wo["bank_type"],
                assignment_id=str(wo["assignment_id"]) if wo["assignment_id"] else None,
                render_generation=int(wo["render_generation"]),
                actor_user_id=user_id,
                readiness_score=(wo["current_readiness"] or {}).get("completeness_score"),
            ),
        )
    elif target == "CANCELLED":
        await _emit(
            uow,
            wo,
            WorkOrderCancelled(
                work_order_id=str(work_order_id),
                previous_status=cast(WorkOrderStatus, current),
                note=note,
                actor_user_id=user_id,
            ),
        )
    elif target == "CLOSED":
        await _emit(
            uow,
            wo,
            WorkOrderClosed(
                work_order_id=str(work_order_id),
                previous_status=cast(WorkOrderStatus, current),
                note=note,
                actor_user_id=user_id,
            ),
        )
    elif reopen:
        await _emit(
            uow,
            wo,
            WorkOrderReopened(
                work_order_id=str(work_order_id),
                note=note or "",
                actor_user_id=user_id,
                render_generation=int(wo["render_generation"]),
            ),
        )
    return StatusResult(work_order_id, current, target, False, int(wo["version"]), request_id)


# --- comments ------------------------------------------------------------------------------------------------


async def add_comment(
    uow: UnitOfWork, work_order_id: uuid.UUID, *, user_id: str | None, comment_type: str, body: str
) -> tuple[dict[str, Any], int]:
    """Insert an operator comment; returns it and the work order's current version."""
    repo = WorkOrderRepository(uow.session)
    wo = await repo.get(work_order_id)
    if wo is None:
        raise WorkOrderNotFound(work_order_id)
    row = await repo.insert_comment(
        tenant_id=wo["tenant_id"],
        work_order_id=work_order_id,
        comment_type=comment_type,
        body=body,
        created_by_user_id=user_uuid(user_id),
    )
    assert row is not None
    return serialize_comment(row), int(wo["version"])


# --- read models -----------------------------------------------------------------------------------------------


async def work_order_view(uow: UnitOfWork, wo: Mapping[str, Any]) -> dict[str, Any]:
    """The serialized work order with its billing block and pack link columns from the projections."""
    projections = ProjectionRepository(uow.session)
    billing = await projections.billing(wo["id"])
    pack = await projections.pack(wo["id"])
    return serialize_work_order(wo, billing_payload=billing["payload"] if billing else None, pack=pack)


async def work_order_detail(uow: UnitOfWork, work_order_id: uuid.UUID) -> dict[str, Any]:
    """Detail view of domain.md §1.8 (readiness = the current one, decision 5)."""
    repo = WorkOrderRepository(uow.session)
    wo = await repo.get(work_order_id)
    if wo is None:
        raise WorkOrderNotFound(work_order_id)
    projections = ProjectionRepository(uow.session)
    evidence = await projections.evidence(work_order_id) or {}
    latest = await repo.latest_snapshot(work_order_id)
    readiness = wo["current_readiness"]
    if readiness is None:
        runs = await repo.rules_runs(work_order_id, limit=1)
        readiness = compute_readiness(
            report_type=wo["report_type"],
            bank_type=wo["bank_type"],
            bank_name=wo["bank_name"],
            latest_contract=latest["contract_json"] if latest else None,
            rule_warnings=warning_strings(runs[0]["warnings"]) if runs else [],
            evidence=evidence,
        )
    return {
        "work_order": await work_order_view(uow, wo),
        "latest_snapshot": serialize_snapshot(latest),
        "readiness": readiness,
        "evidence_items": sort_evidence(evidence.get("items") or []),
        "field_evidence_links": newest_first(evidence.get("field_evidence_links") or []),
        "ocr_jobs": newest_first(evidence.get("ocr_jobs") or []),
        "comments": [serialize_comment(c) for c in await repo.comments(work_order_id)],
        "rules_runs": [serialize_rules_run(r) for r in await repo.rules_runs(work_order_id, limit=10)],
        "evidence_version": evidence.get("evidence_version", 0),
    }


async def export_work_order(
    uow: UnitOfWork, work_order_id: uuid.UUID, snapshot_version: int | None
) -> dict[str, Any]:
    """``{work_order, snapshot, export_bundle, export_bundle_hash}`` (domain.md §1.9)."""
    repo = WorkOrderRepository(uow.session)
    wo = await repo.get(work_order_id)
    if wo is None:
        raise WorkOrderNotFound(work_order_id)
    if snapshot_version is None:
        snapshot = await repo.latest_snapshot(work_order_id)
        if snapshot is None:
            raise SnapshotNotFound()
    else:
        snapshot = await repo.snapshot_by_version(work_order_id, snapshot_version)
        if snapshot is None:
            raise SnapshotNotFound(snapshot_version)
    evidence = await ProjectionRepository(uow.session).evidence(work_order_id) or {}
    try:
        bundle = build_export_bundle(
            work_order_id=str(work_order_id), snapshot=snapshot, evidence_items=evidence.get("items") or []
        )
    except ContractValidationError as exc:
        raise SnapshotContractInvalid(snapshot["id"], exc.issues) from None
    return {
        "work_order": await work_order_view(uow, wo),
        "snapshot": serialize_snapshot(snapshot),
        "export_bundle": bundle,
        "export_bundle_hash": export_bundle_hash(bundle),
    }


# --- consumers: projections of other services --------------------------------------------------------------------


def _parse_instant(value: str | None) -> datetime | None:
    """An ISO-8601 instant of another service's note (``None`` → now; naive values are taken as UTC)."""
    if not value:
        return None
    try:
        instant = datetime.fromisoformat(value)
    except ValueError:
        return None
    return instant if instant.tzinfo else instant.replace(tzinfo=UTC)


def _uuid_or_none(value: object) -> uuid.UUID | None:
    try:
        return uuid.UUID(str(value)) if value is not None else None
    except ValueError:
        return None


async def apply_evidence_state(uow: UnitOfWork, envelope: Envelope) -> None:
    """``evidence_state`` → evidence projection, system notes as NOTES comments (once), current readiness."""
    event = EvidenceState.model_validate(envelope.payload)
    work_order_id = uuid.UUID(event.work_order_id)
    repo = WorkOrderRepository(uow.session)
    wo = await repo.get(work_order_id, for_update=True)
    tenant_id = str(wo["tenant_id"]) if wo else envelope.tenant_id
    if tenant_id is None:
        return  # nothing to attach it to: an unknown work order without tenant
    profile = event.profile.model_dump(mode="json") if event.profile else None
    await ProjectionRepository(uow.session).upsert_evidence(
        {
            "work_order_id": work_order_id,
            "tenant_id": tenant_id,
            "evidence_version": event.evidence_version,
            "items": event.items,
            "profile": profile,
            "profile_requirements": (profile or {}).get("items") or [],
            "linked_field_keys": event.linked_field_keys,
            "field_evidence_links": event.field_evidence_links,
            "ocr_jobs": event.ocr_jobs,
            "checklist": event.checklist,
            "source_version": envelope.aggregate_version,
        }
    )
    if wo is None:
        return
    for note in event.notes:
        await repo.insert_comment(
            tenant_id=wo["tenant_id"],
            work_order_id=work_order_id,
            comment_type="NOTES",
            body=note.body,
            created_by_user_id=_uuid_or_none(note.created_by_user_id),
            note_id=note.note_id,
            created_at=_parse_instant(note.created_at),
        )
    profile_id = _uuid_or_none(event.profile.id) if event.profile else None
    if profile_id != wo["evidence_profile_id"]:
        await repo.update(work_order_id, {"evidence_profile_id": profile_id})
        wo["evidence_profile_id"] = profile_id
    await refresh_readiness(uow, wo)


async def apply_work_order_billing(uow: UnitOfWork, envelope: Envelope) -> None:
    """``work_order_billing`` → billing projection; settles a pending acceptance, reverting on REJECTED."""
    event = WorkOrderBilling.model_validate(envelope.payload)
    work_order_id = uuid.UUID(event.work_order_id)
    repo = WorkOrderRepository(uow.session)
    wo = await repo.get(work_order_id, for_update=True)
    tenant_id = str(wo["tenant_id"]) if wo else envelope.tenant_id
    if tenant_id is None:
        return
    await ProjectionRepository(uow.session).upsert_billing(
        work_order_id=work_order_id,
        tenant_id=tenant_id,
        payload=envelope.payload,
        source_version=envelope.aggregate_version,
    )
    acceptance = event.acceptance
    if wo is None or acceptance is None or wo["acceptance_status"] != "PENDING":
        return
    pending_request = str(wo["acceptance_request_id"]) if wo["acceptance_request_id"] else None
    if acceptance.request_message_id is not None and acceptance.request_message_id != pending_request:
        return  # the answer to an older request: the projection has it, the saga does not
    if acceptance.status == "ACCEPTED":
        await repo.update(work_order_id, {"acceptance_status": "ACCEPTED", "acceptance_code": None})
        return
    if acceptance.status != "REJECTED":
        return
    code = acceptance.code or "ACCEPTANCE_REJECTED"
    await repo.update(
        work_order_id,
        {
            "acceptance_status": "REJECTED",
            "acceptance_code": code,
            "acceptance_message": acceptance.message,
            "acceptance_details": acceptance.details,
        },
    )
    if wo["status"] != "DATA_PENDING":
        return
    previous = wo["acceptance_previous_status"] or "DRAFT"
    body = f"Acceptance rejected by billing: {code}"
    if acceptance.message:
        body += f"\n{acceptance.message}"
    await repo.update(work_order_id, {"status": previous})
    await repo.insert_comment(
        tenant_id=wo["tenant_id"],
        work_order_id=work_order_id,
        comment_type="NOTES",
        body=body,
        created_by_user_id=None,
    )
    await _emit(
        uow,
        wo,
        StatusChanged(
            work_order_id=str(work_order_id),
            from_status="DATA_PENDING",
            to_status=cast(WorkOrderStatus, previous),
            note=body,
            revert_of_rejected_acceptance=True,
        ),
    )


async def apply_pack_event(uow: UnitOfWork, envelope: Envelope) -> None:
    """``factory.pack.v1`` → pack projection (decision 7: a failure is a state, not an error)."""
    work_order_id = uuid.UUID(str(envelope.payload.get("work_order_id") or envelope.aggregate_id))
    repo = WorkOrderRepository(uow.session)
    projections = ProjectionRepository(uow.session)
    wo = await repo.get(work_order_id, for_update=True)
    tenant_id = str(wo["tenant_id"]) if wo else envelope.tenant_id
    if tenant_id is None:
        return
    version = envelope.aggregate_version
    values: dict[str, Any]
    pack_id: uuid.UUID | None = None
    if envelope.type == PackCreated.TYPE:
        created = PackCreated.model_validate(envelope.payload)
        pack_id = uuid.UUID(created.pack_id)
        values = {
            "pack_id": pack_id,
            "pack_version": created.pack_version,
            "template_key": created.template_key,
            "report_family": created.report_family,
            "status": created.status,
            "job_id": _uuid_or_none(created.job_id),
            "job_status": created.job_status,
            "artifacts": [a.model_dump(mode="json") for a in created.artifacts],
            "export_bundle_hash": created.export_bundle_hash,
            "snapshot_version": created.snapshot_version,
            "failure_code": None,
            "failure_reason": None,
            "created_source_version": version,
        }
    elif envelope.type == PackGenerated.TYPE:
        generated = PackGenerated.model_validate(envelope.payload)
        pack_id = uuid.UUID(generated.pack_id)
        values = {
            "pack_id": pack_id,
            "pack_version": generated.pack_version,
            "job_id": _uuid_or_none(generated.job_id),
            "status": "generated",
            "job_status": "completed",
            "attempts": generated.attempts,
            "artifacts": [a.model_dump(mode="json") for a in generated.artifacts],
        }
    elif envelope.type == PackFailed.TYPE:
        failed = PackFailed.model_validate(envelope.payload)
        pack_id = _uuid_or_none(failed.pack_id)
        values = {
            "status": "failed",
            "job_status": "failed",
            "attempts": failed.attempts,
            "failure_code": failed.code,
            "failure_reason": failed.reason,
            "failed_source_version": version,
        }
        if pack_id is not None:
            values["pack_id"] = pack_id
    elif envelope.type == ReleaseRecorded.TYPE:
        recorded = ReleaseRecorded.model_validate(envelope.payload)
        existing = await projections.pack(work_order_id)
        releases = [
            r for r in (existing or {}).get("releases") or [] if r.get("id") != recorded.release.get("id")
        ]
        values = {"releases": [*releases, recorded.release]}
    else:
        return
    await projections.upsert_pack(
        work_order_id=work_order_id, tenant_id=tenant_id, source_version=version, values=values
    )
    if wo is not None and pack_id is not None and wo["report_pack_id"] != pack_id:
        await repo.update(work_order_id, {"report_pack_id": pack_id})
