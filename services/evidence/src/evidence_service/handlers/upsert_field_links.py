"""Link, update, refresh or remove field-evidence links (§4.7 with decision 6); one note for the change."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass

from evidence_service.domain.errors import (
    ContractSnapshotRequiredForFieldEvidenceLinks,
    EvidenceItemsNotFoundForWorkOrder,
    FieldEvidenceLinkConflict,
    FieldEvidenceLinkNotFound,
    SnapshotNotFoundForWorkOrder,
)
from evidence_service.domain.notes import FieldLinkAction, field_link_line, field_links_updated_note
from evidence_service.handlers.list_field_links import FieldLinksOverview, field_links_overview
from evidence_service.handlers.state import (
    WorkOrderCommand,
    ensure_unlocked,
    load_evidence,
    locked_work_order,
    publish_state,
)
from evidence_service.records import LinkValues, WorkOrder
from evidence_service.repositories import Repositories
from shared.db.uow import UnitOfWork
from shared.validation import uuid_or_none


@dataclass(frozen=True)
class FieldLinkChange:
    """One line of the request: a link by ``id`` or by (field, evidence item); ``remove`` deletes it."""

    id: uuid.UUID | None
    snapshot_id: uuid.UUID | None
    field_key: str
    evidence_item_id: uuid.UUID
    confidence: float | None
    note: str | None
    remove: bool


@dataclass(frozen=True)
class UpsertFieldLinks(WorkOrderCommand):
    """``POST …/field-evidence-links``."""

    links: Sequence[FieldLinkChange]
    actor: str | None


async def _target_snapshot(
    repos: Repositories, wo: WorkOrder, snapshot_id: uuid.UUID | None
) -> tuple[uuid.UUID, int]:
    if snapshot_id is not None:
        version = await repos.work_orders.snapshot_version(wo.tenant_id, wo.work_order_id, snapshot_id)
        if version is None:
            raise SnapshotNotFoundForWorkOrder(f"snapshot {snapshot_id} not found for work order")
        return snapshot_id, version
    if wo.latest_snapshot_id is None:
        raise ContractSnapshotRequiredForFieldEvidenceLinks()
    return wo.latest_snapshot_id, int(wo.latest_snapshot_version or 0)


async def _remove(repos: Repositories, wo: WorkOrder, change: FieldLinkChange, field_key: str) -> str | None:
    tenant, wo_id = wo.tenant_id, wo.work_order_id
    found = (
        await repos.links.get(tenant, wo_id, change.id)
        if change.id is not None
        else await repos.links.by_key(tenant, wo_id, field_key, change.evidence_item_id)
    )
    if found is None:
        return None
    await repos.links.remove(tenant, found.id)
    return field_link_line(
        FieldLinkAction.REMOVED,
        found.field_key,
        str(found.evidence_item_id),
        int(found.snapshot_version or 0),
    )


async def _upsert(
    repos: Repositories, wo: WorkOrder, change: FieldLinkChange, field_key: str, user: uuid.UUID | None
) -> str | None:
    tenant, wo_id, evidence_id = wo.tenant_id, wo.work_order_id, change.evidence_item_id
    snapshot_id, snapshot_version = await _target_snapshot(repos, wo, change.snapshot_id)
    values = LinkValues(field_key, evidence_id, snapshot_id, snapshot_version, change.confidence, change.note)
    if change.id is not None:
        existing = await repos.links.get(tenant, wo_id, change.id)
        if existing is None:
            raise FieldEvidenceLinkNotFound(f"repogen field evidence link {change.id} not found")
        clash = await repos.links.by_key(tenant, wo_id, field_key, evidence_id)
        if clash is not None and clash.id != existing.id:
            raise FieldEvidenceLinkConflict(
                f"another link already ties {field_key} to evidence {evidence_id}", {"link_id": str(clash.id)}
            )
        action = FieldLinkAction.UPDATED
    else:
        existing = await repos.links.by_key(tenant, wo_id, field_key, evidence_id)
        action = FieldLinkAction.REFRESHED
    if existing is None:
        await repos.links.add(tenant, wo_id, uuid.uuid4(), values, user)
        return field_link_line(FieldLinkAction.LINKED, field_key, str(evidence_id), snapshot_version)
    if LinkValues.of(existing) != values:
        await repos.links.overwrite(tenant, existing.id, values)
        return field_link_line(action, field_key, str(evidence_id), snapshot_version)
    return None  # an identical link again (a retried request): no line, no note, no event


async def upsert_field_links(uow: UnitOfWork, command: UpsertFieldLinks) -> FieldLinksOverview:
    """Apply every line in order; the changed ones become one system note and one ``evidence_state``."""
    repos, wo = await locked_work_order(uow, command)
    await repos.profiles.ensure_defaults(wo.tenant_id)
    ensure_unlocked(wo)
    wo_id = wo.work_order_id
    wanted = list(dict.fromkeys(change.evidence_item_id for change in command.links))
    own = {item.id for item in await repos.items.of_work_order(wo.tenant_id, wo_id)}
    missing = [str(e) for e in wanted if e not in own]
    if missing:
        raise EvidenceItemsNotFoundForWorkOrder(
            f"evidence item(s) not found for work order: {', '.join(missing)}", {"evidence_item_ids": missing}
        )
    lines: list[str] = []
    user = uuid_or_none(command.actor)
    for change in command.links:
        field_key = change.field_key.strip()
        if change.remove:
            line = await _remove(repos, wo, change, field_key)
        else:
            line = await _upsert(repos, wo, change, field_key, user)
        if line is not None:
            lines.append(line)
    if not lines:
        return await field_links_overview(repos, await load_evidence(repos, wo))
    evidence = await publish_state(
        uow,
        repos,
        wo,
        notes=[lambda version: field_links_updated_note(str(wo_id), lines, f"evidence_version:{version}")],
        actor=command.actor,
    )
    return await field_links_overview(repos, evidence)
