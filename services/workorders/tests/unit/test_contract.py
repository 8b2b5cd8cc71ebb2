"""Canonical contract schema and patches (domain.md §1.4, §1.5; vector SPN-06; decisions 1 and 2)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from shared.domain.readiness import evaluate
from workorders_service.domain.contract import (
    DEFAULT_CONTRACT_JSON,
    ContractValidationError,
    apply_patch,
    base_contract,
    deep_merge,
    default_contract,
    parse_contract,
    parse_patch,
    parse_patch_request,
)

UUID = "aaaaaaaa-aaaa-aaaa-aaaa-aaaaaaaaaaaa"
EXPECTED_EMPTY = (
    '{"meta":{},"party":{},"property":{"floors":[]},"valuation_inputs":{},"computed_values":{},'
    '"annexures":{"items":[],"image_grouping_default":{"min_images_per_page":2,"max_images_per_page":4}},'
    '"manual_fields":{},"audit":{}}'
)


def issues_of(data: Any, parser: Any = parse_contract) -> list[dict[str, Any]]:
    with pytest.raises(ContractValidationError) as caught:
        parser(data)
    assert caught.value.code == "CONTRACT_INVALID"
    return caught.value.issues


class TestDefaults:
    def test_parsing_empty_object_gives_documented_json(self) -> None:
        assert json.dumps(parse_contract({}), separators=(",", ":")) == EXPECTED_EMPTY

    def test_default_contract_is_a_fresh_copy(self) -> None:
        first = default_contract()
        first["meta"]["report_type"] = "DPR"
        assert default_contract() == DEFAULT_CONTRACT_JSON == parse_contract({})

    def test_nested_defaults(self) -> None:
        parsed = parse_contract(
            {
                "annexures": {
                    "items": [{"evidence_item_id": UUID, "group_hint": {}}],
                    "image_grouping_default": {},
                }
            }
        )
        assert parsed["annexures"] == {
            "items": [
                {
                    "evidence_item_id": UUID,
                    "sort_order": 0,
                    "group_hint": {
                        "min_images_per_page": 2,
                        "max_images_per_page": 4,
                        "preferred_images_per_page": 2,
                    },
                }
            ],
            "image_grouping_default": {"min_images_per_page": 2, "max_images_per_page": 4},
        }

    def test_absent_optionals_are_omitted_never_null(self) -> None:
        parsed = parse_contract({"property": {"floors": [{"label": "Ground"}]}})
        assert parsed["property"] == {"floors": [{"label": "Ground"}]}
        assert "null" not in json.dumps(parsed)


class TestStripping:
    def test_unknown_keys_are_stripped_at_every_level(self) -> None:
        parsed = parse_contract(
            {
                "extra": 1,
                "party": {"bank_name": "SBI", "nickname": "x"},
                "property": {"floors": [{"label": "G", "colour": "red", "area": {"value": 1, "scale": 2}}]},
            }
        )
        assert "extra" not in parsed
        assert parsed["party"] == {"bank_name": "SBI"}
        assert parsed["property"]["floors"] == [{"label": "G", "area": {"value": 1}}]

    def test_checklist_json_keeps_arbitrary_content(self) -> None:
        checklist = {"a": None, "b": [1, {"c": True}]}
        assert parse_contract({"manual_fields": {"checklist_json": checklist}})["manual_fields"] == {
            "checklist_json": checklist
        }


class TestRejections:
    def test_explicit_null_is_rejected_with_its_path(self) -> None:
        issues = issues_of({"party": {"bank_name": None}})
        assert issues == [
            {"path": ["party", "bank_name"], "message": "null is not allowed; omit the field instead"}
        ]

    def test_null_section_is_rejected(self) -> None:
        assert [i["path"] for i in issues_of({"meta": None})] == [["meta"]]

    @pytest.mark.parametrize(
        ("data", "path"),
        [
            ({"party": {"bank_name": ""}}, ["party", "bank_name"]),
            ({"meta": {"bank_type": "HDFC"}}, ["meta", "bank_type"]),
            ({"property": {"land_area": {"value": -1}}}, ["property", "land_area", "value"]),
            ({"property": {"land_area": {"unit": "acre"}}}, ["property", "land_area", "unit"]),
            ({"property": {"floors": [{"area": {}}]}}, ["property", "floors", 0, "label"]),
            ({"valuation_inputs": {"land_value": "100"}}, ["valuation_inputs", "land_value"]),
            ({"valuation_inputs": {"land_value": True}}, ["valuation_inputs", "land_value"]),
            (
                {"valuation_inputs": {"depreciation_percent": 101}},
                ["valuation_inputs", "depreciation_percent"],
            ),
            (
                {"valuation_inputs": {"inspection_date": "24-02-2026"}},
                ["valuation_inputs", "inspection_date"],
            ),
            (
                {"valuation_inputs": {"guideline_screenshot_present": 1}},
                ["valuation_inputs", "guideline_screenshot_present"],
            ),
            (
                {"annexures": {"items": [{"evidence_item_id": "nope"}]}},
                ["annexures", "items", 0, "evidence_item_id"],
            ),
            (
                {"annexures": {"items": [{"evidence_item_id": UUID, "sort_order": 1.5}]}},
                ["annexures", "items", 0, "sort_order"],
            ),
            (
                {"annexures": {"image_grouping_default": {"max_images_per_page": 1}}},
                ["annexures", "image_grouping_default", "max_images_per_page"],
            ),
            ({"manual_fields": {"checklist_json": [1]}}, ["manual_fields", "checklist_json"]),
            ({"audit": {"snapshot_version": 0}}, ["audit", "snapshot_version"]),
            ({"audit": {"created_at": "2026-02-24T10:00:00+05:30"}}, ["audit", "created_at"]),
            ({"audit": {"created_at": "2026-02-30T10:00:00Z"}}, ["audit", "created_at"]),
        ],
    )
    def test_invalid_values_report_their_path(self, data: dict[str, Any], path: list[Any]) -> None:
        assert [i["path"] for i in issues_of(data)] == [path]

    def test_non_finite_numbers_are_rejected(self) -> None:
        assert [i["path"] for i in issues_of({"valuation_inputs": {"fmv_input": float("inf")}})] == [
            ["valuation_inputs", "fmv_input"]
        ]

    def test_integral_floats_are_accepted_as_integers(self) -> None:
        parsed = parse_contract(
            {"audit": {"snapshot_version": 2.0, "created_at": "2026-02-24T10:00:00.000Z"}}
        )
        assert parsed["audit"] == {"snapshot_version": 2, "created_at": "2026-02-24T10:00:00.000Z"}

    def test_non_object_contract_is_rejected(self) -> None:
        assert issues_of([1]) == [{"path": [], "message": "contract must be a JSON object"}]

    def test_error_body_lists_issues(self) -> None:
        with pytest.raises(ContractValidationError) as caught:
            parse_contract({"party": {"bank_name": None}})
        body = caught.value.body()
        assert body["code"] == "CONTRACT_INVALID"
        assert body["details"]["issues"][0]["path"] == ["party", "bank_name"]
        assert "party.bank_name" in body["message"]


class TestDecision1ManualFields:
    def test_dpr_and_stage_keys_survive_parsing(self) -> None:
        manual = {
            "project_summary": "Plant",
            "project_cost_total": 5000000,
            "means_of_finance": "Term loan",
            "stage_notes": "Slab cast",
            "justification_text": "ok",
        }
        assert parse_contract({"manual_fields": manual})["manual_fields"] == manual

    def test_dpr_work_order_can_become_ready_through_a_patch(self) -> None:
        base = base_contract(None, report_type="DPR", bank_type="OTHER", bank_name="Bank of India")
        patch = parse_patch(
            {
                "manual_fields": {
                    "project_summary": "Plant",
                    "project_cost_total": 5e6,
                    "means_of_finance": "Loan",
                }
            }
        )
        merged = apply_patch(base, patch, report_type="DPR", bank_type="OTHER", bank_name="Bank of India")
        readiness = evaluate("DPR", merged, [{"evidence_type": "PHOTO"}] * 4, [])
        assert readiness["missing_fields"] == []
        assert readiness["missing_evidence"] == []


class TestPatch:
    def test_spn_06_unknown_manual_field_stripped(self) -> None:
        # The original stripped project_summary here; under decision 1 it is kept, so use a really unknown key.
        body = {"patch": {"manual_fields": {"unknown_key": "x", "justification_text": "y"}}}
        assert parse_patch_request(body) == {
            "patch": {"manual_fields": {"justification_text": "y"}},
            "ruleset_version": "m5.4-v1",
        }

    def test_spn_06_original_body_under_decision_1(self) -> None:
        body = {"patch": {"manual_fields": {"project_summary": "x", "justification_text": "y"}}}
        assert parse_patch_request(body)["patch"] == {
            "manual_fields": {"justification_text": "y", "project_summary": "x"}
        }

    def test_decision_2_computed_values_are_stripped_from_patches(self) -> None:
        patch = parse_patch({"computed_values": {"FMV": 1}, "valuation_inputs": {"fmv_input": 10}})
        assert patch == {"valuation_inputs": {"fmv_input": 10}}

    def test_patch_applies_no_defaults(self) -> None:
        assert parse_patch({"property": {"address": "x"}, "annexures": {"image_grouping_default": {}}}) == {
            "property": {"address": "x"},
            "annexures": {"image_grouping_default": {}},
        }

    def test_patch_array_elements_are_validated_fully(self) -> None:
        issues = issues_of({"property": {"floors": [{}]}}, parse_patch)
        assert [i["path"] for i in issues] == [["property", "floors", 0, "label"]]

    def test_patch_rejects_null(self) -> None:
        assert [i["path"] for i in issues_of({"party": {"owner_name": None}}, parse_patch)] == [
            ["party", "owner_name"]
        ]

    def test_request_paths_start_at_the_body(self) -> None:
        assert [
            i["path"] for i in issues_of({"patch": {"meta": {"report_type": "X"}}}, parse_patch_request)
        ] == [["patch", "meta", "report_type"]]
        assert [i["path"] for i in issues_of({}, parse_patch_request)] == [["patch"]]
        assert [i["path"] for i in issues_of({"patch": {}, "ruleset_version": ""}, parse_patch_request)] == [
            ["ruleset_version"]
        ]

    def test_request_keeps_explicit_ruleset_version(self) -> None:
        assert parse_patch_request({"patch": {}, "ruleset_version": "m5.4-v2"}) == {
            "patch": {},
            "ruleset_version": "m5.4-v2",
        }


class TestDeepMerge:
    def test_objects_merge_arrays_and_scalars_replace(self) -> None:
        base = {"a": {"x": 1, "y": [1, 2]}, "b": 1}
        patch = {"a": {"y": [3], "z": {"k": 1}}, "b": 2}
        assert deep_merge(base, patch) == {"a": {"x": 1, "y": [3], "z": {"k": 1}}, "b": 2}
        assert base == {"a": {"x": 1, "y": [1, 2]}, "b": 1}

    def test_null_replaces_and_then_fails_validation(self) -> None:
        merged = deep_merge({"party": {"bank_name": "SBI"}}, {"party": {"bank_name": None}})
        assert merged == {"party": {"bank_name": None}}
        assert [i["path"] for i in issues_of(merged)] == [["party", "bank_name"]]

    def test_patch_without_floors_keeps_stored_floors(self) -> None:
        base = parse_contract({"property": {"address": "a", "floors": [{"label": "G"}]}})
        merged = deep_merge(base, parse_patch({"property": {"address": "b"}}))
        assert merged["property"] == {"address": "b", "floors": [{"label": "G"}]}


class TestBaseAndApply:
    def test_base_from_latest_snapshot(self) -> None:
        latest = {"party": {"bank_name": "Stored"}, "junk": 1}
        assert base_contract(
            latest, report_type="VALUATION", bank_type="SBI", bank_name="WO"
        ) == parse_contract({"party": {"bank_name": "Stored"}})

    @pytest.mark.parametrize("latest", [None, {"party": {"bank_name": None}}])
    def test_base_falls_back_to_seeded_default(self, latest: dict[str, Any] | None) -> None:
        base = base_contract(
            latest, report_type="VALUATION", bank_type="SBI", bank_name="State Bank of India"
        )
        expected = default_contract()
        expected["meta"] = {"report_type": "VALUATION", "bank_type": "SBI"}
        expected["party"] = {"bank_name": "State Bank of India"}
        assert base == expected

    def test_apply_forces_work_order_identity(self) -> None:
        base = parse_contract({"party": {"bank_name": "Old"}})
        patch = parse_patch(
            {"meta": {"report_type": "DPR", "bank_type": "COOP"}, "party": {"owner_name": "A"}}
        )
        merged = apply_patch(base, patch, report_type="VALUATION", bank_type="SBI", bank_name="WO bank")
        assert merged["meta"] == {"report_type": "VALUATION", "bank_type": "SBI"}
        assert merged["party"] == {"owner_name": "A", "bank_name": "Old"}

    def test_apply_fills_missing_bank_name(self) -> None:
        merged = apply_patch(
            default_contract(), {}, report_type="DPR", bank_type="OTHER", bank_name="WO bank"
        )
        assert merged["party"] == {"bank_name": "WO bank"}
