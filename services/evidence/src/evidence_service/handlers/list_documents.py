"""List the tenant's documents, newest first (``GET /v1/documents``, the original API's list)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Final

from evidence_service.records import Document
from evidence_service.repositories import DocumentRepository, EvidenceItemRepository
from shared.db.uow import UnitOfWork

DEFAULT_LIMIT: Final = 50
MAX_LIMIT: Final = 200


@dataclass(frozen=True)
class ListDocuments:
    """At most ``limit`` documents of the tenant; only those linked as evidence of ``work_order_id``
    when it is given."""

    tenant_id: uuid.UUID
    limit: int = DEFAULT_LIMIT
    work_order_id: uuid.UUID | None = None


async def list_documents(uow: UnitOfWork, command: ListDocuments) -> list[Document]:
    """The visible documents, newest first; a work order that is unknown (or another tenant's) or has no
    document among its evidence lists none."""
    among: set[uuid.UUID] | None = None
    if command.work_order_id is not None:
        items = await uow.repo(EvidenceItemRepository).of_work_order(command.tenant_id, command.work_order_id)
        among = {item.document_id for item in items if item.document_id is not None}
        if not among:
            return []
    return await uow.repo(DocumentRepository).newest(command.tenant_id, limit=command.limit, among=among)
