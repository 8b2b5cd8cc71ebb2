"""Request a status change (domain.md §1.3, architecture §4, decisions 7, 29): checks, the system note and
the events of the saga it starts (acceptance on DATA_PENDING, render on READY_FOR_RENDER)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, replace
from typing import Any, cast

from shared.contracts.base import Event
from shared.contracts.workorders import (
    AcceptanceRequest,
    ReadyForRender,
    StatusChanged,
    WorkOrderCancelled,
    WorkOrderClosed,
    WorkOrderReopened,
    WorkOrderStatus,
)
from shared.db.uow import UnitOfWork
from shared.validation import uuid_or_none
from workorders_service.domain.errors import (
    AcceptanceNotSettled,
    AcceptanceRejected,
    SnapshotRequiredForReadyForRender,
)
from workorders_service.domain.model import WorkOrder
from workorders_service.domain.readmodel import (
    has_successful_release,
)
from workorders_service.domain.transitions import (
    check_ready_for_render,
    check_transition,
    is_reopen,
    status_change_comment,
)
from workorders_service.handlers.common import (
    SnapshotExport,
    emit,
    existing_work_order,
    refresh_readiness,
    snapshot_export,
)
from workorders_service.repositories import ProjectionRepository, WorkOrderRepository


@dataclass(frozen=True)
class ChangeStatus:
    """Move one work order to ``target`` (a reopen needs a ``note``)."""

    work_order_id: uuid.UUID
    user_id: str | None
    target: str
    note: str | None


@dataclass(frozen=True)
class StatusResult:
    """What a status request did; the route decides what to wait for."""

    work_order_id: uuid.UUID
    from_status: str
    to_status: str
    noop: bool
    version: int
    acceptance_request_id: str | None = None


async def _prepare_render(uow: UnitOfWork, wo: WorkOrder) -> tuple[WorkOrder, SnapshotExport]:
    """Gate of READY_FOR_RENDER (snapshot, readiness, acceptance) and the bundle it freezes."""
    latest = await uow.repo(WorkOrderRepository).latest_snapshot(wo.id)
    wo, readiness = await refresh_readiness(uow, wo)
    if latest is None:
        raise SnapshotRequiredForReadyForRender()
    check_ready_for_render(readiness)
    if wo.acceptance_status != "ACCEPTED":
        missing = AcceptanceRejected if wo.acceptance_status == "REJECTED" else AcceptanceNotSettled
        raise missing(wo.acceptance_status, wo.acceptance_code)
    return wo, await snapshot_export(uow, wo.id, latest, readiness=readiness)


async def change_status(uow: UnitOfWork, command: ChangeStatus) -> StatusResult:
    """Apply one status request: checks, comment, events of the saga it starts."""
    repo = uow.repo(WorkOrderRepository)
    projections = uow.repo(ProjectionRepository)
    wo = await existing_work_order(repo, command.work_order_id, for_update=True)
    current, target, note = wo.status, command.target, command.note
    if current == target:
        return StatusResult(wo.id, current, target, True, wo.version)
    billing = await projections.billing(wo.id)
    pack = await projections.pack(wo.id)
    released = has_successful_release(billing.payload if billing else None, pack.releases if pack else ())
    check_transition(current, target, note=note, has_successful_release=released)
    reopen = is_reopen(current, target)
    updates: dict[str, Any] = {"status": target}
    render: SnapshotExport | None = None

    if target == "READY_FOR_RENDER":
        wo, render = await _prepare_render(uow, wo)
        updates |= {
            "export_bundle": render.bundle,
            "export_bundle_hash": render.bundle_hash,
            "ready_snapshot_version": render.snapshot.version,
            "pack_baseline_version": int(pack.source_version) if pack else 0,
        }
    elif target == "DATA_PENDING" and not reopen:
        updates |= {
            "acceptance_status": "PENDING",
            "acceptance_code": None,
            "acceptance_message": None,
            "acceptance_details": None,
            "acceptance_previous_status": current,
        }
    elif reopen:
        # The acceptance hold stays (decision 29); the next render builds pack version + 1.
        updates |= {
            "render_generation": wo.render_generation + 1,
            "pack_baseline_version": None,
            "export_bundle": None,
            "export_bundle_hash": None,
            "ready_snapshot_version": None,
        }
    await repo.update(wo.id, **updates)
    await repo.insert_comment(
        wo,
        comment_type="NOTES",
        body=status_change_comment(current, target, note),
        created_by_user_id=uuid_or_none(command.user_id),
    )
    wo = replace(wo, **updates)

    acceptance_request = None
    if target == "DATA_PENDING" and not reopen:
        acceptance_request = AcceptanceRequest.model_validate(
            {
                "report_type": wo.report_type,
                "bank_name": wo.bank_name,
                "billing_external_key": wo.billing_external_key,
                "tenant_id": str(wo.tenant_id),
                "work_order_id": str(wo.id),
                "assignment_id": str(wo.assignment_id) if wo.assignment_id else None,
            }
        )
    wo, envelope = await emit(
        uow,
        wo,
        StatusChanged(
            work_order_id=str(wo.id),
            from_status=cast(WorkOrderStatus, current),
            to_status=cast(WorkOrderStatus, target),
            note=note,
            actor_user_id=command.user_id,
            acceptance_request=acceptance_request,
            reopen=reopen,
            has_successful_release=released,
        ),
    )
    request_id: str | None = None
    if acceptance_request is not None:
        request_id = envelope.message_id
        await repo.update(wo.id, acceptance_request_id=uuid.UUID(request_id))
        wo = replace(wo, acceptance_request_id=uuid.UUID(request_id))
    follow_up = _follow_up(wo, command, current, reopen, render)
    if follow_up is not None:
        wo, _ = await emit(uow, wo, follow_up)
    return StatusResult(wo.id, current, target, False, wo.version, request_id)


def _follow_up(
    wo: WorkOrder, command: ChangeStatus, current: str, reopen: bool, render: SnapshotExport | None
) -> Event | None:
    """The event after ``status_changed`` that starts the render, or records a cancel, close or reopen."""
    wo_id, previous = str(wo.id), cast(WorkOrderStatus, current)
    if render is not None:
        return ReadyForRender(
            work_order_id=wo_id,
            export_bundle=render.bundle,
            export_bundle_hash=render.bundle_hash,
            snapshot_version=render.snapshot.version,
            template_selector=wo.template_selector,
            value_slab=wo.value_slab,
            report_type=wo.report_type,
            bank_type=wo.bank_type,
            assignment_id=str(wo.assignment_id) if wo.assignment_id else None,
            render_generation=wo.render_generation,
            actor_user_id=command.user_id,
            readiness_score=(wo.current_readiness or {}).get("completeness_score"),
        )
    if command.target in ("CANCELLED", "CLOSED"):
        ended = WorkOrderCancelled if command.target == "CANCELLED" else WorkOrderClosed
        return ended(
            work_order_id=wo_id, previous_status=previous, note=command.note, actor_user_id=command.user_id
        )
    if reopen:
        return WorkOrderReopened(
            work_order_id=wo_id,
            note=command.note or "",
            actor_user_id=command.user_id,
            render_generation=wo.render_generation,
        )
    return None
