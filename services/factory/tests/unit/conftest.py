"""Export bundles and evidence images shared by the factory's rendering tests; the in-memory fakes of
the handler tests."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from devstack.testing import data
from factory_service.settings import Settings
from services.factory.tests.unit.fakes import FactoryFakes

WORK_ORDER_ID = "aaaaaaaa-aaaa-aaaa-aaaa-aaaaaaaaaaaa"
EXTERIOR_SHA = "e" * 64
INTERIOR_KEY = "tenants/1111/documents/interior.png"


@pytest.fixture
def fakes() -> FactoryFakes:
    """Every factory repository in memory, empty."""
    return FactoryFakes()


@pytest.fixture
def settings() -> Settings:
    """The factory's settings in a test: no backoff between generation attempts."""
    return Settings(env="test", generation_backoff_base_s=0.0)


@pytest.fixture
def hash01_bundle() -> dict[str, Any]:
    """The export bundle of vectors HASH-01 (also the FAC-* fixture)."""
    return data.hash01_bundle()


_NOT_CAPTURED = (
    "classification",
    "sensitivity",
    "source",
    "file_ref",
    "captured_by_employee_id",
    "captured_at",
    "tags",
)
"""Evidence-item fields the SBI bundle's items leave empty."""


def _manifest_entry(
    order: int,
    filename: str,
    document: dict[str, Any],
    hint: dict[str, Any] | None,
    *,
    evidence_type: str = "PHOTO",
    doc_type: str = "OTHER",
) -> dict[str, Any]:
    """Evidence item number ``order`` of the SBI bundle (a photo unless said otherwise)."""
    return {
        "id": f"11111111-0000-0000-0000-{order:012d}",
        "annexure_order": order,
        "evidence_type": evidence_type,
        "doc_type": doc_type,
        **dict.fromkeys(_NOT_CAPTURED),
        "document_id": document.get("id"),
        "created_at": "2026-02-24T10:00:00.000Z",
        "document": {
            "original_filename": filename,
            "content_type": "image/png",
            "status": "ACTIVE",
            **document,
        },
        "annexure_hint": hint,
    }


