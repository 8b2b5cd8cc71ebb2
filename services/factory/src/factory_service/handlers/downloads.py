"""Downloads of artifacts and of the evidence pack: locked for external audiences until a successful
release, audited every time (seed 004; architecture §6)."""

from __future__ import annotations

import hashlib
import json
import uuid
from dataclasses import dataclass

from factory_service.domain.errors import (
    ArtifactBlobMissing,
    ArtifactNotFound,
    DeliverableLockedUntilBillingSatisfied,
    PackGenerationNotCompleted,
    ReportPackNotFound,
    ReportPackNotLinked,
    WorkOrderNotFound,
)
from factory_service.domain.release import downloads_unlocked
from factory_service.domain.templates import (
    BANK_COPY_KINDS,
    INTERNAL_ARTIFACT_KINDS,
    ZIP_MIME_TYPE,
    evidence_pack_filename,
)
from factory_service.records import AuditScope, PackRecord
from factory_service.rendering.evidence_pack import build_evidence_pack
from factory_service.repositories import AuditLog, PackRepository, ReleaseRepository, WorkOrderRepository
from shared.auth.principal import Principal
from shared.blobstore import BlobStore
from shared.db.uow import UnitOfWork
from shared.stable_json import stable_dumps

PORTAL_AUDIENCE = "portal"
DOWNLOAD_ACTIONS = frozenset({"artifact_downloaded", "evidence_pack_downloaded"})


@dataclass(frozen=True)
class Download:
    """Bytes to send, with their name, media type and SHA-256."""

    content: bytes
    filename: str
    media_type: str
    checksum_sha256: str


@dataclass(frozen=True)
class DownloadArtifact:
    artifact_id: uuid.UUID
    caller: Principal
    actor_user_id: uuid.UUID | None


@dataclass(frozen=True)
class DownloadEvidencePack:
    work_order_id: uuid.UUID
    caller: Principal
    actor_user_id: uuid.UUID | None


async def _visible(uow: UnitOfWork, caller: Principal, work_order_id: uuid.UUID) -> bool:
    """The work order is one the caller's audience may reach (the portal: its own CHANNEL ones; RLS
    enforces the same rule, this keeps the answer a 404 rather than relying on it alone)."""
    wo = await uow.repo(WorkOrderRepository).get(work_order_id)
    return wo is not None and caller.may_see_work_order(
        source_type=wo.source_type, created_by_user_id=wo.created_by_user_id
    )


async def _preview(uow: UnitOfWork, caller: Principal, work_order_id: uuid.UUID) -> bool:
    """Whether this download is a preview: external audiences wait for a successful release (403
    before it); operators may download before it, as a preview."""
    released = downloads_unlocked(await uow.repo(ReleaseRepository).gate_results(work_order_id))
    if caller.aud == PORTAL_AUDIENCE and not released:
        raise DeliverableLockedUntilBillingSatisfied
    return not released


async def download_artifact(uow: UnitOfWork, command: DownloadArtifact, *, blobs: BlobStore) -> Download:
    """Artifact bytes from the blob store; locked for portal until a successful release; audited."""
    packs = uow.repo(PackRepository)
    artifact = await packs.artifact(command.artifact_id)
    if artifact is None:
        raise ArtifactNotFound(command.artifact_id)
    pack = await packs.get(uuid.UUID(artifact.report_pack_id))
    if pack is None or not await _visible(uow, command.caller, uuid.UUID(pack.work_order_id)):
        raise ArtifactNotFound(command.artifact_id)
    if artifact.kind in INTERNAL_ARTIFACT_KINDS and command.caller.aud == PORTAL_AUDIENCE:
        # the internal QA cover sheet is no part of what a bank or channel partner receives (issue 21)
        raise ArtifactNotFound(command.artifact_id)
    preview = await _preview(uow, command.caller, uuid.UUID(pack.work_order_id))
    data = blobs.get(artifact.blob_key)
    if data is None:
        raise ArtifactBlobMissing
    audited = {
        "aud": command.caller.aud,
        "preview": preview,
        "kind": artifact.kind,
        "sha256": artifact.checksum_sha256,
    }
    await uow.repo(AuditLog).record(
        AuditScope.of_pack(pack),
        "artifact_downloaded",
        ("report_pack_artifact", str(command.artifact_id)),
        audited,
        command.actor_user_id,
    )
    await uow.commit()
    return Download(data, artifact.filename, artifact.mime_type, artifact.checksum_sha256)


async def download_evidence_pack(
    uow: UnitOfWork, command: DownloadEvidencePack, *, blobs: BlobStore
) -> Download:
    """The reproducible evidence ZIP of the live pack."""
    if not await _visible(uow, command.caller, command.work_order_id):
        raise WorkOrderNotFound(command.work_order_id)
    pack = await uow.repo(PackRepository).live(command.work_order_id)
    if pack is None:
        raise ReportPackNotLinked
    preview = await _preview(uow, command.caller, command.work_order_id)
    if pack.status != "generated":
        raise PackGenerationNotCompleted(details={"pack_status": pack.status})
    data = build_evidence_pack(await evidence_pack_files(uow, pack, blobs))
    filename = evidence_pack_filename(pack.template_key, pack.version)
    digest = hashlib.sha256(data).hexdigest()
    audited = {"aud": command.caller.aud, "preview": preview, "sha256": digest, "filename": filename}
    await uow.repo(AuditLog).record(
        AuditScope.of_pack(pack),
        "evidence_pack_downloaded",
        ("report_pack", pack.id),
        audited,
        command.actor_user_id,
    )
    await uow.commit()
    return Download(data, filename, ZIP_MIME_TYPE, digest)


async def evidence_pack_files(uow: UnitOfWork, pack: PackRecord, blobs: BlobStore) -> dict[str, bytes]:
    """The files of a pack's evidence ZIP; the same pack state gives the same bytes.

    Download audit rows are left out of ``audit_events.jsonl``: each download is audited, and a pack
    that changed with every download could never be verified against an earlier copy.
    """
    packs = uow.repo(PackRepository)
    pack_id = uuid.UUID(pack.id)
    bundle = await packs.export_bundle(pack_id)
    if bundle is None:
        raise ReportPackNotFound
    files: dict[str, bytes] = {"export_bundle.json": bundle}
    manifest = json.loads(bundle).get("evidence_manifest", [])
    files["evidence_manifest.json"] = stable_dumps(manifest).encode("utf-8")
    for artifact in await packs.artifacts(pack_id):
        if artifact.kind not in BANK_COPY_KINDS:
            continue
        data = blobs.get(artifact.blob_key)
        if data is None:
            raise ArtifactBlobMissing
        files[artifact.filename] = data
    releases = [r.model_dump() for r in await uow.repo(ReleaseRepository).of_pack(pack_id)]
    files["releases.json"] = stable_dumps(releases).encode("utf-8")
    lines = [
        stable_dumps(row.model_dump()) + "\n"
        for row in await uow.repo(AuditLog).of_work_order(uuid.UUID(pack.work_order_id))
        if row.action not in DOWNLOAD_ACTIONS and row.report_pack_id in (None, pack.id)
    ]
    files["audit_events.jsonl"] = "".join(lines).encode("utf-8")
    return files
