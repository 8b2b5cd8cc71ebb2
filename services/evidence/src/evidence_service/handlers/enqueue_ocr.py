"""Queue a real OCR job for one evidence item (§4.8, decision 28): a QUEUED job, its event, a note."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from evidence_service.domain.errors import EvidenceItemNotFoundForWorkOrder
from evidence_service.domain.notes import ocr_enqueued_note
from evidence_service.handlers.state import (
    WorkOrderCommand,
    WorkOrderEvidence,
    locked_work_order,
    publish_state,
)
from evidence_service.records import NewOcrJob, OcrJob
from shared.contracts.evidence import OcrRequested
from shared.db.uow import UnitOfWork
from shared.validation import uuid_or_none


@dataclass(frozen=True)
class EnqueueOcr(WorkOrderCommand):
    """``POST …/ocr/enqueue`` (``evidence_item_id`` as sent: a non-uuid is simply not found)."""

    evidence_item_id: str
    actor: str | None


@dataclass(frozen=True)
class OcrQueued:
    """The queued job and the evidence state that lists it."""

    job: OcrJob
    evidence: WorkOrderEvidence


async def enqueue_ocr(uow: UnitOfWork, command: EnqueueOcr) -> OcrQueued:
    """Queue the job; the OCR consumer runs it (:mod:`evidence_service.handlers.process_ocr_job`)."""
    repos, wo = await locked_work_order(uow, command)
    tenant, wo_id = wo.tenant_id, wo.work_order_id
    item_id = uuid_or_none(command.evidence_item_id)
    item = await repos.items.get(tenant, wo_id, item_id) if item_id is not None else None
    if item is None:
        raise EvidenceItemNotFoundForWorkOrder(
            f"evidence item {command.evidence_item_id} not found for work order {wo_id}"
        )
    document = await repos.documents.get(tenant, item.document_id) if item.document_id else None
    job = await repos.jobs.add(tenant, NewOcrJob(uuid.uuid4(), wo_id, item.id, uuid_or_none(command.actor)))
    await uow.emit(
        OcrRequested(
            job_id=str(job.id),
            work_order_id=str(wo_id),
            evidence_item_id=str(item.id),
            document_id=str(document.id) if document else None,
            storage_key=document.storage_key if document else None,
            content_type=document.content_type if document else None,
            requested_by_user_id=command.actor,
        ),
        aggregate_id=str(job.id),
        aggregate_version=1,
        tenant_id=str(tenant),
    )
    note = ocr_enqueued_note(str(wo_id), str(job.id), str(item.id), item.evidence_type, item.doc_type)
    evidence = await publish_state(uow, repos, wo, notes=[lambda _version: note], actor=command.actor)
    return OcrQueued(job, evidence)
