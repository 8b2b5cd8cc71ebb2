"""Read the evidence profiles of a work order (§4.4); assigns the default profile when none is selected."""

from __future__ import annotations

from dataclasses import dataclass

from evidence_service.handlers.state import (
    WorkOrderCommand,
    WorkOrderEvidence,
    choose_default,
    load_evidence,
    locked_work_order,
    publish_state,
)
from evidence_service.records import FieldDef, Profile, WorkOrder
from evidence_service.repositories import Repositories
from shared.db.uow import UnitOfWork


@dataclass(frozen=True)
class ProfilesOverview:
    """The evidence state with the profiles of the work order's report type and the field definitions."""

    evidence: WorkOrderEvidence
    profiles: list[Profile]
    field_defs: list[FieldDef]


async def profiles_overview(repos: Repositories, wo: WorkOrder) -> ProfilesOverview:
    """Everything §4.4 answers about a work order's profiles."""
    evidence = await load_evidence(repos, wo)
    profiles = await repos.profiles.for_report_type(wo.tenant_id, wo.report_type)
    return ProfilesOverview(evidence, profiles, await repos.profiles.field_defs(wo.tenant_id))


@dataclass(frozen=True)
class ListProfiles(WorkOrderCommand):
    """``GET …/evidence-profiles``."""


async def list_profiles(uow: UnitOfWork, command: ListProfiles) -> ProfilesOverview:
    """§4.4: reading the profiles of a work order without one assigns the default as a side effect."""
    repos, wo = await locked_work_order(uow, command)
    if wo.evidence_profile_id is not None:
        await repos.profiles.ensure_defaults(wo.tenant_id)
        return await profiles_overview(repos, wo)
    chosen = await choose_default(repos, wo)
    if chosen is not None:
        await repos.work_orders.set_profile(wo.tenant_id, wo.work_order_id, chosen, "auto")
        wo = (await publish_state(uow, repos, wo)).wo
    return await profiles_overview(repos, wo)
