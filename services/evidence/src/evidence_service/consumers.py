"""Kafka subscribers of the evidence service: contract → command → handler, in the consumer's unit of work.

* ``workorders.work-order.v1`` (every type): the work-order projection
  (:mod:`evidence_service.handlers.project_work_order`).
* ``evidence.ocr-jobs.v1``: our own OCR job queue (decision 28,
  :mod:`evidence_service.handlers.process_ocr_job`).
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable

from evidence_service.handlers.process_ocr_job import OcrEngineSettings, ProcessOcrJob, process_ocr_job
from evidence_service.handlers.project_work_order import (
    ApplyWorkOrderChange,
    ProjectWorkOrder,
    apply_work_order_change,
    project_work_order,
)
from evidence_service.handlers.state import format_rule_warnings
from evidence_service.records import NewWorkOrder, SnapshotApplied, project
from evidence_service.settings import Settings
from shared.blobstore import BlobStore
from shared.container import ServiceContainer
from shared.contracts.evidence import OcrRequested
from shared.contracts.topics import EVIDENCE_OCR_JOBS, WORKORDERS_WORK_ORDER
from shared.contracts.workorders import ContractSnapshotted, StatusChanged, WorkOrderCreated
from shared.db.uow import UnitOfWork
from shared.messaging.consumer import Subscription
from shared.messaging.envelope import Envelope

# Event types that move the work order to a known status.
_STATUS_OF_TYPE: dict[str, str] = {
    "ready_for_render": "READY_FOR_RENDER",
    "reopened": "DATA_PENDING",
    "cancelled": "CANCELLED",
    "closed": "CLOSED",
}


async def on_work_order_created(uow: UnitOfWork, envelope: Envelope) -> None:
    """``created``: project the work order and select its default profile."""
    wo = WorkOrderCreated.model_validate(envelope.payload).work_order
    await project_work_order(
        uow,
        ProjectWorkOrder(
            project(
                NewWorkOrder,
                wo,
                work_order_id=uuid.UUID(wo.id),
                source_version=envelope.aggregate_version,
                tenant_id=uuid.UUID(wo.org_id),
            )
        ),
    )


def _snapshot(envelope: Envelope) -> SnapshotApplied | None:
    if envelope.type != "contract_snapshotted":
        return None
    event = ContractSnapshotted.model_validate(envelope.payload)
    return SnapshotApplied(
        latest_contract=event.contract,
        latest_snapshot_id=uuid.UUID(event.snapshot_id),
        latest_snapshot_version=event.snapshot_version,
        rule_warnings=format_rule_warnings(event.rule_warnings),
        value_slab=event.value_slab,
        template_selector=event.template_selector,
        bank_type=event.bank_type,
    )


def _status(envelope: Envelope) -> str | None:
    if envelope.type == "status_changed":
        return StatusChanged.model_validate(envelope.payload).to_status
    return _STATUS_OF_TYPE.get(envelope.type)


async def on_work_order_event(uow: UnitOfWork, envelope: Envelope) -> None:
    """Apply one ``workorders.work-order.v1`` event to the projection."""
    if envelope.type == "created":
        await on_work_order_created(uow, envelope)
        return
    if not envelope.tenant_id:
        raise ValueError(f"work-order event {envelope.message_id} carries no tenant")
    await apply_work_order_change(
        uow,
        ApplyWorkOrderChange(
            tenant_id=envelope.tenant_id,
            work_order_id=uuid.UUID(envelope.aggregate_id),
            source_version=envelope.aggregate_version,
            snapshot=_snapshot(envelope),
            status=_status(envelope),
        ),
    )


def on_ocr_requested(settings: Settings) -> Callable[[UnitOfWork, Envelope], Awaitable[None]]:
    """The OCR job consumer bound to the blob store, time limit and languages of ``settings``."""
    engine = OcrEngineSettings(BlobStore(settings.blob_dir), settings.ocr_timeout_s, settings.ocr_langs)

    async def handle(uow: UnitOfWork, envelope: Envelope) -> None:
        event = OcrRequested.model_validate(envelope.payload)
        if not envelope.tenant_id:
            raise ValueError(f"OCR request {envelope.message_id} carries no tenant")
        command = ProcessOcrJob(
            tenant_id=envelope.tenant_id,
            job_id=uuid.UUID(event.job_id),
            work_order_id=event.work_order_id,
            evidence_item_id=event.evidence_item_id,
            request_id=envelope.correlation_id,
        )
        await process_ocr_job(uow, command, engine=engine)

    return handle


def subscriptions(c: ServiceContainer[Settings]) -> list[Subscription]:
    """What the stream process consumes."""
    return [
        Subscription(WORKORDERS_WORK_ORDER, on_work_order_event),
        Subscription(EVIDENCE_OCR_JOBS, on_ocr_requested(c.settings), frozenset({OcrRequested.TYPE})),
    ]
