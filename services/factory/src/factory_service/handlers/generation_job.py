"""Render a pack's DOCX: the generation job, with retries and backoff (domain.md §5.4; decision 23)."""

from __future__ import annotations

import asyncio
import json
import logging
import uuid
from collections.abc import Callable, Mapping
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from typing import Any, Final

from aiokafka.errors import KafkaError, KafkaTimeoutError
from sqlalchemy.exc import DBAPIError, InterfaceError

from factory_service.domain.errors import FactoryError
from factory_service.domain.templates import (
    COVER_SHEET_KIND,
    DOCX_MIME_TYPE,
    PDF_MIME_TYPE,
    artifact_filename,
    cover_sheet_filename,
    pdf_filename,
    template_title,
)
from factory_service.handlers.common import TERMINAL_JOB_STATUSES, artifact_refs, emit_pack_state
from factory_service.records import AuditScope, JobRecord, PackRecord
from factory_service.rendering.cover_sheet import render_cover_sheet
from factory_service.rendering.docx_renderer import FIXED_EPOCH, render_report_docx, report_date_of
from factory_service.rendering.pdf import docx_to_pdf
from factory_service.rendering.stamp import ReportStamp
from factory_service.repositories import AuditLog, JobRepository, PackRepository
from factory_service.settings import Settings
from shared.blobstore import BlobStore
from shared.contracts.factory import PackFailed, PackGenerated
from shared.cpu import run_cpu
from shared.db.uow import UnitOfWork

log = logging.getLogger(__name__)

_ERROR_TEXT_LIMIT = 2000

Transaction = Callable[[str | None], AbstractAsyncContextManager[UnitOfWork]]
"""A new unit of work of the system role for a tenant (``ServiceContainer.system_uow``)."""

Renderer = Callable[..., bytes]
"""``render_report_docx``'s signature: the frozen bundle and the pack's facts -> DOCX bytes."""

PdfConverter = Callable[[bytes, Mapping[str, Any], str], bytes]
"""The DOCX, its frozen bundle and template key -> the PDF beside it."""


def report_pdf(docx: bytes, bundle: Mapping[str, Any], template_key: str) -> bytes:
    """The report's PDF (LibreOffice, fixed metadata: the report date, the template's title)."""
    return docx_to_pdf(docx, title=template_title(template_key), stamp=report_date_of(bundle) or FIXED_EPOCH)


_TRANSIENT_SQLSTATES: Final = frozenset({"40001", "40P01"})
"""Serialization failure and deadlock: the same transaction succeeds when run again."""


def is_transient(exc: BaseException) -> bool:
    """Whether ``exc`` can pass on its own, so another attempt may succeed.

    I/O and timeouts (the blob store, a socket), a lost database connection, a serialization failure
    or deadlock, a retriable broker error. Anything else (a ``KeyError``, bad data, a bug) fails the
    same way every time.
    """
    if isinstance(exc, OSError):  # TimeoutError and ConnectionError included
        return True
    if isinstance(exc, KafkaError):
        return bool(exc.retriable) or isinstance(exc, KafkaTimeoutError)
    if isinstance(exc, DBAPIError):
        if exc.connection_invalidated or isinstance(exc, InterfaceError):
            return True
        # SQLAlchemy wraps the driver's error; asyncpg's names its SQLSTATE.
        return _sqlstate_transient(getattr(exc.orig, "driver_exception", exc.orig))
    return _sqlstate_transient(exc)


def _sqlstate_transient(exc: object) -> bool:
    """A driver error of a transient SQLSTATE (class 08: the connection failed)."""
    state = getattr(exc, "sqlstate", None)
    return isinstance(state, str) and (state in _TRANSIENT_SQLSTATES or state.startswith("08"))


@dataclass(frozen=True)
class RenderPack:
    """Run the generation job ``job_id`` (a ``generation_requested`` delivery)."""

    job_id: uuid.UUID
    tenant_id: str | None
    request_id: str | None


@dataclass(frozen=True)
class _Attempt:
    job: JobRecord
    pack: PackRecord
    bundle: bytes
    exhausted: bool


