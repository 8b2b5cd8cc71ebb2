"""Export a work order's snapshot as the bundle of domain.md §1.9."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from shared.db.uow import UnitOfWork
from workorders_service.domain.errors import SnapshotNotFound
from workorders_service.domain.model import ProjectedWorkOrder
from workorders_service.handlers.common import SnapshotExport, existing_work_order, snapshot_export
from workorders_service.repositories import ProjectionRepository, WorkOrderRepository


@dataclass(frozen=True)
class ExportWorkOrder:
    """The export of one snapshot (the latest when ``snapshot_version`` is ``None``)."""

    work_order_id: uuid.UUID
    snapshot_version: int | None = None


@dataclass(frozen=True)
class WorkOrderExport:
    """``{work_order, snapshot, export_bundle, export_bundle_hash}`` as records."""

    projected: ProjectedWorkOrder
    export: SnapshotExport


async def export_work_order(uow: UnitOfWork, query: ExportWorkOrder) -> WorkOrderExport:
    """The bundle of the snapshot with the current evidence (404 without it, 409 when it no longer
    validates)."""
    repo = uow.repo(WorkOrderRepository)
    wo = await existing_work_order(repo, query.work_order_id)
    if query.snapshot_version is None:
        snapshot = await repo.latest_snapshot(wo.id)
    else:
        snapshot = await repo.snapshot_by_version(wo.id, query.snapshot_version)
    if snapshot is None:
        raise SnapshotNotFound(query.snapshot_version)
    export = await snapshot_export(uow, wo.id, snapshot)
    return WorkOrderExport(await uow.repo(ProjectionRepository).projected(wo), export)
