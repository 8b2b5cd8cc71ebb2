"""Read the whole evidence state of a work order (``GET …/evidence``, ``…/evidence-checklist``, ``…/ocr/jobs``)."""

from __future__ import annotations

from dataclasses import dataclass

from evidence_service.handlers.state import WorkOrderCommand, WorkOrderEvidence, load_evidence, work_order_of
from evidence_service.repositories import Repositories
from shared.db.uow import UnitOfWork


@dataclass(frozen=True)
class ReadEvidence(WorkOrderCommand):
    """Read the evidence of one work order of the caller's tenant."""


async def read_evidence(uow: UnitOfWork, command: ReadEvidence) -> WorkOrderEvidence:
    """The evidence state, else 404 ``WORK_ORDER_NOT_FOUND``; reads only."""
    repos = Repositories.of(uow)
    return await load_evidence(repos, await work_order_of(repos, command.tenant, command.work_order_id))
