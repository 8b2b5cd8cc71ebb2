"""Every template, rendered from the demo's work order, read back part by part (issue 21 item 6).

The bundle is the one the demo freezes (scripts/demo/flow.py): six title documents as real PDFs and eight
tagged photos, the demo's values (FMV 35,00,000), the readiness of READY_FOR_RENDER in ``render_state``
and the older snapshot readiness of the original complaint.
"""

from __future__ import annotations

import hashlib
import io
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import docx
import pytest
from PIL import Image

from devstack.testing import data
from factory_service.domain.templates import TEMPLATE_TITLES
from factory_service.domain.verification import display_code, verify_path
from factory_service.rendering.cover_sheet import render_cover_sheet
from factory_service.rendering.docx_renderer import render_report_docx
from factory_service.rendering.stamp import ReportStamp, qr_png
from services.factory.tests.report_reader import bank_copy_problems, money_pairs, read_report
from shared.stable_json import stable_sha256

WORK_ORDER = "dddddddd-dddd-dddd-dddd-dddddddddddd"
CODE = "7KQ2M9XD4RTB"
STAMP = ReportStamp(
    verification_code=CODE,
    verify_url="https://repogen.example" + verify_path(CODE),
    valuer_name="A. Valuer",
    valuer_registration_no="IBBI/RV/01/2026/12345",
)
STALE = {
    "completeness_score": 80,
    "missing_fields": [],
    "missing_evidence": ["valuation_photos: need at least 6, found 0"],
    "warnings": ["Annexure ordering metadata is empty (allowed in Phase 1 but review before render)."],
}


def _png(label: str) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (64, 36), (len(label) * 9 % 255, 120, 160)).save(out, format="PNG")
    return out.getvalue()


def demo_bundle() -> tuple[dict[str, Any], dict[str, bytes]]:
    """The demo's frozen bundle and the blobs its evidence points at."""
    blobs: dict[str, bytes] = {}
    manifest: list[dict[str, Any]] = []

    def add(evidence_type: str, doc_type: str, name: str, content: bytes, mime: str, tags: Any) -> None:
        sha = hashlib.sha256(content).hexdigest()
        blobs[sha] = content
        manifest.append(
            {
                "id": f"ev-{len(manifest) + 1}",
                "evidence_type": evidence_type,
                "doc_type": doc_type,
                "annexure_order": len(manifest) + 1,
                "captured_at": "2026-02-24T10:15:00.000Z" if evidence_type != "DOCUMENT" else None,
                "tags": tags,
                "document": {
                    "id": f"doc-{len(manifest) + 1}",
                    "original_filename": name,
                    "content_type": mime,
                    "sha256": sha,
                    "storage_key": None,
                },
                "annexure_hint": None,
            }
        )

    for kind in data.SBI_DOCUMENT_TYPES:
        add("DOCUMENT", kind, f"{kind.lower()}.pdf", data.pdf_bytes((kind,)), "application/pdf", None)
    for index, (evidence_type, category) in enumerate(data.SBI_PHOTO_TAGS, start=1):
        tags: dict[str, Any] = {"category": category}
        if evidence_type == "GEO":
            tags["gps"] = {"lat": 12.9716, "lng": 77.5946}
        add(evidence_type, "OTHER", f"{category}-{index}.png", _png(category), "image/png", tags)
    bundle = {
        "work_order_id": WORK_ORDER,
        "snapshot_version": 2,
        "contract_json": {
            "meta": {"report_type": "VALUATION", "bank_type": "SBI", "template_selector": "SBI_FORMAT_A"},
            "party": {
                "bank_name": "State Bank of India",
                "borrower_name": "Demo Borrower",
                "owner_name": "Demo Owner",
            },
            "property": {
                "address": "Factory demo site",
                "city": "Bengaluru",
                "survey_no": "123/4",
                "land_area": {"value": 1200, "unit": "sqft"},
                "floors": [],
            },
            "manual_fields": {"justification_text": "Demo justification placeholder"},
            "audit": {"created_at": "2026-02-24T10:00:00.000Z", "snapshot_version": 2},
        },
        "derived_json": {
            "computed_values": {"FMV": 3500000, "realizable_value": 3325000, "distress_value": 2800000},
            "standardized": {
                "area": {"land_area_sqm": 111.48},
                "rates": {"guideline_rate_per_sqm": 12000, "market_rate_per_sqm": 19375.05},
            },
        },
        "readiness_json": STALE,
        "annexure_defaults": {"min_images_per_page": 2, "max_images_per_page": 4},
        "evidence_manifest": manifest,
        "render_state": {
            "readiness": data.COMPLETE_READINESS,
            "checklist": [
                {
                    "label": "Sale Deed",
                    "is_required": True,
                    "min_count": 1,
                    "current_count": 1,
                    "satisfied": True,
                }
            ],
            "evidence_version": 14,
        },
    }
    return bundle, blobs


