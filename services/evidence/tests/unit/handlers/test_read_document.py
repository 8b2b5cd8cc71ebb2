"""``get_document`` / ``download_document``: a visible document of the caller's tenant, or 404."""

from __future__ import annotations

import pytest

from devstack.testing.data import TEST_TENANT
from devstack.testing.fakes import FakeUnitOfWork
from evidence_service.domain.errors import DocumentBytesMissing, DocumentNotFound
from evidence_service.handlers.read_document import GetDocument, download_document, get_document
from services.evidence.tests.unit.fakes import OTHER, TENANT, Fakes
from shared.blobstore import BlobStore


async def test_the_document_and_its_bytes(fakes: Fakes, uow: FakeUnitOfWork, blobs: BlobStore) -> None:
    document = fakes.document(TENANT, storage_key=blobs.put(b"%PDF-1.4 deed"))

    found = await get_document(uow, GetDocument(TEST_TENANT, str(document.id)))
    downloaded = await download_document(uow, GetDocument(TEST_TENANT, str(document.id)), blobs=blobs)

    assert (found, downloaded.document, downloaded.data) == (document, document, b"%PDF-1.4 deed")


@pytest.mark.parametrize("raw_id", ["not-a-uuid", "00000000-0000-0000-0000-000000000000", "other-tenant"])
async def test_an_invisible_document_is_not_found(
    fakes: Fakes, uow: FakeUnitOfWork, blobs: BlobStore, raw_id: str
) -> None:
    foreign = fakes.document(OTHER, storage_key=blobs.put(b"%PDF-1.4 foreign"))
    command = GetDocument(TEST_TENANT, str(foreign.id) if raw_id == "other-tenant" else raw_id)

    for read in (get_document(uow, command), download_document(uow, command, blobs=blobs)):
        with pytest.raises(DocumentNotFound) as raised:
            await read
        assert (raised.value.code, raised.value.status) == ("DOCUMENT_NOT_FOUND", 404)


async def test_a_document_without_stored_bytes(fakes: Fakes, uow: FakeUnitOfWork, blobs: BlobStore) -> None:
    document = fakes.document(TENANT, storage_key="f" * 64)

    with pytest.raises(DocumentBytesMissing) as raised:
        await download_document(uow, GetDocument(TEST_TENANT, str(document.id)), blobs=blobs)

    assert (raised.value.code, raised.value.status) == ("DOCUMENT_BYTES_MISSING", 404)
