"""What several use cases share: the next event of a work order, its current readiness, a snapshot's
export bundle, the actor."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, replace

from shared.contracts.base import Event
from shared.contracts.workorders import Readiness, ReadinessChanged
from shared.db.uow import UnitOfWork
from shared.messaging.envelope import Envelope
from workorders_service.domain.errors import (
    ContractValidationError,
    SnapshotContractInvalid,
    WorkOrderNotFound,
)
from workorders_service.domain.model import EvidenceProjection, JsonObject, Snapshot, WorkOrder
from workorders_service.domain.readmodel import build_export_bundle, compute_readiness, export_bundle_hash
from workorders_service.domain.rules import warning_strings
from workorders_service.repositories import ProjectionRepository, WorkOrderRepository


@dataclass(frozen=True)
class SnapshotExport:
    """The export bundle of one snapshot with the current evidence (domain.md §1.9), and its hash."""

    snapshot: Snapshot
    bundle: JsonObject
    bundle_hash: str


async def existing_work_order(
    repo: WorkOrderRepository, work_order_id: uuid.UUID, *, for_update: bool = False
) -> WorkOrder:
    """The work order, or 404 ``WORK_ORDER_NOT_FOUND``."""
    wo = await repo.get(work_order_id, for_update=for_update)
    if wo is None:
        raise WorkOrderNotFound(work_order_id)
    return wo


async def lock_work_order(
    uow: UnitOfWork, work_order_id: uuid.UUID, envelope_tenant_id: str | None
) -> tuple[WorkOrder | None, str | None]:
    """The work order of another service's event, row-locked (``None`` when it is unknown here), and the
    tenant its projection rows belong to (the envelope's for an unknown work order)."""
    wo = await uow.repo(WorkOrderRepository).get(work_order_id, for_update=True)
    return wo, str(wo.tenant_id) if wo else envelope_tenant_id


async def evaluate_readiness(
    repo: WorkOrderRepository, wo: WorkOrder, latest: Snapshot | None, evidence: EvidenceProjection | None
) -> JsonObject:
    """Readiness of the latest snapshot's contract (or the seeded default), the latest rules run's
    warnings and the evidence projection."""
    runs = await repo.rules_runs(wo.id, limit=1)
    return compute_readiness(
        report_type=wo.report_type,
        bank_type=wo.bank_type,
        bank_name=wo.bank_name,
        latest_contract=latest.contract_json if latest else None,
        rule_warnings=warning_strings(runs[0].warnings) if runs else [],
        evidence=evidence,
    )


async def emit(uow: UnitOfWork, wo: WorkOrder, event: Event) -> tuple[WorkOrder, Envelope]:
    """Publish one work-order event with the next aggregate version; the work order at that version."""
    version = await uow.repo(WorkOrderRepository).bump_version(wo.id)
    envelope = await uow.emit(
        event, aggregate_id=str(wo.id), aggregate_version=version, tenant_id=str(wo.tenant_id)
    )
    return replace(wo, version=version), envelope


async def refresh_readiness(uow: UnitOfWork, wo: WorkOrder) -> tuple[WorkOrder, JsonObject]:
    """Recompute the current readiness (decision 5), store it, emit ``readiness_changed`` when it changed."""
    repo = uow.repo(WorkOrderRepository)
    latest = await repo.latest_snapshot(wo.id)
    evidence = await uow.repo(ProjectionRepository).evidence(wo.id)
    readiness = await evaluate_readiness(repo, wo, latest, evidence)
    evidence_version = int(evidence.evidence_version) if evidence else 0
    changed = readiness != wo.current_readiness
    if changed or evidence_version != wo.readiness_evidence_version:
        await repo.update(wo.id, current_readiness=readiness, readiness_evidence_version=evidence_version)
    wo = replace(wo, current_readiness=readiness, readiness_evidence_version=evidence_version)
    if changed:
        wo, _ = await emit(
            uow,
            wo,
            ReadinessChanged(
                work_order_id=str(wo.id),
                readiness=Readiness.model_validate(readiness),
                evidence_version=evidence_version,
                snapshot_version=latest.version if latest else None,
            ),
        )
    return wo, readiness


async def snapshot_export(
    uow: UnitOfWork, work_order_id: uuid.UUID, snapshot: Snapshot, *, readiness: JsonObject | None = None
) -> SnapshotExport:
    """The bundle of ``snapshot`` with the work order's current evidence, or 409
    ``SNAPSHOT_CONTRACT_INVALID`` when its stored contract no longer validates.

    With the work order's current ``readiness`` (READY_FOR_RENDER freezing the render bundle, issue 21)
    the bundle also records ``render_state``: that readiness, the evidence checklist and the evidence
    version of this moment, so no part of the report repeats the snapshot's older readiness.
    """
    evidence = await uow.repo(ProjectionRepository).evidence(work_order_id)
    render_state = (
        None
        if readiness is None
        else {
            "readiness": readiness,
            "checklist": list(evidence.checklist) if evidence else [],
            "evidence_version": int(evidence.evidence_version) if evidence else 0,
        }
    )
    try:
        bundle = build_export_bundle(
            work_order_id=str(work_order_id),
            snapshot=snapshot,
            evidence_items=evidence.items if evidence else [],
            render_state=render_state,
        )
    except ContractValidationError as exc:
        raise SnapshotContractInvalid(snapshot.id, exc.issues) from None
    return SnapshotExport(snapshot, bundle, export_bundle_hash(bundle))