Render = Callable[[str], bytes]


@pytest.fixture(scope="module")
def render() -> Render:
    bundle, blobs = demo_bundle()

    def _render(template_key: str) -> bytes:
        return render_report_docx(
            bundle,
            template_key=template_key,
            export_bundle_hash=stable_sha256(bundle),
            pack_version=1,
            read_blob=blobs.get,
            stamp=STAMP,
        )

    return _render


@pytest.mark.parametrize("template_key", sorted(TEMPLATE_TITLES))
class TestEveryTemplate:
    def test_a_credit_officer_finds_nothing_wrong(self, render: Render, template_key: str) -> None:
        report = read_report(render(template_key))
        assert bank_copy_problems(report, documents=6, evidence=14) == []
        assert TEMPLATE_TITLES[template_key] in report.text

    def test_enclosures_list_every_attached_document_with_its_pages(
        self, render: Render, template_key: str
    ) -> None:
        rows = read_report(render(template_key)).table_with("#", "Document", "Label", "File", "Pages")
        assert [(row[1], row[3], row[4]) for row in rows] == [
            ("Sale deed", "sale_deed.pdf", "1"),
            ("RTC (record of rights, tenancy and crops)", "rtc.pdf", "1"),
            ("Encumbrance certificate", "ec.pdf", "1"),
            ("Khata certificate", "khata.pdf", "1"),
            ("Property tax receipt", "tax.pdf", "1"),
            ("Approved building plan", "plan.pdf", "1"),
        ]

    def test_the_schedule_and_captions_come_from_the_evidence(
        self, render: Render, template_key: str
    ) -> None:
        report = read_report(render(template_key))
        rows = report.table_with("#", "Order", "Type", "Document type", "Label", "Category", "File")
        photos = [row for row in rows if row[2] != "DOCUMENT"]
        assert [row[5] for row in photos] == [
            "Exterior",
            "Exterior",
            "Interior",
            "Interior",
            "Surroundings",
            "GPS",
            "Google map",
            "Route map",
        ]
        assert {row[3] for row in photos} == {"Photograph (image/png)"}
        captions = [p for p in report.paragraphs if p.startswith("Image ")]
        assert len(captions) == 8
        assert captions[0] == "Image 1 — Exterior — exterior-1.png — captured 24-02-2026 10:15 UTC"
        assert captions[5].endswith("GPS 12.971600, 77.594600")

    def test_values_in_figures_and_words_agree(self, render: Render, template_key: str) -> None:
        pairs = dict(money_pairs(read_report(render(template_key))))
        assert pairs[Decimal(3500000)] == "Rupees Thirty-Five Lakh Only"
        assert pairs[Decimal(3325000)] == "Rupees Thirty-Three Lakh Twenty-Five Thousand Only"
        assert pairs[Decimal(2800000)] == "Rupees Twenty-Eight Lakh Only"

    def test_every_page_carries_header_code_page_numbers_and_the_qr(
        self, render: Render, template_key: str
    ) -> None:
        report = read_report(render(template_key))
        assert report.header == [
            "State Bank of India · Work order " + WORK_ORDER + " · Report date 24-02-2026"
        ]
        assert report.verification_code == display_code(CODE)
        assert f"verify at {STAMP.verify_url}" in report.footer[0]
        assert 'w:instr=" PAGE "' in report.footer_xml
        assert 'w:instr=" NUMPAGES "' in report.footer_xml
        assert report.footer_media == [qr_png(str(STAMP.verify_url))]
        assert "Name of the valuer: A. Valuer" in report.text
        assert "Registration no.: IBBI/RV/01/2026/12345" in report.text

    def test_the_same_pack_renders_the_same_bytes(self, render: Render, template_key: str) -> None:
        assert render(template_key) == render(template_key)


def test_the_internal_cover_sheet_has_the_qa_data_the_bank_copy_leaves_out() -> None:
    bundle, _ = demo_bundle()
    facts: dict[str, Any] = {"template_key": "SBI_UNDER_5CR_V1", "export_bundle_hash": "h", "pack_version": 1}
    data_ = render_cover_sheet(bundle, stamp=STAMP, **facts)
    assert data_ == render_cover_sheet(bundle, stamp=STAMP, **facts)
    document = docx.Document(io.BytesIO(data_))
    text = "\n".join(p.text for p in document.paragraphs)
    assert "INTERNAL QA COVER SHEET" in text
    assert "Readiness at READY_FOR_RENDER" in text
    assert "Completeness score: 100 / 100" in text
    # the snapshot's older readiness is shown for comparison, labelled as such
    assert "Completeness score: 80 / 100" in text
    assert "valuation_photos: need at least 6, found 0" in text
    cells = [cell.text for table in document.tables for row in table.rows for cell in row.cells]
    assert display_code(CODE) in cells
    assert "Sale Deed" in cells
