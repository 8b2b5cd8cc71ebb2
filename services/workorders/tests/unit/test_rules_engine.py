"""Rules engine m5.4-v1 (domain.md §2; vectors A; architecture.md §9 decisions 2 and 3)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from devstack.testing.data import VALUATION_CONTRACT_PATCH
from workorders_service.domain.contract import deep_merge, parse_contract
from workorders_service.domain.rules import (
    compute_contract,
    rate_sqft_to_sqm,
    round_up_to_500,
    sqft_to_sqm,
    warning_strings,
)

#: the base contract "SBI-BASE" of vectors.md §A, as written there
SBI_BASE: dict[str, Any] = {
    "meta": {"report_type": "VALUATION", "bank_type": "SBI"},
    "party": {"bank_name": "State Bank of India"},
    "property": {"address": "Fixture property"},
}


def sbi_base(**extra: dict[str, Any]) -> dict[str, Any]:
    """SBI-BASE parsed with defaults, plus extra sections merged in."""
    return parse_contract(deep_merge(SBI_BASE, extra))


def codes(result: dict[str, Any]) -> list[str]:
    return [w["code"] for w in result["warnings"]]


def headline_values(result: dict[str, Any]) -> tuple[Any, Any, Any]:
    """FMV, realizable and distress value of a computed contract."""
    computed = result["contract"]["computed_values"]
    return computed["FMV"], computed["realizable_value"], computed["distress_value"]


def slab_and_selector(result: dict[str, Any]) -> tuple[str, str]:
    """Value slab and template selector the rules wrote into the contract's meta."""
    meta = result["contract"]["meta"]
    return meta["value_slab"], meta["template_selector"]


class TestVectors:
    def test_eng_01_fmv_realizable_distress(self) -> None:
        result = compute_contract(
            sbi_base(valuation_inputs={"land_value": 2000000, "building_value": 3000000})
        )
        assert headline_values(result) == (5000000, 4750000, 4000000)
        assert slab_and_selector(result) == ("LT_5CR", "SBI_FORMAT_A")
        assert codes(result) == ["RATE_INPUT_MISSING"]

    def test_eng_02_coop_inversion_and_round_up(self) -> None:
        coop = parse_contract(
            {
                "meta": {"report_type": "VALUATION", "bank_type": "COOP"},
                "party": {"bank_name": "Co-op Bank"},
                "property": {"address": "Co-op site"},
                "valuation_inputs": {"adopted_total_value_input": 12345},
            }
        )
        result = compute_contract(coop)
        computed = result["contract"]["computed_values"]
        assert computed["coop_market_value"] == 15431.25
        assert computed["coop_adopted_value"] == 12345
        assert computed["rounded_to_next_500"] == 15500
        assert "FMV" not in computed
        assert result["contract"]["meta"]["template_selector"] == "COOP_GENERIC"
        assert result["contract"]["meta"]["value_slab"] == "LT_5CR"
        assert [(w["code"], w["level"]) for w in result["warnings"]] == [
            ("COOP_MARKET_INFERRED_FROM_ADOPTED", "info"),
            ("RATE_INPUT_MISSING", "warn"),
        ]

    def test_eng_03_sqft_inputs_to_sqm(self) -> None:
        result = compute_contract(
            sbi_base(
                property={"land_area": {"value": 1076.39, "unit": "sqft"}},
                valuation_inputs={"market_rate_input": {"value": 1000, "unit": "sqft"}},
            )
        )
        computed = result["contract"]["computed_values"]
        assert computed["standardized_areas"]["land_area_sqm"] == 100
        assert computed["standardized_rates"]["market_rate_per_sqm"] == 10763.9
        assert result["contract"]["meta"]["value_slab"] == "UNKNOWN"
        assert result["contract"]["meta"]["template_selector"] == "UNKNOWN"
        assert result["warnings"] == []

    @pytest.mark.parametrize(
        ("fmv", "slab", "selector", "realizable", "distress"),
        [
            (49999999, "LT_5CR", "SBI_FORMAT_A", 47499999.05, 39999999.2),
            (50000000, "GT_5CR", "BOI_PSU_GENERIC", 47500000, 40000000),
        ],
    )
    def test_eng_04_slab_boundary(
        self, fmv: int, slab: str, selector: str, realizable: float, distress: float
    ) -> None:
        result = compute_contract(sbi_base(valuation_inputs={"fmv_input": fmv}))
        assert slab_and_selector(result) == (slab, selector)
        assert headline_values(result) == (fmv, realizable, distress)

    def test_eng_05_round_up_to_500(self) -> None:
        assert [round_up_to_500(v) for v in (400, 600, 1000)] == [500, 1000, 1000]

    def test_eng_06_sqft_to_sqm(self) -> None:
        assert sqft_to_sqm(1076.39) == 100

    def test_eng_06x_helpers(self) -> None:
        assert [rate_sqft_to_sqm(1), rate_sqft_to_sqm(1500), sqft_to_sqm(1000), sqft_to_sqm(1200)] == [
            10.76,
            16145.85,
            92.9,
            111.48,
        ]

    @pytest.mark.parametrize(
        ("property_", "valuation_inputs", "sqm", "rates", "values"),
        [
            # the shared fixture patch is ENG-07's contract (its address aside, which the engine never reads)
            pytest.param(
                VALUATION_CONTRACT_PATCH["patch"]["property"],
                VALUATION_CONTRACT_PATCH["patch"]["valuation_inputs"],
                92.9,
                (16145.85, 21527.8),
                (5000000, 4750000, 4000000),
                id="eng_07_demo_spine_contract",
            ),
            pytest.param(
                {"land_area": {"value": 1200, "unit": "sqft"}},
                {
                    "guideline_rate_per_sqm": 12000,
                    "market_rate_input": {"value": 1800, "unit": "sqft"},
                    "land_value": 2000000,
                    "building_value": 1500000,
                    "depreciation_percent": 10,
                },
                111.48,
                (12000, 19375.02),
                (3500000, 3325000, 2800000),
                id="eng_08_demo_factory_contract",
            ),
        ],
    )
    def test_eng_07_08_demo_contracts(
        self,
        property_: dict[str, Any],
        valuation_inputs: dict[str, Any],
        sqm: float,
        rates: tuple[float, float],
        values: tuple[int, int, int],
    ) -> None:
        result = compute_contract(sbi_base(property=property_, valuation_inputs=valuation_inputs))
        out = result["contract"]
        computed = out["computed_values"]
        guideline, market = rates
        assert computed["standardized_areas"]["land_area_sqm"] == sqm
        assert computed["standardized_rates"]["guideline_rate_per_sqm"] == guideline
        assert out["valuation_inputs"]["guideline_rate_per_sqm"] == guideline
        assert computed["standardized_rates"]["market_rate_per_sqm"] == market
        assert headline_values(result) == values
        assert slab_and_selector(result) == ("LT_5CR", "SBI_FORMAT_A")
        assert result["warnings"] == []


