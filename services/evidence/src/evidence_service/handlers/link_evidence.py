"""Link evidence to a work order: create or overwrite items, all or nothing (domain.md §1.6)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass

from evidence_service.domain.errors import DocumentsNotFound, EvidenceItemNotFound
from evidence_service.handlers.state import (
    WorkOrderCommand,
    WorkOrderEvidence,
    ensure_unlocked,
    load_evidence,
    locked_work_order,
    publish_state,
)
from evidence_service.records import ItemValues
from shared.db.uow import UnitOfWork


@dataclass(frozen=True)
class ItemToLink:
    """One item of the request: a new one (``id`` None) or an overwrite of an existing one."""

    id: uuid.UUID | None
    values: ItemValues


@dataclass(frozen=True)
class LinkEvidence(WorkOrderCommand):
    """``POST …/evidence/link``."""

    items: Sequence[ItemToLink]
    actor: str | None


async def link_evidence(uow: UnitOfWork, command: LinkEvidence) -> WorkOrderEvidence:
    """Create or overwrite the items; one ``evidence_state`` when anything changed."""
    repos, wo = await locked_work_order(uow, command)
    ensure_unlocked(wo)
    wanted_docs = list(dict.fromkeys(i.values.document_id for i in command.items if i.values.document_id))
    tenant, wo_id = wo.tenant_id, wo.work_order_id
    visible = await repos.documents.by_ids(tenant, wanted_docs)
    missing_docs = [str(d) for d in wanted_docs if d not in visible]
    if missing_docs:
        raise DocumentsNotFound(
            f"document(s) not found or not visible: {', '.join(missing_docs)}", {"document_ids": missing_docs}
        )
    changed = False
    for item in command.items:
        if item.id is None:
            await repos.items.add(tenant, wo_id, uuid.uuid4(), item.values)
            changed = True
            continue
        existing = await repos.items.get(tenant, wo_id, item.id)
        if existing is None:
            raise EvidenceItemNotFound(f"repogen evidence item {item.id} not found")
        # Re-sending an item unchanged (a retried request) changes nothing and emits nothing.
        if ItemValues.of(existing) != item.values:
            await repos.items.overwrite(tenant, existing.id, item.values)
            changed = True
    if changed:
        return await publish_state(uow, repos, wo, actor=command.actor)
    return await load_evidence(repos, wo)
