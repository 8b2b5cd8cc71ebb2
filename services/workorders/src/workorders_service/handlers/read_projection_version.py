"""Read the source version a projection of another service's state reflects (``x-zenops-after``)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from shared.db.uow import UnitOfWork
from workorders_service.repositories import ProjectionRepository


@dataclass(frozen=True)
class ReadProjectionVersion:
    """The ``projection`` (``evidence``, ``billing`` or ``pack``) of one work order."""

    projection: str
    work_order_id: uuid.UUID


async def read_projection_version(uow: UnitOfWork, query: ReadProjectionVersion) -> int | None:
    """The source version the projection reflects, or ``None`` before the first event arrived."""
    return await uow.repo(ProjectionRepository).source_version(query.projection, query.work_order_id)