class TestOutputShape:
    def test_derived_has_explicit_nulls(self) -> None:
        result = compute_contract(parse_contract({}))
        assert result["derived"] == {
            "ruleset_version": "m5.4-v1",
            "value_slab": "UNKNOWN",
            "template_selector": "UNKNOWN",
            "bank_type": "OTHER",
            "report_type": "VALUATION",
            "standardized": {
                "area": {"land_area_sqm": None, "built_up_area_sqm": None},
                "rates": {
                    "guideline_rate_per_sqm": None,
                    "market_rate_per_sqm": None,
                    "adopted_rate_per_sqm": None,
                },
            },
            "computed_values": {
                "FMV": None,
                "realizable_value": None,
                "distress_value": None,
                "coop_market_value": None,
                "coop_adopted_value": None,
                "rounded_to_next_500": None,
            },
            "warnings": [
                {
                    "code": "BANK_NAME_MISSING",
                    "message": "Bank name / branch details are missing.",
                    "level": "warn",
                },
                {
                    "code": "RATE_INPUT_MISSING",
                    "message": "Neither guideline rate nor market rate is provided.",
                    "level": "warn",
                },
                {
                    "code": "PROPERTY_ADDRESS_MISSING",
                    "message": "Property address is missing.",
                    "level": "warn",
                },
            ],
        }
        assert result["errors"] == []
        assert result["contract"]["computed_values"] == {"standardized_rates": {}, "standardized_areas": {}}
        assert result["contract"]["meta"] == {"value_slab": "UNKNOWN", "template_selector": "UNKNOWN"}

    def test_output_contract_is_valid_and_json_has_integral_numbers_as_ints(self) -> None:
        result = compute_contract(
            sbi_base(valuation_inputs={"land_value": 2000000.0, "building_value": 3000000})
        )
        assert parse_contract(result["contract"]) == result["contract"]
        assert '"FMV": 5000000,' in json.dumps(result["contract"]["computed_values"])

    def test_ruleset_version_is_echoed(self) -> None:
        result = compute_contract(sbi_base(), "m5.4-v1-test")
        assert result["ruleset_version"] == "m5.4-v1-test"
        assert result["derived"]["ruleset_version"] == "m5.4-v1-test"

    def test_input_is_not_modified(self) -> None:
        source = sbi_base(valuation_inputs={"guideline_rate_input": {"value": 1, "unit": "sqft"}})
        snapshot = json.dumps(source, sort_keys=True)
        compute_contract(source)
        assert json.dumps(source, sort_keys=True) == snapshot

    def test_warning_strings_for_readiness(self) -> None:
        result = compute_contract(parse_contract({"party": {"bank_name": "x"}, "property": {"address": "y"}}))
        assert warning_strings(result["warnings"]) == [
            "RATE_INPUT_MISSING: Neither guideline rate nor market rate is provided."
        ]


