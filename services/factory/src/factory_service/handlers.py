"""Commands → effects through the unit of work: pack bridge, generation worker, release, downloads.

HTTP routes (``api.py``) and Kafka subscribers (``consumers.py``) are thin and call these.
"""

from __future__ import annotations

import asyncio
import json
import logging
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from factory_service.domain.errors import FactoryError
from factory_service.domain.release import (
    PENDING,
    SUCCESSFUL_GATE_RESULTS,
    ReleaseRequest,
    billing_gate_status,
    derive_billing_mode,
    generation_idempotency_key,
    readiness_warnings,
    release_audit_action,
)
from factory_service.domain.templates import (
    DOCX_MIME_TYPE,
    JSON_MIME_TYPE,
    artifact_filename,
    export_bundle_filename,
    export_bundle_storage_ref,
    report_family,
    template_key,
)
from factory_service.rendering.docx_renderer import render_report_docx
from factory_service.rendering.evidence_pack import build_evidence_pack
from factory_service.repository import FactoryRepository
from factory_service.settings import Settings
from shared.blobstore import BlobStore
from shared.contracts.billing import GateDecided, WorkOrderBilling
from shared.contracts.factory import (
    ArtifactRef,
    GenerationRequested,
    PackCreated,
    PackFailed,
    PackGenerated,
    ReleaseRecorded,
    ReleaseRequested,
)
from shared.contracts.workorders import ReadyForRender
from shared.db.database import Database, Role
from shared.db.uow import UnitOfWork
from shared.errors import BadRequest, Conflict, IdempotencyKeyReused, NotFound
from shared.messaging.envelope import Envelope
from shared.messaging.outbox import OutboxWriter
from shared.stable_json import stable_dumps, stable_sha256
from shared.timestamps import utc_now_iso

log = logging.getLogger(__name__)

UNFINISHED_JOB_STATUSES = ("pending", "queued", "processing")
TERMINAL_JOB_STATUSES = frozenset({"completed", "failed", "cancelled"})


def _uuid_or_none(value: str | None) -> uuid.UUID | None:
    if not value:
        return None
    try:
        return uuid.UUID(value)
    except ValueError:
        return None


def work_order_not_found(work_order_id: str) -> NotFound:
    return NotFound(f"repogen work order {work_order_id} not found", code="WORK_ORDER_NOT_FOUND")


async def emit_pack_state(
    uow: UnitOfWork,
    repo: FactoryRepository,
    event: PackCreated | PackGenerated | PackFailed | ReleaseRecorded | ReleaseRequested,
    *,
    work_order_id: uuid.UUID,
    tenant_id: uuid.UUID,
) -> int:
    """Publish an event keyed by the work order with the next pack-state version; returns it."""
    version = await repo.bump_pack_state(work_order_id, tenant_id)
    await uow.emit(
        event, aggregate_id=str(work_order_id), aggregate_version=version, tenant_id=str(tenant_id)
    )
    return version


def artifact_ref(artifact: Mapping[str, Any]) -> ArtifactRef:
    return ArtifactRef(
        id=str(artifact["id"]),
        kind=str(artifact["kind"]),
        filename=str(artifact["filename"]),
        mime_type=str(artifact["mime_type"]),
        size_bytes=int(artifact["size_bytes"]),
        checksum_sha256=str(artifact["checksum_sha256"]),
        storage_ref=str(artifact["storage_ref"]),
    )


def blob_storage_ref(blob_key: str) -> str:
    """Where a generated artifact lives: the content-addressed blob store (architecture §2)."""
    return f"blob://sha256/{blob_key}"


# ==================================================================================================
# Pack bridge (domain.md §5.2; decisions 7, 24, 27, 29)


@dataclass(frozen=True)
class RenderRequest:
    """What one render of a work order needs: the frozen bundle and the work order's classification."""

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


@dataclass(frozen=True)
class EnsureResult:
    idempotent: bool
    pack_id: str | None
    job_id: str | None
    pack_state_version: int | None


def _bundle_problem(request: RenderRequest) -> tuple[str, str] | None:
    """Why a frozen bundle cannot become a pack (a business failure, recorded as ``pack_failed``)."""
    bundle = request.export_bundle
    if str(bundle.get("work_order_id")) != str(request.work_order_id):
        return "EXPORT_BUNDLE_INVALID", "export bundle names another work order"
    if stable_sha256(dict(bundle)) != request.export_bundle_hash:
        return "EXPORT_BUNDLE_HASH_MISMATCH", "export bundle does not match its hash"
    return None


async def _supersede(
    repo: FactoryRepository, pack: Mapping[str, Any], *, reason: str, actor: uuid.UUID | None
) -> None:
    """Mark a pack superseded and cancel its unfinished job (decision 29)."""
    pack_id = uuid.UUID(str(pack["id"]))
    await repo.set_pack_status(pack_id, "superseded")
    job = await repo.job_of_pack(pack_id)
    if job is not None and job["status"] in UNFINISHED_JOB_STATUSES:
        await repo.set_job_status(
            uuid.UUID(str(job["id"])),
            "cancelled",
            error_code="PACK_SUPERSEDED",
            error_message=reason,
            finished=True,
        )
    await repo.audit(
        tenant_id=uuid.UUID(str(pack["tenant_id"])),
        work_order_id=uuid.UUID(str(pack["work_order_id"])),
        pack_id=pack_id,
        entity_type="report_pack",
        entity_id=str(pack_id),
        action="pack_superseded",
        actor_user_id=actor,
        metadata={"reason": reason, "pack_version": pack["version"], "previous_status": pack["status"]},
    )


