"""Rendering export bundles into report DOCX files (real templates, real python-docx read-back)."""

from __future__ import annotations

import copy
import io
import zipfile
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import docx
import pytest

from factory_service.domain.errors import ExportBundleInvalid, TemplateKeyUnknown
from factory_service.domain.templates import TEMPLATE_TITLES, template_key, template_title
from factory_service.rendering.docx_renderer import (
    FIXED_EPOCH,
    build_report_context,
    plan_image_pages,
    render_report_docx,
)
from shared.stable_json import stable_sha256

HASH01_SHA = "4199866aaed34c4f31459091063f1203e80e49972c5a88b0d7cf15878f202e18"


def _no_blobs(_key: str) -> bytes | None:
    return None


def _render(
    bundle: dict[str, Any], read_blob: Callable[[str], bytes | None] = _no_blobs, pack_version: int = 1
) -> bytes:
    meta = bundle["contract_json"]["meta"]
    return render_report_docx(
        bundle,
        template_key=template_key(meta["report_type"], meta.get("template_selector"), meta.get("bank_type")),
        export_bundle_hash=stable_sha256(bundle),
        pack_version=pack_version,
        read_blob=read_blob,
    )


def _text(data: bytes) -> str:
    """All visible text of a DOCX: body paragraphs, table cells and footers."""
    document = docx.Document(io.BytesIO(data))
    parts = [paragraph.text for paragraph in document.paragraphs]
    for table in document.tables:
        for row in table.rows:
            parts.append(" | ".join(cell.text for cell in row.cells))
    for section in document.sections:
        parts.extend(paragraph.text for paragraph in section.footer.paragraphs)
    return "\n".join(parts)


def _table_rows(data: bytes) -> list[list[str]]:
    document = docx.Document(io.BytesIO(data))
    return [[cell.text for cell in row.cells] for table in document.tables for row in table.rows]


class TestHash01Bundle:
    def test_bundle_hash_is_the_vector(self, hash01_bundle: dict[str, Any]) -> None:
        assert stable_sha256(hash01_bundle) == HASH01_SHA

    def test_renders_the_sbi_format_with_its_values(self, hash01_bundle: dict[str, Any]) -> None:
        text = _text(_render(hash01_bundle))
        assert TEMPLATE_TITLES["SBI_UNDER_5CR_V1"] in text
        assert "Template: SBI_UNDER_5CR_V1" in text
        assert "₹ 10,00,000.00" in text
        assert "₹ 9,50,000.00" in text
        assert "₹ 8,00,000.00" in text
        assert hash01_bundle["work_order_id"] in text
        assert HASH01_SHA in text
        assert "Rupees Ten Lakh Only" in text
        assert "Rupees Nine Lakh Fifty Thousand Only" in text
        assert "Rupees Eight Lakh Only" in text
        # the bank's copy carries no internal QA data (issue 21): it is on the internal cover sheet
        assert "Completeness score" not in text
        assert "Readiness" not in text
        assert "No evidence items in the manifest." in text
        assert "{{" not in text
        assert "{%" not in text

    def test_core_properties_carry_no_render_time(self, hash01_bundle: dict[str, Any]) -> None:
        props = docx.Document(io.BytesIO(_render(hash01_bundle))).core_properties
        # No audit.created_at in this bundle: the fixed epoch stands in.
        assert props.created == props.modified
        assert props.created is not None
        assert props.created == FIXED_EPOCH
        assert props.revision == 1
        assert props.identifier == HASH01_SHA


