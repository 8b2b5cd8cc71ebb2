"""Documents uploaded through ``/v1/documents``, projected from ``evidence.documents.v1``: a payment proof
names one of them by its storage key (billing never reads evidence's tables)."""

from __future__ import annotations

from dataclasses import dataclass

from billing_service.repositories.invoice_book import InvoiceBookRepository, KnownDocument
from shared.db.uow import UnitOfWork


@dataclass(frozen=True, slots=True)
class ProjectDocument:
    """A ``document_uploaded`` of ``tenant_id``."""

    tenant_id: str
    document: KnownDocument


async def project_document(uow: UnitOfWork, command: ProjectDocument) -> None:
    """Remember the document once (a redelivery changes nothing)."""
    await uow.repo(InvoiceBookRepository).add_document(command.tenant_id, command.document)


async def document_known(uow: UnitOfWork, tenant_id: str, storage_key: str) -> bool:
    """Whether billing has seen the tenant upload a document under ``storage_key``."""
    return await uow.repo(InvoiceBookRepository).knows_document(tenant_id, storage_key)
