"""Kafka subscribers of the billing service: contract → command → handler, inside the consumer's unit of work.

The consumer runner has already written the inbox row in the same transaction, so each effect below
happens once per message; the handlers are additionally idempotent by business key (ledger keys,
usage keys, one gate decision per release id), so a re-published request changes nothing either.
"""

from __future__ import annotations

import uuid

from billing_service import handlers
from billing_service.handlers.invoice_documents import ProjectDocument, project_document
from billing_service.handlers.work_orders import (
    FollowWorkOrderStatus,
    NoteWorkOrderVersion,
    follow_work_order_status,
    note_work_order_version,
    record_work_order,
)
from billing_service.repositories import WorkOrderReference
from billing_service.repositories.invoice_book import KnownDocument
from billing_service.settings import Settings
from shared.container import ServiceContainer
from shared.contracts.evidence import DocumentUploaded
from shared.contracts.factory import ReleaseRequested
from shared.contracts.topics import (
    EVIDENCE_DOCUMENTS,
    FACTORY_RELEASE_REQUESTED,
    V1_BILLING_EVENTS,
    WORKORDERS_WORK_ORDER,
)
from shared.contracts.v1 import V1UsageEvent
from shared.contracts.workorders import StatusChanged, WorkOrderCancelled, WorkOrderClosed, WorkOrderCreated
from shared.db.uow import UnitOfWork
from shared.messaging.consumer import Subscription
from shared.messaging.envelope import Envelope

TERMINAL = frozenset({"CANCELLED", "CLOSED"})


async def on_work_order_created(uow: UnitOfWork, envelope: Envelope) -> None:
    """Remember the work order (tenant, paying account key, report type, bank) for the sagas."""
    wo = WorkOrderCreated.model_validate(envelope.payload).work_order
    await record_work_order(
        uow,
        WorkOrderReference(
            work_order_id=str(uuid.UUID(wo.id)),
            tenant_id=wo.org_id,
            billing_external_key=wo.billing_external_key,
            report_type=wo.report_type,
            bank_name=wo.bank_name,
            assignment_id=wo.assignment_id,
            status=wo.status,
            source_version=envelope.aggregate_version,
        ),
    )


def _compensation(
    envelope: Envelope, work_order_id: str, target: str, *, released: bool = False
) -> handlers.CompensateWorkOrder:
    return handlers.CompensateWorkOrder(
        work_order_id, target, envelope.message_id, envelope.aggregate_version, released_flag=released
    )


async def on_status_changed(uow: UnitOfWork, envelope: Envelope) -> None:
    """DATA_PENDING → acceptance; READY_FOR_RENDER → planned consumption; CANCELLED/CLOSED → compensation."""
    event = StatusChanged.model_validate(envelope.payload)
    follow = FollowWorkOrderStatus(event.work_order_id, event.to_status, envelope.aggregate_version)
    if event.to_status == "DATA_PENDING":
        if event.acceptance_request is not None and not event.revert_of_rejected_acceptance:
            accept = handlers.AcceptWorkOrder(
                event.work_order_id,
                event.to_status,
                event.acceptance_request,
                envelope.message_id,
                envelope.aggregate_version,
            )
            await handlers.accept_work_order(uow, accept)
        else:
            await follow_work_order_status(uow, follow)
    elif event.to_status == "READY_FOR_RENDER":
        command = handlers.LogPlannedConsumption(
            work_order_id=event.work_order_id,
            to_status=event.to_status,
            message_id=envelope.message_id,
            source_version=envelope.aggregate_version,
            snapshot_version=envelope.payload.get("snapshot_version"),
            readiness_score=envelope.payload.get("readiness_score"),
        )
        await handlers.log_planned_consumption(uow, command)
    elif event.to_status in TERMINAL:
        command_ = _compensation(
            envelope, event.work_order_id, event.to_status, released=event.has_successful_release
        )
        await handlers.compensate(uow, command_)
    else:
        await follow_work_order_status(uow, follow)


