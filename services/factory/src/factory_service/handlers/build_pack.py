"""Build the pack of a render generation: the bridge from READY_FOR_RENDER and the manual create-pack.

domain.md §5.2, §9.1; decisions 7, 24, 27, 29.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from factory_service.domain.errors import (
    IdempotencyKeyAlreadyUsed,
    PackCreationRequiresReadyForRender,
    SnapshotRequiredForPackCreation,
    WorkOrderNotFound,
)
from factory_service.domain.release import generation_idempotency_key, readiness_warnings
from factory_service.domain.templates import (
    JSON_MIME_TYPE,
    export_bundle_filename,
    export_bundle_storage_ref,
    report_family,
    template_key,
)
from factory_service.domain.verification import new_verification_code, verify_path
from factory_service.handlers.common import artifact_refs, emit_pack_state, supersede
from factory_service.handlers.pack_queries import PackLink, pack_link
from factory_service.records import AuditScope, NewPack, WorkOrderRecord
from factory_service.repositories import AuditLog, JobRepository, PackRepository, WorkOrderRepository
from factory_service.settings import Settings
from shared.blobstore import BlobStore
from shared.contracts.factory import GenerationRequested, PackCreated, PackFailed
from shared.db.uow import UnitOfWork
from shared.stable_json import stable_dumps, stable_sha256
from shared.validation import uuid_or_none


@dataclass(frozen=True)
class BuildPack:
    """Build, once per render generation, the pack of a work order from its frozen bundle."""

    tenant_id: uuid.UUID
    work_order_id: uuid.UUID
    assignment_id: uuid.UUID | None
    report_type: str
    bank_type: str
    template_selector: str
    value_slab: str
    snapshot_version: int
    render_generation: int
    export_bundle: Mapping[str, Any]
    export_bundle_hash: str
    actor_user_id: uuid.UUID | None
    requested_key: str | None = None
    retry_failed: bool = False

    @classmethod
    def from_projection(
        cls,
        wo: WorkOrderRecord,
        *,
        actor_user_id: uuid.UUID | None,
        requested_key: str | None = None,
        retry_failed: bool = False,
    ) -> BuildPack:
        """The build of a READY_FOR_RENDER work order from the factory's projection of it (409 without
        its frozen snapshot)."""
        if wo.export_bundle_json is None or wo.snapshot_version is None:
            raise SnapshotRequiredForPackCreation
        return cls(
            tenant_id=uuid.UUID(wo.tenant_id),
            work_order_id=uuid.UUID(wo.work_order_id),
            assignment_id=uuid_or_none(wo.assignment_id),
            report_type=wo.report_type,
            bank_type=wo.bank_type,
            template_selector=wo.template_selector,
            value_slab=wo.value_slab,
            snapshot_version=wo.snapshot_version,
            render_generation=max(1, wo.render_generation),
            export_bundle=wo.export_bundle_json,
            export_bundle_hash=str(wo.export_bundle_hash),
            actor_user_id=actor_user_id,
            requested_key=requested_key,
            retry_failed=retry_failed,
        )


def render_readiness(bundle: Mapping[str, Any]) -> Mapping[str, Any] | None:
    """The readiness the pack's warnings come from: the one recorded at READY_FOR_RENDER
    (``render_state.readiness``, issue 21; the current readiness of decision 5), else the snapshot's."""
    state = bundle.get("render_state")
    readiness = state.get("readiness") if isinstance(state, Mapping) else None
    if not isinstance(readiness, Mapping):
        readiness = bundle.get("readiness_json")
    return readiness if isinstance(readiness, Mapping) else None


@dataclass(frozen=True)
class PackBuilt:
    """Whether the pack already existed, and the pack-state version the build published."""

    idempotent: bool
    pack_id: str | None
    job_id: str | None
    pack_state_version: int | None


def _bundle_problem(command: BuildPack) -> tuple[str, str] | None:
    """Why a frozen bundle cannot become a pack (a business failure, recorded as ``pack_failed``)."""
    bundle = command.export_bundle
    if str(bundle.get("work_order_id")) != str(command.work_order_id):
        return "EXPORT_BUNDLE_INVALID", "export bundle names another work order"
    if stable_sha256(dict(bundle)) != command.export_bundle_hash:
        return "EXPORT_BUNDLE_HASH_MISMATCH", "export bundle does not match its hash"
    return None