async def ensure_pack(
    uow: UnitOfWork,
    request: RenderRequest,
    *,
    settings: Settings,
    blobs: BlobStore,
    actor_user_id: uuid.UUID | None,
    requested_key: str | None = None,
    retry_failed: bool = False,
) -> EnsureResult:
    """Create, once per render generation, the pack, its debug_json artifact and its queued job.

    A business failure (a bundle that does not match its hash or its work order) is recorded as a
    failed pack and published as ``pack_failed`` (decision 7); only infrastructure errors raise.
    ``retry_failed`` (manual create-pack) supersedes a failed live pack and builds the next version.
    """
    repo = FactoryRepository(uow.session)
    wo = request.work_order_id
    await repo.lock(f"pack|{wo}")
    existing = await repo.pack_for_generation(wo, request.render_generation)
    live = await repo.live_pack(wo)
    if existing is not None and not (retry_failed and live is not None and live["status"] == "failed"):
        job = await repo.job_of_pack(uuid.UUID(str(existing["id"])))
        return EnsureResult(True, str(existing["id"]), str(job["id"]) if job else None, None)
    if live is not None:
        reason = "manual retry of a failed pack" if live["status"] == "failed" else "new render generation"
        await _supersede(repo, live, reason=reason, actor=actor_user_id)

    key = template_key(request.report_type, request.template_selector, request.bank_type)
    family = report_family(request.report_type)
    version = await repo.next_pack_version(wo, key)
    bundle_json = stable_dumps(dict(request.export_bundle)).encode("utf-8")
    readiness = request.export_bundle.get("readiness_json")
    warnings = readiness_warnings(readiness if isinstance(readiness, Mapping) else None)
    problem = _bundle_problem(request)
    pack_id = uuid.uuid4()
    context = {
        "source": "repogen_factory_bridge",
        "work_order_id": str(wo),
        "snapshot_version": request.snapshot_version,
        "export_bundle_hash": request.export_bundle_hash,
        "template_selector": request.template_selector,
        "value_slab": request.value_slab,
        "render_generation": request.render_generation,
    }
    await repo.insert_pack(
        {
            "id": pack_id,
            "tenant_id": request.tenant_id,
            "work_order_id": wo,
            "assignment_id": request.assignment_id,
            "template_key": key,
            "report_family": family,
            "version": version,
            "render_generation": request.render_generation,
            "snapshot_version": request.snapshot_version,
            "status": "failed" if problem else "generating",
            "warnings": warnings,
            "context_snapshot": context,
            "export_bundle": bundle_json,
            "export_bundle_hash": request.export_bundle_hash,
            "failure_code": problem[0] if problem else None,
            "failure_reason": problem[1] if problem else None,
            "created_by_user_id": actor_user_id,
        }
    )
    if problem is not None:
        await repo.audit(
            tenant_id=request.tenant_id,
            work_order_id=wo,
            pack_id=pack_id,
            entity_type="report_pack",
            entity_id=str(pack_id),
            action="pack_failed",
            actor_user_id=actor_user_id,
            metadata={"code": problem[0], "reason": problem[1], **context},
        )
        state_version = await emit_pack_state(
            uow,
            repo,
            PackFailed(work_order_id=str(wo), pack_id=str(pack_id), code=problem[0], reason=problem[1]),
            work_order_id=wo,
            tenant_id=request.tenant_id,
        )
        return EnsureResult(False, str(pack_id), None, state_version)

    blob_key = blobs.put(bundle_json)
    artifact = {
        "id": uuid.uuid4(),
        "tenant_id": request.tenant_id,
        "report_pack_id": pack_id,
        "kind": "debug_json",
        "filename": export_bundle_filename(request.snapshot_version),
        "storage_ref": export_bundle_storage_ref(str(wo), request.snapshot_version),
        "blob_key": blob_key,
        "mime_type": JSON_MIME_TYPE,
        "size_bytes": len(bundle_json),
        "checksum_sha256": request.export_bundle_hash,
        "metadata_json": {
            "placeholder": False,
            "purpose": "repogen_export_bundle_snapshot",
            "work_order_id": str(wo),
            "snapshot_version": request.snapshot_version,
            "template_selector": request.template_selector,
            "export_bundle_hash": request.export_bundle_hash,
            "export_bundle": dict(request.export_bundle),
        },
    }
    await repo.insert_artifact(artifact)

    job_key = requested_key or generation_idempotency_key(
        str(wo), request.snapshot_version, request.render_generation
    )
    if await repo.job_by_key(request.tenant_id, job_key) is not None:
        if requested_key:
            raise IdempotencyKeyReused(
                "generation idempotency key already used", details={"idempotency_key": requested_key}
            )
        # A manual retry of a failed pack renders the same snapshot again: keep keys unique.
        job_key = f"{job_key}:p{version}"
    job_id = uuid.uuid4()
    request_payload = {
        "repogen_factory": True,
        "source": "repogen_work_order_bridge",
        "work_order_id": str(wo),
        "snapshot_version": request.snapshot_version,
        "template_selector": request.template_selector,
        "value_slab": request.value_slab,
        "export_bundle_hash": request.export_bundle_hash,
        "render_generation": request.render_generation,
    }
    await repo.insert_job(
        {
            "id": job_id,
            "tenant_id": request.tenant_id,
            "report_pack_id": pack_id,
            "work_order_id": wo,
            "assignment_id": request.assignment_id,
            "template_key": key,
            "report_family": family,
            "idempotency_key": job_key,
            "max_attempts": settings.generation_max_attempts,
            "request_payload": request_payload,
            "warnings": warnings,
            "requested_by_user_id": actor_user_id,
        }
    )
    for action, entity_type, entity_id, extra in (
        ("pack_created", "report_pack", str(pack_id), {"pack_version": version, "template_key": key}),
        ("generation_requested", "report_generation_job", str(job_id), {"idempotency_key": job_key}),
    ):
        await repo.audit(
            tenant_id=request.tenant_id,
            work_order_id=wo,
            pack_id=pack_id,
            entity_type=entity_type,
            entity_id=entity_id,
            action=action,
            actor_user_id=actor_user_id,
            metadata={**context, **extra},
        )
    state_version = await emit_pack_state(
        uow,
        repo,
        PackCreated(
            work_order_id=str(wo),
            pack_id=str(pack_id),
            pack_version=version,
            template_key=key,
            report_family=family,
            status="generating",
            job_id=str(job_id),
            job_status="queued",
            export_bundle_hash=request.export_bundle_hash,
            snapshot_version=request.snapshot_version,
            artifacts=[artifact_ref(artifact)],
        ),
        work_order_id=wo,
        tenant_id=request.tenant_id,
    )
    await uow.emit(
        GenerationRequested(job_id=str(job_id), pack_id=str(pack_id), work_order_id=str(wo)),
        aggregate_id=str(job_id),
        aggregate_version=1,
        tenant_id=str(request.tenant_id),
    )
    return EnsureResult(False, str(pack_id), str(job_id), state_version)


