"""Project factory's pack state of a work order (decision 7: a failure is a state, not an error)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from shared.contracts.factory import PackCreated, PackFailed, PackGenerated, ReleaseRecorded
from shared.db.uow import UnitOfWork
from shared.validation import uuid_or_none
from workorders_service.handlers.common import lock_work_order
from workorders_service.repositories import ProjectionRepository, WorkOrderRepository

PackEvent = PackCreated | PackGenerated | PackFailed | ReleaseRecorded


@dataclass(frozen=True)
class RecordPackEvent:
    """One ``factory.pack.v1`` event of a work order at its aggregate version."""

    work_order_id: uuid.UUID
    event: PackEvent
    tenant_id: str | None
    source_version: int


async def record_pack_event(uow: UnitOfWork, command: RecordPackEvent) -> None:
    """Created, generated, failed or release recorded → the pack projection (and the work order's pack)."""
    work_order_id, event, version = command.work_order_id, command.event, command.source_version
    wo, tenant_id = await lock_work_order(uow, work_order_id, command.tenant_id)
    if tenant_id is None:
        return  # nothing to attach it to: an unknown work order without tenant
    repo = uow.repo(WorkOrderRepository)
    projections = uow.repo(ProjectionRepository)
    values: dict[str, object]
    pack_id: uuid.UUID | None = None
    if isinstance(event, PackCreated):
        pack_id = uuid.UUID(event.pack_id)
        values = {
            "pack_id": pack_id,
            "pack_version": event.pack_version,
            "template_key": event.template_key,
            "report_family": event.report_family,
            "status": event.status,
            "job_id": uuid_or_none(event.job_id),
            "job_status": event.job_status,
            "artifacts": [a.model_dump(mode="json") for a in event.artifacts],
            "export_bundle_hash": event.export_bundle_hash,
            "snapshot_version": event.snapshot_version,
            "failure_code": None,
            "failure_reason": None,
            "created_source_version": version,
        }
    elif isinstance(event, PackGenerated):
        pack_id = uuid.UUID(event.pack_id)
        values = {
            "pack_id": pack_id,
            "pack_version": event.pack_version,
            "job_id": uuid_or_none(event.job_id),
            "status": "generated",
            "job_status": "completed",
            "attempts": event.attempts,
            "artifacts": [a.model_dump(mode="json") for a in event.artifacts],
        }
    elif isinstance(event, PackFailed):
        pack_id = uuid_or_none(event.pack_id)
        values = {
            "status": "failed",
            "job_status": "failed",
            "attempts": event.attempts,
            "failure_code": event.code,
            "failure_reason": event.reason,
            "failed_source_version": version,
        }
        if pack_id is not None:
            values["pack_id"] = pack_id
    else:
        existing = await projections.pack(work_order_id)
        releases = [
            r for r in (existing.releases if existing else []) if r.get("id") != event.release.get("id")
        ]
        values = {"releases": [*releases, event.release]}
    await projections.upsert_pack(
        work_order_id=work_order_id, tenant_id=tenant_id, source_version=version, **values
    )
    if wo is not None and pack_id is not None and wo.report_pack_id != pack_id:
        await repo.update(work_order_id, report_pack_id=pack_id)
