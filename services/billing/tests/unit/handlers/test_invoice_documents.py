"""The projection of uploaded documents on fakes: once per document, scoped to its tenant."""

from __future__ import annotations

from billing_service.handlers.invoice_documents import ProjectDocument, document_known, project_document
from billing_service.repositories.invoice_book import KnownDocument
from devstack.testing.fakes import FakeUnitOfWork
from services.billing.tests.unit.fakes import TENANT
from services.billing.tests.unit.invoice_fakes import FakeInvoiceBook

DOC = KnownDocument(
    "5b0c1f3e-0000-4000-8000-000000000001", "sha256/ab", "ab" * 32, "utr.pdf", "application/pdf", 10, 1
)


class TestProjectDocument:
    async def test_known_once_and_only_in_its_tenant(
        self, book: FakeInvoiceBook, iuow: FakeUnitOfWork
    ) -> None:
        assert await document_known(iuow, TENANT, "sha256/ab") is False
        await project_document(iuow, ProjectDocument(TENANT, DOC))
        await project_document(iuow, ProjectDocument(TENANT, DOC))
        assert list(book.documents) == [DOC.document_id]
        assert await document_known(iuow, TENANT, "sha256/ab") is True
        assert await document_known(iuow, "44444444-4444-4444-8444-444444444444", "sha256/ab") is False