class TestWarnings:
    def test_rate_mismatch_suspicious_both_directions(self) -> None:
        high = sbi_base(
            valuation_inputs={"guideline_rate_per_sqm": 100, "market_rate_input": {"value": 1001}}
        )
        low = sbi_base(valuation_inputs={"guideline_rate_per_sqm": 100, "market_rate_input": {"value": 9.99}})
        edge = sbi_base(
            valuation_inputs={"guideline_rate_per_sqm": 100, "market_rate_input": {"value": 1000}}
        )
        zero = sbi_base(valuation_inputs={"guideline_rate_per_sqm": 0, "market_rate_input": {"value": 1000}})
        assert codes(compute_contract(high)) == ["RATE_MISMATCH_SUSPICIOUS"]
        assert codes(compute_contract(low)) == ["RATE_MISMATCH_SUSPICIOUS"]
        assert codes(compute_contract(edge)) == []
        assert codes(compute_contract(zero)) == []

    def test_unit_mismatch(self) -> None:
        contract = sbi_base(
            valuation_inputs={"market_rate_input": {"value": 100, "unit": "sqft"}, "user_input_units": "sqm"}
        )
        assert codes(compute_contract(contract)) == ["UNIT_MISMATCH"]

    def test_branch_name_is_enough_for_the_bank(self) -> None:
        contract = parse_contract({"party": {"bank_branch_name": "MG Road"}, "property": {"address": "x"}})
        assert "BANK_NAME_MISSING" not in codes(compute_contract(contract))

    def test_bank_type_inferred_from_name_when_meta_lacks_it(self) -> None:
        result = compute_contract(parse_contract({"party": {"bank_name": "sbi main"}}))
        assert result["contract"]["meta"]["bank_type"] == "SBI"
        assert result["derived"]["bank_type"] == "SBI"


class TestCoop:
    def coop(self, **inputs: Any) -> dict[str, Any]:
        return parse_contract(
            {
                "meta": {"report_type": "VALUATION", "bank_type": "COOP"},
                "party": {"bank_name": "Co-op Bank"},
                "property": {"address": "Co-op site"},
                "valuation_inputs": inputs,
            }
        )

    def test_adopted_inferred_from_market(self) -> None:
        result = compute_contract(self.coop(market_total_value_input=10001))
        computed = result["contract"]["computed_values"]
        assert (computed["coop_adopted_value"], computed["rounded_to_next_500"]) == (8000.8, 10500)
        assert codes(result)[0] == "COOP_ADOPTED_INFERRED_FROM_MARKET"

    def test_decision_3_slab_from_adopted_total_first(self) -> None:
        result = compute_contract(
            self.coop(market_total_value_input=60_000_000, adopted_total_value_input=48_000_000)
        )
        assert result["contract"]["meta"]["value_slab"] == "LT_5CR"
        assert not any(c.startswith("COOP_") for c in codes(result))

    def test_rates_inverted_and_rate_input_missing_still_fires(self) -> None:
        result = compute_contract(self.coop(adopted_rate_input={"value": 800}))
        rates = result["contract"]["computed_values"]["standardized_rates"]
        assert rates == {"market_rate_per_sqm": 1000, "adopted_rate_per_sqm": 800}
        assert result["derived"]["standardized"]["rates"]["market_rate_per_sqm"] == 1000
        assert "RATE_INPUT_MISSING" in codes(result)

    def test_adopted_rate_from_market_rate(self) -> None:
        result = compute_contract(self.coop(market_rate_input={"value": 1000}))
        assert result["contract"]["computed_values"]["standardized_rates"]["adopted_rate_per_sqm"] == 800

    def test_non_coop_totals_pass_through_without_rounding(self) -> None:
        result = compute_contract(sbi_base(valuation_inputs={"market_total_value_input": 60_000_000}))
        computed = result["contract"]["computed_values"]
        assert computed["coop_market_value"] == 60_000_000
        assert "rounded_to_next_500" not in computed
        assert result["contract"]["meta"]["value_slab"] == "GT_5CR"


