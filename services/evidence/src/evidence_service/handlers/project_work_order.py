"""Keep the work-order projection current (``workorders.work-order.v1``), in the work-order consumer.

``created`` seeds the tenant's profiles, selects the default profile and publishes the first evidence
state; a newer contract snapshot re-chooses an automatically chosen profile when the slab becomes
known (decision 4); status changes keep the lock (decision 29) current. Every event advances
``source_version`` so ``x-zenops-after`` tokens of any work-order write can be honoured
(:func:`read_source_version`).
"""

from __future__ import annotations

from dataclasses import dataclass

from evidence_service.domain.notes import profile_selected_note
from evidence_service.handlers.state import (
    WorkOrderCommand,
    choose_default,
    publish_state,
    work_order_of,
)
from evidence_service.records import NewWorkOrder, SnapshotApplied, WorkOrder
from evidence_service.repositories import Repositories, WorkOrderRepository
from shared.db.uow import UnitOfWork
from shared.validation import uuid_or_none


@dataclass(frozen=True)
class ProjectWorkOrder:
    """A ``created`` event: the work order as it announces it."""

    work_order: NewWorkOrder


async def project_work_order(uow: UnitOfWork, command: ProjectWorkOrder) -> None:
    """Project a new work order once (a redelivery changes nothing) and select its default profile."""
    repos = Repositories.of(uow)
    tenant, wo_id = command.work_order.tenant_id, command.work_order.work_order_id
    if not await repos.work_orders.add(command.work_order):
        return
    wo = await work_order_of(repos, tenant, wo_id, for_update=True)
    chosen = await choose_default(repos, wo)
    if chosen is not None:
        # Decision 4 / domain.md §4.3: assigned at creation, automatically (no note, as the original).
        await repos.work_orders.set_profile(tenant, wo_id, chosen, "auto")
    await publish_state(uow, repos, wo)


@dataclass(frozen=True)
class ApplyWorkOrderChange(WorkOrderCommand):
    """Any later work-order event: maybe a snapshot, maybe a new status, always a version."""

    source_version: int
    snapshot: SnapshotApplied | None = None
    status: str | None = None


async def _apply_snapshot(
    uow: UnitOfWork, repos: Repositories, wo: WorkOrder, snapshot: SnapshotApplied
) -> None:
    tenant, wo_id = wo.tenant_id, wo.work_order_id
    await repos.work_orders.record_snapshot(
        tenant, wo_id, snapshot.latest_snapshot_id, snapshot.latest_snapshot_version
    )
    version = snapshot.latest_snapshot_version
    newer = wo.latest_snapshot_version is None or version >= wo.latest_snapshot_version
    if newer:
        await repos.work_orders.apply_snapshot(tenant, wo_id, snapshot)
    if wo.profile_chosen_by == "operator" or not newer:
        return  # decision 4: an operator's choice is kept
    fresh = await work_order_of(repos, tenant, wo_id)
    chosen = await choose_default(repos, fresh)
    if chosen is None or fresh.evidence_profile_id == chosen:
        return
    await repos.work_orders.set_profile(tenant, wo_id, chosen, "auto")
    await publish_state(
        uow,
        repos,
        wo,
        notes=[lambda version: profile_selected_note(str(wo_id), str(chosen), f"evidence_version:{version}")],
    )


async def apply_work_order_change(uow: UnitOfWork, command: ApplyWorkOrderChange) -> None:
    """Apply the change under the work order's row lock and advance ``source_version``."""
    repos = Repositories.of(uow)
    wo = await repos.work_orders.get(command.tenant, command.work_order_id, for_update=True)
    if wo is None:
        # Per-key order guarantees `created` came first; a gap means it was dead-lettered: retry / park.
        raise LookupError(f"work order {command.work_order_id} is not projected yet")
    if command.snapshot is not None:
        await _apply_snapshot(uow, repos, wo, command.snapshot)
    if command.status is not None:
        await repos.work_orders.set_status(wo.tenant_id, wo.work_order_id, command.status)
    await repos.work_orders.set_source_version(
        wo.tenant_id, wo.work_order_id, max(int(wo.source_version), command.source_version)
    )


@dataclass(frozen=True)
class ReadSourceVersion:
    """Which workorders version our projection of a work order reflects (for ``x-zenops-after``).

    Both ids as the caller has them: a missing tenant or a non-uuid id is simply not projected.
    """

    tenant_id: str | None
    work_order_id: str


async def read_source_version(uow: UnitOfWork, command: ReadSourceVersion) -> int | None:
    """The projected ``source_version``, None while the work order is not projected."""
    tenant, wo_id = uuid_or_none(command.tenant_id), uuid_or_none(command.work_order_id)
    if tenant is None or wo_id is None:
        return None
    return await uow.repo(WorkOrderRepository).source_version(tenant, wo_id)
