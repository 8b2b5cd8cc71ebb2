"""Select the evidence profile of a work order (§4.4): by id (kept) or the default (follows the slab)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from evidence_service.domain.errors import EvidenceProfileNotResolved, InvalidEvidenceProfileForWorkOrder
from evidence_service.domain.notes import profile_selected_note
from evidence_service.handlers.list_profiles import ProfilesOverview, profiles_overview
from evidence_service.handlers.state import (
    WorkOrderCommand,
    choose_default,
    ensure_unlocked,
    locked_work_order,
    publish_state,
)
from shared.db.uow import UnitOfWork


@dataclass(frozen=True)
class SelectProfile(WorkOrderCommand):
    """``POST …/evidence-profile``: ``profile_id``, or None to re-run the default selection."""

    profile_id: uuid.UUID | None
    actor: str | None


async def select_profile(uow: UnitOfWork, command: SelectProfile) -> ProfilesOverview:
    """Select the profile; the same selection again changes nothing (no note, no event)."""
    repos, wo = await locked_work_order(uow, command)
    ensure_unlocked(wo)
    await repos.profiles.ensure_defaults(wo.tenant_id)
    if command.profile_id is None:
        chosen = await choose_default(repos, wo)
        if chosen is None:
            raise EvidenceProfileNotResolved(
                f"no default evidence profile resolves for work order {wo.work_order_id}"
            )
        new_id, chosen_by = chosen, "auto"
    else:
        profile = await repos.profiles.get(wo.tenant_id, command.profile_id)
        if profile is None or profile.report_type != wo.report_type:
            raise InvalidEvidenceProfileForWorkOrder(
                f"evidence profile {command.profile_id} is not valid for work order {wo.work_order_id}",
                {"profile_id": str(command.profile_id), "report_type": wo.report_type},
            )
        new_id, chosen_by = profile.id, "operator"
    if wo.evidence_profile_id == new_id and wo.profile_chosen_by == chosen_by:
        return await profiles_overview(repos, wo)
    await repos.work_orders.set_profile(wo.tenant_id, wo.work_order_id, new_id, chosen_by)
    wo_id = str(wo.work_order_id)
    evidence = await publish_state(
        uow,
        repos,
        wo,
        notes=[lambda version: profile_selected_note(wo_id, str(new_id), f"evidence_version:{version}")],
        actor=command.actor,
    )
    return await profiles_overview(repos, evidence.wo)