def render_request_from_projection(wo: Mapping[str, Any]) -> RenderRequest:
    """The render request of a READY_FOR_RENDER work order from the factory's projection."""
    return RenderRequest(
        tenant_id=uuid.UUID(str(wo["tenant_id"])),
        work_order_id=uuid.UUID(str(wo["work_order_id"])),
        assignment_id=_uuid_or_none(wo.get("assignment_id")),
        report_type=str(wo["report_type"]),
        bank_type=str(wo["bank_type"]),
        template_selector=str(wo["template_selector"]),
        value_slab=str(wo["value_slab"]),
        snapshot_version=int(wo["snapshot_version"]),
        render_generation=max(1, int(wo["render_generation"])),
        export_bundle=dict(wo["export_bundle_json"]),
        export_bundle_hash=str(wo["export_bundle_hash"]),
    )


async def on_ready_for_render(
    uow: UnitOfWork, envelope: Envelope, *, settings: Settings, blobs: BlobStore
) -> None:
    """Project the frozen bundle, then build the pack of this render generation (once)."""
    event = ReadyForRender.model_validate(envelope.payload)
    repo = FactoryRepository(uow.session)
    tenant = envelope.tenant_id or await _projected_tenant(repo, event.work_order_id)
    if tenant is None:
        log.error("ready_for_render without tenant", extra={"work_order_id": event.work_order_id})
        return
    await repo.upsert_work_order(
        event.work_order_id,
        tenant,
        {
            "status": "READY_FOR_RENDER",
            "assignment_id": _uuid_or_none(event.assignment_id),
            "report_type": event.report_type,
            "bank_type": event.bank_type,
            "value_slab": event.value_slab,
            "template_selector": event.template_selector,
            "render_generation": event.render_generation,
            "snapshot_version": event.snapshot_version,
            "readiness_score": event.readiness_score,
            "export_bundle": event.export_bundle,
            "export_bundle_hash": event.export_bundle_hash,
        },
        envelope.aggregate_version,
    )
    await ensure_pack(
        uow,
        RenderRequest(
            tenant_id=uuid.UUID(tenant),
            work_order_id=uuid.UUID(event.work_order_id),
            assignment_id=_uuid_or_none(event.assignment_id),
            report_type=event.report_type,
            bank_type=event.bank_type,
            template_selector=event.template_selector,
            value_slab=event.value_slab,
            snapshot_version=event.snapshot_version,
            render_generation=event.render_generation,
            export_bundle=event.export_bundle,
            export_bundle_hash=event.export_bundle_hash,
        ),
        settings=settings,
        blobs=blobs,
        actor_user_id=_uuid_or_none(event.actor_user_id),
    )