class TestSbiBundle:
    def test_values_parties_and_property(
        self, sbi_bundle: dict[str, Any], blob_store: dict[str, bytes]
    ) -> None:
        text = _text(_render(sbi_bundle, blob_store.get))
        for expected in (
            "₹ 50,00,000.00",
            "₹ 47,50,000.00",
            "₹ 40,00,000.00",
            "State Bank of India",
            "Jayanagar Branch",
            "Ramesh Kumar",
            "Sita Devi",
            "42, 4th Cross, Jayanagar",
            "Bengaluru",
            "SY-118/2",
            "KH-7781",
            "1,000.00 sqft",
            "92.90 sqm",
            "150.00 sqm",
            "₹ 16,145.85 / sqm",
            "₹ 21,527.80 / sqm",
            "Comparable sales in Jayanagar support the adopted rate.",
            "Khata extract",
            "Rupees Fifty Lakh Only",
            "Rupees Forty-Seven Lakh Fifty Thousand Only",
            "Rupees Forty Lakh Only",
            "Date: 24-02-2026",
        ):
            assert expected in text, expected
        # readiness warnings and scores are internal QA data: not in the bank's copy (issue 21)
        for internal in ("Field evidence links missing", "Completeness score"):
            assert internal not in text

    def test_annexure_table_lists_every_manifest_row_in_order(
        self, sbi_bundle: dict[str, Any], blob_store: dict[str, bytes]
    ) -> None:
        rows = _table_rows(_render(sbi_bundle, blob_store.get))
        annexure = [row for row in rows if len(row) == 7]
        assert annexure == [
            ["#", "Order", "Type", "Document type", "Label", "Category", "File"],
            [
                "1",
                "1",
                "PHOTO",
                "Photograph (image/png)",
                "Exterior Photos",
                "Exterior",
                "front-elevation.png",
            ],
            ["2", "2", "PHOTO", "Photograph (image/png)", "Interior Photos", "Interior", "living-room.png"],
            ["3", "3", "DOCUMENT", "Sale deed", "Sale Deed", "Legal", "sale-deed.pdf"],
        ]

    def test_evidence_images_are_embedded(
        self, sbi_bundle: dict[str, Any], blob_store: dict[str, bytes]
    ) -> None:
        data = _render(sbi_bundle, blob_store.get)
        document = docx.Document(io.BytesIO(data))
        assert len(document.inline_shapes) == 2
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            media = sorted(name for name in archive.namelist() if name.startswith("word/media/"))
            embedded = [archive.read(name) for name in media]
        documents = [entry["document"] for entry in sbi_bundle["evidence_manifest"][:2]]
        assert embedded == [blob_store[documents[0]["sha256"]], blob_store[documents[1]["storage_key"]]]
        text = _text(data)
        assert "Image 1 — Exterior Photos — Exterior — front-elevation.png" in text
        assert "Image 2 — Interior Photos — Interior — living-room.png" in text

    def test_missing_blob_is_listed_not_fatal(self, sbi_bundle: dict[str, Any]) -> None:
        data = _render(sbi_bundle)
        assert len(docx.Document(io.BytesIO(data)).inline_shapes) == 0
        assert _text(data).count("[Image not available in the blob store]") == 2

    def test_same_bundle_twice_gives_identical_bytes(
        self, sbi_bundle: dict[str, Any], blob_store: dict[str, bytes]
    ) -> None:
        first = _render(sbi_bundle, blob_store.get)
        second = _render(copy.deepcopy(sbi_bundle), dict(blob_store).get)
        assert first == second

    def test_key_order_of_the_bundle_does_not_matter(
        self, sbi_bundle: dict[str, Any], blob_store: dict[str, bytes]
    ) -> None:
        reordered = dict(reversed(list(sbi_bundle.items())))
        reordered["contract_json"] = dict(reversed(list(sbi_bundle["contract_json"].items())))
        assert _render(reordered, blob_store.get) == _render(sbi_bundle, blob_store.get)

    def test_a_different_bundle_gives_different_bytes(
        self, sbi_bundle: dict[str, Any], blob_store: dict[str, bytes]
    ) -> None:
        changed = copy.deepcopy(sbi_bundle)
        changed["contract_json"]["party"]["borrower_name"] = "Someone Else"
        assert _render(changed, blob_store.get) != _render(sbi_bundle, blob_store.get)

    def test_core_dates_come_from_the_snapshot_audit(
        self, sbi_bundle: dict[str, Any], blob_store: dict[str, bytes]
    ) -> None:
        props = docx.Document(io.BytesIO(_render(sbi_bundle, blob_store.get))).core_properties
        assert props.created is not None
        assert props.created == datetime(2026, 2, 24, 10, 0, 0, tzinfo=UTC)
        assert props.modified == props.created
        assert props.keywords == "SBI_UNDER_5CR_V1"

    def test_zip_entries_are_normalised(
        self, sbi_bundle: dict[str, Any], blob_store: dict[str, bytes]
    ) -> None:
        with zipfile.ZipFile(io.BytesIO(_render(sbi_bundle, blob_store.get))) as archive:
            infos = archive.infolist()
        assert infos[0].filename == "[Content_Types].xml"
        assert [info.filename for info in infos[1:]] == sorted(info.filename for info in infos[1:])
        assert {info.date_time for info in infos} == {(1980, 1, 1, 0, 0, 0)}

    def test_xml_special_characters_are_escaped(self, sbi_bundle: dict[str, Any]) -> None:
        sbi_bundle["contract_json"]["party"]["borrower_name"] = 'Patil & Sons <Pvt> "Ltd"'
        assert 'Patil & Sons <Pvt> "Ltd"' in _text(_render(sbi_bundle))


