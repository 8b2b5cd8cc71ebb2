"""Kafka subscribers of the factory service: contract → handler, inside the consumer's unit of work."""

from __future__ import annotations

import uuid
from functools import partial

from factory_service.handlers import (
    GenerationWorker,
    on_gate_decided,
    on_ready_for_render,
    on_work_order_billing,
    on_work_order_left_render,
)
from factory_service.repository import FactoryRepository
from factory_service.settings import Settings
from shared.blobstore import BlobStore
from shared.contracts.billing import GateDecided, WorkOrderBilling
from shared.contracts.factory import GenerationRequested
from shared.contracts.topics import (
    BILLING_GATE_OUTCOME,
    BILLING_WORK_ORDER_BILLING,
    FACTORY_GENERATION_JOBS,
    WORKORDERS_WORK_ORDER,
)
from shared.contracts.workorders import (
    ContractSnapshotted,
    ReadyForRender,
    StatusChanged,
    WorkOrderCancelled,
    WorkOrderClosed,
    WorkOrderCreated,
    WorkOrderReopened,
)
from shared.db.database import Database
from shared.db.uow import UnitOfWork
from shared.messaging.consumer import Subscription
from shared.messaging.envelope import Envelope
from shared.messaging.outbox import OutboxWriter


async def on_work_order_created(uow: UnitOfWork, envelope: Envelope) -> None:
    """Remember the work order (tenant, classification, status) for the bridge and the pack view."""
    wo = WorkOrderCreated.model_validate(envelope.payload).work_order
    await FactoryRepository(uow.session).upsert_work_order(
        wo.id,
        wo.org_id,
        {
            "assignment_id": uuid.UUID(wo.assignment_id) if wo.assignment_id else None,
            "report_type": wo.report_type,
            "bank_type": wo.bank_type,
            "bank_name": wo.bank_name,
            "value_slab": wo.value_slab,
            "template_selector": wo.template_selector,
            "status": wo.status,
            # who may reach it: the portal audience only its own CHANNEL work orders (RLS, issue 12)
            "source_type": wo.source_type,
            "created_by_user_id": uuid.UUID(wo.created_by_user_id) if wo.created_by_user_id else None,
        },
        envelope.aggregate_version,
    )


async def _tenant_of(repo: FactoryRepository, envelope: Envelope, work_order_id: str) -> str | None:
    if envelope.tenant_id:
        return envelope.tenant_id
    wo = await repo.get_work_order(uuid.UUID(work_order_id))
    return str(wo["tenant_id"]) if wo else None


async def on_contract_snapshotted(uow: UnitOfWork, envelope: Envelope) -> None:
    event = ContractSnapshotted.model_validate(envelope.payload)
    repo = FactoryRepository(uow.session)
    tenant = await _tenant_of(repo, envelope, event.work_order_id)
    if tenant is None:
        return
    await repo.upsert_work_order(
        event.work_order_id,
        tenant,
        {
            "value_slab": event.value_slab,
            "template_selector": event.template_selector,
            "report_type": event.report_type,
            "bank_type": event.bank_type,
            "snapshot_version": event.snapshot_version,
        },
        envelope.aggregate_version,
    )


async def on_status_changed(uow: UnitOfWork, envelope: Envelope) -> None:
    event = StatusChanged.model_validate(envelope.payload)
    repo = FactoryRepository(uow.session)
    tenant = await _tenant_of(repo, envelope, event.work_order_id)
    if tenant is None:
        return
    await repo.upsert_work_order(
        event.work_order_id, tenant, {"status": event.to_status}, envelope.aggregate_version
    )


async def on_reopened(uow: UnitOfWork, envelope: Envelope) -> None:
    WorkOrderReopened.model_validate(envelope.payload)
    await on_work_order_left_render(uow, envelope, status="DATA_PENDING")


async def on_cancelled(uow: UnitOfWork, envelope: Envelope) -> None:
    WorkOrderCancelled.model_validate(envelope.payload)
    await on_work_order_left_render(uow, envelope, status="CANCELLED")


async def on_closed(uow: UnitOfWork, envelope: Envelope) -> None:
    event = WorkOrderClosed.model_validate(envelope.payload)
    repo = FactoryRepository(uow.session)
    tenant = await _tenant_of(repo, envelope, event.work_order_id)
    if tenant is None:
        return
    await repo.upsert_work_order(
        event.work_order_id, tenant, {"status": "CLOSED"}, envelope.aggregate_version
    )


async def on_any_work_order_event(uow: UnitOfWork, envelope: Envelope) -> None:
    """Every workorders envelope (after the typed handlers): the row has now seen this version, so
    read-your-writes tokens of events factory has no handler for (``readiness_changed``) are reached."""
    await FactoryRepository(uow.session).note_work_order_version(
        envelope.aggregate_id, envelope.aggregate_version
    )


def subscriptions(
    db: Database, outbox: OutboxWriter, settings: Settings, blobs: BlobStore
) -> list[Subscription]:
    """Every subscriber of the stream process, including the generation worker."""
    worker = GenerationWorker(db, outbox, blobs, settings)
    ready = partial(on_ready_for_render, settings=settings, blobs=blobs)

    async def on_ready(uow: UnitOfWork, envelope: Envelope) -> None:
        await ready(uow, envelope)

    workorder_handlers = {
        WorkOrderCreated.TYPE: on_work_order_created,
        ContractSnapshotted.TYPE: on_contract_snapshotted,
        StatusChanged.TYPE: on_status_changed,
        ReadyForRender.TYPE: on_ready,
        WorkOrderReopened.TYPE: on_reopened,
        WorkOrderCancelled.TYPE: on_cancelled,
        WorkOrderClosed.TYPE: on_closed,
    }
    subs = [
        Subscription(WORKORDERS_WORK_ORDER, handler, frozenset({event_type}))
        for event_type, handler in workorder_handlers.items()
    ]
    # last, so the typed handlers above still see the previous source version
    subs.append(Subscription(WORKORDERS_WORK_ORDER, on_any_work_order_event))
    subs += [
        Subscription(BILLING_WORK_ORDER_BILLING, on_work_order_billing, frozenset({WorkOrderBilling.TYPE})),
        Subscription(BILLING_GATE_OUTCOME, on_gate_decided, frozenset({GateDecided.TYPE})),
        # Job state (not the message version) makes the worker idempotent; a re-request of a job
        # may reuse version 1.
        Subscription(
            FACTORY_GENERATION_JOBS,
            worker.on_generation_requested,
            frozenset({GenerationRequested.TYPE}),
            check_version=False,
        ),
    ]
    return subs
