"""Readiness evaluator (domain.md §3; vectors B; architecture.md §9 decisions 1 and 20)."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from shared.domain.matching import evidence_matches_requirement, js_strict_equal
from shared.domain.readiness import (
    ANNEXURE_ORDERING_EMPTY_WARNING,
    empty_readiness,
    evaluate,
    field_links_missing_warning,
    requirement_key,
)


def contract(**sections: dict[str, Any]) -> dict[str, Any]:
    """A parsed-with-defaults contract with the given sections overridden."""
    base: dict[str, Any] = {
        "meta": {},
        "party": {},
        "property": {"floors": []},
        "valuation_inputs": {},
        "computed_values": {},
        "annexures": {
            "items": [],
            "image_grouping_default": {"min_images_per_page": 2, "max_images_per_page": 4},
        },
        "manual_fields": {},
        "audit": {},
    }
    base.update(sections)
    return base


def ev(evidence_type: str, doc_type: str | None = None, **tags: Any) -> dict[str, Any]:
    return {"evidence_type": evidence_type, "doc_type": doc_type, "tags": tags or None}


def req(
    req_id: str,
    evidence_type: str,
    *,
    doc_type: str | None = None,
    min_count: int = 1,
    is_required: bool = True,
    tags: dict[str, Any] | None = None,
    label: str | None = None,
) -> dict[str, Any]:
    return {
        "id": req_id,
        "evidence_type": evidence_type,
        "doc_type": doc_type,
        "min_count": min_count,
        "is_required": is_required,
        "tags_json": tags,
        "label": label,
    }


VALUATION_READY = contract(
    party={"bank_name": "SBI"},
    property={"address": "Fixture address", "land_area": {"value": 100, "unit": "sqm"}, "floors": []},
    valuation_inputs={"guideline_rate_per_sqm": 10000},
)

# domain.md §4.2, profile "Valuation SBI <5Cr Baseline": VD1-6 + VP1-6.
SBI_LT_5CR_PROFILE = [
    req("vd1", "DOCUMENT", doc_type="SALE_DEED", label="Sale Deed"),
    req("vd2", "DOCUMENT", doc_type="RTC", label="RTC / Ownership Extract"),
    req("vd3", "DOCUMENT", doc_type="EC", label="Encumbrance Certificate"),
    req("vd4", "DOCUMENT", doc_type="KHATA", label="Khata / Assessment"),
    req("vd5", "DOCUMENT", doc_type="TAX", label="Tax Receipt"),
    req("vd6", "DOCUMENT", doc_type="PLAN", label="Plan / Approval Drawing"),
    req("vp1", "PHOTO", min_count=2, tags={"category": "exterior"}, label="Exterior Photos"),
    req("vp2", "PHOTO", min_count=2, tags={"category": "interior"}, label="Interior Photos"),
    req("vp3", "PHOTO", tags={"category": "surroundings"}, label="Surroundings Photo"),
    req("vp4", "GEO", tags={"category": "gps"}, label="GPS Photo"),
    req("vp5", "SCREENSHOT", tags={"category": "google_map"}, label="Google Map Screenshot"),
    req("vp6", "SCREENSHOT", tags={"category": "route_map"}, label="Route Map Screenshot"),
]


class TestVectors:
    def test_rdy_01_missing_valuation_fields_legacy_mode(self) -> None:
        result = evaluate("VALUATION", contract(party={"bank_name": "SBI"}), [], [])
        assert result["completeness_score"] == 20
        assert result["missing_fields"] == [
            "Property address is required",
            "Land area is required",
            "Guideline rate per sqm or market rate is required",
        ]
        assert result["missing_evidence"] == ["valuation_photos: need at least 6, found 0"]
        assert result["missing_field_evidence_links"] == ["party.bank_name"]
        assert result["required_evidence_minimums"] == {"valuation_photos": 6}

    def test_rdy_02_valuation_passes_with_six_photos(self) -> None:
        result = evaluate("VALUATION", VALUATION_READY, [ev("PHOTO")] * 6, ["RULE_WARN: sample"])
        assert result["completeness_score"] == 100
        assert result["missing_fields"] == []
        assert result["missing_evidence"] == []
        assert result["warnings"] == [
            "RULE_WARN: sample",
            "Annexure ordering metadata is empty (allowed in Phase 1 but review before render).",
            "Field evidence links missing for 4 required field(s).",
        ]

    def test_rdy_03_dpr_placeholders(self) -> None:
        dpr = contract(
            party={"bank_name": "BOI"},
            manual_fields={"project_summary": "Project summary", "project_cost_total": 5000000},
        )
        result = evaluate("DPR", dpr, [ev("PHOTO"), ev("SCREENSHOT")], [])
        assert result["missing_fields"] == ["Means of finance placeholder is required"]
        assert result["missing_evidence"] == ["dpr_photos_or_screenshots: need at least 4, found 2"]
        assert result["completeness_score"] == 60
        assert result["missing_field_evidence_links"] == [
            "party.bank_name",
            "project.summary",
            "project.cost",
        ]

    def test_rdy_04_profile_requirements(self) -> None:
        valuation = contract(
            party={"bank_name": "SBI"},
            property={"address": "Fixture address", "land_area": {"value": 100, "unit": "sqm"}, "floors": []},
            valuation_inputs={"guideline_rate_per_sqm": 12000},
        )
        evidence = [
            ev("DOCUMENT", "SALE_DEED"),
            ev("PHOTO", category="exterior"),
            ev("PHOTO", category="exterior"),
        ]
        profile = [
            req("sale", "DOCUMENT", doc_type="SALE_DEED", label="Sale Deed"),
            req("ext", "PHOTO", min_count=2, tags={"category": "exterior"}, label="Exterior Photos"),
        ]
        result = evaluate(
            "VALUATION",
            valuation,
            evidence,
            [],
            evidence_profile_requirements=profile,
            field_evidence_linked_keys=["property.address"],
        )
        assert result["missing_evidence"] == []
        assert result["missing_fields"] == []
        assert result["missing_field_evidence_links"] == [
            "party.bank_name",
            "property.land_area",
            "valuation_inputs.rate",
        ]
        assert "Field evidence links missing for 3 required field(s)." in result["warnings"]
        assert result["completeness_score"] == 100
        assert result["required_evidence_minimums"] == {"Sale Deed": 1, "Exterior Photos": 2}

    def test_rdy_12_demo_work_order_profile_vs_legacy(self) -> None:
        demo = contract(
            meta={"report_type": "VALUATION", "bank_type": "SBI"},
            party={"bank_name": "State Bank of India"},
            property={"address": "Demo site", "land_area": {"value": 1000, "unit": "sqft"}, "floors": []},
            valuation_inputs={
                "guideline_rate_per_sqm": 16145.85,
                "guideline_rate_input": {"value": 1500, "unit": "sqft"},
                "market_rate_input": {"value": 2000, "unit": "sqft"},
                "land_value": 2000000,
                "building_value": 3000000,
            },
        )
        profile_mode = evaluate("VALUATION", demo, [], [], evidence_profile_requirements=SBI_LT_5CR_PROFILE)
        legacy_mode = evaluate("VALUATION", demo, [], [])
        assert profile_mode["completeness_score"] == 25
        assert len(profile_mode["missing_evidence"]) == 12
        assert legacy_mode["completeness_score"] == 80


class TestProfileMode:
    def test_optional_items_only_fall_back_to_legacy_mode(self) -> None:
        optional_only = [req("opt", "OTHER", is_required=False, label="Checklist")]
        result = evaluate("VALUATION", VALUATION_READY, [], [], evidence_profile_requirements=optional_only)
        assert result["required_evidence_minimums"] == {"valuation_photos": 6}

    def test_key_falls_back_to_type_doc_and_id(self) -> None:
        assert requirement_key(req("r1", "DOCUMENT", doc_type="EC", label="  ")) == "DOCUMENT:EC#r1"
        assert requirement_key(req("r2", "PHOTO")) == "PHOTO#r2"
        assert requirement_key(req("r3", "PHOTO", label="  Site  ")) == "Site"

    def test_negative_min_count_counts_as_zero(self) -> None:
        result = evaluate(
            "VALUATION",
            VALUATION_READY,
            [],
            [],
            evidence_profile_requirements=[req("a", "GEO", min_count=-3)],
        )
        assert result["required_evidence_minimums"] == {"GEO#a": 0}
        assert result["missing_evidence"] == []

    def test_sbi_profile_satisfied_by_the_m5_6_demo_evidence(self) -> None:
        evidence = [ev("DOCUMENT", doc) for doc in ("SALE_DEED", "RTC", "EC", "KHATA", "TAX", "PLAN")]
        evidence += [
            ev("PHOTO", category=c) for c in ("exterior", "exterior", "interior", "interior", "surroundings")
        ]
        evidence += [ev("GEO", category="gps"), ev("SCREENSHOT", category="google_map")]
        evidence += [ev("SCREENSHOT", category="route_map")]
        result = evaluate(
            "VALUATION", VALUATION_READY, evidence, [], evidence_profile_requirements=SBI_LT_5CR_PROFILE
        )
        assert result["missing_evidence"] == []
        assert result["completeness_score"] == 100


class TestDecision20DuplicateLabels:
    def test_duplicate_labels_count_once_and_score_stays_at_most_100(self) -> None:
        profile = [
            req("a", "PHOTO", tags={"category": "exterior"}, label="Photos"),
            req("b", "PHOTO", tags={"category": "interior"}, label="Photos"),
        ]
        evidence = [ev("PHOTO", category="exterior"), ev("PHOTO", category="interior")]
        result = evaluate("VALUATION", VALUATION_READY, evidence, [], evidence_profile_requirements=profile)
        # The original counted 4 fields + 2 passed requirements over 4 + 1 distinct keys = 120.
        assert result["completeness_score"] == 100

    def test_shared_key_passes_only_when_every_requirement_is_met(self) -> None:
        profile = [
            req("a", "PHOTO", tags={"category": "exterior"}, label="Photos"),
            req("b", "PHOTO", tags={"category": "interior"}, label="Photos"),
        ]
        result = evaluate(
            "VALUATION",
            VALUATION_READY,
            [ev("PHOTO", category="exterior")],
            [],
            evidence_profile_requirements=profile,
        )
        assert result["missing_evidence"] == ["Photos: need at least 1, found 0"]
        assert result["completeness_score"] == 80  # 4 fields + 0 of 1 key

    @given(
        st.lists(st.tuples(st.sampled_from(["A", "B", "C"]), st.integers(0, 3)), min_size=1, max_size=8),
        st.integers(0, 6),
    )
    def test_score_is_between_0_and_100(self, specs: list[tuple[str, int]], photos: int) -> None:
        profile = [req(f"r{i}", "PHOTO", min_count=m, label=label) for i, (label, m) in enumerate(specs)]
        result = evaluate(
            "VALUATION", contract(), [ev("PHOTO")] * photos, [], evidence_profile_requirements=profile
        )
        assert 0 <= result["completeness_score"] <= 100


class TestDecision1DprAndStageProgress:
    def test_dpr_can_be_fully_satisfied(self) -> None:
        dpr = contract(
            party={"bank_name": "BOI"},
            manual_fields={
                "project_summary": "Plant",
                "project_cost_total": 5000000,
                "means_of_finance": "Term loan",
            },
        )
        result = evaluate("DPR", dpr, [ev("PHOTO")] * 4, [])
        assert result["missing_fields"] == []
        assert result["missing_evidence"] == []
        assert result["completeness_score"] == 100

    def test_stage_progress_can_be_fully_satisfied(self) -> None:
        stage = contract(
            party={"bank_name": "BOI"},
            property={"address": "Site", "floors": []},
            manual_fields={"stage_notes": "Slab cast"},
        )
        result = evaluate("STAGE_PROGRESS", stage, [ev("GEO")] * 4, [])
        assert result["missing_fields"] == []
        assert result["completeness_score"] == 100

    def test_revaluation_needs_fmv_or_components(self) -> None:
        reval = contract(party={"bank_name": "BOI"}, property={"address": "Site", "floors": []})
        result = evaluate("REVALUATION", reval, [], [])
        assert result["missing_fields"] == ["FMV input or land/building values are required"]


class TestWarningsAndLinks:
    def test_annexure_items_suppress_the_annexure_warning(self) -> None:
        with_items = contract(annexures={"items": [{"evidence_item_id": "x", "sort_order": 0}]})
        assert ANNEXURE_ORDERING_EMPTY_WARNING not in evaluate("VALUATION", with_items, [], [])["warnings"]

    def test_all_links_present_means_no_link_warning(self) -> None:
        keys = ["party.bank_name", "property.address", "property.land_area", "valuation_inputs.rate"]
        result = evaluate("VALUATION", VALUATION_READY, [], [], field_evidence_linked_keys=keys)
        assert result["missing_field_evidence_links"] == []
        assert not any(w.startswith("Field evidence links missing") for w in result["warnings"])

    def test_numeric_strings_and_branch_name_satisfy_fields(self) -> None:
        loose = contract(
            party={"bank_branch_name": "MG Road"},
            property={"address": "x", "land_area": {"value": "100"}, "floors": []},
            valuation_inputs={"market_rate_input": {"value": " 2000 "}},
        )
        assert evaluate("VALUATION", loose, [], [])["missing_fields"] == []

    def test_link_warning_text(self) -> None:
        assert field_links_missing_warning(2) == "Field evidence links missing for 2 required field(s)."

    def test_unknown_report_type_is_rejected(self) -> None:
        with pytest.raises(ValueError, match="unknown report type"):
            evaluate("TEV", contract(), [], [])

    def test_empty_readiness_shape(self) -> None:
        assert empty_readiness() == {
            "completeness_score": 0,
            "missing_fields": [],
            "missing_evidence": [],
            "warnings": [],
            "required_evidence_minimums": {},
        }


class TestMatching:
    def test_type_doc_type_and_tags(self) -> None:
        requirement = req("r", "PHOTO", tags={"category": "exterior"})
        assert evidence_matches_requirement(ev("PHOTO", category="exterior", extra=1), requirement)
        assert not evidence_matches_requirement(ev("PHOTO", category="interior"), requirement)
        assert not evidence_matches_requirement(ev("PHOTO"), requirement)
        assert not evidence_matches_requirement(ev("GEO", category="exterior"), requirement)
        assert evidence_matches_requirement(ev("DOCUMENT", "EC"), req("d", "DOCUMENT"))
        assert not evidence_matches_requirement(ev("DOCUMENT", "EC"), req("d", "DOCUMENT", doc_type="RTC"))

    def test_strict_equality_never_equates_booleans_and_numbers(self) -> None:
        requirement = req("r", "PHOTO", tags={"n": 1})
        assert evidence_matches_requirement(ev("PHOTO", n=1.0), requirement)
        assert not evidence_matches_requirement(ev("PHOTO", n=True), requirement)
        assert not evidence_matches_requirement(ev("PHOTO", n="1"), requirement)

    def test_null_tag_value_matches_only_null(self) -> None:
        requirement = req("r", "PHOTO", tags={"k": None})
        assert evidence_matches_requirement({"evidence_type": "PHOTO", "tags": {"k": None}}, requirement)
        assert not evidence_matches_requirement({"evidence_type": "PHOTO", "tags": {}}, requirement)

    def test_nested_values_compare_by_content(self) -> None:
        assert js_strict_equal({"a": [1, {"b": None}]}, {"a": [1.0, {"b": None}]})
        assert not js_strict_equal({"a": [1]}, {"a": [1, 2]})
        assert not js_strict_equal({"a": 1}, {"b": 1})
        assert not js_strict_equal(float("nan"), float("nan"))

    def test_non_object_tag_filter_is_ignored(self) -> None:
        requirement = {"evidence_type": "PHOTO", "tags_json": ["category"]}
        assert evidence_matches_requirement({"evidence_type": "PHOTO", "tags": "junk"}, requirement)
