"""Keep the projections of workorders' work orders and billing's state; follow a work order out of render.

Every envelope without a tenant names a work order factory already projected (its tenant is used).
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass

from factory_service.handlers.build_pack import BuildPack, build_pack
from factory_service.handlers.common import supersede
from factory_service.records import JsonObject, WorkOrderColumns
from factory_service.repositories import PackRepository, WorkOrderRepository
from factory_service.settings import Settings
from shared.blobstore import BlobStore
from shared.contracts.workorders import ReadyForRender
from shared.db.uow import UnitOfWork
from shared.validation import uuid_or_none

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ProjectWorkOrder:
    """Apply one workorders event (of ``source_version``) to the projection row."""

    work_order_id: str
    tenant_id: str | None
    fields: WorkOrderColumns
    source_version: int


async def project_work_order(uow: UnitOfWork, command: ProjectWorkOrder) -> str | None:
    """Upsert the projection (older versions never overwrite); returns the tenant, ``None`` when unknown."""
    work_orders = uow.repo(WorkOrderRepository)
    tenant = command.tenant_id or await work_orders.tenant_of(command.work_order_id)
    if tenant is None:
        return None
    await work_orders.upsert(command.work_order_id, tenant, command.fields, command.source_version)
    return tenant


@dataclass(frozen=True)
class NoteWorkOrderVersion:
    work_order_id: str
    source_version: int


async def note_work_order_version(uow: UnitOfWork, command: NoteWorkOrderVersion) -> None:
    """The row has now seen this version, so read-your-writes tokens of events factory has no handler
    for (``readiness_changed``) are reached."""
    await uow.repo(WorkOrderRepository).note_version(command.work_order_id, command.source_version)


@dataclass(frozen=True)
class RenderReadyWorkOrder:
    """A work order became READY_FOR_RENDER with this frozen bundle (workorders ``ready_for_render``)."""

    event: ReadyForRender
    tenant_id: str | None
    source_version: int


async def render_ready_work_order(
    uow: UnitOfWork, command: RenderReadyWorkOrder, *, settings: Settings, blobs: BlobStore
) -> None:
    """Project the frozen bundle, then build the pack of this render generation (once)."""
    event = command.event
    projection = ProjectWorkOrder(
        event.work_order_id,
        command.tenant_id,
        {
            "status": "READY_FOR_RENDER",
            "assignment_id": uuid_or_none(event.assignment_id),
            "report_type": event.report_type,
            "bank_type": event.bank_type,
            "value_slab": event.value_slab,
            "template_selector": event.template_selector,
            "render_generation": event.render_generation,
            "snapshot_version": event.snapshot_version,
            "readiness_score": event.readiness_score,
            "export_bundle": event.export_bundle,
            "export_bundle_hash": event.export_bundle_hash,
        },
        command.source_version,
    )
    # The consumer skips stale envelopes, so the projection now holds exactly this event's render.
    await project_work_order(uow, projection)
    projected = await uow.repo(WorkOrderRepository).get(uuid.UUID(event.work_order_id))
    if projected is None:
        log.error("ready_for_render without tenant", extra={"work_order_id": event.work_order_id})
        return
    build = BuildPack.from_projection(projected, actor_user_id=uuid_or_none(event.actor_user_id))
    await build_pack(uow, build, settings=settings, blobs=blobs)


@dataclass(frozen=True)
class WithdrawPack:
    """``reopened`` / ``cancelled``: the work order left render."""

    projection: ProjectWorkOrder
    actor_user_id: uuid.UUID | None


async def withdraw_pack(uow: UnitOfWork, command: WithdrawPack) -> None:
    """The live pack is superseded and its unfinished job cancelled.

    A generated pack of a cancelled work order stays (its deliverables may have been released); a
    reopen always supersedes, and the next READY_FOR_RENDER builds version + 1 (decision 29).
    """
    if await project_work_order(uow, command.projection) is None:
        return
    status = command.projection.fields.get("status", "")
    packs = uow.repo(PackRepository)
    wo = uuid.UUID(command.projection.work_order_id)
    await packs.lock(f"pack|{wo}")
    live = await packs.live(wo)
    if live is None:
        return
    if status == "CANCELLED" and live.status == "generated":
        return
    await supersede(uow, live, reason=f"work order {status.lower()}", actor=command.actor_user_id)


@dataclass(frozen=True)
class ProjectBilling:
    """Keep the newest billing state of a work order with the version it reflects."""

    work_order_id: str
    tenant_id: str | None
    state: JsonObject
    source_version: int


async def project_billing(uow: UnitOfWork, command: ProjectBilling) -> None:
    """Upsert the billing projection (the ``work_order_billing`` payload as sent)."""
    work_orders = uow.repo(WorkOrderRepository)
    tenant = command.tenant_id or await work_orders.tenant_of(command.work_order_id)
    if tenant is None:
        log.error("work_order_billing without tenant", extra={"work_order_id": command.work_order_id})
        return
    await work_orders.upsert_billing(command.work_order_id, tenant, command.state, command.source_version)