class TestDecision2NoStickyValues:
    def test_second_run_with_changed_market_rate_updates_the_rate(self) -> None:
        first = compute_contract(
            sbi_base(valuation_inputs={"market_rate_input": {"value": 1000, "unit": "sqm"}})
        )
        patched = deep_merge(first["contract"], {"valuation_inputs": {"market_rate_input": {"value": 2500}}})
        second = compute_contract(parse_contract(patched))
        assert first["contract"]["computed_values"]["standardized_rates"]["market_rate_per_sqm"] == 1000
        assert second["contract"]["computed_values"]["standardized_rates"]["market_rate_per_sqm"] == 2500
        assert second["derived"]["standardized"]["rates"]["market_rate_per_sqm"] == 2500

    def test_written_back_guideline_rate_follows_a_changed_input(self) -> None:
        first = compute_contract(
            sbi_base(valuation_inputs={"guideline_rate_input": {"value": 1500, "unit": "sqft"}})
        )
        assert first["contract"]["valuation_inputs"]["guideline_rate_per_sqm"] == 16145.85
        patched = deep_merge(
            first["contract"], {"valuation_inputs": {"guideline_rate_input": {"value": 1000}}}
        )
        second = compute_contract(parse_contract(patched))
        assert second["contract"]["valuation_inputs"]["guideline_rate_per_sqm"] == 10763.9
        assert (
            second["contract"]["computed_values"]["standardized_rates"]["guideline_rate_per_sqm"] == 10763.9
        )

    def test_typed_guideline_rate_is_used_when_there_is_no_input(self) -> None:
        result = compute_contract(sbi_base(valuation_inputs={"guideline_rate_per_sqm": 12000}))
        assert result["contract"]["computed_values"]["standardized_rates"]["guideline_rate_per_sqm"] == 12000

    def test_stale_computed_values_are_discarded(self) -> None:
        stale = sbi_base(
            computed_values={
                "FMV": 1,
                "standardized_rates": {"market_rate_per_sqm": 99},
                "coop_market_value": 5,
            }
        )
        result = compute_contract(stale)
        assert result["contract"]["computed_values"] == {"standardized_rates": {}, "standardized_areas": {}}


# --- properties ---------------------------------------------------------------------------------------

_amount = st.floats(min_value=0, max_value=1e9, allow_nan=False, allow_infinity=False) | st.integers(0, 10**9)
_unit = st.sampled_from(["sqm", "sqft"])
_with_unit = st.fixed_dictionaries({}, optional={"value": _amount, "unit": _unit})
_inputs = st.fixed_dictionaries(
    {},
    optional={
        "guideline_rate_per_sqm": _amount,
        "guideline_rate_input": _with_unit,
        "market_rate_input": _with_unit,
        "adopted_rate_input": _with_unit,
        "land_value": _amount,
        "building_value": _amount,
        "fmv_input": _amount,
        "market_total_value_input": _amount,
        "adopted_total_value_input": _amount,
        "user_input_units": _unit,
    },
)
_contracts = st.builds(
    lambda bank, report, name, address, land, inputs: parse_contract(
        {
            "meta": {k: v for k, v in (("bank_type", bank), ("report_type", report)) if v is not None},
            "party": {"bank_name": name} if name else {},
            "property": {"address": address, "land_area": land} if address else {"land_area": land},
            "valuation_inputs": inputs,
        }
    ),
    st.sampled_from([None, "SBI", "PSU_GENERIC", "COOP", "AGRI", "OTHER"]),
    st.sampled_from([None, "VALUATION", "DPR", "REVALUATION", "STAGE_PROGRESS"]),
    st.sampled_from(["", "State Bank of India", "Co-op Bank"]),
    st.sampled_from(["", "Site"]),
    _with_unit,
    _inputs,
)


@settings(max_examples=150)
@given(_contracts)
def test_engine_is_deterministic(contract: dict[str, Any]) -> None:
    assert compute_contract(contract) == compute_contract(contract)


@settings(max_examples=150)
@given(_contracts)
def test_engine_is_idempotent(contract: dict[str, Any]) -> None:
    once = compute_contract(contract)
    assert compute_contract(once["contract"]) == once


@settings(max_examples=150)
@given(_contracts)
def test_engine_output_is_a_valid_contract(contract: dict[str, Any]) -> None:
    output = compute_contract(contract)["contract"]
    assert parse_contract(output) == output
