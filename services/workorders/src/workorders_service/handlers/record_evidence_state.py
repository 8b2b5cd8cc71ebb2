"""Project the evidence service's state of a work order (decision 5): projection, notes, readiness."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

from shared.contracts.evidence import EvidenceState
from shared.db.uow import UnitOfWork
from shared.validation import uuid_or_none
from workorders_service.domain.model import EvidenceProjection, Note
from workorders_service.handlers.common import lock_work_order, refresh_readiness
from workorders_service.repositories import ProjectionRepository, WorkOrderRepository


@dataclass(frozen=True)
class RecordEvidenceState:
    """An ``evidence_state`` event of a work order at its aggregate version (tenant from the envelope)."""

    work_order_id: uuid.UUID
    event: EvidenceState
    tenant_id: str | None
    source_version: int


def parse_instant(value: str | None) -> datetime | None:
    """An ISO-8601 instant of another service's note (``None`` → now; naive values are taken as UTC)."""
    if not value:
        return None
    try:
        instant = datetime.fromisoformat(value)
    except ValueError:
        return None
    return instant if instant.tzinfo else instant.replace(tzinfo=UTC)


async def record_evidence_state(uow: UnitOfWork, command: RecordEvidenceState) -> None:
    """Evidence projection, system notes as NOTES comments (once each), current readiness."""
    work_order_id, event = command.work_order_id, command.event
    wo, tenant_id = await lock_work_order(uow, work_order_id, command.tenant_id)
    if tenant_id is None:
        return  # nothing to attach it to: an unknown work order without tenant
    profile = event.profile.model_dump(mode="json") if event.profile else None
    await uow.repo(ProjectionRepository).upsert_evidence(
        work_order_id,
        tenant_id,
        EvidenceProjection(
            evidence_version=event.evidence_version,
            items=event.items,
            profile=profile,
            profile_requirements=(profile or {}).get("items") or [],
            linked_field_keys=event.linked_field_keys,
            field_evidence_links=event.field_evidence_links,
            ocr_jobs=event.ocr_jobs,
            checklist=event.checklist,
            source_version=command.source_version,
        ),
    )
    if wo is None:
        return
    repo = uow.repo(WorkOrderRepository)
    for note in event.notes:
        created_by = uuid_or_none(note.created_by_user_id)
        await repo.insert_note(wo, Note(note.note_id, note.body, created_by, parse_instant(note.created_at)))
    profile_id = uuid_or_none(event.profile.id) if event.profile else None
    if profile_id != wo.evidence_profile_id:
        await repo.update(work_order_id, evidence_profile_id=profile_id)
    await refresh_readiness(uow, wo)