class TestCoopBundle:
    def test_coop_template_prints_market_adopted_and_rounded_values(
        self, coop_bundle: dict[str, Any]
    ) -> None:
        text = _text(_render(coop_bundle))
        assert TEMPLATE_TITLES["COOP_LB_V1"] in text
        assert "Market value | ₹ 15,431.25" in text
        assert "Adopted (considered) value — 80% of market | ₹ 12,345.00" in text
        assert "Value rounded up to the next ₹500 | ₹ 15,500.00" in text
        assert "Fair market value (FMV) | —" in text
        assert "Co-op Bank" in text
        assert "Rupees Fifteen Thousand Five Hundred Only" in text
        # the snapshot's readiness is internal QA data, never printed in the bank's copy (issue 21)
        assert "Land area is required" not in text
        assert "valuation_photos: need at least 6, found 0" not in text


class TestTemplatesAreDistinct:
    @pytest.mark.parametrize(
        ("report_type", "selector", "bank_type"),
        [
            ("VALUATION", "SBI_FORMAT_A", "SBI"),
            ("REVALUATION", "BOI_PSU_GENERIC", "PSU_GENERIC"),
            ("VALUATION", "COOP_GENERIC", "COOP"),
            ("VALUATION", "AGRI_GENERIC", "AGRI"),
            ("DPR", "UNKNOWN", "OTHER"),
            ("STAGE_PROGRESS", "SBI_FORMAT_A", "SBI"),
        ],
    )
    def test_each_key_renders_its_own_title(
        self, sbi_bundle: dict[str, Any], report_type: str, selector: str, bank_type: str
    ) -> None:
        sbi_bundle["contract_json"]["meta"].update(
            report_type=report_type, template_selector=selector, bank_type=bank_type
        )
        key = template_key(report_type, selector, bank_type)
        text = _text(_render(sbi_bundle))
        assert template_title(key) in text
        assert f"Template: {key}" in text
        other_bank_titles = [
            title for other, title in TEMPLATE_TITLES.items() if other not in (key, "REPOGEN_GENERIC_V1")
        ]
        assert not any(title in text for title in other_bank_titles)

    def test_every_template_file_produces_a_different_document(self, sbi_bundle: dict[str, Any]) -> None:
        keys = [
            "SBI_UNDER_5CR_V1",
            "PSU_GENERIC_OVER_5CR_V1",
            "COOP_LB_V1",
            "AGRI_GENERIC_V1",
            "REPOGEN_DPR_UNKNOWN_V1",
        ]
        texts = {
            key: _text(
                render_report_docx(
                    sbi_bundle,
                    template_key=key,
                    export_bundle_hash="0" * 64,
                    pack_version=1,
                    read_blob=_no_blobs,
                )
            )
            for key in keys
        }
        assert len(set(texts.values())) == len(keys)


