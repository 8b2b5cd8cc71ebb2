"""Checklist (domain.md §4.5) and missing-field suggestions (§4.6): vectors LOG-01, LOG-02."""

from __future__ import annotations

from typing import Any

from shared.domain.checklist import evaluate_checklist, suggest_for_missing_fields

LOG01_ITEMS: list[dict[str, Any]] = [
    {
        "id": "profile-doc-sale",
        "evidence_type": "DOCUMENT",
        "doc_type": "SALE_DEED",
        "min_count": 1,
        "is_required": True,
        "tags_json": None,
        "order_hint": 20,
        "label": "Sale Deed",
        "field_key_hint": None,
    },
    {
        "id": "profile-photo-exterior",
        "evidence_type": "PHOTO",
        "doc_type": None,
        "min_count": 2,
        "is_required": True,
        "tags_json": {"category": "exterior"},
        "order_hint": 10,
        "label": "Exterior Photos",
        "field_key_hint": "property.address",
    },
]
LOG01_EVIDENCE: list[dict[str, Any]] = [
    {"id": "e1", "evidence_type": "PHOTO", "doc_type": None, "tags": {"category": "exterior"}},
    {"id": "e2", "evidence_type": "PHOTO", "doc_type": None, "tags": {"category": "interior"}},
]


class TestEvaluateChecklist:
    def test_log01_counts_and_order(self) -> None:
        rows = evaluate_checklist(LOG01_ITEMS, LOG01_EVIDENCE)

        assert [row["id"] for row in rows] == ["profile-photo-exterior", "profile-doc-sale"]
        exterior, sale = rows
        # A row is its profile item, unchanged, with the counts against the evidence.
        assert exterior == {
            **LOG01_ITEMS[1],
            "current_count": 1,
            "missing_count": 1,
            "satisfied": False,
            "matching_evidence_item_ids": ["e1"],
        }
        assert sale["current_count"] == 0
        assert sale["missing_count"] == 1
        assert sale["satisfied"] is False
        assert sale["matching_evidence_item_ids"] == []
        assert sale["tags_json"] is None

    def test_doc_type_must_match_when_set(self) -> None:
        item = {"id": "i", "evidence_type": "DOCUMENT", "doc_type": "EC", "min_count": 1, "order_hint": 1}
        evidence = [
            {"id": "a", "evidence_type": "DOCUMENT", "doc_type": "SALE_DEED", "tags": None},
            {"id": "b", "evidence_type": "DOCUMENT", "doc_type": "EC", "tags": None},
        ]

        (row,) = evaluate_checklist([item], evidence)

        assert row["matching_evidence_item_ids"] == ["b"]
        assert row["satisfied"] is True
        assert row["missing_count"] == 0

    def test_missing_order_hint_sorts_last_then_by_id(self) -> None:
        items = [
            {"id": "z", "evidence_type": "PHOTO", "min_count": 1, "order_hint": None},
            {"id": "b", "evidence_type": "PHOTO", "min_count": 1, "order_hint": 5},
            {"id": "a", "evidence_type": "PHOTO", "min_count": 1, "order_hint": None},
            {"id": "c", "evidence_type": "PHOTO", "min_count": 1, "order_hint": 5},
        ]

        rows = evaluate_checklist(items, [])

        assert [row["id"] for row in rows] == ["b", "c", "a", "z"]

    def test_label_falls_back_to_type_and_doc(self) -> None:
        items: list[dict[str, Any]] = [
            {"id": "1", "evidence_type": "DOCUMENT", "doc_type": "RTC", "min_count": 1, "label": "  "},
            {"id": "2", "evidence_type": "GEO", "doc_type": None, "min_count": 1, "label": None},
        ]

        rows = evaluate_checklist(items, [])

        assert [row["label"] for row in rows] == ["DOCUMENT:RTC", "GEO"]

    def test_optional_item_uses_same_formula_and_negative_min_is_zero(self) -> None:
        items = [
            {"id": "opt", "evidence_type": "GEO", "min_count": 1, "is_required": False, "order_hint": 1},
            {"id": "neg", "evidence_type": "PHOTO", "min_count": -3, "is_required": True, "order_hint": 2},
        ]

        optional, negative = evaluate_checklist(items, [])

        assert optional["is_required"] is False
        assert optional["satisfied"] is False
        assert negative["satisfied"] is True
        assert negative["missing_count"] == 0
        assert negative["min_count"] == -3


def _unsatisfied_row(item_id: str, label: str, field_key_hint: str) -> dict[str, Any]:
    """A required checklist row (min 1) without any evidence yet."""
    return {
        "id": item_id,
        "label": label,
        "field_key_hint": field_key_hint,
        "current_count": 0,
        "min_count": 1,
        "satisfied": False,
        "is_required": True,
    }


class TestSuggestForMissingFields:
    CHECKLIST: list[dict[str, Any]] = [
        _unsatisfied_row("p1", "Sale Deed", "property.address"),
        _unsatisfied_row("p2", "Guideline Screenshot", "valuation_inputs.guideline_rate_per_sqm"),
    ]

    def test_log02_suggestions_in_input_order(self) -> None:
        result = suggest_for_missing_fields(
            ["property.address", "valuation_inputs.guideline_rate_per_sqm"], self.CHECKLIST
        )

        suggested = {"current_count": 0, "min_count": 1, "satisfied": False, "is_required": True}
        assert result == [
            {
                "field_key": "property.address",
                "suggested_items": [{"profile_item_id": "p1", "label": "Sale Deed", **suggested}],
            },
            {
                "field_key": "valuation_inputs.guideline_rate_per_sqm",
                "suggested_items": [{"profile_item_id": "p2", "label": "Guideline Screenshot", **suggested}],
            },
        ]

    def test_keys_are_trimmed_deduplicated_and_unmatched_keys_dropped(self) -> None:
        result = suggest_for_missing_fields(
            ["valuation_inputs.rate", " property.address ", "property.address", ""], self.CHECKLIST
        )

        assert [entry["field_key"] for entry in result] == ["property.address"]
        assert [item["profile_item_id"] for item in result[0]["suggested_items"]] == ["p1"]