async def build_pack(
    uow: UnitOfWork, command: BuildPack, *, settings: Settings, blobs: BlobStore
) -> PackBuilt:
    """Create, once per render generation, the pack, its debug_json artifact and its queued job.

    A business failure (a bundle that does not match its hash or its work order) is recorded as a
    failed pack and published as ``pack_failed`` (decision 7); only infrastructure errors raise.
    ``retry_failed`` (manual create-pack) supersedes a failed live pack and builds the next version.
    """
    packs = uow.repo(PackRepository)
    audit = uow.repo(AuditLog)
    wo = command.work_order_id
    await packs.lock(f"pack|{wo}")
    existing = await packs.for_generation(wo, command.render_generation)
    live = await packs.live(wo)
    if existing is not None and not (command.retry_failed and live is not None and live.status == "failed"):
        job = await uow.repo(JobRepository).of_pack(uuid.UUID(existing.id))
        return PackBuilt(True, existing.id, job.id if job else None, None)
    if live is not None:
        reason = "manual retry of a failed pack" if live.status == "failed" else "new render generation"
        await supersede(uow, live, reason=reason, actor=command.actor_user_id)

    key = template_key(command.report_type, command.template_selector, command.bank_type)
    family = report_family(command.report_type)
    version = await packs.next_version(wo, key)
    bundle_json = stable_dumps(dict(command.export_bundle)).encode("utf-8")
    warnings = readiness_warnings(render_readiness(command.export_bundle))
    problem = _bundle_problem(command)
    pack_id = uuid.uuid4()
    code = new_verification_code()
    context = {
        "source": "repogen_factory_bridge",
        "work_order_id": str(wo),
        "snapshot_version": command.snapshot_version,
        "export_bundle_hash": command.export_bundle_hash,
        "template_selector": command.template_selector,
        "value_slab": command.value_slab,
        "render_generation": command.render_generation,
    }
    # What the report prints beyond the bundle, fixed now so a re-render gives the same bytes (issue 21).
    stamp = {
        "verify_url": settings.public_base_url.rstrip("/") + verify_path(code),
        "valuer_name": settings.valuer_name,
        "valuer_registration_no": settings.valuer_registration_no,
    }
    row: NewPack = {
        "id": pack_id,
        "tenant_id": command.tenant_id,
        "work_order_id": wo,
        "assignment_id": command.assignment_id,
        "template_key": key,
        "report_family": family,
        "version": version,
        "render_generation": command.render_generation,
        "snapshot_version": command.snapshot_version,
        "status": "failed" if problem else "generating",
        "warnings": warnings,
        "context_snapshot": {**context, "report_stamp": stamp},
        "export_bundle": bundle_json,
        "export_bundle_hash": command.export_bundle_hash,
        "failure_code": problem[0] if problem else None,
        "failure_reason": problem[1] if problem else None,
        "created_by_user_id": command.actor_user_id,
        "verification_code": code,
    }
    await packs.add(row)

    scope, actor = AuditScope(command.tenant_id, wo, pack_id), command.actor_user_id
    if problem is not None:
        failure = {"code": problem[0], "reason": problem[1], **context}
        await audit.record(scope, "pack_failed", ("report_pack", str(pack_id)), failure, actor)
        state_version = await emit_pack_state(
            uow,
            PackFailed(work_order_id=str(wo), pack_id=str(pack_id), code=problem[0], reason=problem[1]),
            work_order_id=wo,
            tenant_id=command.tenant_id,
        )
        return PackBuilt(False, str(pack_id), None, state_version)

    await packs.add_artifact(
        {
            "id": uuid.uuid4(),
            "tenant_id": command.tenant_id,
            "report_pack_id": pack_id,
            "kind": "debug_json",
            "filename": export_bundle_filename(command.snapshot_version),
            "storage_ref": export_bundle_storage_ref(str(wo), command.snapshot_version),
            "blob_key": blobs.put(bundle_json),
            "mime_type": JSON_MIME_TYPE,
            "size_bytes": len(bundle_json),
            "checksum_sha256": command.export_bundle_hash,
            "metadata_json": {
                "placeholder": False,
                "purpose": "repogen_export_bundle_snapshot",
                "work_order_id": str(wo),
                "snapshot_version": command.snapshot_version,
                "template_selector": command.template_selector,
                "export_bundle_hash": command.export_bundle_hash,
                "export_bundle": dict(command.export_bundle),
            },
        }
    )

    job_id, job_key = await _queue_job(uow, command, row, settings)
    created = {**context, "pack_version": version, "template_key": key}
    await audit.record(scope, "pack_created", ("report_pack", str(pack_id)), created, actor)
    requested = {**context, "idempotency_key": job_key}
    await audit.record(
        scope, "generation_requested", ("report_generation_job", str(job_id)), requested, actor
    )
    state_version = await emit_pack_state(
        uow,
        PackCreated(
            work_order_id=str(wo),
            pack_id=str(pack_id),
            pack_version=version,
            template_key=key,
            report_family=family,
            status="generating",
            job_id=str(job_id),
            job_status="queued",
            export_bundle_hash=command.export_bundle_hash,
            snapshot_version=command.snapshot_version,
            artifacts=await artifact_refs(uow, pack_id),
        ),
        work_order_id=wo,
        tenant_id=command.tenant_id,
    )
    await uow.emit(
        GenerationRequested(job_id=str(job_id), pack_id=str(pack_id), work_order_id=str(wo)),
        aggregate_id=str(job_id),
        aggregate_version=1,
        tenant_id=str(command.tenant_id),
    )
    return PackBuilt(False, str(pack_id), str(job_id), state_version)