async def _projected_tenant(repo: FactoryRepository, work_order_id: str) -> str | None:
    wo = await repo.get_work_order(uuid.UUID(work_order_id))
    return str(wo["tenant_id"]) if wo else None


async def on_work_order_left_render(uow: UnitOfWork, envelope: Envelope, *, status: str) -> None:
    """``reopened`` / ``cancelled``: the live pack is superseded and its unfinished job cancelled.

    A generated pack of a cancelled work order stays (its deliverables may have been released); a
    reopen always supersedes, and the next READY_FOR_RENDER builds version + 1 (decision 29).
    """
    repo = FactoryRepository(uow.session)
    work_order_id = str(envelope.payload["work_order_id"])
    wo = uuid.UUID(work_order_id)
    tenant = envelope.tenant_id or await _projected_tenant(repo, work_order_id)
    if tenant is None:
        return
    fields: dict[str, Any] = {"status": status}
    if "render_generation" in envelope.payload:
        fields["render_generation"] = int(envelope.payload["render_generation"])
    await repo.upsert_work_order(work_order_id, tenant, fields, envelope.aggregate_version)
    await repo.lock(f"pack|{wo}")
    live = await repo.live_pack(wo)
    if live is None:
        return
    actor = _uuid_or_none(envelope.payload.get("actor_user_id"))
    if status == "CANCELLED" and live["status"] == "generated":
        return
    await _supersede(repo, live, reason=f"work order {status.lower()}", actor=actor)


# ==================================================================================================
# Generation worker (domain.md §5.4; decision 23)


@dataclass(frozen=True)
class _Attempt:
    job: dict[str, Any]
    pack: dict[str, Any]
    bundle: bytes
    exhausted: bool


