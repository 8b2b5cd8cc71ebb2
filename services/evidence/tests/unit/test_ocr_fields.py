"""Field suggestions from OCR text (decision 28)."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from evidence_service.domain.ocr_fields import GENERIC_DATE_FIELD_KEY, extract_fields, parse_area_number


def _values(text: str, field_key: str) -> list[Any]:
    return [s["value"] for s in extract_fields(text) if s["field_key"] == field_key]


class TestAreas:
    @pytest.mark.parametrize(
        ("text", "value", "unit"),
        [
            ("Land area 1200 sq.ft", 1200, "sqft"),
            ("Site area: 1200 sq ft", 1200, "sqft"),
            ("Extent 1,200 square feet", 1200, "sqft"),
            ("Plot 2400 sft", 2400, "sqft"),
            ("Area 111.48 sqm", 111.48, "sqm"),
            ("Area 111.48 sq. mtrs", 111.48, "sqm"),
            ("Area 92.9 square metres", 92.9, "sqm"),
            ("Area 250 m2", 250, "sqm"),
            ("Extent 1,20,000 sq ft", 120000, "sqft"),
        ],
    )
    def test_units_are_normalised(self, text: str, value: float, unit: str) -> None:
        (suggestion,) = extract_fields(text)

        assert suggestion["field_key"] == "property.land_area"
        assert suggestion["value"] == {"value": value, "unit": unit}
        assert suggestion["source_text"] == text
        assert suggestion["confidence"] == 0.85

    def test_integral_values_are_ints(self) -> None:
        (suggestion,) = extract_fields("Land area 1200 sq ft")

        assert isinstance(suggestion["value"]["value"], int)

    def test_built_up_label_selects_built_up_area(self) -> None:
        suggestions = extract_fields("Land area 1200 sq ft\nBuilt-up area 950 sq ft")

        assert [(s["field_key"], s["value"]) for s in suggestions] == [
            ("property.land_area", {"value": 1200, "unit": "sqft"}),
            ("property.built_up_area", {"value": 950, "unit": "sqft"}),
        ]

    def test_unlabelled_area_has_lower_confidence(self) -> None:
        (suggestion,) = extract_fields("1200 sq ft")

        assert suggestion["confidence"] == 0.6

    def test_words_that_only_start_like_units_are_ignored(self) -> None:
        assert extract_fields("about 12 square miles and 5 smiles") == []

    def test_parse_area_number_is_exact(self) -> None:
        assert parse_area_number("1,076.39") == 1076.39
        assert parse_area_number("007") == 7
        assert parse_area_number("x") is None


class TestIdentifiers:
    @pytest.mark.parametrize(
        ("text", "expected"),
        [
            ("Sy. No. 123/4", "123/4"),
            ("Survey No 45", "45"),
            ("Survey No. 12/3A of Hebbal village", "12/3A"),
            ("SY NO: 56 / 2", "56/2"),
            ("Re-survey No. 88/1/B", "88/1/B"),
        ],
    )
    def test_survey_numbers(self, text: str, expected: str) -> None:
        assert _values(text, "property.survey_no") == [expected]

    def test_khata_and_cts(self) -> None:
        text = "Khata No. 1234/56, CTS No. 789, C.T.S. No 12/A"

        assert _values(text, "property.khata_no") == ["1234/56"]
        assert _values(text, "property.cts_no") == ["789", "12/A"]

    def test_words_without_digits_are_not_identifiers(self) -> None:
        assert extract_fields("Survey of the surroundings; Khata certificate enclosed") == []


class TestDates:
    @pytest.mark.parametrize(
        ("text", "iso"),
        [
            ("Date: 05/03/2024", "2024-03-05"),
            ("Date 5-3-2024", "2024-03-05"),
            ("Dated 2024-03-05", "2024-03-05"),
        ],
    )
    def test_formats_become_iso(self, text: str, iso: str) -> None:
        assert _values(text, GENERIC_DATE_FIELD_KEY) == [iso]

    def test_inspection_label(self) -> None:
        (suggestion,) = extract_fields("Date of inspection: 21/02/2026")

        assert suggestion["field_key"] == "valuation_inputs.inspection_date"
        assert suggestion["value"] == "2026-02-21"

    def test_impossible_dates_are_skipped(self) -> None:
        assert extract_fields("31/02/2024 and 2024-13-01") == []


class TestExtractFields:
    def test_document_in_order_of_appearance(self) -> None:
        text = "SALE DEED\nSurvey No 123/4, Khata No 55\nLand area 1200 sq ft\nRegistered on 12/05/2021"

        assert [(s["field_key"], s["value"]) for s in extract_fields(text)] == [
            ("property.survey_no", "123/4"),
            ("property.khata_no", "55"),
            ("property.land_area", {"value": 1200, "unit": "sqft"}),
            (GENERIC_DATE_FIELD_KEY, "2021-05-12"),
        ]

    def test_repeats_are_reported_once(self) -> None:
        text = "Survey No 45\nas per Survey No 45"

        assert len(extract_fields(text)) == 1

    def test_ocr_confidence_scales_pattern_confidence(self) -> None:
        (suggestion,) = extract_fields("Survey No 45", ocr_confidence=0.5)

        assert suggestion["confidence"] == 0.4

    @given(st.text(max_size=300))
    def test_never_fails_and_is_deterministic(self, text: str) -> None:
        first = extract_fields(text)

        assert first == extract_fields(text)
        assert all(0.0 <= s["confidence"] <= 1.0 for s in first)
