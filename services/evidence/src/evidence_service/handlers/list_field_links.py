"""Read the field-evidence links of a work order (§4.7 GET: links of every snapshot, decision 6)."""

from __future__ import annotations

from dataclasses import dataclass

from evidence_service.handlers.state import (
    WorkOrderCommand,
    WorkOrderEvidence,
    load_evidence,
    locked_work_order,
)
from evidence_service.records import FieldDef
from evidence_service.repositories import Repositories
from shared.db.uow import UnitOfWork


@dataclass(frozen=True)
class FieldLinksOverview:
    """The evidence state with the field definitions links can name."""

    evidence: WorkOrderEvidence
    field_defs: list[FieldDef]


async def field_links_overview(repos: Repositories, evidence: WorkOrderEvidence) -> FieldLinksOverview:
    """The §4.7 answer for an evidence state."""
    return FieldLinksOverview(evidence, await repos.profiles.field_defs(evidence.wo.tenant_id))


@dataclass(frozen=True)
class ListFieldLinks(WorkOrderCommand):
    """``GET …/field-evidence-links``."""


async def list_field_links(uow: UnitOfWork, command: ListFieldLinks) -> FieldLinksOverview:
    """All links of the work order with the (seeded on first use) field definitions."""
    repos, wo = await locked_work_order(uow, command)
    await repos.profiles.ensure_defaults(wo.tenant_id)
    return await field_links_overview(repos, await load_evidence(repos, wo))
