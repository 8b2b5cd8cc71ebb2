"""Kafka subscribers of the evidence service: contract → handler, inside the consumer's unit of work.

* ``workorders.work-order.v1`` (every type): the work-order projection. ``created`` seeds the tenant's
  profiles, selects the default profile and publishes the first evidence state; ``contract_snapshotted``
  records the contract and re-chooses an automatically chosen profile when the slab becomes known
  (decision 4); status-bearing events keep the lock (decision 29) current. Every event advances
  ``source_version`` so ``x-zenops-after`` tokens of any work-order write can be honoured.
* ``evidence.ocr-jobs.v1``: our own OCR job queue (decision 28).
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any

from evidence_service.domain.notes import profile_selected_note
from evidence_service.handlers import choose_default, format_rule_warnings, process_ocr_job, publish_state
from evidence_service.repository import EvidenceRepository
from evidence_service.settings import Settings
from shared.blobstore import BlobStore
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


async def _on_created(uow: UnitOfWork, envelope: Envelope) -> None:
    wo = WorkOrderCreated.model_validate(envelope.payload).work_order
    repo = EvidenceRepository(uow.session, wo.org_id)
    wo_id = uuid.UUID(wo.id)
    inserted = await repo.insert_work_order(
        {
            "id": wo_id,
            "tenant": repo.tenant_id,
            "report_type": wo.report_type,
            "bank_type": wo.bank_type,
            "bank_name": wo.bank_name,
            "value_slab": wo.value_slab,
            "template_selector": wo.template_selector,
            "status": wo.status,
            "source_version": envelope.aggregate_version,
        }
    )
    if not inserted:
        return
    row = await repo.work_order(wo_id, for_update=True)
    assert row is not None
    chosen = await choose_default(repo, row)
    if chosen is not None:
        # Decision 4 / domain.md §4.3: assigned at creation, automatically (no note, as the original).
        await repo.update_work_order(
            wo_id, evidence_profile_id=uuid.UUID(chosen["id"]), profile_chosen_by="auto"
        )
    await publish_state(uow, repo, wo_id)


async def _on_contract_snapshotted(
    uow: UnitOfWork, envelope: Envelope, repo: EvidenceRepository, row: Mapping[str, Any]
) -> None:
    event = ContractSnapshotted.model_validate(envelope.payload)
    wo_id = row["work_order_id"]
    await repo.record_snapshot(wo_id, uuid.UUID(event.snapshot_id), event.snapshot_version)
    newer = row["latest_snapshot_version"] is None or event.snapshot_version >= row["latest_snapshot_version"]
    if newer:
        await repo.update_work_order(
            wo_id,
            latest_contract=event.contract,
            latest_snapshot_id=uuid.UUID(event.snapshot_id),
            latest_snapshot_version=event.snapshot_version,
            rule_warnings=format_rule_warnings(event.rule_warnings),
            value_slab=event.value_slab,
            template_selector=event.template_selector,
            bank_type=event.bank_type,
        )
    if row["profile_chosen_by"] == "operator" or not newer:
        return  # decision 4: an operator's choice is kept
    fresh = await repo.work_order(wo_id)
    assert fresh is not None
    chosen = await choose_default(repo, fresh)
    if chosen is None or fresh["evidence_profile_id"] == uuid.UUID(chosen["id"]):
        return
    await repo.update_work_order(wo_id, evidence_profile_id=uuid.UUID(chosen["id"]), profile_chosen_by="auto")

    def note(version: int) -> Any:
        return profile_selected_note(str(wo_id), chosen["id"], f"evidence_version:{version}")

    await publish_state(uow, repo, wo_id, notes=[note])


async def on_work_order_event(uow: UnitOfWork, envelope: Envelope) -> None:
    """Apply one ``workorders.work-order.v1`` event to the projection."""
    if envelope.type == "created":
        await _on_created(uow, envelope)
        return
    tenant = envelope.tenant_id
    if not tenant:
        raise ValueError(f"work-order event {envelope.message_id} carries no tenant")
    repo = EvidenceRepository(uow.session, tenant)
    wo_id = uuid.UUID(envelope.aggregate_id)
    row = await repo.work_order(wo_id, for_update=True)
    if row is None:
        # Per-key order guarantees `created` came first; a gap means it was dead-lettered: retry / park.
        raise LookupError(f"work order {wo_id} is not projected yet")
    if envelope.type == "contract_snapshotted":
        await _on_contract_snapshotted(uow, envelope, repo, row)
    elif envelope.type == "status_changed":
        await repo.update_work_order(wo_id, status=StatusChanged.model_validate(envelope.payload).to_status)
    elif envelope.type in _STATUS_OF_TYPE:
        await repo.update_work_order(wo_id, status=_STATUS_OF_TYPE[envelope.type])
    await repo.update_work_order(
        wo_id, source_version=max(int(row["source_version"]), envelope.aggregate_version)
    )


def ocr_handler(settings: Settings) -> Any:
    """The OCR job consumer bound to the blob store and engine time limit of ``settings``."""
    blobs = BlobStore(settings.blob_dir)

    async def on_ocr_requested(uow: UnitOfWork, envelope: Envelope) -> None:
        event = OcrRequested.model_validate(envelope.payload)
        if not envelope.tenant_id:
            raise ValueError(f"OCR request {envelope.message_id} carries no tenant")
        await process_ocr_job(
            uow,
            event,
            envelope.tenant_id,
            blobs=blobs,
            timeout_s=settings.ocr_timeout_s,
            langs=settings.ocr_langs,
            request_id=envelope.correlation_id,
        )

    return on_ocr_requested


def subscriptions(settings: Settings) -> list[Subscription]:
    return [
        Subscription(WORKORDERS_WORK_ORDER, on_work_order_event),
        Subscription(EVIDENCE_OCR_JOBS, ocr_handler(settings), frozenset({OcrRequested.TYPE})),
    ]