class TestImagePages:
    def _photos(
        self, count: int, hint: dict[str, Any] | None, category: str = "exterior"
    ) -> list[dict[str, Any]]:
        return [
            {
                "id": f"p{index}",
                "evidence_type": "PHOTO",
                "document": {"sha256": f"{index:064d}"},
                "annexure_hint": {"label": category.title(), "category": category, "group_hint": hint},
            }
            for index in range(count)
        ]

    @pytest.fixture
    def blobs(
        self, make_png: Callable[[tuple[int, int], tuple[int, int, int]], bytes]
    ) -> Callable[[str], bytes]:
        image = make_png((40, 30), (0, 128, 0))
        return lambda _key: image

    def test_preferred_images_per_page_splits_a_group(self, blobs: Callable[[str], bytes]) -> None:
        hint = {"min_images_per_page": 1, "max_images_per_page": 4, "preferred_images_per_page": 3}
        pages = plan_image_pages({"evidence_manifest": self._photos(7, hint)}, blobs)
        assert [len(page.images) for page in pages] == [3, 3, 1]
        assert {page.per_page for page in pages} == {3}

    def test_preferred_is_kept_within_the_hint_bounds(self, blobs: Callable[[str], bytes]) -> None:
        hint = {"min_images_per_page": 3, "max_images_per_page": 4, "preferred_images_per_page": 2}
        pages = plan_image_pages({"evidence_manifest": self._photos(4, hint)}, blobs)
        assert [len(page.images) for page in pages] == [3, 1]

    def test_without_hints_the_annexure_default_minimum_applies(self, blobs: Callable[[str], bytes]) -> None:
        bundle = {
            "annexure_defaults": {"min_images_per_page": 3, "max_images_per_page": 4},
            "evidence_manifest": self._photos(5, None),
        }
        assert [len(page.images) for page in plan_image_pages(bundle, blobs)] == [3, 2]

    def test_groups_never_share_a_page(self, blobs: Callable[[str], bytes]) -> None:
        manifest = self._photos(1, None, "exterior") + self._photos(1, None, "interior")
        pages = plan_image_pages({"evidence_manifest": manifest}, blobs)
        assert [(page.group_label, len(page.images)) for page in pages] == [("Exterior", 1), ("Interior", 1)]

    def test_images_fit_their_box_keeping_the_aspect_ratio(self, blobs: Callable[[str], bytes]) -> None:
        pages = plan_image_pages({"evidence_manifest": self._photos(2, None)}, blobs)
        for image in pages[0].images:
            assert image.width_emu * 30 == pytest.approx(image.height_emu * 40, rel=1e-6)
            assert image.width_emu <= 170 * 36_000

    def test_non_image_blob_is_unavailable(self) -> None:
        pages = plan_image_pages(
            {"evidence_manifest": self._photos(1, None)}, lambda _key: b"%PDF-1.7 not an image"
        )
        assert pages[0].images[0].blob is None


class TestFailures:
    def test_unknown_template_key(self, hash01_bundle: dict[str, Any]) -> None:
        with pytest.raises(TemplateKeyUnknown):
            render_report_docx(
                hash01_bundle,
                template_key="NOPE_V9",
                export_bundle_hash="0" * 64,
                pack_version=1,
                read_blob=_no_blobs,
            )

    def test_bundle_without_work_order(self, hash01_bundle: dict[str, Any]) -> None:
        del hash01_bundle["work_order_id"]
        with pytest.raises(ExportBundleInvalid):
            build_report_context(
                hash01_bundle, template_key="SBI_UNDER_5CR_V1", export_bundle_hash="0", pack_version=1
            )
