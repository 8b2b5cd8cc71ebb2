"""Following workorders: the reference row billing keeps per work order and its source version."""

from __future__ import annotations

from dataclasses import dataclass

from billing_service.repositories import WorkOrderReference, WorkOrderRepository
from shared.db.uow import UnitOfWork


async def record_work_order(uow: UnitOfWork, command: WorkOrderReference) -> None:
    """Remember the work order (tenant, paying account key, report type, bank) for the sagas."""
    await uow.repo(WorkOrderRepository).upsert(command)


@dataclass(frozen=True, slots=True)
class FollowWorkOrderStatus:
    """The work order moved to ``status`` at ``source_version``."""

    work_order_id: str
    status: str
    source_version: int


async def follow_work_order_status(uow: UnitOfWork, command: FollowWorkOrderStatus) -> None:
    """Follow the status (only forward in source version)."""
    await uow.repo(WorkOrderRepository).set_status(
        command.work_order_id, command.status, command.source_version
    )


@dataclass(frozen=True, slots=True)
class NoteWorkOrderVersion:
    """A workorders envelope of ``source_version`` was applied."""

    work_order_id: str
    source_version: int


async def note_work_order_version(uow: UnitOfWork, command: NoteWorkOrderVersion) -> None:
    """Advance the source version so ``x-zenops-after`` tokens of any workorders event are reached."""
    await uow.repo(WorkOrderRepository).note_version(command.work_order_id, command.source_version)