def stamp_of(verification_code: str | None, context_snapshot: Mapping[str, Any]) -> ReportStamp:
    """What a pack fixed at its build beyond the bundle (its code and ``context_snapshot.report_stamp``):
    verification code, verify URL, valuer. The same pack always gives the same stamp."""
    stamp = context_snapshot.get("report_stamp")
    fixed = stamp if isinstance(stamp, Mapping) else {}

    def text(key: str) -> str | None:
        value = fixed.get(key)
        return value if isinstance(value, str) and value else None

    return ReportStamp(
        verification_code=verification_code,
        verify_url=text("verify_url") if verification_code else None,
        valuer_name=text("valuer_name"),
        valuer_registration_no=text("valuer_registration_no"),
    )


def pack_stamp(pack: PackRecord) -> ReportStamp:
    """:func:`stamp_of` a stored pack."""
    return stamp_of(pack.verification_code, pack.context_snapshot)


def blob_storage_ref(blob_key: str) -> str:
    """Where a generated artifact lives: the content-addressed blob store (architecture §2)."""
    return f"blob://sha256/{blob_key}"


def _scope(job: JobRecord) -> AuditScope:
    return AuditScope.of_job(job)


def _entity(job: JobRecord) -> tuple[str, str]:
    return ("report_generation_job", job.id)