class GenerationWorker:
    """Consumes ``generation_requested``; renders the DOCX with retries and backoff.

    Each attempt is counted in its own committed transaction *before* rendering (decision 23), so a
    crash or a failing render never loses the count. A failing render is retried inside the handler
    with exponential backoff (base * 2^(n-1)) until ``max_attempts``; then the job and the pack fail and
    ``pack_failed`` is published. The final effect (artifact, statuses, audit, event) is written in the
    consumer's own transaction, together with its inbox row. A redelivery after a crash resumes from the
    stored attempt count; a job already completed, failed or cancelled changes nothing.
    """

    def __init__(self, db: Database, outbox: OutboxWriter, blobs: BlobStore, settings: Settings) -> None:
        self._db = db
        self._outbox = outbox
        self._blobs = blobs
        self._settings = settings

    def _backoff(self, attempt: int) -> float:
        delay = self._settings.generation_backoff_base_s * (2 ** max(0, attempt - 1))
        return float(min(delay, self._settings.generation_backoff_max_s))

    async def on_generation_requested(self, uow: UnitOfWork, envelope: Envelope) -> None:
        event = GenerationRequested.model_validate(envelope.payload)
        job_id = uuid.UUID(event.job_id)
        while True:
            attempt = await self._start_attempt(job_id, envelope)
            if attempt is None:
                return
            job, pack = attempt.job, attempt.pack
            if attempt.exhausted:
                await self._fail(
                    uow, job, pack, code="GENERATION_ATTEMPTS_EXHAUSTED", message=str(job["error_message"])
                )
                return
            try:
                docx = await asyncio.to_thread(
                    render_report_docx,
                    json.loads(attempt.bundle),
                    template_key=str(pack["template_key"]),
                    export_bundle_hash=str(pack["export_bundle_hash"]),
                    pack_version=int(pack["version"]),
                    read_blob=self._blobs.get,
                )
            except FactoryError as exc:
                # Deterministic: the same bundle fails the same way, so retrying cannot help.
                await self._fail(uow, job, pack, code=exc.code, message=exc.message)
                return
            except Exception as exc:
                log.warning("render attempt failed", extra={"job_id": str(job_id), "error": repr(exc)})
                if int(job["attempts"]) >= int(job["max_attempts"]):
                    await self._fail(uow, job, pack, code="RENDER_FAILED", message=repr(exc))
                    return
                await self._record_failed_attempt(job, repr(exc), envelope)
                await asyncio.sleep(self._backoff(int(job["attempts"])))
                continue
            await self._complete(uow, job, pack, docx, envelope)
            return

    def _own_uow(self, envelope: Envelope) -> UnitOfWork:
        return UnitOfWork(self._db, self._outbox, role=Role.SYSTEM, tenant_id=envelope.tenant_id)

    async def _start_attempt(self, job_id: uuid.UUID, envelope: Envelope) -> _Attempt | None:
        async with self._own_uow(envelope) as own:
            repo = FactoryRepository(own.session)
            job = await repo.get_job(job_id, for_update=True)
            if job is None:
                log.error("generation job not found", extra={"job_id": str(job_id)})
                return None
            if job["status"] in TERMINAL_JOB_STATUSES:
                return None
            pack_id = uuid.UUID(str(job["report_pack_id"]))
            pack = await repo.get_pack(pack_id)
            bundle = await repo.pack_export_bundle(pack_id)
            if pack is None or bundle is None:
                return None
            if pack["status"] == "superseded":
                await repo.set_job_status(job_id, "cancelled", error_code="PACK_SUPERSEDED", finished=True)
                await own.commit()
                return None
            if int(job["attempts"]) >= int(job["max_attempts"]):
                return _Attempt(job, pack, bundle, exhausted=True)
            await repo.start_attempt(job_id, envelope.correlation_id)
            await repo.audit(
                tenant_id=uuid.UUID(str(job["tenant_id"])),
                work_order_id=uuid.UUID(str(job["work_order_id"])),
                pack_id=pack_id,
                entity_type="report_generation_job",
                entity_id=str(job_id),
                action="generation_started",
                actor_user_id=None,
                metadata={"attempt": int(job["attempts"]) + 1, "request_id": envelope.correlation_id},
            )
            await own.commit()
            job = dict(job, attempts=int(job["attempts"]) + 1, status="processing")
            return _Attempt(job, pack, bundle, exhausted=False)

    async def _record_failed_attempt(self, job: Mapping[str, Any], error: str, envelope: Envelope) -> None:
        async with self._own_uow(envelope) as own:
            repo = FactoryRepository(own.session)
            job_id = uuid.UUID(str(job["id"]))
            current = await repo.get_job(job_id, for_update=True)
            if current is None or current["status"] != "processing":
                return
            await repo.set_job_status(
                job_id, "queued", error_code="RENDER_FAILED", error_message=error[:2000]
            )
            await repo.audit(
                tenant_id=uuid.UUID(str(job["tenant_id"])),
                work_order_id=uuid.UUID(str(job["work_order_id"])),
                pack_id=uuid.UUID(str(job["report_pack_id"])),
                entity_type="report_generation_job",
                entity_id=str(job_id),
                action="generation_attempt_failed",
                actor_user_id=None,
                metadata={"attempt": job["attempts"], "error": error[:2000]},
            )
            await own.commit()

    async def _fail(
        self, uow: UnitOfWork, job: Mapping[str, Any], pack: Mapping[str, Any], *, code: str, message: str
    ) -> None:
        repo = FactoryRepository(uow.session)
        job_id = uuid.UUID(str(job["id"]))
        current = await repo.get_job(job_id, for_update=True)
        if current is None or current["status"] in TERMINAL_JOB_STATUSES:
            return
        pack_id = uuid.UUID(str(pack["id"]))
        wo = uuid.UUID(str(job["work_order_id"]))
        tenant = uuid.UUID(str(job["tenant_id"]))
        await repo.set_job_status(
            job_id, "failed", error_code=code, error_message=message[:2000], finished=True
        )
        live = await repo.get_pack(pack_id, for_update=True)
        if live is not None and live["status"] == "generating":
            await repo.set_pack_status(pack_id, "failed", failure_code=code, failure_reason=message[:2000])
        await repo.audit(
            tenant_id=tenant,
            work_order_id=wo,
            pack_id=pack_id,
            entity_type="report_generation_job",
            entity_id=str(job_id),
            action="generation_failed",
            actor_user_id=None,
            metadata={"code": code, "error": message[:2000], "attempts": current["attempts"]},
        )
        await emit_pack_state(
            uow,
            repo,
            PackFailed(
                work_order_id=str(wo),
                pack_id=str(pack_id),
                job_id=str(job_id),
                code=code,
                reason=message[:2000],
                attempts=int(current["attempts"]),
            ),
            work_order_id=wo,
            tenant_id=tenant,
        )

    async def _complete(
        self,
        uow: UnitOfWork,
        job: Mapping[str, Any],
        pack: Mapping[str, Any],
        docx: bytes,
        envelope: Envelope,
    ) -> None:
        repo = FactoryRepository(uow.session)
        job_id = uuid.UUID(str(job["id"]))
        current = await repo.get_job(job_id, for_update=True)
        if current is None or current["status"] != "processing":
            # Cancelled (reopen) while rendering, or finished by a concurrent delivery.
            return
        pack_id = uuid.UUID(str(pack["id"]))
        live = await repo.get_pack(pack_id, for_update=True)
        if live is None or live["status"] != "generating":
            return
        wo = uuid.UUID(str(job["work_order_id"]))
        tenant = uuid.UUID(str(job["tenant_id"]))
        blob_key = self._blobs.put(docx)
        context = live["context_snapshot"]
        await repo.insert_artifact(
            {
                "id": uuid.uuid4(),
                "tenant_id": tenant,
                "report_pack_id": pack_id,
                "kind": "docx",
                "filename": artifact_filename(str(live["template_key"]), int(live["version"])),
                "storage_ref": blob_storage_ref(blob_key),
                "blob_key": blob_key,
                "mime_type": DOCX_MIME_TYPE,
                "size_bytes": len(docx),
                "checksum_sha256": blob_key,
                "metadata_json": {
                    "placeholder": False,
                    "generated_by": "repogen_factory_docx_renderer",
                    "request_id": envelope.correlation_id,
                    "repogen_factory": True,
                    "work_order_id": str(wo),
                    "snapshot_version": live["snapshot_version"],
                    "template_selector": context.get("template_selector"),
                    "template_key": live["template_key"],
                    "pack_version": live["version"],
                    "export_bundle_hash": live["export_bundle_hash"],
                    "attempts": current["attempts"],
                },
            }
        )
        await repo.set_job_status(job_id, "completed", finished=True)
        await repo.set_pack_status(pack_id, "generated")
        await repo.audit(
            tenant_id=tenant,
            work_order_id=wo,
            pack_id=pack_id,
            entity_type="report_generation_job",
            entity_id=str(job_id),
            action="generation_completed",
            actor_user_id=None,
            metadata={
                "request_id": envelope.correlation_id,
                "pack_version": live["version"],
                "attempts": current["attempts"],
                "docx_sha256": blob_key,
            },
        )
        artifacts = await repo.artifacts_of(pack_id)
        await emit_pack_state(
            uow,
            repo,
            PackGenerated(
                work_order_id=str(wo),
                pack_id=str(pack_id),
                pack_version=int(live["version"]),
                job_id=str(job_id),
                attempts=int(current["attempts"]),
                artifacts=[artifact_ref(a) for a in artifacts],
            ),
            work_order_id=wo,
            tenant_id=tenant,
        )


