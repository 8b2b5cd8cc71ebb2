"""What several use cases share: the pack-state event stream, supersession and the blob store."""

from __future__ import annotations

import uuid
from typing import Final

from factory_service.records import AuditScope, PackRecord
from factory_service.repositories import AuditLog, JobRepository, PackRepository
from factory_service.settings import Settings
from shared.blobstore import BlobStore
from shared.contracts.factory import (
    ArtifactRef,
    PackCreated,
    PackFailed,
    PackGenerated,
    ReleaseRecorded,
    ReleaseRequested,
)
from shared.db.uow import UnitOfWork

UNFINISHED_JOB_STATUSES: Final = ("pending", "queued", "processing")
TERMINAL_JOB_STATUSES: Final = frozenset({"completed", "failed", "cancelled"})

PackStateEvent = PackCreated | PackGenerated | PackFailed | ReleaseRecorded | ReleaseRequested


def blob_store(settings: Settings) -> BlobStore:
    """Artifacts and evidence documents, content-addressed by SHA-256 (architecture §2).

    The one place the store is built, for the HTTP routes and the stream process alike.
    """
    return BlobStore(settings.blob_dir)


def releases_url(work_order_id: str) -> str:
    """The poll URL of a work order's releases."""
    return f"/v1/repogen/work-orders/{work_order_id}/releases"


def download_url(artifact_id: str) -> str:
    """Where an artifact's bytes are downloaded."""
    return f"/v1/repogen/artifacts/{artifact_id}/download"


async def emit_pack_state(
    uow: UnitOfWork, event: PackStateEvent, *, work_order_id: uuid.UUID, tenant_id: uuid.UUID
) -> int:
    """Publish an event keyed by the work order with the next pack-state version; returns it."""
    version = await uow.repo(PackRepository).bump_state(work_order_id, tenant_id)
    await uow.emit(
        event, aggregate_id=str(work_order_id), aggregate_version=version, tenant_id=str(tenant_id)
    )
    return version


async def artifact_refs(uow: UnitOfWork, pack_id: uuid.UUID) -> list[ArtifactRef]:
    """The artifacts of a pack as the pack events carry them."""
    artifacts = await uow.repo(PackRepository).artifacts(pack_id)
    return [ArtifactRef.model_validate(artifact, from_attributes=True) for artifact in artifacts]


async def supersede(uow: UnitOfWork, pack: PackRecord, *, reason: str, actor: uuid.UUID | None) -> None:
    """Mark a pack superseded and cancel its unfinished job (decision 29)."""
    pack_id = uuid.UUID(pack.id)
    jobs = uow.repo(JobRepository)
    await uow.repo(PackRepository).set_status(pack_id, "superseded")
    job = await jobs.of_pack(pack_id)
    if job is not None and job.status in UNFINISHED_JOB_STATUSES:
        await jobs.set_status(
            uuid.UUID(job.id), "cancelled", error_code="PACK_SUPERSEDED", error_message=reason, finished=True
        )
    metadata = {"reason": reason, "pack_version": pack.version, "previous_status": pack.status}
    await uow.repo(AuditLog).record(
        AuditScope.of_pack(pack), "pack_superseded", ("report_pack", pack.id), metadata, actor
    )
