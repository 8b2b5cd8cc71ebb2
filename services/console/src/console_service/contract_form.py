"""The contract form: which fields it shows, their validation, and the patch it sends (domain.md §1.4).

Pure: ``parse_form`` turns the submitted strings into ``(patch, errors)``; the route sends the patch as
``PATCH …/contract`` only when ``errors`` is empty, and shows the errors next to their fields otherwise.
Money and rates are parsed as ``Decimal`` and leave as JSON numbers with at most two decimals.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

MAX_TEXT = 500
MAX_AMOUNT = Decimal("1000000000000")  # 1 lakh crore: far above any property
UNITS = ("sqft", "sqm")
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


@dataclass(frozen=True)
class Field:
    """One input: its dotted contract key, label and kind (``text``, ``amount``, ``area``, ``percent``,
    ``date``, ``longtext``)."""

    key: str
    label: str
    kind: str = "text"

    @property
    def name(self) -> str:
        """The form field's name (dots are fine in HTML names, but ids want dashes)."""
        return self.key.replace(".", "__")


SECTIONS: tuple[tuple[str, tuple[Field, ...]], ...] = (
    (
        "Parties",
        (
            Field("party.borrower_name", "Borrower name"),
            Field("party.owner_name", "Owner name"),
            Field("party.bank_branch_name", "Bank branch"),
        ),
    ),
    (
        "Property",
        (
            Field("property.address", "Address"),
            Field("property.city", "City"),
            Field("property.survey_no", "Survey no."),
            Field("property.khata_no", "Khata no."),
            Field("property.land_area", "Land area", "area"),
            Field("property.built_up_area", "Built-up area", "area"),
        ),
    ),
    (
        "Valuation inputs",
        (
            Field("valuation_inputs.guideline_rate_per_sqm", "Guideline rate (₹ per sqm)", "amount"),
            Field("valuation_inputs.market_rate_input", "Market rate (₹ per unit area)", "area"),
            Field("valuation_inputs.land_value", "Land value (₹)", "amount"),
            Field("valuation_inputs.building_value", "Building value (₹)", "amount"),
            Field("valuation_inputs.depreciation_percent", "Depreciation (%)", "percent"),
            Field("valuation_inputs.inspection_date", "Inspection date", "date"),
        ),
    ),
    ("Notes", (Field("manual_fields.justification_text", "Justification", "longtext"),)),
)
FIELDS: tuple[Field, ...] = tuple(f for _, fields in SECTIONS for f in fields)


def json_number(value: Decimal) -> int | float:
    """A Decimal as the JSON number the API takes: an integer, or at most two decimals."""
    quantized = value.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
    return int(quantized) if quantized == quantized.to_integral_value() else float(str(quantized))


def _amount(raw: str, *, high: Decimal = MAX_AMOUNT) -> tuple[Decimal | None, str | None]:
    text = raw.replace(",", "").strip()
    if not text:
        return None, None
    try:
        value = Decimal(text)
    except InvalidOperation:
        return None, "enter a number"
    if not value.is_finite() or value < 0:
        return None, "enter a number of 0 or more"
    if value > high:
        return None, f"at most {high:,}"
    return value, None


def _set(patch: dict[str, Any], key: str, value: Any) -> None:
    section, _, name = key.partition(".")
    patch.setdefault(section, {})[name] = value


def parse_form(form: dict[str, str]) -> tuple[dict[str, Any], dict[str, str]]:
    """``(patch, errors)``: blank inputs are left out of the patch (they never erase a stored value)."""
    patch: dict[str, Any] = {}
    errors: dict[str, str] = {}
    for field in FIELDS:
        raw = form.get(field.name, "").strip()
        if field.kind in ("text", "longtext"):
            if len(raw) > (MAX_TEXT * 8 if field.kind == "longtext" else MAX_TEXT):
                errors[field.name] = "too long"
            elif raw:
                _set(patch, field.key, raw)
        elif field.kind in ("amount", "percent"):
            value, error = _amount(raw, high=Decimal(100) if field.kind == "percent" else MAX_AMOUNT)
            if error:
                errors[field.name] = error
            elif value is not None:
                _set(patch, field.key, json_number(value))
        elif field.kind == "area":
            value, error = _amount(raw)
            unit = form.get(f"{field.name}__unit", "sqft")
            if unit not in UNITS:
                errors[field.name] = "choose sqft or sqm"
            elif error:
                errors[field.name] = error
            elif value is not None:
                _set(patch, field.key, {"value": json_number(value), "unit": unit})
        elif field.kind == "date" and raw:
            if not _DATE.match(raw):
                errors[field.name] = "use YYYY-MM-DD"
            else:
                try:
                    date.fromisoformat(raw)
                except ValueError:
                    errors[field.name] = "not a date"
                else:
                    _set(patch, field.key, raw)
    if "property" in patch:
        patch["property"].setdefault("floors", [])
    return patch, errors


def form_values(contract: dict[str, Any] | None) -> dict[str, str]:
    """The inputs' current values from a stored contract (for the form after a save)."""
    values: dict[str, str] = {}
    for field in FIELDS:
        section, _, name = field.key.partition(".")
        value = ((contract or {}).get(section) or {}).get(name)
        if field.kind == "area" and isinstance(value, dict):
            values[field.name] = "" if value.get("value") is None else str(value["value"])
            values[f"{field.name}__unit"] = str(value.get("unit") or "sqft")
        elif value is not None and not isinstance(value, dict | list):
            values[field.name] = str(value)
    return values


def patch_for_suggestion(field_key: str, value: Any) -> dict[str, Any] | None:
    """The contract patch that accepts an OCR suggestion, or ``None`` for keys outside the contract."""
    section, _, name = field_key.partition(".")
    if section not in {"party", "property", "valuation_inputs"} or not name or "." in name:
        return None
    patch: dict[str, Any] = {section: {name: value}}
    if section == "property":
        patch["property"].setdefault("floors", [])
    return patch