# ==================================================================================================
# Billing projection and gate outcomes (architecture §4)


async def on_work_order_billing(uow: UnitOfWork, envelope: Envelope) -> None:
    """Keep the newest billing state of each work order with the version it reflects."""
    state = WorkOrderBilling.model_validate(envelope.payload)
    repo = FactoryRepository(uow.session)
    tenant = envelope.tenant_id or await _projected_tenant(repo, state.work_order_id)
    if tenant is None:
        log.error("work_order_billing without tenant", extra={"work_order_id": state.work_order_id})
        return
    await repo.upsert_billing(state.work_order_id, tenant, envelope.payload, envelope.aggregate_version)


def _billing_metadata(state: Mapping[str, Any] | None) -> dict[str, Any]:
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


async def on_gate_decided(uow: UnitOfWork, envelope: Envelope) -> None:
    """Record billing's outcome on the PENDING release, audit it and publish ``release_recorded``.

    A second outcome for the same release (redelivery, re-decision) changes nothing.
    """
    event = GateDecided.model_validate(envelope.payload)
    repo = FactoryRepository(uow.session)
    release_id = _uuid_or_none(event.release_id)
    release = await repo.get_release(release_id, for_update=True) if release_id else None
    if release_id is None or release is None:
        log.warning("gate outcome for unknown release", extra={"release_id": event.release_id})
        return
    if release["billing_gate_result"] != PENDING:
        return
    wo = uuid.UUID(str(release["work_order_id"]))
    tenant = uuid.UUID(str(release["org_id"]))
    billing = await repo.get_billing(wo)
    metadata: dict[str, Any] = {
        key: value for key, value in _billing_metadata(billing["state"] if billing else None).items()
    }
    metadata.update(event.metadata)
    metadata.update(
        {
            "blocked_reason": event.blocked_reason,
            "credit_consume_ledger_id": event.ledger_entry_ids[0] if event.ledger_entry_ids else None,
            "ledger_entry_ids": event.ledger_entry_ids,
            "usage_event_id": event.usage_event_id,
            "error_code": event.error_code,
            "error_message": event.error_message,
            "override_applied": event.override_applied,
            "decision_id": event.decision_id,
        }
    )
    await repo.decide_release(
        release_id,
        result=event.result,
        mode=event.mode,
        error_code=event.error_code,
        decision_id=event.decision_id,
        decision_hash=event.decision_hash,
        metadata=metadata,
    )
    await repo.audit(
        tenant_id=tenant,
        work_order_id=wo,
        pack_id=uuid.UUID(str(release["report_pack_id"])),
        entity_type="repogen_deliverable_release",
        entity_id=str(release["id"]),
        action=release_audit_action(event.result),
        actor_user_id=_uuid_or_none(release.get("released_by_user_id")),
        metadata={
            "repogen_work_order_id": str(wo),
            "billing_gate_result": event.result,
            "override": release["override_requested"],
            "override_reason": release["override_reason"],
            "blocked_reason": event.blocked_reason,
            "error_code": event.error_code,
            "decision_hash": event.decision_hash,
        },
    )
    recorded = await repo.get_release(release_id)
    assert recorded is not None
    await emit_pack_state(
        uow,
        repo,
        ReleaseRecorded(work_order_id=str(wo), release=recorded),
        work_order_id=wo,
        tenant_id=tenant,
    )


# ==================================================================================================
# Release request (domain.md §6; architecture §4; decision 8)


@dataclass(frozen=True)
class ReleaseStarted:
    """What the HTTP layer needs to answer: which release to show and whether it is a replay."""

    release_id: str
    idempotent: bool
    recorded_release_id: str | None
    pack_state_version: int | None


