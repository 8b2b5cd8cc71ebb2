"""Kafka subscribers of the factory service: contract → command → handler, inside the consumer's unit of work."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable

from factory_service.handlers.common import blob_store
from factory_service.handlers.gate_outcome import RecordGateOutcome, record_gate_outcome
from factory_service.handlers.generation_job import GenerationWorker, RenderPack
from factory_service.handlers.projections import (
    NoteWorkOrderVersion,
    ProjectBilling,
    ProjectWorkOrder,
    RenderReadyWorkOrder,
    WithdrawPack,
    note_work_order_version,
    project_billing,
    project_work_order,
    render_ready_work_order,
    withdraw_pack,
)
from factory_service.records import WorkOrderColumns
from factory_service.settings import Settings
from shared.container import ServiceContainer
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
from shared.db.uow import UnitOfWork
from shared.messaging.consumer import Subscription
from shared.messaging.envelope import Envelope
from shared.validation import uuid_or_none

Handler = Callable[[UnitOfWork, Envelope], Awaitable[None]]


def _projection(envelope: Envelope, work_order_id: str, fields: WorkOrderColumns) -> ProjectWorkOrder:
    return ProjectWorkOrder(work_order_id, envelope.tenant_id, fields, envelope.aggregate_version)


async def on_work_order_created(uow: UnitOfWork, envelope: Envelope) -> None:
    """Remember the work order (tenant, classification, status) for the bridge and the pack view."""
    wo = WorkOrderCreated.model_validate(envelope.payload).work_order
    fields: WorkOrderColumns = {
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
    }
    # The created event carries its own tenant (the organisation of the work order).
    await project_work_order(uow, ProjectWorkOrder(wo.id, wo.org_id, fields, envelope.aggregate_version))


async def on_contract_snapshotted(uow: UnitOfWork, envelope: Envelope) -> None:
    event = ContractSnapshotted.model_validate(envelope.payload)
    fields: WorkOrderColumns = {
        "value_slab": event.value_slab,
        "template_selector": event.template_selector,
        "report_type": event.report_type,
        "bank_type": event.bank_type,
        "snapshot_version": event.snapshot_version,
    }
    await project_work_order(uow, _projection(envelope, event.work_order_id, fields))


async def on_status_changed(uow: UnitOfWork, envelope: Envelope) -> None:
    event = StatusChanged.model_validate(envelope.payload)
    await project_work_order(uow, _projection(envelope, event.work_order_id, {"status": event.to_status}))


async def on_closed(uow: UnitOfWork, envelope: Envelope) -> None:
    event = WorkOrderClosed.model_validate(envelope.payload)
    await project_work_order(uow, _projection(envelope, event.work_order_id, {"status": "CLOSED"}))


def _withdraw(
    envelope: Envelope,
    work_order_id: str,
    status: str,
    render_generation: int | None,
    actor_user_id: str | None,
) -> WithdrawPack:
    fields: WorkOrderColumns = {"status": status}
    if render_generation is not None:
        fields["render_generation"] = render_generation
    return WithdrawPack(_projection(envelope, work_order_id, fields), uuid_or_none(actor_user_id))


async def on_reopened(uow: UnitOfWork, envelope: Envelope) -> None:
    event = WorkOrderReopened.model_validate(envelope.payload)
    await withdraw_pack(
        uow,
        _withdraw(
            envelope, event.work_order_id, "DATA_PENDING", event.render_generation, event.actor_user_id
        ),
    )


async def on_cancelled(uow: UnitOfWork, envelope: Envelope) -> None:
    event = WorkOrderCancelled.model_validate(envelope.payload)
    await withdraw_pack(uow, _withdraw(envelope, event.work_order_id, "CANCELLED", None, event.actor_user_id))


async def on_any_work_order_event(uow: UnitOfWork, envelope: Envelope) -> None:
    """Every workorders envelope (after the typed handlers): the row has now seen this version, so
    read-your-writes tokens of events factory has no handler for (``readiness_changed``) are reached."""
    await note_work_order_version(
        uow, NoteWorkOrderVersion(envelope.aggregate_id, envelope.aggregate_version)
    )


async def on_work_order_billing(uow: UnitOfWork, envelope: Envelope) -> None:
    """Keep the newest billing state of each work order with the version it reflects."""
    state = WorkOrderBilling.model_validate(envelope.payload)
    await project_billing(
        uow,
        ProjectBilling(state.work_order_id, envelope.tenant_id, envelope.payload, envelope.aggregate_version),
    )


async def on_gate_decided(uow: UnitOfWork, envelope: Envelope) -> None:
    """Billing decided a release: record the outcome on the PENDING release."""
    await record_gate_outcome(
        uow,
        RecordGateOutcome(GateDecided.model_validate(envelope.payload)),
    )


def subscriptions(c: ServiceContainer[Settings]) -> list[Subscription]:
    """Every subscriber of the stream process, including the generation worker."""
    blobs = blob_store(c.settings)
    worker = GenerationWorker(c.system_uow, blobs, c.settings)

    async def on_ready_for_render(uow: UnitOfWork, envelope: Envelope) -> None:
        command = RenderReadyWorkOrder(
            ReadyForRender.model_validate(envelope.payload), envelope.tenant_id, envelope.aggregate_version
        )
        await render_ready_work_order(uow, command, settings=c.settings, blobs=blobs)

    async def on_generation_requested(uow: UnitOfWork, envelope: Envelope) -> None:
        event = GenerationRequested.model_validate(envelope.payload)
        command = RenderPack(uuid.UUID(event.job_id), envelope.tenant_id, envelope.correlation_id)
        await worker.render_pack(uow, command)

    workorder_handlers: dict[str, Handler] = {
        WorkOrderCreated.TYPE: on_work_order_created,
        ContractSnapshotted.TYPE: on_contract_snapshotted,
        StatusChanged.TYPE: on_status_changed,
        ReadyForRender.TYPE: on_ready_for_render,
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
        # a whole state kept as a projection: of several in one batch only the newest is applied
        Subscription(
            BILLING_WORK_ORDER_BILLING,
            on_work_order_billing,
            frozenset({WorkOrderBilling.TYPE}),
            coalesce=lambda _envelope: True,
        ),
        Subscription(BILLING_GATE_OUTCOME, on_gate_decided, frozenset({GateDecided.TYPE})),
        # Job state (not the message version) makes the worker idempotent; a re-request of a job
        # may reuse version 1.
        Subscription(
            FACTORY_GENERATION_JOBS,
            on_generation_requested,
            frozenset({GenerationRequested.TYPE}),
            check_version=False,
        ),
    ]
    return subs
