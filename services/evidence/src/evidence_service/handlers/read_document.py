"""Read a document: its metadata, or its bytes for download."""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass

from evidence_service.domain.errors import DocumentBytesMissing, DocumentNotFound
from evidence_service.records import Document
from evidence_service.repositories import DocumentRepository
from shared.blobstore import BlobStore
from shared.db.uow import UnitOfWork


@dataclass(frozen=True)
class GetDocument:
    """Read one document of the caller's tenant (the raw path id: a non-uuid is simply not found)."""

    tenant_id: str
    document_id: str


async def get_document(uow: UnitOfWork, command: GetDocument) -> Document:
    """The visible document, else 404 ``DOCUMENT_NOT_FOUND`` (deleted or foreign ones too)."""
    try:
        doc_id = uuid.UUID(command.document_id)
    except ValueError:
        raise DocumentNotFound(command.document_id) from None
    document = await uow.repo(DocumentRepository).get(uuid.UUID(command.tenant_id), doc_id)
    if document is None:
        raise DocumentNotFound(command.document_id)
    return document


@dataclass(frozen=True)
class DocumentBytes:
    """A document with its stored bytes."""

    document: Document
    data: bytes


async def download_document(uow: UnitOfWork, command: GetDocument, *, blobs: BlobStore) -> DocumentBytes:
    """The document and its bytes, else 404 (``DOCUMENT_NOT_FOUND`` / ``DOCUMENT_BYTES_MISSING``)."""
    document = await get_document(uow, command)
    data = await asyncio.to_thread(blobs.get, document.storage_key)
    if data is None:
        raise DocumentBytesMissing(f"document {command.document_id} has no stored bytes")
    return DocumentBytes(document, data)
