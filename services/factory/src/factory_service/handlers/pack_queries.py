"""Reads of the pack link view (domain.md §5.3), the releases and the projection versions."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Literal

from factory_service.domain.errors import WorkOrderNotFound
from factory_service.records import (
    ArtifactRecord,
    BillingRecord,
    JobRecord,
    PackRecord,
    ReleaseRecord,
    WorkOrderRecord,
)
from factory_service.repositories import JobRepository, PackRepository, ReleaseRepository, WorkOrderRepository
from shared.db.uow import UnitOfWork


@dataclass(frozen=True)
class PackLink:
    """Everything the pack link view shows about one work order."""

    work_order: WorkOrderRecord
    pack: PackRecord | None
    artifacts: list[ArtifactRecord]
    job: JobRecord | None
    releases: list[ReleaseRecord]
    billing: BillingRecord | None
    pack_state_version: int | None


@dataclass(frozen=True)
class GetPackLink:
    work_order_id: uuid.UUID


async def pack_link(uow: UnitOfWork, work_order_id: uuid.UUID) -> PackLink:
    """The pack link of a work order; 404 when the work order is unknown here."""
    work_orders = uow.repo(WorkOrderRepository)
    packs = uow.repo(PackRepository)
    wo = await work_orders.get(work_order_id)
    if wo is None:
        raise WorkOrderNotFound(work_order_id)
    pack = await packs.latest(work_order_id)
    artifacts: list[ArtifactRecord] = []
    job: JobRecord | None = None
    if pack is not None:
        # The job first: a job seen completed was committed with its artifacts, so the artifacts read after
        # it include them (each statement of a READ COMMITTED transaction sees its own snapshot).
        job = await uow.repo(JobRepository).of_pack(uuid.UUID(pack.id))
        artifacts = await packs.artifacts(uuid.UUID(pack.id))
    return PackLink(
        work_order=wo,
        pack=pack,
        artifacts=artifacts,
        job=job,
        releases=await uow.repo(ReleaseRepository).of_work_order(work_order_id),
        billing=await work_orders.billing(work_order_id),
        pack_state_version=await packs.state_version(str(work_order_id)),
    )


async def get_pack_link(uow: UnitOfWork, query: GetPackLink) -> PackLink:
    """The pack link view (§5.3) with the billing projection (FAC-10)."""
    return await pack_link(uow, query.work_order_id)


@dataclass(frozen=True)
class ListReleases:
    work_order_id: uuid.UUID


async def list_releases(uow: UnitOfWork, query: ListReleases) -> list[ReleaseRecord]:
    """Release records of a work order, newest first (the poll URL of a pending release)."""
    if await uow.repo(WorkOrderRepository).get(query.work_order_id) is None:
        raise WorkOrderNotFound(query.work_order_id)
    return await uow.repo(ReleaseRepository).of_work_order(query.work_order_id)


async def get_release(uow: UnitOfWork, release_id: uuid.UUID) -> ReleaseRecord | None:
    """One release, as it is now."""
    return await uow.repo(ReleaseRepository).get(release_id)


@dataclass(frozen=True)
class ProjectionVersion:
    """Which version of a projection factory holds (read-your-writes tokens)."""

    projection: Literal["work-order", "work-order-billing", "pack"]
    aggregate_id: str


async def projection_version(uow: UnitOfWork, query: ProjectionVersion) -> int | None:
    """The version factory reached for the aggregate; ``None`` when it holds none (or the id is no UUID)."""
    try:
        uuid.UUID(query.aggregate_id)
    except ValueError:
        return None
    if query.projection == "work-order":
        return await uow.repo(WorkOrderRepository).version(query.aggregate_id)
    if query.projection == "work-order-billing":
        return await uow.repo(WorkOrderRepository).billing_version(query.aggregate_id)
    return await uow.repo(PackRepository).state_version(query.aggregate_id)
