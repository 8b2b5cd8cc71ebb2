"""Field suggestions from OCR text (architecture decision 28).

Simple, deterministic patterns for what Indian valuation documents print: areas with units, survey /
khata / CTS numbers and dates. Results are *suggestions* for an operator to confirm, never written into
the contract automatically, so the patterns favour precision (a labelled match) over recall.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any, Final

__all__ = [
    "GENERIC_DATE_FIELD_KEY",
    "FieldSuggestion",
    "extract_fields",
    "parse_area_number",
]

GENERIC_DATE_FIELD_KEY: Final = "document.date"
"""Key for a date whose meaning the surrounding text does not reveal (not a contract field)."""

_MAX_SOURCE_CHARS: Final = 200
_LABEL_WINDOW: Final = 48  # characters before a match inspected for a label such as "built-up area"

# A number as printed: 1200, 1,200, 1,20,000 (Indian grouping), 111.48. The look-behind keeps us from
# starting in the middle of a longer number.
_NUMBER = r"(?<![\d.,])(?P<number>\d{1,3}(?:,\d{2,3})+(?:\.\d+)?|\d+(?:\.\d+)?)"
_SQFT = r"(?:sq(?:uare)?\.?\s*(?:ft|feet|foot)\.?|sft|ft\.?\s?2|ft²)"
_SQM = r"(?:sq(?:uare)?\.?\s*(?:metres?|meters?|mtrs?|mts?|m)\.?|m2|m²)"
_AREA_RE: Final = re.compile(
    _NUMBER + r"\s*(?:(?P<sqft>" + _SQFT + r")|(?P<sqm>" + _SQM + r"))(?![a-z0-9])",
    re.IGNORECASE,
)

# Identifiers such as 123, 123/4, 12/3A, 45/1/B; must start with a digit so a word is never taken.
_PLOT_ID = r"(?P<ident>\d+[A-Za-z]?(?:\s*[/-]\s*[0-9A-Za-z]+)*)"
_SEP = r"\s*(?:no|number|nos)?\.?\s*[:#.\-]?\s*"
_SURVEY_RE: Final = re.compile(r"\b(?:re-?\s*)?(?:survey|sy|sur)\.?" + _SEP + _PLOT_ID, re.IGNORECASE)
_KHATA_RE: Final = re.compile(r"\b(?:khata|khatha|katha)" + _SEP + _PLOT_ID, re.IGNORECASE)
_CTS_RE: Final = re.compile(r"\bc\.?\s?t\.?\s?s\.?" + _SEP + _PLOT_ID, re.IGNORECASE)

_DMY_RE: Final = re.compile(r"(?<!\d)(?P<d>\d{1,2})(?P<sep>[/-])(?P<m>\d{1,2})(?P=sep)(?P<y>\d{4})(?!\d)")
_YMD_RE: Final = re.compile(r"(?<!\d)(?P<y>\d{4})-(?P<m>\d{1,2})-(?P<d>\d{1,2})(?!\d)")

_BUILT_UP_LABEL: Final = re.compile(r"built|plinth|carpet|super\s*area|\bbua\b", re.IGNORECASE)
_AREA_LABEL: Final = re.compile(r"area|extent|land|site|plot|measur", re.IGNORECASE)
_INSPECTION_LABEL: Final = re.compile(r"inspect|site\s*visit|visited", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class FieldSuggestion:
    """One suggested field value found in OCR text."""

    field_key: str
    value: Any
    confidence: float
    source_text: str
    position: int

    def to_dict(self) -> dict[str, Any]:
        """The ``detected_fields`` entry stored in the OCR job result."""
        return {
            "field_key": self.field_key,
            "value": self.value,
            "confidence": self.confidence,
            "source_text": self.source_text,
        }


def parse_area_number(text: str) -> int | float | None:
    """Parse a printed number exactly (grouping commas dropped); integral values come back as int."""
    try:
        number = Decimal(text.replace(",", ""))
    except InvalidOperation:
        return None
    if not number.is_finite():
        return None
    if number == number.to_integral_value():
        return int(number)
    return float(number)


def _line_at(text: str, start: int, end: int) -> str:
    line_start = text.rfind("\n", 0, start) + 1
    line_end = text.find("\n", end)
    line = text[line_start : line_end if line_end != -1 else len(text)].strip()
    return line[:_MAX_SOURCE_CHARS]


def _label_before(text: str, start: int) -> str:
    # Only the same line counts: a label on the previous line usually belongs to another value.
    line_start = text.rfind("\n", 0, start) + 1
    return text[max(line_start, start - _LABEL_WINDOW) : start]


def _areas(text: str) -> Iterator[tuple[int, str, Any, float, int]]:
    for match in _AREA_RE.finditer(text):
        value = parse_area_number(match.group("number"))
        if value is None:
            continue
        unit = "sqft" if match.group("sqft") else "sqm"
        label = _label_before(text, match.start())
        if _BUILT_UP_LABEL.search(label):
            field_key, confidence = "property.built_up_area", 0.85
        else:
            field_key = "property.land_area"
            confidence = 0.85 if _AREA_LABEL.search(label) else 0.6
        yield match.start(), field_key, {"value": value, "unit": unit}, confidence, match.end()


def _identifiers(
    pattern: re.Pattern[str], field_key: str
) -> Callable[[str], Iterator[tuple[int, str, Any, float, int]]]:
    def find(text: str) -> Iterator[tuple[int, str, Any, float, int]]:
        for match in pattern.finditer(text):
            ident = re.sub(r"\s+", "", match.group("ident"))
            yield match.start(), field_key, ident, 0.8, match.end()

    return find


def _dates(text: str) -> Iterator[tuple[int, str, Any, float, int]]:
    found = [*_DMY_RE.finditer(text), *_YMD_RE.finditer(text)]
    for match in found:
        try:
            day = date(int(match.group("y")), int(match.group("m")), int(match.group("d")))
        except ValueError:
            continue  # 31/02/2024 and friends are not dates
        if _INSPECTION_LABEL.search(_label_before(text, match.start())):
            field_key, confidence = "valuation_inputs.inspection_date", 0.8
        else:
            field_key, confidence = GENERIC_DATE_FIELD_KEY, 0.5
        yield match.start(), field_key, day.isoformat(), confidence, match.end()


_EXTRACTORS: Final = (
    _areas,
    _identifiers(_SURVEY_RE, "property.survey_no"),
    _identifiers(_KHATA_RE, "property.khata_no"),
    _identifiers(_CTS_RE, "property.cts_no"),
    _dates,
)


def extract_fields(text: str, ocr_confidence: float | None = None) -> list[dict[str, Any]]:
    """Suggest field values found in ``text``, in order of appearance.

    Each suggestion is ``{field_key, value, confidence, source_text}``: areas give
    ``{"value": 1200, "unit": "sqft"}`` under ``property.land_area`` (or ``property.built_up_area``
    when labelled built-up/plinth/carpet), identifiers give strings under ``property.survey_no``,
    ``property.khata_no`` and ``property.cts_no``, dates give ISO ``YYYY-MM-DD`` under
    ``valuation_inputs.inspection_date`` when labelled as an inspection, else
    :data:`GENERIC_DATE_FIELD_KEY`. ``confidence`` is the pattern's confidence scaled by the OCR
    engine's mean confidence (0..1) when given, rounded to 2 decimals. Repeated (field, value) pairs
    are reported once, at their first occurrence.
    """
    scale = 1.0 if ocr_confidence is None else min(1.0, max(0.0, ocr_confidence))
    suggestions: list[FieldSuggestion] = []
    for extractor in _EXTRACTORS:
        for start, field_key, value, confidence, end in extractor(text):
            suggestions.append(
                FieldSuggestion(
                    field_key=field_key,
                    value=value,
                    confidence=round(confidence * scale, 2),
                    source_text=_line_at(text, start, end),
                    position=start,
                )
            )
    suggestions.sort(key=lambda s: (s.position, s.field_key))
    seen: set[tuple[str, str]] = set()
    result: list[dict[str, Any]] = []
    for suggestion in suggestions:
        identity = (suggestion.field_key, repr(suggestion.value))
        if identity in seen:
            continue
        seen.add(identity)
        result.append(suggestion.to_dict())
    return result
