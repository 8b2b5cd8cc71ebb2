"""Read one work order with everything its detail view shows (domain.md §1.8)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from shared.db.uow import UnitOfWork
from workorders_service.domain import model
from workorders_service.domain.model import EvidenceProjection
from workorders_service.handlers.common import evaluate_readiness, existing_work_order
from workorders_service.repositories import ProjectionRepository, WorkOrderRepository


@dataclass(frozen=True)
class GetWorkOrder:
    """The detail of one work order."""

    work_order_id: uuid.UUID


@dataclass(frozen=True)
class WorkOrderDetail:
    """A work order with its projections, latest snapshot, current readiness, comments and rules runs."""

    projected: model.ProjectedWorkOrder
    latest_snapshot: model.Snapshot | None
    readiness: model.JsonObject
    evidence: EvidenceProjection
    comments: list[model.Comment]
    rules_runs: list[model.RulesRun]


async def get_work_order(uow: UnitOfWork, query: GetWorkOrder) -> WorkOrderDetail:
    """Detail of domain.md §1.8 (readiness = the current one, decision 5); 404 when it does not exist."""
    repo = uow.repo(WorkOrderRepository)
    projections = uow.repo(ProjectionRepository)
    wo = await existing_work_order(repo, query.work_order_id)
    evidence = await projections.evidence(wo.id) or EvidenceProjection()
    latest = await repo.latest_snapshot(wo.id)
    readiness = wo.current_readiness
    if readiness is None:
        readiness = await evaluate_readiness(repo, wo, latest, evidence)
    return WorkOrderDetail(
        projected=await projections.projected(wo),
        latest_snapshot=latest,
        readiness=readiness,
        evidence=evidence,
        comments=await repo.comments(wo.id),
        rules_runs=await repo.rules_runs(wo.id, limit=10),
    )