class GenerationWorker:
    """Consumes ``generation_requested``; renders the DOCX with retries and backoff.

    Each attempt is counted in its own committed transaction *before* rendering (decision 23), so a
    crash or a failing render never loses the count. A render that fails for a reason that can pass
    (:func:`is_transient`) is retried inside the handler with exponential backoff (base * 2^(n-1)) until
    ``max_attempts``; then the job and the pack fail and ``pack_failed`` is published. Any other error
    fails them at once, with the ``FactoryError``'s code or ``RENDER_FAILED``. The final effect (artifact, statuses, audit, event) is written in the
    consumer's own transaction, together with its inbox row. A redelivery after a crash resumes from the
    stored attempt count; a job already completed, failed or cancelled changes nothing.
    """

    def __init__(
        self,
        transaction: Transaction,
        blobs: BlobStore,
        settings: Settings,
        *,
        render: Renderer = render_report_docx,
        cover_sheet: Renderer = render_cover_sheet,
        to_pdf: PdfConverter = report_pdf,
    ) -> None:
        self._transaction = transaction
        self._blobs = blobs
        self._settings = settings
        self._render = render
        self._cover_sheet = cover_sheet
        self._to_pdf = to_pdf

    def _backoff(self, attempt: int) -> float:
        delay = self._settings.generation_backoff_base_s * (2 ** max(0, attempt - 1))
        return float(min(delay, self._settings.generation_backoff_max_s))

    async def render_pack(self, uow: UnitOfWork, command: RenderPack) -> None:
        """Attempt the render until it succeeds, fails for good or runs out of attempts."""
        while True:
            attempt = await self._start_attempt(command)
            if attempt is None:
                return
            job, pack = attempt.job, attempt.pack
            if attempt.exhausted:
                await self._fail(
                    uow, job, pack, code="GENERATION_ATTEMPTS_EXHAUSTED", message=str(job.error_message)
                )
                return
            try:
                bundle, stamp = json.loads(attempt.bundle), pack_stamp(pack)
                # CPU-bound: in the process's CPU pool (shared.cpu), so the consumers keep the loop
                docx = await run_cpu(
                    self._render,
                    bundle,
                    template_key=pack.template_key,
                    export_bundle_hash=pack.export_bundle_hash,
                    pack_version=pack.version,
                    read_blob=self._blobs.get,
                    stamp=stamp,
                )
                pdf = await run_cpu(self._to_pdf, docx, bundle, pack.template_key)
                cover = await run_cpu(
                    self._cover_sheet,
                    bundle,
                    template_key=pack.template_key,
                    export_bundle_hash=pack.export_bundle_hash,
                    pack_version=pack.version,
                    stamp=stamp,
                )
            except FactoryError as exc:
                # Deterministic: the same bundle fails the same way, so retrying cannot help.
                await self._fail(uow, job, pack, code=exc.code, message=exc.message)
                return
            except Exception as exc:
                log.warning(
                    "render attempt failed", extra={"job_id": str(command.job_id), "error": repr(exc)}
                )
                if not is_transient(exc):
                    # A bug or bad data fails the same way on every attempt: fail the job now.
                    await self._fail(uow, job, pack, code="RENDER_FAILED", message=repr(exc))
                    return
                if job.attempts >= job.max_attempts:
                    await self._fail(uow, job, pack, code="RENDER_FAILED", message=repr(exc))
                    return
                await self._record_failed_attempt(job, repr(exc), command)
                await asyncio.sleep(self._backoff(job.attempts))
                continue
            await self._complete(uow, job, pack, (docx, pdf, cover), command)
            return

    async def _start_attempt(self, command: RenderPack) -> _Attempt | None:
        async with self._transaction(command.tenant_id) as own:
            jobs, packs = own.repo(JobRepository), own.repo(PackRepository)
            job = await jobs.get(command.job_id, for_update=True)
            if job is None:
                log.error("generation job not found", extra={"job_id": str(command.job_id)})
                return None
            if job.status in TERMINAL_JOB_STATUSES:
                return None
            pack_id = uuid.UUID(job.report_pack_id)
            pack = await packs.get(pack_id)
            bundle = await packs.export_bundle(pack_id)
            if pack is None or bundle is None:
                return None
            if pack.status == "superseded":
                await jobs.set_status(
                    command.job_id, "cancelled", error_code="PACK_SUPERSEDED", finished=True
                )
                await own.commit()
                return None
            if job.attempts >= job.max_attempts:
                return _Attempt(job, pack, bundle, exhausted=True)
            await jobs.start_attempt(command.job_id, command.request_id)
            started_attempt = {"attempt": job.attempts + 1, "request_id": command.request_id}
            await own.repo(AuditLog).record(_scope(job), "generation_started", _entity(job), started_attempt)
            await own.commit()
            started = job.model_copy(update={"attempts": job.attempts + 1, "status": "processing"})
            return _Attempt(started, pack, bundle, exhausted=False)

    async def _record_failed_attempt(self, job: JobRecord, error: str, command: RenderPack) -> None:
        async with self._transaction(command.tenant_id) as own:
            jobs = own.repo(JobRepository)
            current = await jobs.get(command.job_id, for_update=True)
            if current is None or current.status != "processing":
                return
            message = error[:_ERROR_TEXT_LIMIT]
            await jobs.set_status(command.job_id, "queued", error_code="RENDER_FAILED", error_message=message)
            failed_attempt = {"attempt": job.attempts, "error": message}
            await own.repo(AuditLog).record(
                _scope(job), "generation_attempt_failed", _entity(job), failed_attempt
            )
            await own.commit()

    async def _fail(
        self, uow: UnitOfWork, job: JobRecord, pack: PackRecord, *, code: str, message: str
    ) -> None:
        jobs, packs = uow.repo(JobRepository), uow.repo(PackRepository)
        job_id = uuid.UUID(job.id)
        current = await jobs.get(job_id, for_update=True)
        if current is None or current.status in TERMINAL_JOB_STATUSES:
            return
        pack_id = uuid.UUID(pack.id)
        reason = message[:_ERROR_TEXT_LIMIT]
        await jobs.set_status(job_id, "failed", error_code=code, error_message=reason, finished=True)
        live = await packs.get(pack_id, for_update=True)
        if live is not None and live.status == "generating":
            await packs.set_status(pack_id, "failed", failure_code=code, failure_reason=reason)
        failure = {"code": code, "error": reason, "attempts": current.attempts}
        failed = PackFailed(
            work_order_id=job.work_order_id,
            pack_id=str(pack_id),
            job_id=str(job_id),
            code=code,
            reason=reason,
            attempts=current.attempts,
        )
        await _record_outcome(uow, job, "generation_failed", failure, failed)

    async def _complete(
        self,
        uow: UnitOfWork,
        job: JobRecord,
        pack: PackRecord,
        rendered: tuple[bytes, bytes, bytes],
        command: RenderPack,
    ) -> None:
        docx, pdf, cover = rendered
        jobs, packs = uow.repo(JobRepository), uow.repo(PackRepository)
        job_id = uuid.UUID(job.id)
        current = await jobs.get(job_id, for_update=True)
        if current is None or current.status != "processing":
            # Cancelled (reopen) while rendering, or finished by a concurrent delivery.
            return
        pack_id = uuid.UUID(pack.id)
        live = await packs.get(pack_id, for_update=True)
        if live is None or live.status != "generating":
            return
        blob_key = self._blobs.put(docx)
        await packs.add_artifact(
            {
                "id": uuid.uuid4(),
                "tenant_id": uuid.UUID(job.tenant_id),
                "report_pack_id": pack_id,
                "kind": "docx",
                "filename": artifact_filename(live.template_key, live.version),
                "storage_ref": blob_storage_ref(blob_key),
                "blob_key": blob_key,
                "mime_type": DOCX_MIME_TYPE,
                "size_bytes": len(docx),
                "checksum_sha256": blob_key,
                "metadata_json": {
                    "placeholder": False,
                    "generated_by": "repogen_factory_docx_renderer",
                    "request_id": command.request_id,
                    "repogen_factory": True,
                    "work_order_id": job.work_order_id,
                    "snapshot_version": live.snapshot_version,
                    "template_selector": live.context_snapshot.get("template_selector"),
                    "template_key": live.template_key,
                    "pack_version": live.version,
                    "export_bundle_hash": live.export_bundle_hash,
                    "attempts": current.attempts,
                    "verification_code": live.verification_code,
                },
            }
        )
        # The PDF beside the DOCX (issue 21): the bank's copy too, gated and packed like the DOCX.
        pdf_key = self._blobs.put(pdf)
        await packs.add_artifact(
            {
                "id": uuid.uuid4(),
                "tenant_id": uuid.UUID(job.tenant_id),
                "report_pack_id": pack_id,
                "kind": "pdf",
                "filename": pdf_filename(live.template_key, live.version),
                "storage_ref": blob_storage_ref(pdf_key),
                "blob_key": pdf_key,
                "mime_type": PDF_MIME_TYPE,
                "size_bytes": len(pdf),
                "checksum_sha256": pdf_key,
                "metadata_json": {
                    "placeholder": False,
                    "generated_by": "repogen_factory_libreoffice",
                    "work_order_id": job.work_order_id,
                    "docx_sha256": blob_key,
                    "export_bundle_hash": live.export_bundle_hash,
                    "verification_code": live.verification_code,
                },
            }
        )
        # The internal QA cover sheet (issue 21): operators only, never part of the bank's copy.
        cover_key = self._blobs.put(cover)
        await packs.add_artifact(
            {
                "id": uuid.uuid4(),
                "tenant_id": uuid.UUID(job.tenant_id),
                "report_pack_id": pack_id,
                "kind": COVER_SHEET_KIND,
                "filename": cover_sheet_filename(live.template_key, live.version),
                "storage_ref": blob_storage_ref(cover_key),
                "blob_key": cover_key,
                "mime_type": DOCX_MIME_TYPE,
                "size_bytes": len(cover),
                "checksum_sha256": cover_key,
                "metadata_json": {
                    "placeholder": False,
                    "internal": True,
                    "purpose": "internal_qa_cover_sheet",
                    "work_order_id": job.work_order_id,
                    "export_bundle_hash": live.export_bundle_hash,
                },
            }
        )
        await jobs.set_status(job_id, "completed", finished=True)
        await packs.set_status(pack_id, "generated")
        completed = {
            "request_id": command.request_id,
            "pack_version": live.version,
            "attempts": current.attempts,
            "docx_sha256": blob_key,
        }
        generated = PackGenerated(
            work_order_id=job.work_order_id,
            pack_id=str(pack_id),
            pack_version=live.version,
            job_id=str(job_id),
            attempts=current.attempts,
            artifacts=await artifact_refs(uow, pack_id),
        )
        await _record_outcome(uow, job, "generation_completed", completed, generated)


async def _record_outcome(
    uow: UnitOfWork, job: JobRecord, action: str, audited: dict[str, Any], event: PackFailed | PackGenerated
) -> None:
    """Audit how the job ended and publish it on the work order's pack-state stream."""
    await uow.repo(AuditLog).record(_scope(job), action, _entity(job), audited)
    await emit_pack_state(
        uow, event, work_order_id=uuid.UUID(job.work_order_id), tenant_id=uuid.UUID(job.tenant_id)
    )