async def _queue_job(
    uow: UnitOfWork, command: BuildPack, pack: NewPack, settings: Settings
) -> tuple[uuid.UUID, str]:
    """Insert the queued generation job of a new pack; returns its id and idempotency key."""
    jobs = uow.repo(JobRepository)
    job_key = command.requested_key or generation_idempotency_key(
        str(command.work_order_id), command.snapshot_version, command.render_generation
    )
    if await jobs.by_key(command.tenant_id, job_key) is not None:
        if command.requested_key:
            raise IdempotencyKeyAlreadyUsed(
                "generation idempotency key already used", details={"idempotency_key": command.requested_key}
            )
        # A manual retry of a failed pack renders the same snapshot again: keep keys unique.
        job_key = f"{job_key}:p{pack['version']}"
    job_id = uuid.uuid4()
    await jobs.add(
        {
            "id": job_id,
            "tenant_id": command.tenant_id,
            "report_pack_id": pack["id"],
            "work_order_id": command.work_order_id,
            "assignment_id": command.assignment_id,
            "template_key": pack["template_key"],
            "report_family": pack["report_family"],
            "idempotency_key": job_key,
            "max_attempts": settings.generation_max_attempts,
            "request_payload": {
                "repogen_factory": True,
                "source": "repogen_work_order_bridge",
                "work_order_id": str(command.work_order_id),
                "snapshot_version": command.snapshot_version,
                "template_selector": command.template_selector,
                "value_slab": command.value_slab,
                "export_bundle_hash": command.export_bundle_hash,
                "render_generation": command.render_generation,
            },
            "warnings": pack["warnings"],
            "requested_by_user_id": command.actor_user_id,
        }
    )
    return job_id, job_key


# ------------------------------------------------------------------------------ manual create-pack


@dataclass(frozen=True)
class CreatePack:
    """Manual pack creation (§9.1) by a factory operator."""

    work_order_id: uuid.UUID
    actor_user_id: uuid.UUID | None
    idempotency_key: str | None


@dataclass(frozen=True)
class PackCreation:
    """The answer of create-pack: whether it was a replay and the pack link after it."""

    idempotent: bool
    pack_link: PackLink
    pack_state_version: int | None


async def create_pack(
    uow: UnitOfWork, command: CreatePack, *, settings: Settings, blobs: BlobStore
) -> PackCreation:
    """Create the pack of a READY_FOR_RENDER work order: idempotent; re-creates a FAILED pack as the
    next version."""
    wo = await uow.repo(WorkOrderRepository).get(command.work_order_id)
    if wo is None:
        raise WorkOrderNotFound(command.work_order_id)
    if wo.status != "READY_FOR_RENDER":
        raise PackCreationRequiresReadyForRender(details={"status": wo.status})
    if not wo.export_bundle_json:
        # An empty bundle is no snapshot either (the bridge records one as a failed pack instead).
        raise SnapshotRequiredForPackCreation
    build = BuildPack.from_projection(
        wo, actor_user_id=command.actor_user_id, requested_key=command.idempotency_key, retry_failed=True
    )
    built = await build_pack(uow, build, settings=settings, blobs=blobs)
    link = await pack_link(uow, command.work_order_id)
    await uow.commit()
    return PackCreation(built.idempotent, link, built.pack_state_version or link.pack_state_version)
