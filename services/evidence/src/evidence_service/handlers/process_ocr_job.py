"""Run one OCR job (decision 28), in the OCR consumer. Idempotent: a finished job is left alone (EVI-03)."""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass
from typing import Any, Final

from evidence_service.domain.errors import OcrFailure
from evidence_service.handlers.state import publish_state
from evidence_service.ocr_engine import DEFAULT_LANGS, run_ocr
from evidence_service.records import OcrJob
from evidence_service.repositories import Repositories
from shared.blobstore import BlobStore
from shared.cpu import run_cpu
from shared.db.uow import UnitOfWork
from shared.timestamps import utc_now_iso

NOTE_NO_DOCUMENT: Final = "NO_DOCUMENT"
NOTE_DOCUMENT_BYTES_MISSING: Final = "DOCUMENT_BYTES_MISSING"


@dataclass(frozen=True)
class ProcessOcrJob:
    """An ``ocr_requested`` event of one tenant."""

    tenant_id: str
    job_id: uuid.UUID
    work_order_id: str
    evidence_item_id: str
    request_id: str | None


@dataclass(frozen=True)
class OcrEngineSettings:
    """Where the bytes are and how the engine runs."""

    blobs: BlobStore
    timeout_s: int
    langs: str = DEFAULT_LANGS


@dataclass(frozen=True)
class OcrOutcome:
    """How a job ends: DONE or FAILED, its ``result_json`` and its error code."""

    status: str
    result: dict[str, Any] | None
    error: str | None


async def _read_document(
    repos: Repositories, job: OcrJob, engine: OcrEngineSettings, request_id: str | None
) -> OcrOutcome:
    base = {"request_id": request_id, "job_id": str(job.id), "placeholder": False}
    item = await repos.items.get(job.tenant_id, job.work_order_id, job.evidence_item_id)
    document = (
        await repos.documents.get(job.tenant_id, item.document_id)
        if item is not None and item.document_id
        else None
    )
    if document is None:
        # Decision 28: nothing to read is a finished job with an empty result, not a failure.
        empty: dict[str, Any] = {
            "extracted_text": "",
            "detected_fields": [],
            "engine": None,
            "engine_version": None,
            "confidence": 0.0,
            "page_count": 0,
            "content_type": None,
            "note": NOTE_NO_DOCUMENT,
            "details": {},
        }
        return OcrOutcome("DONE", {**empty, **base, "processed_at": utc_now_iso()}, None)
    read = {**base, "document_id": str(document.id)}
    data = await asyncio.to_thread(engine.blobs.get, document.storage_key)
    if data is None:
        failed = {**read, "note": NOTE_DOCUMENT_BYTES_MISSING, "processed_at": utc_now_iso()}
        return OcrOutcome("FAILED", failed, NOTE_DOCUMENT_BYTES_MISSING)
    try:
        # CPU-bound (image decoding, tesseract's output parsing): in the process's CPU pool (shared.cpu)
        result = await run_cpu(
            run_ocr, data, document.content_type, timeout_seconds=engine.timeout_s, langs=engine.langs
        )
    except OcrFailure as exc:
        return OcrOutcome("FAILED", {**read, "error": exc.body(), "processed_at": utc_now_iso()}, exc.code)
    return OcrOutcome("DONE", {**result.to_result_json(), **read, "processed_at": utc_now_iso()}, None)


async def process_ocr_job(uow: UnitOfWork, command: ProcessOcrJob, *, engine: OcrEngineSettings) -> bool:
    """Run the job and publish the new evidence state; True when the job was processed now.

    The engine runs in a worker thread while no row lock is held; the work order is locked only to
    record the outcome and publish the new evidence state.
    """
    repos = Repositories.of(uow)
    tenant = uuid.UUID(command.tenant_id)
    job = await repos.jobs.get(tenant, command.job_id)
    if (
        job is None
        or str(job.work_order_id) != command.work_order_id
        or str(job.evidence_item_id) != command.evidence_item_id
    ):
        # The job row is written in the same transaction as this event, so this is a real error: retry/DLQ.
        raise LookupError(f"OCR job {command.job_id} does not match work order / evidence of the request")
    if job.status != "QUEUED":
        return False
    outcome = await _read_document(repos, job, engine, command.request_id)
    wo = await repos.work_orders.get(tenant, job.work_order_id, for_update=True)
    locked_job = await repos.jobs.get(tenant, command.job_id, for_update=True)
    if wo is None or locked_job is None or locked_job.status != "QUEUED":
        return False
    await repos.jobs.finish(
        tenant,
        command.job_id,
        status=outcome.status,
        result=outcome.result,
        error=outcome.error,
        trace=command.request_id,
    )
    await publish_state(uow, repos, wo)
    return True