@pytest.fixture
def sbi_bundle() -> dict[str, Any]:
    """An SBI <5Cr bundle in the shape of domain.md §1.9: ENG-07 values, two photos and a deed."""
    return {
        "work_order_id": WORK_ORDER_ID,
        "snapshot_version": 4,
        "contract_json": {
            "meta": {
                "report_type": "VALUATION",
                "bank_type": "SBI",
                "value_slab": "LT_5CR",
                "template_selector": "SBI_FORMAT_A",
            },
            "party": {
                "borrower_name": "Ramesh Kumar",
                "owner_name": "Sita Devi",
                "bank_name": "State Bank of India",
                "bank_branch_name": "Jayanagar Branch",
                "bank_branch_code": "SBIN0001234",
            },
            "property": {
                "address": "42, 4th Cross, Jayanagar",
                "city": "Bengaluru",
                "survey_no": "SY-118/2",
                "khata_no": "KH-7781",
                "land_area": {"value": 1000, "unit": "sqft"},
                "built_up_area": {"value": 150, "unit": "sqm"},
                "floors": [{"label": "Ground floor", "area": {"value": 75, "unit": "sqm"}}],
            },
            "valuation_inputs": {"land_value": 2000000, "building_value": 3000000},
            "computed_values": {"FMV": 5000000, "realizable_value": 4750000, "distress_value": 4000000},
            "annexures": {
                "items": [],
                "image_grouping_default": {"min_images_per_page": 2, "max_images_per_page": 4},
            },
            "manual_fields": {
                "justification_text": "Comparable sales in Jayanagar support the adopted rate.\nGuideline checked.",
                "enclosures_text": "Sale deed copy\nKhata extract",
            },
            "audit": {"snapshot_version": 4, "created_at": "2026-02-24T10:00:00.000Z"},
        },
        "derived_json": {
            "ruleset_version": "m5.4-v1",
            "value_slab": "LT_5CR",
            "template_selector": "SBI_FORMAT_A",
            "bank_type": "SBI",
            "report_type": "VALUATION",
            "standardized": {
                "area": {"land_area_sqm": 92.9, "built_up_area_sqm": 150},
                "rates": {
                    "guideline_rate_per_sqm": 16145.85,
                    "market_rate_per_sqm": 21527.8,
                    "adopted_rate_per_sqm": None,
                },
            },
            "computed_values": {
                "FMV": 5000000,
                "realizable_value": 4750000,
                "distress_value": 4000000,
                "coop_market_value": None,
                "coop_adopted_value": None,
                "rounded_to_next_500": None,
            },
            "warnings": [],
        },
        "readiness_json": {
            "completeness_score": 92,
            "missing_fields": [],
            "missing_evidence": [],
            "warnings": ["Field evidence links missing for 1 required field(s)."],
        },
        "annexure_defaults": {"min_images_per_page": 2, "max_images_per_page": 4},
        "evidence_manifest": [
            _manifest_entry(
                1,
                "front-elevation.png",
                {"id": "doc-ext", "sha256": EXTERIOR_SHA},
                {
                    "label": "Exterior Photos",
                    "category": "exterior",
                    "sort_order": 1,
                    "group_hint": {
                        "min_images_per_page": 1,
                        "max_images_per_page": 4,
                        "preferred_images_per_page": 2,
                    },
                },
            ),
            _manifest_entry(
                2,
                "living-room.png",
                {"id": "doc-int", "storage_key": INTERIOR_KEY},
                {"label": "Interior Photos", "category": "interior", "sort_order": 2, "group_hint": None},
            ),
            _manifest_entry(
                3,
                "sale-deed.pdf",
                {"id": "doc-deed", "content_type": "application/pdf", "storage_key": "tenants/1111/deed.pdf"},
                {"label": "Sale Deed", "category": "legal", "sort_order": 3, "group_hint": None},
                evidence_type="DOCUMENT",
                doc_type="SALE_DEED",
            ),
        ],
    }


@pytest.fixture
def blob_store(make_png: Callable[[tuple[int, int], tuple[int, int, int]], bytes]) -> dict[str, bytes]:
    """The blob store the SBI bundle's photos live in (one by SHA-256, one by storage key)."""
    return {
        EXTERIOR_SHA: make_png((64, 48), (200, 40, 40)),
        INTERIOR_KEY: make_png((30, 60), (40, 40, 200)),
    }


@pytest.fixture
def coop_bundle() -> dict[str, Any]:
    """The co-op bundle of ENG-02 (adopted 12345 → market 15431.25, rounded 15500)."""
    return {
        "work_order_id": "cccccccc-cccc-cccc-cccc-cccccccccccc",
        "snapshot_version": 2,
        "contract_json": {
            "meta": {"report_type": "VALUATION", "bank_type": "COOP", "template_selector": "COOP_GENERIC"},
            "party": {"bank_name": "Co-op Bank", "bank_branch_name": "Market Road"},
            "property": {"address": "Co-op site", "floors": []},
        },
        "derived_json": {
            "computed_values": {
                "FMV": None,
                "realizable_value": None,
                "distress_value": None,
                "coop_market_value": 15431.25,
                "coop_adopted_value": 12345,
                "rounded_to_next_500": 15500,
            }
        },
        "readiness_json": {
            "completeness_score": 60,
            "missing_fields": ["Land area is required"],
            "missing_evidence": ["valuation_photos: need at least 6, found 0"],
            "warnings": ["RATE_INPUT_MISSING: Neither guideline rate nor market rate is provided."],
        },
        "annexure_defaults": {"min_images_per_page": 2, "max_images_per_page": 4},
        "evidence_manifest": [],
    }