async def on_cancelled(uow: UnitOfWork, envelope: Envelope) -> None:
    """Decision 10 on ``cancelled`` (idempotent with the ``status_changed`` path by ledger key)."""
    event = WorkOrderCancelled.model_validate(envelope.payload)
    await handlers.compensate(uow, _compensation(envelope, event.work_order_id, "CANCELLED"))


async def on_closed(uow: UnitOfWork, envelope: Envelope) -> None:
    """Decision 10 on ``closed``."""
    event = WorkOrderClosed.model_validate(envelope.payload)
    await handlers.compensate(uow, _compensation(envelope, event.work_order_id, "CLOSED"))


async def on_release_requested(uow: UnitOfWork, envelope: Envelope) -> None:
    """The release gate: decide, consume in this transaction, store and publish the outcome."""
    event = ReleaseRequested.model_validate(envelope.payload)
    await handlers.decide_release(uow, handlers.DecideRelease(event, envelope.message_id, envelope.tenant_id))


async def on_any_work_order_event(uow: UnitOfWork, envelope: Envelope) -> None:
    """Every workorders envelope (after the handlers above): the row has now seen this version.

    ``x-zenops-after`` tokens name workorders versions, including of events billing otherwise ignores
    (readiness, snapshots, reopen); without this their tokens would never be reached.
    """
    await note_work_order_version(
        uow, NoteWorkOrderVersion(envelope.aggregate_id, envelope.aggregate_version)
    )


async def on_v1_usage_event(uow: UnitOfWork, envelope: Envelope) -> None:
    """A V1 usage event (domain.md §8.2): stored once by V1's idempotency key (§7.5, decision 19)."""
    event = V1UsageEvent.model_validate(envelope.payload)
    command = handlers.IngestUsage(
        source_system=event.source_system,
        event_type=event.event_type,
        idempotency_key=event.idempotency_key,
        payload=event.payload_json,
        external_key=event.external_account_key,
    )
    await handlers.ingest_usage(uow, command)


async def on_document_uploaded(uow: UnitOfWork, envelope: Envelope) -> None:
    """A document uploaded through ``/v1/documents``: payment proofs may name it (issue 15)."""
    event = DocumentUploaded.model_validate(envelope.payload)
    if envelope.tenant_id is None:  # documents always belong to a tenant; nothing to project
        return
    document = KnownDocument(
        document_id=event.document_id,
        storage_key=event.storage_key,
        sha256=event.sha256,
        original_filename=event.original_filename,
        content_type=event.content_type,
        size_bytes=event.size_bytes,
        source_version=envelope.aggregate_version,
    )
    await project_document(uow, ProjectDocument(envelope.tenant_id, document))


def subscriptions(_c: ServiceContainer[Settings]) -> list[Subscription]:
    """Everything billing consumes. ``reopened`` needs nothing: the hold stays (decision 29)."""
    return [
        Subscription(WORKORDERS_WORK_ORDER, on_work_order_created, frozenset({"created"})),
        Subscription(WORKORDERS_WORK_ORDER, on_status_changed, frozenset({"status_changed"})),
        Subscription(WORKORDERS_WORK_ORDER, on_cancelled, frozenset({"cancelled"})),
        Subscription(WORKORDERS_WORK_ORDER, on_closed, frozenset({"closed"})),
        # Last, so the typed handlers above still see the previous source version.
        Subscription(WORKORDERS_WORK_ORDER, on_any_work_order_event),
        # Release requests are keyed by work order but versioned by factory's pack state; a release id
        # is decided once (UNIQUE), so the per-aggregate version check is not what keeps them single.
        Subscription(
            FACTORY_RELEASE_REQUESTED,
            on_release_requested,
            frozenset({"release_requested"}),
            check_version=False,
        ),
        # V1 has no per-account versions; its idempotency key (UNIQUE per source) keeps events single.
        Subscription(
            V1_BILLING_EVENTS, on_v1_usage_event, frozenset({V1UsageEvent.TYPE}), check_version=False
        ),
        # Issue 15: documents a payment proof may name.
        Subscription(EVIDENCE_DOCUMENTS, on_document_uploaded, frozenset({DocumentUploaded.TYPE})),
    ]