async def request_release(
    uow: UnitOfWork,
    *,
    tenant_id: uuid.UUID,
    work_order_id: uuid.UUID,
    actor_user_id: uuid.UUID | None,
    request: ReleaseRequest,
) -> ReleaseStarted:
    """Validate, apply the key and prior-success rules, record the PENDING release, ask billing."""
    repo = FactoryRepository(uow.session)
    # Key lock first, work-order lock second (always this order: no deadlock between requests).
    await repo.lock(f"release-key|{tenant_id}|{request.idempotency_key}")
    await repo.lock(f"release-wo|{work_order_id}")
    wo = await repo.get_work_order(work_order_id)
    if wo is None:
        raise work_order_not_found(str(work_order_id))
    stored = await repo.release_by_key(tenant_id, request.idempotency_key)
    if stored is not None:
        if stored["work_order_id"] != str(work_order_id):
            raise IdempotencyKeyReused(
                "idempotency key was already used for another work order",
                details={"idempotency_key": request.idempotency_key},
            )
        shown = stored["prior_release_id"] or stored["id"]
        return ReleaseStarted(
            str(shown), True, str(stored["id"]) if stored["prior_release_id"] else None, None
        )
    pack = await repo.live_pack(work_order_id)
    if pack is None:
        raise BadRequest("no report pack is linked to this work order", code="REPORT_PACK_NOT_LINKED")
    pack_id = uuid.UUID(str(pack["id"]))
    job = await repo.job_of_pack(pack_id)
    if job is None or job["status"] != "completed":
        raise BadRequest(
            "report generation has not completed",
            code="PACK_GENERATION_NOT_COMPLETED",
            details={"job_status": job["status"] if job else None},
        )
    prior = await repo.release_in_state(work_order_id, pack_id, tuple(sorted(SUCCESSFUL_GATE_RESULTS)))
    pending = await repo.release_in_state(work_order_id, pack_id, (PENDING,))
    if prior is None and pending is not None:
        raise Conflict(
            "a release of this pack is awaiting billing's decision",
            code="RELEASE_IN_PROGRESS",
            details={"release_id": pending["id"], "poll_url": releases_url(str(work_order_id))},
        )
    billing = await repo.get_billing(work_order_id)
    state = billing["state"] if billing else None
    release_id = uuid.uuid4()
    base_metadata = {
        "report_generation_job_id": job["id"],
        "report_generation_job_status": job["status"],
        "override_requested": request.override,
        **_billing_metadata(state),
    }
    if prior is not None:
        # Decision 8: the new key is recorded as a link to the prior success, which it returns.
        await repo.insert_release(
            {
                "id": release_id,
                "tenant_id": tenant_id,
                "work_order_id": work_order_id,
                "report_pack_id": pack_id,
                "released_by_user_id": actor_user_id,
                "idempotency_key": request.idempotency_key,
                "override_requested": request.override,
                "override_reason": request.override_reason,
                "billing_mode_at_release": prior["billing_mode_at_release"],
                "billing_gate_result": prior["billing_gate_result"],
                "prior_release_id": uuid.UUID(str(prior["id"])),
                "metadata_json": {
                    **base_metadata,
                    "prior_release_id": prior["id"],
                    "replay_of_prior_success": True,
                },
                "released_at": None,
            }
        )
        await repo.audit(
            tenant_id=tenant_id,
            work_order_id=work_order_id,
            pack_id=pack_id,
            entity_type="repogen_deliverable_release",
            entity_id=str(release_id),
            action="deliverables_release_replayed",
            actor_user_id=actor_user_id,
            metadata={"prior_release_id": prior["id"], "idempotency_key": request.idempotency_key},
        )
        recorded = await repo.get_release(release_id)
        assert recorded is not None
        version = await emit_pack_state(
            uow,
            repo,
            ReleaseRecorded(work_order_id=str(work_order_id), release=recorded),
            work_order_id=work_order_id,
            tenant_id=tenant_id,
        )
        return ReleaseStarted(str(prior["id"]), True, str(release_id), version)

    await repo.insert_release(
        {
            "id": release_id,
            "tenant_id": tenant_id,
            "work_order_id": work_order_id,
            "report_pack_id": pack_id,
            "released_by_user_id": actor_user_id,
            "idempotency_key": request.idempotency_key,
            "override_requested": request.override,
            "override_reason": request.override_reason,
            "billing_mode_at_release": derive_billing_mode(state),
            "billing_gate_result": PENDING,
            "prior_release_id": None,
            "metadata_json": base_metadata,
            "released_at": None,
        }
    )
    await repo.audit(
        tenant_id=tenant_id,
        work_order_id=work_order_id,
        pack_id=pack_id,
        entity_type="repogen_deliverable_release",
        entity_id=str(release_id),
        action="deliverables_release_requested",
        actor_user_id=actor_user_id,
        metadata={
            "repogen_work_order_id": str(work_order_id),
            "idempotency_key": request.idempotency_key,
            "override": request.override,
            "override_reason": request.override_reason,
        },
    )
    version = await emit_pack_state(
        uow,
        repo,
        ReleaseRequested(
            release_id=str(release_id),
            work_order_id=str(work_order_id),
            idempotency_key=request.idempotency_key,
            override=request.override,
            override_reason=request.override_reason,
            pack_id=str(pack_id),
            job_status=str(job["status"]),
            actor_user_id=str(actor_user_id) if actor_user_id else None,
            requested_at=utc_now_iso(),
        ),
        work_order_id=work_order_id,
        tenant_id=tenant_id,
    )
    return ReleaseStarted(str(release_id), False, None, version)


