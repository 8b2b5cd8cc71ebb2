"""Read one work order with everything its detail view shows (domain.md §1.8)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from shared.db.uow import UnitOfWork
from workorders_service.domain.model import (
    BillingProjection,
    Comment,
    EvidenceProjection,
    JsonObject,
    PackProjection,
    RulesRun,
    Snapshot,
    WorkOrder,
)
from workorders_service.domain.readmodel import compute_readiness
from workorders_service.domain.rules import warning_strings
from workorders_service.handlers.common import existing_work_order
from workorders_service.repositories import ProjectionRepository, WorkOrderRepository


@dataclass(frozen=True)
class GetWorkOrder:
    """The detail of one work order."""

    work_order_id: uuid.UUID


@dataclass(frozen=True)
class WorkOrderDetail:
    """A work order, its projections, latest snapshot, current readiness, comments and rules runs."""

    work_order: WorkOrder
    billing: BillingProjection | None
    pack: PackProjection | None
    latest_snapshot: Snapshot | None
    readiness: JsonObject
    evidence: EvidenceProjection
    comments: list[Comment]
    rules_runs: list[RulesRun]


async def get_work_order(uow: UnitOfWork, query: GetWorkOrder) -> WorkOrderDetail:
    """Detail of domain.md §1.8 (readiness = the current one, decision 5); 404 when it does not exist."""
    repo = WorkOrderRepository(uow.session)
    projections = ProjectionRepository(uow.session)
    wo = await existing_work_order(repo, query.work_order_id)
    evidence = await projections.evidence(wo.id) or EvidenceProjection()
    latest = await repo.latest_snapshot(wo.id)
    readiness = wo.current_readiness
    if readiness is None:
        runs = await repo.rules_runs(wo.id, limit=1)
        readiness = compute_readiness(
            report_type=wo.report_type,
            bank_type=wo.bank_type,
            bank_name=wo.bank_name,
            latest_contract=latest.contract_json if latest else None,
            rule_warnings=warning_strings(runs[0].warnings) if runs else [],
            evidence=evidence,
        )
    return WorkOrderDetail(
        work_order=wo,
        billing=await projections.billing(wo.id),
        pack=await projections.pack(wo.id),
        latest_snapshot=latest,
        readiness=readiness,
        evidence=evidence,
        comments=await repo.comments(wo.id),
        rules_runs=await repo.rules_runs(wo.id, limit=10),
    )
