"""``enqueue_ocr``: a QUEUED job, its ``ocr_requested`` event and a note in the new evidence state."""

from __future__ import annotations

import uuid

import pytest

from devstack.testing.data import TEST_TENANT, TEST_USER
from devstack.testing.fakes import FakeUnitOfWork
from evidence_service.domain.errors import EvidenceItemNotFoundForWorkOrder
from evidence_service.handlers.enqueue_ocr import EnqueueOcr, enqueue_ocr
from services.evidence.tests.unit.fakes import TENANT, Fakes
from shared.contracts.evidence import EvidenceState, OcrRequested


@pytest.mark.parametrize("with_document", [True, False], ids=["document", "no-document"])
async def test_a_job_is_queued_and_announced(fakes: Fakes, uow: FakeUnitOfWork, with_document: bool) -> None:
    wo = fakes.work_order(TENANT)
    document = fakes.document(TENANT) if with_document else None
    item = fakes.item(wo, "DOCUMENT", doc_type="SALE_DEED", document_id=document.id if document else None)

    queued = await enqueue_ocr(uow, EnqueueOcr(TEST_TENANT, wo.work_order_id, str(item.id), TEST_USER))

    assert fakes.jobs.of(TENANT) == [queued.job]
    assert (queued.job.status, queued.job.evidence_item_id, queued.job.created_by_user_id) == (
        "QUEUED",
        item.id,
        uuid.UUID(TEST_USER),
    )
    topic, key, requested = uow.outbox[0]
    assert (topic, key, requested.tenant_id, requested.aggregate_version) == (
        OcrRequested.TOPIC,
        str(queued.job.id),
        TEST_TENANT,
        1,
    )
    assert OcrRequested.model_validate(requested.payload) == OcrRequested(
        job_id=str(queued.job.id),
        work_order_id=str(wo.work_order_id),
        evidence_item_id=str(item.id),
        document_id=str(document.id) if document else None,
        storage_key=document.storage_key if document else None,
        content_type=document.content_type if document else None,
        requested_by_user_id=TEST_USER,
    )
    (state,) = uow.events_of(EvidenceState.TYPE)
    assert [job["id"] for job in state["ocr_jobs"]] == [str(queued.job.id)]
    assert [note["body"] for note in state["notes"]] == [
        f"OCR enqueued for evidence {item.id} (DOCUMENT/SALE_DEED)"
    ]


@pytest.mark.parametrize("raw_item_id", ["not-a-uuid", str(uuid.uuid4()), "other-work-order"])
async def test_an_item_of_no_concern_is_refused(fakes: Fakes, uow: FakeUnitOfWork, raw_item_id: str) -> None:
    wo = fakes.work_order(TENANT)
    if raw_item_id == "other-work-order":
        raw_item_id = str(fakes.item(fakes.work_order(TENANT)).id)

    with pytest.raises(EvidenceItemNotFoundForWorkOrder) as raised:
        await enqueue_ocr(uow, EnqueueOcr(TEST_TENANT, wo.work_order_id, raw_item_id, TEST_USER))

    assert (raised.value.status, fakes.jobs.rows, uow.published) == (400, {}, [])
