"""The report as PDF (issue 21 item 5): LibreOffice from the system packages, reproducible, its text
layer read page by page, its pages saved as PNG under ``.zenops-test/report-pages/`` to look at.

Needs LibreOffice (``soffice``), which ``make tools`` installs (scripts/bootstrap.py system): without it
these tests fail, they never skip.
"""

from __future__ import annotations

import functools
import io
from datetime import UTC, datetime

import pytest
from pypdf import PdfReader

from devstack.launcher import repo_root
from factory_service.domain.templates import TEMPLATE_TITLES, template_title
from factory_service.domain.verification import display_code
from factory_service.handlers.generation_job import report_pdf
from factory_service.rendering.docx_renderer import render_report_docx
from factory_service.rendering.pdf import normalize_pdf
from services.factory.tests.report_reader import pdf_pages_text, pdf_problems, save_page_images
from services.factory.tests.unit.test_report_reading import CODE, STAMP, WORK_ORDER, demo_bundle
from shared.stable_json import stable_sha256

PAGES_DIR = repo_root() / ".zenops-test" / "report-pages"
HEADER = f"State Bank of India · Work order {WORK_ORDER} · Report date 24-02-2026"


def _docx(template_key: str) -> tuple[bytes, dict[str, object]]:
    bundle, blobs = demo_bundle()
    docx = render_report_docx(
        bundle,
        template_key=template_key,
        export_bundle_hash=stable_sha256(bundle),
        pack_version=1,
        read_blob=blobs.get,
        stamp=STAMP,
    )
    return docx, bundle


@functools.cache
def _pdf(template_key: str) -> bytes:
    """One LibreOffice conversion per template for the whole module (each takes seconds)."""
    docx, bundle = _docx(template_key)
    return report_pdf(docx, bundle, template_key)


def _metadata(pdf: bytes) -> dict[str, str]:
    info = PdfReader(io.BytesIO(pdf)).metadata
    return {str(key): str(value) for key, value in (info or {}).items()}


@pytest.mark.parametrize("template_key", sorted(TEMPLATE_TITLES))
def test_every_template_reads_right_as_pdf_and_its_pages_are_saved(template_key: str) -> None:
    pdf = _pdf(template_key)

    assert pdf_problems(pdf, code=display_code(CODE), header=HEADER) == []
    text = " ".join(" ".join(page.split()) for page in pdf_pages_text(pdf))
    for expected in (
        template_title(template_key),
        "Rupees Thirty-Five Lakh Only",
        "sale_deed.pdf",
        "Name of the valuer: A. Valuer",
    ):
        assert expected in text, expected
    saved = save_page_images(pdf, PAGES_DIR / template_key)
    assert len(saved) == len(pdf_pages_text(pdf))
    assert all(path.stat().st_size > 0 for path in saved)


def test_the_same_docx_gives_the_same_pdf_bytes_with_fixed_metadata() -> None:
    docx, bundle = _docx("SBI_UNDER_5CR_V1")
    first = _pdf("SBI_UNDER_5CR_V1")
    assert report_pdf(docx, bundle, "SBI_UNDER_5CR_V1") == first  # a second LibreOffice run
    meta = _metadata(first)
    assert meta["/CreationDate"] == meta["/ModDate"] == "D:20260224100000+00'00'"
    assert meta["/Title"] == template_title("SBI_UNDER_5CR_V1")
    assert b"/Metadata" not in first  # no XMP packet with the conversion time


def test_normalizing_fixes_dates_and_identifier() -> None:
    stamp = datetime(1980, 1, 1, tzinfo=UTC)
    again = normalize_pdf(_pdf("REPOGEN_GENERIC_V1"), docx_sha256="ab" * 32, title="t", stamp=stamp)
    assert again == normalize_pdf(again, docx_sha256="ab" * 32, title="t", stamp=stamp)
    assert _metadata(again)["/CreationDate"] == "D:19800101000000+00'00'"
    assert b"<abababababababababababababababab>" in again
