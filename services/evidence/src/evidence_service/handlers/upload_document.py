"""Upload a document: type sniffed from its bytes, SHA-256 recorded, bytes in the blob store."""

from __future__ import annotations

import asyncio
import hashlib
import io
import uuid
from dataclasses import asdict, dataclass

from PIL import Image, UnidentifiedImageError

from evidence_service.domain.errors import UnsupportedDocumentType
from evidence_service.domain.uploads import safe_filename, sniff_content_type
from evidence_service.records import Document, DocumentMetadata, NewDocument
from evidence_service.repositories import DocumentRepository
from shared.blobstore import BlobStore
from shared.contracts.evidence import DocumentUploaded
from shared.db.uow import UnitOfWork
from shared.validation import uuid_or_none

ACCEPTED_TYPES = ("application/pdf", "image/jpeg", "image/png", "image/webp", "image/heic")
_VERIFIED_IMAGES = frozenset({"image/jpeg", "image/png", "image/webp"})


@dataclass(frozen=True)
class UploadDocument:
    """Store one uploaded file and its metadata (form fields already validated)."""

    tenant_id: str
    user_id: str
    data: bytes
    filename: str | None
    declared_content_type: str | None
    metadata: DocumentMetadata


def _verify_image(data: bytes) -> bool:
    """Decode the image header and structure (Pillow ``verify``): magic bytes alone are not enough."""
    try:
        with Image.open(io.BytesIO(data)) as image:
            image.verify()
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError, Image.DecompressionBombError):
        return False
    return True


async def sniffed_content_type(command: UploadDocument) -> str:
    """The document type read from the bytes, else 415 ``UNSUPPORTED_DOCUMENT_TYPE``."""
    content_type = sniff_content_type(command.data)
    if content_type in _VERIFIED_IMAGES and not await asyncio.to_thread(_verify_image, command.data):
        content_type = None
    if content_type is None:
        raise UnsupportedDocumentType(
            details={"declared_content_type": command.declared_content_type, "allowed": list(ACCEPTED_TYPES)}
        )
    return content_type


async def upload_document(uow: UnitOfWork, command: UploadDocument, *, blobs: BlobStore) -> Document:
    """``POST /v1/documents``: the type is sniffed before anything is stored; the caller commits."""
    content_type = await sniffed_content_type(command)
    storage_key = await asyncio.to_thread(blobs.put, command.data)
    document = await uow.repo(DocumentRepository).add(
        uuid.UUID(command.tenant_id),
        NewDocument(
            id=uuid.uuid4(),
            original_filename=safe_filename(command.filename),
            content_type=content_type,
            declared_content_type=command.declared_content_type,
            size_bytes=len(command.data),
            sha256=hashlib.sha256(command.data).hexdigest(),
            storage_key=storage_key,
            created_by_user_id=uuid_or_none(command.user_id),
            **asdict(command.metadata),
        ),
    )
    # Other services accept a document by its storage key only once they saw it announced (issue 15:
    # billing's payment proofs); a document is announced once, as version 1 of its key.
    await uow.emit(
        DocumentUploaded(
            document_id=str(document.id),
            storage_key=document.storage_key,
            sha256=document.sha256,
            original_filename=document.original_filename,
            content_type=document.content_type,
            size_bytes=document.size_bytes,
            created_by_user_id=str(document.created_by_user_id) if document.created_by_user_id else None,
        ),
        aggregate_id=str(document.id),
        aggregate_version=1,
        tenant_id=command.tenant_id,
    )
    return document
