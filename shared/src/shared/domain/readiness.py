"""Readiness evaluator for Repogen work orders (domain.md §3, architecture.md §9 decisions 1 and 20).

A pure function of the contract, the evidence items, the rule warnings, the work order's evidence-profile
requirements and the field keys that have evidence links. Every service that shows or gates on readiness
calls this one implementation.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from shared.domain.matching import evidence_matches_requirement
from shared.domain.numeric import has_text, js_round, js_trim, to_number

__all__ = [
    "ANNEXURE_ORDERING_EMPTY_WARNING",
    "REPORT_TYPES",
    "empty_readiness",
    "evaluate",
    "field_links_missing_warning",
    "requirement_key",
]

ANNEXURE_ORDERING_EMPTY_WARNING = (
    "Annexure ordering metadata is empty (allowed in Phase 1 but review before render)."
)

REPORT_TYPES = ("VALUATION", "DPR", "REVALUATION", "STAGE_PROGRESS")

_Contract = Mapping[str, Any]


def _section(contract: _Contract, name: str) -> Mapping[str, Any]:
    value = contract.get(name)
    return value if isinstance(value, Mapping) else {}


def _nested(contract: _Contract, section: str, key: str, sub: str | None = None) -> object:
    value = _section(contract, section).get(key)
    if sub is None:
        return value
    return value.get(sub) if isinstance(value, Mapping) else None


def _has_number(value: object) -> bool:
    return to_number(value) is not None


@dataclass(frozen=True)
class _RequiredField:
    key: str
    satisfied: Callable[[_Contract], bool]
    message: str


def _text_at(key: str, path: tuple[str, str], message: str) -> _RequiredField:
    return _RequiredField(key, lambda c: has_text(_nested(c, *path)), message)


def _number_at(key: str, path: tuple[str, str] | tuple[str, str, str], message: str) -> _RequiredField:
    return _RequiredField(key, lambda c: _has_number(_nested(c, *path)), message)


_BANK = _RequiredField(
    "party.bank_name",
    lambda c: has_text(_nested(c, "party", "bank_name")) or has_text(_nested(c, "party", "bank_branch_name")),
    "Bank name or branch name is required",
)
_ADDRESS = _text_at("property.address", ("property", "address"), "Property address is required")
_LAND_AREA = _number_at("property.land_area", ("property", "land_area", "value"), "Land area is required")
_RATE = _RequiredField(
    "valuation_inputs.rate",
    lambda c: (
        _has_number(_nested(c, "valuation_inputs", "guideline_rate_per_sqm"))
        or _has_number(_nested(c, "valuation_inputs", "market_rate_input", "value"))
    ),
    "Guideline rate per sqm or market rate is required",
)
# Decision 1: these manual_fields keys are part of the contract schema, so DPR and STAGE_PROGRESS work
# orders can satisfy them (the original schema stripped them).
_PROJECT_SUMMARY = _text_at(
    "project.summary", ("manual_fields", "project_summary"), "Project summary placeholder is required"
)
_PROJECT_COST = _number_at(
    "project.cost", ("manual_fields", "project_cost_total"), "Project cost placeholder is required"
)
_MEANS_OF_FINANCE = _text_at(
    "project.means_of_finance",
    ("manual_fields", "means_of_finance"),
    "Means of finance placeholder is required",
)
_FMV_OR_COMPONENTS = _RequiredField(
    "valuation_inputs.fmv_input_or_components",
    lambda c: any(
        _has_number(_nested(c, "valuation_inputs", key))
        for key in ("fmv_input", "land_value", "building_value")
    ),
    "FMV input or land/building values are required",
)
_STAGE_NOTES = _text_at(
    "manual_fields.stage_notes",
    ("manual_fields", "stage_notes"),
    "Stage progress notes placeholder is required",
)

_REQUIRED_FIELDS: dict[str, tuple[_RequiredField, ...]] = {
    "VALUATION": (_BANK, _ADDRESS, _LAND_AREA, _RATE),
    "DPR": (_BANK, _PROJECT_SUMMARY, _PROJECT_COST, _MEANS_OF_FINANCE),
    "REVALUATION": (_BANK, _ADDRESS, _FMV_OR_COMPONENTS),
    "STAGE_PROGRESS": (_BANK, _ADDRESS, _STAGE_NOTES),
}

# Legacy mode (no required profile items): one photo-count requirement per report type.
_LEGACY_EVIDENCE: dict[str, tuple[str, int, frozenset[str]]] = {
    "VALUATION": ("valuation_photos", 6, frozenset({"PHOTO", "GEO", "SCREENSHOT"})),
    "DPR": ("dpr_photos_or_screenshots", 4, frozenset({"PHOTO", "SCREENSHOT"})),
    "REVALUATION": ("revaluation_photos", 4, frozenset({"PHOTO", "GEO", "SCREENSHOT"})),
    "STAGE_PROGRESS": ("stage_progress_photos", 4, frozenset({"PHOTO", "GEO"})),
}


def field_links_missing_warning(count: int) -> str:
    """Warning text for ``count`` satisfied required fields that have no field-evidence link."""
    return f"Field evidence links missing for {count} required field(s)."


def requirement_key(requirement: Mapping[str, Any]) -> str:
    """Readiness key of a profile requirement: its trimmed label, else ``TYPE[:DOC][#id]``."""
    label = requirement.get("label")
    if isinstance(label, str) and js_trim(label):
        return js_trim(label)
    key = str(requirement.get("evidence_type"))
    doc_type = requirement.get("doc_type")
    if doc_type:
        key += f":{doc_type}"
    requirement_id = requirement.get("id")
    if requirement_id:
        key += f"#{requirement_id}"
    return key


def _min_count(requirement: Mapping[str, Any]) -> int:
    raw = requirement.get("min_count", 1)
    number = to_number(raw)
    # A missing or unreadable min_count falls back to the column default (1).
    return max(0, int(number)) if number is not None else 1


def _is_required(requirement: Mapping[str, Any]) -> bool:
    # The column defaults to true, so a requirement without the flag is required.
    return bool(requirement.get("is_required", True))


@dataclass
class _EvidenceCheck:
    key: str
    minimum: int
    satisfied: bool
    missing_line: str | None


def _profile_checks(
    requirements: Sequence[Mapping[str, Any]], evidence: Sequence[Mapping[str, Any]]
) -> list[_EvidenceCheck]:
    checks: list[_EvidenceCheck] = []
    for requirement in requirements:
        key = requirement_key(requirement)
        minimum = _min_count(requirement)
        found = sum(1 for item in evidence if evidence_matches_requirement(item, requirement))
        satisfied = found >= minimum
        line = None if satisfied else f"{key}: need at least {minimum}, found {found}"
        checks.append(_EvidenceCheck(key, minimum, satisfied, line))
    return checks


def _legacy_checks(report_type: str, evidence: Sequence[Mapping[str, Any]]) -> list[_EvidenceCheck]:
    key, minimum, kinds = _LEGACY_EVIDENCE[report_type]
    found = sum(1 for item in evidence if item.get("evidence_type") in kinds)
    satisfied = found >= minimum
    line = None if satisfied else f"{key}: need at least {minimum}, found {found}"
    return [_EvidenceCheck(key, minimum, satisfied, line)]


def empty_readiness() -> dict[str, Any]:
    """Readiness stored on input snapshots before any evaluation (domain.md §1.5 step 6)."""
    return {
        "completeness_score": 0,
        "missing_fields": [],
        "missing_evidence": [],
        "warnings": [],
        "required_evidence_minimums": {},
    }


def evaluate(
    report_type: str,
    contract: Mapping[str, Any],
    evidence: Sequence[Mapping[str, Any]],
    rule_warnings: Iterable[str],
    *,
    evidence_profile_requirements: Sequence[Mapping[str, Any]] | None = None,
    field_evidence_linked_keys: Iterable[str] | None = None,
) -> dict[str, Any]:
    """Evaluate readiness of a work order (domain.md §3).

    Returns ``completeness_score`` (int 0..100), ``missing_fields`` (messages), ``missing_evidence`` (lines
    ``"<key>: need at least <min>, found <n>"``), ``missing_field_evidence_links`` (keys of satisfied
    required fields without a link), ``warnings`` (rule warnings, then the annexure and field-link
    warnings) and ``required_evidence_minimums`` (key → minimum).

    Profile mode applies when ``evidence_profile_requirements`` has at least one required item, legacy
    photo counts otherwise. Decision 20: requirements sharing a key (e.g. duplicate labels) form one
    check, counted once in both the total and the passed count, passing only when all of them are met;
    so the score never exceeds 100.

    Raises ``ValueError`` for a report type outside ``REPORT_TYPES``.
    """
    if report_type not in _REQUIRED_FIELDS:
        raise ValueError(f"unknown report type {report_type!r}")
    linked = {js_trim(key) for key in field_evidence_linked_keys or () if isinstance(key, str)}

    missing_fields: list[str] = []
    missing_links: list[str] = []
    fields = _REQUIRED_FIELDS[report_type]
    passed_fields = 0
    for field in fields:
        if field.satisfied(contract):
            passed_fields += 1
            if field.key not in linked:
                missing_links.append(field.key)
        else:
            missing_fields.append(field.message)

    required = [r for r in evidence_profile_requirements or () if _is_required(r)]
    checks = _profile_checks(required, evidence) if required else _legacy_checks(report_type, evidence)

    minimums: dict[str, int] = {}
    key_satisfied: dict[str, bool] = {}
    missing_evidence: list[str] = []
    for check in checks:
        # Last requirement wins for the displayed minimum of a shared key, as in the original.
        minimums[check.key] = check.minimum
        key_satisfied[check.key] = key_satisfied.get(check.key, True) and check.satisfied
        if check.missing_line is not None and check.missing_line not in missing_evidence:
            missing_evidence.append(check.missing_line)

    warnings = list(rule_warnings)
    annexure_items = _section(contract, "annexures").get("items")
    if not annexure_items:
        warnings.append(ANNEXURE_ORDERING_EMPTY_WARNING)
    if missing_links:
        warnings.append(field_links_missing_warning(len(missing_links)))

    total = len(fields) + len(key_satisfied)
    passed = passed_fields + sum(1 for ok in key_satisfied.values() if ok)
    score = 100 if total <= 0 else js_round(passed / total * 100)

    return {
        "completeness_score": score,
        "missing_fields": missing_fields,
        "missing_evidence": missing_evidence,
        "missing_field_evidence_links": missing_links,
        "warnings": warnings,
        "required_evidence_minimums": minimums,
    }
