"""``process_ocr_job``: run one OCR job once (EVI-02/EVI-03, decision 28) and publish the new state."""

from __future__ import annotations

import dataclasses
import uuid
from typing import Any

import pytest

from devstack.testing.data import TEST_TENANT, pdf_bytes
from devstack.testing.fakes import FakeUnitOfWork
from evidence_service.handlers.process_ocr_job import OcrEngineSettings, ProcessOcrJob, process_ocr_job
from evidence_service.records import NewOcrJob, OcrJob
from services.evidence.tests.unit.fakes import TENANT, Fakes
from shared.blobstore import BlobStore
from shared.contracts.evidence import EvidenceState


async def _queued(fakes: Fakes, storage_key: str | None) -> tuple[OcrJob, ProcessOcrJob]:
    """A queued job for an item with a document stored under ``storage_key`` (None: no document)."""
    wo = fakes.work_order(TENANT)
    document = fakes.document(TENANT, storage_key=storage_key) if storage_key else None
    item = fakes.item(wo, "DOCUMENT", document_id=document.id if document else None)
    job = await fakes.jobs.add(TENANT, NewOcrJob(uuid.uuid4(), wo.work_order_id, item.id, None))
    return job, ProcessOcrJob(TEST_TENANT, job.id, str(wo.work_order_id), str(item.id), "req-1")


@pytest.mark.parametrize(
    ("data", "status", "error", "note", "text"),
    [
        (None, "DONE", None, "NO_DOCUMENT", ""),
        (b"", "FAILED", "DOCUMENT_BYTES_MISSING", "DOCUMENT_BYTES_MISSING", None),
        (pdf_bytes(("Survey No 12",)), "DONE", None, None, "Survey No 12"),
        (b"%PDF-1.4 not really", "FAILED", "OCR_DOCUMENT_UNREADABLE", None, None),
    ],
    ids=["no-document", "bytes-missing", "pdf-text", "unreadable"],
)
async def test_the_job_ends_with_its_outcome_and_a_new_state(
    fakes: Fakes,
    uow: FakeUnitOfWork,
    blobs: BlobStore,
    data: bytes | None,
    status: str,
    error: str | None,
    note: str | None,
    text: str | None,
) -> None:
    # b"" stands for bytes the blob store lost: the document names a key nothing is stored under.
    key = None if data is None else (blobs.put(data) if data else "a" * 64)
    job, command = await _queued(fakes, key)

    assert await process_ocr_job(uow, command, engine=OcrEngineSettings(blobs, timeout_s=5)) is True

    done = fakes.jobs.rows[(TENANT, job.id)]
    assert (done.status, done.error, done.worker_trace, done.finished_at is not None) == (
        status,
        error,
        "req-1",
        True,
    )
    assert done.result_json is not None
    result = done.result_json
    assert (result.get("note"), result.get("extracted_text"), result["request_id"], result["job_id"]) == (
        note,
        text,
        "req-1",
        str(job.id),
    )
    (state,) = uow.events_of(EvidenceState.TYPE)
    assert [j["status"] for j in state["ocr_jobs"]] == [status]
    assert job.work_order_id in fakes.work_orders.locked
    assert job.id in fakes.jobs.locked


async def test_a_finished_job_is_left_alone(fakes: Fakes, uow: FakeUnitOfWork, blobs: BlobStore) -> None:
    job, command = await _queued(fakes, None)
    fakes.jobs.rows[(TENANT, job.id)] = finished = dataclasses.replace(job, status="DONE")

    assert await process_ocr_job(uow, command, engine=OcrEngineSettings(blobs, timeout_s=5)) is False
    assert (fakes.jobs.rows[(TENANT, job.id)], uow.published) == (finished, [])


@pytest.mark.parametrize(
    "mismatch",
    [{"job_id": uuid.uuid4()}, {"work_order_id": str(uuid.uuid4())}, {"evidence_item_id": str(uuid.uuid4())}],
    ids=["job", "work-order", "evidence-item"],
)
async def test_a_request_that_does_not_match_its_job_is_retried(
    fakes: Fakes, uow: FakeUnitOfWork, blobs: BlobStore, mismatch: dict[str, Any]
) -> None:
    job, command = await _queued(fakes, None)
    mismatched = dataclasses.replace(command, **mismatch)

    with pytest.raises(LookupError):
        await process_ocr_job(uow, mismatched, engine=OcrEngineSettings(blobs, timeout_s=5))

    assert (fakes.jobs.rows[(TENANT, job.id)], uow.published) == (job, [])