def releases_url(work_order_id: str) -> str:
    return f"/v1/repogen/work-orders/{work_order_id}/releases"


# ==================================================================================================
# Views and downloads


async def pack_view(repo: FactoryRepository, work_order_id: uuid.UUID) -> dict[str, Any]:
    """The pack link view (domain.md §5.3); 404 when the work order is unknown here."""
    wo = await repo.get_work_order(work_order_id)
    if wo is None:
        raise work_order_not_found(str(work_order_id))
    pack = await repo.latest_pack(work_order_id)
    pack_out: dict[str, Any] | None = None
    job_out: dict[str, Any] | None = None
    if pack is not None:
        pack_id = uuid.UUID(str(pack["id"]))
        artifacts = [
            {k: v for k, v in a.items() if k not in {"report_pack_id", "blob_key"}}
            | {"download_url": download_url(a)}
            for a in await repo.artifacts_of(pack_id)
        ]
        pack_out = {k: v for k, v in pack.items() if k != "tenant_id"} | {"artifacts": artifacts}
        job = await repo.job_of_pack(pack_id)
        if job is not None:
            job_out = {k: v for k, v in job.items() if k != "tenant_id"}
    billing = await repo.get_billing(work_order_id)
    gate = billing_gate_status(billing["state"] if billing else None)
    gate["source_version"] = billing["source_version"] if billing else None
    return {
        "work_order_id": str(work_order_id),
        "work_order_status": wo["status"],
        "readiness_score": wo["readiness_score"],
        "value_slab": wo["value_slab"],
        "template_selector": wo["template_selector"],
        "pack_state": _pack_state(pack),
        "pack": pack_out,
        "generation_job": job_out,
        "deliverable_releases": await repo.releases_of_work_order(work_order_id),
        "billing_gate_status": gate,
        "pack_state_version": await repo.pack_state_version(str(work_order_id)),
    }


def _pack_state(pack: Mapping[str, Any] | None) -> str:
    return "PENDING" if pack is None else str(pack["status"]).upper()


def download_url(artifact: Mapping[str, Any]) -> str:
    return f"/v1/repogen/artifacts/{artifact['id']}/download"


async def audit_download(
    uow: UnitOfWork,
    *,
    pack: Mapping[str, Any],
    action: str,
    entity_type: str,
    entity_id: str,
    actor_user_id: uuid.UUID | None,
    metadata: Mapping[str, Any],
) -> None:
    await FactoryRepository(uow.session).audit(
        tenant_id=uuid.UUID(str(pack["tenant_id"])),
        work_order_id=uuid.UUID(str(pack["work_order_id"])),
        pack_id=uuid.UUID(str(pack["id"])),
        entity_type=entity_type,
        entity_id=entity_id,
        action=action,
        actor_user_id=actor_user_id,
        metadata=metadata,
    )


DOWNLOAD_ACTIONS = frozenset({"artifact_downloaded", "evidence_pack_downloaded"})


async def evidence_pack_files(
    repo: FactoryRepository, pack: Mapping[str, Any], blobs: BlobStore
) -> dict[str, bytes]:
    """The files of a pack's evidence ZIP; the same pack state gives the same bytes.

    Download audit rows are left out of ``audit_events.jsonl``: each download is audited, and a pack
    that changed with every download could never be verified against an earlier copy.
    """
    pack_id = uuid.UUID(str(pack["id"]))
    bundle = await repo.pack_export_bundle(pack_id)
    if bundle is None:
        raise NotFound("report pack not found", code="REPORT_PACK_NOT_FOUND")
    files: dict[str, bytes] = {"export_bundle.json": bundle}
    manifest = json.loads(bundle).get("evidence_manifest", [])
    files["evidence_manifest.json"] = stable_dumps(manifest).encode("utf-8")
    for artifact in await repo.artifacts_of(pack_id):
        if artifact["kind"] != "docx":
            continue
        data = blobs.get(str(artifact["blob_key"]))
        if data is None:
            raise Conflict("artifact bytes are missing from the blob store", code="ARTIFACT_BLOB_MISSING")
        files[str(artifact["filename"])] = data
    files["releases.json"] = stable_dumps(await repo.releases_of_pack(pack_id)).encode("utf-8")
    lines = [
        stable_dumps(row) + "\n"
        for row in await repo.audit_of_work_order(uuid.UUID(str(pack["work_order_id"])))
        if row["action"] not in DOWNLOAD_ACTIONS and row["report_pack_id"] in (None, str(pack_id))
    ]
    files["audit_events.jsonl"] = "".join(lines).encode("utf-8")
    return files


def build_pack_zip(files: Mapping[str, bytes]) -> bytes:
    return build_evidence_pack(files)
