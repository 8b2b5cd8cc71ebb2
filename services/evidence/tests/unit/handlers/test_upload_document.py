"""``upload_document``: the type is sniffed from the bytes before anything is stored."""

from __future__ import annotations

import hashlib
import io
import uuid

import pytest
from PIL import Image

from devstack.testing.data import TEST_TENANT, TEST_USER, pdf_bytes
from devstack.testing.fakes import FakeUnitOfWork
from evidence_service.domain.errors import UnsupportedDocumentType
from evidence_service.handlers.upload_document import UploadDocument, upload_document
from evidence_service.records import DocumentMetadata
from services.evidence.tests.unit.fakes import TENANT, Fakes
from shared.blobstore import BlobStore
from shared.contracts.evidence import DocumentUploaded

METADATA = DocumentMetadata("KYC", "CONFIDENTIAL", "SITE_VISIT", None, None, {"device": "cam-1"})


def _png() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (4, 4), "white").save(out, format="PNG")
    return out.getvalue()


def _upload(data: bytes, filename: str | None = "../deed.pdf") -> UploadDocument:
    return UploadDocument(TEST_TENANT, TEST_USER, data, filename, "application/octet-stream", METADATA)


@pytest.mark.parametrize(
    ("data", "content_type"),
    [(pdf_bytes(("deed",)), "application/pdf"), (_png(), "image/png")],
    ids=["pdf", "png"],
)
async def test_the_bytes_are_stored_with_their_sniffed_type_and_hash(
    fakes: Fakes, uow: FakeUnitOfWork, blobs: BlobStore, data: bytes, content_type: str
) -> None:
    document = await upload_document(uow, _upload(data), blobs=blobs)

    assert fakes.documents.of(TENANT) == [document]
    assert (document.tenant_id, document.created_by_user_id) == (TENANT, uuid.UUID(TEST_USER))
    assert (document.content_type, document.declared_content_type) == (
        content_type,
        "application/octet-stream",
    )
    assert (document.sha256, document.size_bytes, document.original_filename) == (
        hashlib.sha256(data).hexdigest(),
        len(data),
        "deed.pdf",
    )
    assert (document.classification, document.capture_json) == ("KYC", {"device": "cam-1"})
    assert blobs.get(document.storage_key) == data
    [announced] = uow.events_of(DocumentUploaded.TYPE)  # billing's payment proofs name it (issue 15)
    assert (announced["document_id"], announced["storage_key"]) == (str(document.id), document.storage_key)
    assert uow.commits == 0


@pytest.mark.parametrize(
    "data", [b"plain text", b"\x89PNG\r\n\x1a\n" + b"\0" * 32, b""], ids=["text", "broken-png", "empty"]
)
async def test_other_bytes_are_refused_and_nothing_is_stored(
    fakes: Fakes, uow: FakeUnitOfWork, blobs: BlobStore, data: bytes
) -> None:
    with pytest.raises(UnsupportedDocumentType) as raised:
        await upload_document(uow, _upload(data), blobs=blobs)

    assert (raised.value.status, raised.value.details["declared_content_type"]) == (
        415,
        "application/octet-stream",
    )
    assert (fakes.documents.rows, blobs.exists(hashlib.sha256(data).hexdigest())) == ({}, False)
