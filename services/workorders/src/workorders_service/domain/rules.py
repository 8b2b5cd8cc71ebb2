"""Repogen rules engine, ruleset ``m5.4-v1`` (domain.md §2; architecture.md §9 decisions 2 and 3).

``compute_contract`` is a pure, deterministic function of the contract. Numbers follow the original's
JavaScript arithmetic bit for bit (``round2`` = ``Number(x.toFixed(2))``).

Decision 2 (no sticky computed values): every computed value is rebuilt from the inputs on every run, and
``computed_values`` of the incoming contract is ignored. For the guideline rate the engine must tell a rate
the user typed into ``valuation_inputs.guideline_rate_per_sqm`` from one it wrote back there itself. Rule:
**when ``guideline_rate_input`` has a numeric value it is the source** (converted to per sqm, written back
into ``guideline_rate_per_sqm`` on every run); the per-sqm field is an input only while no
``guideline_rate_input`` value exists. A stored value alone cannot carry its provenance without breaking
idempotence, and a patch cannot delete a key, so a user who wants to type a per-sqm rate while an input
exists sets ``guideline_rate_input`` to ``{value, unit: "sqm"}``.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Mapping
from typing import Any

from shared.domain.numeric import normalize_json_numbers, round2, round_up_to_step, to_number
from workorders_service.domain.contract import DEFAULT_CONTRACT_JSON

__all__ = [
    "DEFAULT_RULESET_VERSION",
    "FIVE_CR",
    "SQFT_PER_SQM",
    "compute_contract",
    "rate_sqft_to_sqm",
    "round_up_to_500",
    "sqft_to_sqm",
    "template_selector_for",
    "value_slab_for",
    "warning_strings",
]

DEFAULT_RULESET_VERSION = "m5.4-v1"
SQFT_PER_SQM = 10.7639
FIVE_CR = 50_000_000
# Co-op banks report an adopted ("considered") figure that is 80 % of the market figure.
_COOP_ADOPTED_SHARE = 0.8
_REALIZABLE_SHARE = 0.95
_DISTRESS_SHARE = 0.80

_WARNINGS: dict[str, tuple[str, str]] = {
    "COOP_MARKET_INFERRED_FROM_ADOPTED": (
        "info",
        "Computed co-op market value from adopted value using adopted = 80% of market.",
    ),
    "COOP_ADOPTED_INFERRED_FROM_MARKET": (
        "info",
        "Computed co-op adopted value from market value using adopted = 80% of market.",
    ),
    "BANK_NAME_MISSING": ("warn", "Bank name / branch details are missing."),
    "RATE_INPUT_MISSING": ("warn", "Neither guideline rate nor market rate is provided."),
    "RATE_MISMATCH_SUSPICIOUS": (
        "warn",
        "Market/guideline rate ratio looks suspicious. Check units and values.",
    ),
    "UNIT_MISMATCH": (
        "info",
        "user_input_units does not match market_rate_input.unit. Standardization applied in derived values.",
    ),
    "PROPERTY_ADDRESS_MISSING": ("warn", "Property address is missing."),
}

# A section that is missing or not an object starts from the default contract's section.
_SECTION_DEFAULTS = DEFAULT_CONTRACT_JSON


def sqft_to_sqm(value_sqft: float) -> float:
    """Area in sqft → sqm, rounded to 2 decimals (``repogenSqftToSqm``)."""
    return round2(value_sqft / SQFT_PER_SQM)


def rate_sqft_to_sqm(rate_per_sqft: float) -> float:
    """Rate per sqft → rate per sqm, rounded to 2 decimals (``repogenRateSqftToSqm``)."""
    return round2(rate_per_sqft * SQFT_PER_SQM)


def round_up_to_500(value: float) -> float:
    """Round up to the next multiple of 500; non-positive or non-finite → 0 (``repogenRoundUpTo500``)."""
    return round_up_to_step(value, 500)


def _area_to_sqm(value: float, unit: object) -> float:
    # A missing or unknown unit means the value is already in sqm.
    return sqft_to_sqm(value) if unit == "sqft" else round2(value)


def _rate_to_sqm(value: float, unit: object) -> float:
    return rate_sqft_to_sqm(value) if unit == "sqft" else round2(value)


def value_slab_for(candidate_total: float | None) -> str:
    """``LT_5CR`` below ₹5 crore, ``GT_5CR`` from 5 crore up, ``UNKNOWN`` when missing or not positive."""
    if candidate_total is None or candidate_total <= 0 or not math.isfinite(candidate_total):
        return "UNKNOWN"
    return "LT_5CR" if candidate_total < FIVE_CR else "GT_5CR"


def template_selector_for(bank_type: str | None, value_slab: str) -> str:
    """Template family: co-op and agri by bank type, otherwise by slab for every bank (domain.md §2.5)."""
    if bank_type == "COOP":
        return "COOP_GENERIC"
    if bank_type == "AGRI":
        return "AGRI_GENERIC"
    if value_slab == "LT_5CR":
        return "SBI_FORMAT_A"
    if value_slab == "GT_5CR":
        return "BOI_PSU_GENERIC"
    return "UNKNOWN"


def warning_strings(warnings: list[dict[str, Any]]) -> list[str]:
    """Rule warnings as readiness expects them: ``"<CODE>: <message>"``."""
    return [f"{w['code']}: {w['message']}" for w in warnings]


def _mapping(value: object) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _without_none(values: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in values.items() if value is not None}


def _unit_rate(section: Mapping[str, Any], key: str) -> float | None:
    raw = _mapping(section.get(key))
    value = to_number(raw.get("value"))
    return None if value is None else _rate_to_sqm(value, raw.get("unit"))


def compute_contract(
    contract: Mapping[str, Any], ruleset_version: str = DEFAULT_RULESET_VERSION
) -> dict[str, Any]:
    """Run the rules on a (parsed) contract.

    Returns ``{"contract", "derived", "warnings", "errors", "ruleset_version"}``: the contract with
    ``meta`` and ``computed_values`` rewritten (absent values omitted) and the guideline rate written back;
    ``derived`` as stored in ``derived_json`` (absent values as explicit ``None``); warnings
    ``{"code", "message", "level"}`` in emission order; ``errors`` always empty in m5.4-v1. The input is not
    modified.
    """
    result = copy.deepcopy(dict(contract))
    for name, default in _SECTION_DEFAULTS.items():
        if not isinstance(result.get(name), dict):
            result[name] = copy.deepcopy(default)
    meta: dict[str, Any] = result["meta"]
    party: dict[str, Any] = result["party"]
    prop: dict[str, Any] = result["property"]
    inputs: dict[str, Any] = result["valuation_inputs"]
    warnings: list[dict[str, Any]] = []

    def warn(code: str) -> None:
        level, message = _WARNINGS[code]
        warnings.append({"code": code, "message": message, "level": level})

    bank_name = party.get("bank_name")
    inferred_bank = "SBI" if isinstance(bank_name, str) and "SBI" in bank_name.upper() else None
    declared_bank = meta.get("bank_type")
    bank_type: str | None = declared_bank if declared_bank is not None else inferred_bank
    report_type: str | None = meta.get("report_type")

    land_area = _mapping(prop.get("land_area"))
    built_up_area = _mapping(prop.get("built_up_area"))
    land_value_raw = to_number(land_area.get("value"))
    built_up_raw = to_number(built_up_area.get("value"))
    land_area_sqm = None if land_value_raw is None else _area_to_sqm(land_value_raw, land_area.get("unit"))
    built_up_area_sqm = (
        None if built_up_raw is None else _area_to_sqm(built_up_raw, built_up_area.get("unit"))
    )

    # Guideline rate: the unit input wins when present (decision 2, see module docstring).
    guideline_from_input = _unit_rate(inputs, "guideline_rate_input")
    guideline_rate: float | None
    if guideline_from_input is not None:
        guideline_rate = guideline_from_input
        inputs["guideline_rate_per_sqm"] = guideline_from_input
    else:
        guideline_rate = to_number(inputs.get("guideline_rate_per_sqm"))
    market_rate = _unit_rate(inputs, "market_rate_input")
    adopted_rate = _unit_rate(inputs, "adopted_rate_input")
    standardized_market_rate = market_rate

    coop_market = to_number(inputs.get("market_total_value_input"))
    coop_adopted = to_number(inputs.get("adopted_total_value_input"))
    if bank_type == "COOP":
        if coop_adopted is not None and coop_market is None:
            coop_market = round2(coop_adopted / _COOP_ADOPTED_SHARE)
            warn("COOP_MARKET_INFERRED_FROM_ADOPTED")
        elif coop_market is not None and coop_adopted is None:
            coop_adopted = round2(coop_market * _COOP_ADOPTED_SHARE)
            warn("COOP_ADOPTED_INFERRED_FROM_MARKET")
        if adopted_rate is not None and market_rate is None:
            # Only the reported market rate is grossed up; the local market rate stays unknown, so
            # RATE_INPUT_MISSING can still fire for an adopted-rate-only co-op contract (as in the original).
            standardized_market_rate = round2(adopted_rate / _COOP_ADOPTED_SHARE)
        elif adopted_rate is None and market_rate is not None:
            adopted_rate = round2(market_rate * _COOP_ADOPTED_SHARE)

    land_value = to_number(inputs.get("land_value"))
    building_value = to_number(inputs.get("building_value"))
    fmv = to_number(inputs.get("fmv_input"))
    if fmv is None and (land_value is not None or building_value is not None):
        fmv = round2((land_value or 0) + (building_value or 0))
    realizable = None if fmv is None else round2(fmv * _REALIZABLE_SHARE)
    distress = None if fmv is None else round2(fmv * _DISTRESS_SHARE)

    # Decision 3: the slab looks at the co-op adopted total before the market total (business rule).
    slab_candidate = next((v for v in (fmv, coop_adopted, coop_market) if v is not None), None)
    value_slab = value_slab_for(slab_candidate)
    template_selector = template_selector_for(bank_type, value_slab)

    if not party.get("bank_name") and not party.get("bank_branch_name"):
        warn("BANK_NAME_MISSING")
    if guideline_rate is None and market_rate is None:
        warn("RATE_INPUT_MISSING")
    if market_rate is not None and guideline_rate is not None and guideline_rate != 0:
        ratio = market_rate / guideline_rate
        if ratio > 10 or ratio < 0.1:
            warn("RATE_MISMATCH_SUSPICIOUS")
    market_unit = _mapping(inputs.get("market_rate_input")).get("unit")
    user_units = inputs.get("user_input_units")
    if market_unit and user_units and market_unit != user_units:
        warn("UNIT_MISMATCH")
    if not prop.get("address"):
        warn("PROPERTY_ADDRESS_MISSING")

    rounded_to_next_500: float | None = None
    if bank_type == "COOP":
        rounding_base = next((v for v in (coop_market, coop_adopted, fmv) if v is not None), None)
        rounded_to_next_500 = None if rounding_base is None else round_up_to_500(rounding_base)

    result["meta"] = _without_none(
        {
            **meta,
            "report_type": report_type,
            "bank_type": bank_type,
            "value_slab": value_slab,
            "template_selector": template_selector,
        }
    )
    totals = {
        "FMV": fmv,
        "realizable_value": realizable,
        "distress_value": distress,
        "coop_market_value": coop_market,
        "coop_adopted_value": coop_adopted,
        "rounded_to_next_500": rounded_to_next_500,
    }
    rates = {
        "guideline_rate_per_sqm": guideline_rate,
        "market_rate_per_sqm": standardized_market_rate,
        "adopted_rate_per_sqm": adopted_rate,
    }
    areas = {"land_area_sqm": land_area_sqm, "built_up_area_sqm": built_up_area_sqm}
    # Decision 2: rebuilt from scratch; nothing of the previous computed_values survives.
    result["computed_values"] = {
        **_without_none(totals),
        "standardized_rates": _without_none(rates),
        "standardized_areas": _without_none(areas),
    }

    derived = {
        "ruleset_version": ruleset_version,
        "value_slab": value_slab,
        "template_selector": template_selector,
        "bank_type": bank_type or "OTHER",
        "report_type": report_type or "VALUATION",
        "standardized": {"area": dict(areas), "rates": dict(rates)},
        "computed_values": dict(totals),
        "warnings": copy.deepcopy(warnings),
    }
    return {
        "contract": normalize_json_numbers(result),
        "derived": normalize_json_numbers(derived),
        "warnings": warnings,
        "errors": [],
        "ruleset_version": ruleset_version,
    }
