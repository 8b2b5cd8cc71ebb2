"""Seeded field definitions and evidence profiles (domain.md §4.2) and default selection (§4.3).

The seeds are data: the repository creates them lazily and idempotently per org. Selection follows
architecture decision 4 rather than the original's scoring quirk (VALUATION + bank OTHER → Agri).
"""

from __future__ import annotations

import copy
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Final

__all__ = [
    "SEED_FIELD_DEFS",
    "SEED_PROFILES",
    "SPECIALISED_BANK_TYPES",
    "FieldSeed",
    "ItemSeed",
    "ProfileColumns",
    "ProfileSeed",
    "select_default",
]


@dataclass(frozen=True, slots=True)
class FieldSeed:
    """A seeded field definition: the columns of a ``field_defs`` row."""

    field_key: str
    label: str
    data_type: str
    required_by_default: bool
    unit: str | None
    metadata_json: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class ItemSeed:
    """A seeded requirement of a profile: the columns of an ``evidence_profile_items`` row."""

    evidence_type: str
    doc_type: str | None
    min_count: int
    is_required: bool
    tags_json: dict[str, str] | None
    order_hint: int
    label: str
    field_key_hint: str


@dataclass(frozen=True, slots=True)
class ProfileColumns:
    """What an evidence profile says (the columns of an ``evidence_profiles`` row a seed sets)."""

    report_type: str
    bank_type: str
    value_slab: str
    name: str
    is_default: bool
    metadata_json: dict[str, Any]

    def identity(self) -> dict[str, str]:
        """The columns that name the profile uniquely within a tenant."""
        return {name: getattr(self, name) for name in PROFILE_IDENTITY}


@dataclass(frozen=True, slots=True)
class ProfileSeed(ProfileColumns):
    """A seeded evidence profile with its items."""

    items: tuple[ItemSeed, ...]


PROFILE_IDENTITY: Final = ("report_type", "bank_type", "value_slab", "name")
"""The unique key of an evidence profile within a tenant."""

SEED_FIELD_DEFS: Final[tuple[FieldSeed, ...]] = (
    FieldSeed("party.bank_name", "Bank Name", "text", True, None),
    FieldSeed("party.bank_branch_name", "Bank Branch", "text", False, None),
    FieldSeed("property.address", "Property Address", "text", True, None),
    FieldSeed("property.land_area", "Land Area", "unit_number", True, "sqm"),
    FieldSeed("property.built_up_area", "Built-up Area", "unit_number", False, "sqm"),
    FieldSeed("valuation_inputs.guideline_rate_per_sqm", "Guideline Rate / sqm", "number", False, "sqm"),
    FieldSeed("valuation_inputs.market_rate_input", "Market Rate Input", "unit_number", False, None),
    FieldSeed("valuation_inputs.rate", "Valuation Rate Input", "number", True, None),
    FieldSeed("valuation_inputs.land_value", "Land Value", "number", False, None),
    FieldSeed("valuation_inputs.building_value", "Building Value", "number", False, None),
    FieldSeed("manual_fields.project_summary", "Project Summary", "text", False, None),
    FieldSeed("manual_fields.project_cost_total", "Project Cost Total", "number", False, None),
    FieldSeed("manual_fields.means_of_finance", "Means of Finance", "text", False, None),
    FieldSeed("manual_fields.stage_notes", "Stage Notes", "text", False, None),
    FieldSeed("manual_fields.justification_text", "Justification", "text", False, None),
)
"""Field definitions seeded per org (§4.2), in the order domain.md lists them."""


def _item(
    evidence_type: str,
    doc_type: str | None,
    min_count: int,
    order_hint: int,
    label: str,
    field_key_hint: str,
    *,
    tags: Mapping[str, str] | None = None,
    is_required: bool = True,
) -> ItemSeed:
    tags_json = dict(tags) if tags is not None else None
    return ItemSeed(
        evidence_type, doc_type, min_count, is_required, tags_json, order_hint, label, field_key_hint
    )


def _capture(
    evidence_type: str,
    min_count: int,
    order_hint: int,
    label: str,
    field_key_hint: str,
    category: str,
    *,
    is_required: bool = True,
) -> ItemSeed:
    """A photo, GPS or screenshot requirement: no document type, tagged with its capture ``category``."""
    tags = {"category": category}
    return _item(
        evidence_type, None, min_count, order_hint, label, field_key_hint, tags=tags, is_required=is_required
    )


# Valuation documents VD1–6 and valuation photos VP1–6 (§4.2 item groups).
_VD: Final = (
    _item("DOCUMENT", "SALE_DEED", 1, 10, "Sale Deed", "property.address"),
    _item("DOCUMENT", "RTC", 1, 20, "RTC / Ownership Extract", "property.address"),
    _item("DOCUMENT", "EC", 1, 30, "Encumbrance Certificate", "property.address"),
    _item("DOCUMENT", "KHATA", 1, 40, "Khata / Assessment", "property.address"),
    _item("DOCUMENT", "TAX", 1, 50, "Tax Receipt", "property.address"),
    _item("DOCUMENT", "PLAN", 1, 60, "Plan / Approval Drawing", "property.built_up_area"),
)
_VP: Final = (
    _capture("PHOTO", 2, 100, "Exterior Photos", "property.address", "exterior"),
    _capture("PHOTO", 2, 110, "Interior Photos", "property.built_up_area", "interior"),
    _capture("PHOTO", 1, 120, "Surroundings Photo", "property.address", "surroundings"),
    _capture("GEO", 1, 130, "GPS Photo", "property.address", "gps"),
    _capture("SCREENSHOT", 1, 140, "Google Map Screenshot", "property.address", "google_map"),
    _capture("SCREENSHOT", 1, 150, "Route Map Screenshot", "property.address", "route_map"),
)


def _profile(
    name: str,
    report_type: str,
    bank_type: str,
    value_slab: str,
    items: Iterable[ItemSeed],
    metadata_json: Mapping[str, Any] | None = None,
) -> ProfileSeed:
    # Deep copies: profiles sharing an item group must not share its tag dicts.
    copies = tuple(copy.deepcopy(item) for item in items)
    return ProfileSeed(report_type, bank_type, value_slab, name, True, dict(metadata_json or {}), copies)


# The item groups only one profile uses.
_COOP_CHECKLIST: Final = _item(
    "OTHER",
    "OTHER",
    1,
    200,
    "Co-op Rounding Checklist (metadata only)",
    "valuation_inputs.market_rate_input",
    tags={"kind": "checklist", "checklist_key": "coop_rounding_review"},
    is_required=False,
)
_AGRI: Final = (
    _item("DOCUMENT", "SALE_DEED", 1, 10, "Sale Deed / Title", "property.address"),
    _item("DOCUMENT", "RTC", 1, 20, "RTC / Land Record", "property.address"),
    _capture("PHOTO", 4, 100, "Site Photos", "property.address", "site"),
    _capture("GEO", 1, 110, "GPS Photo", "property.address", "gps"),
)
_DPR: Final = (
    _item("DOCUMENT", "PLAN", 1, 10, "Plan / Layout", "manual_fields.project_summary"),
    _item("DOCUMENT", "BANK_LETTER", 1, 20, "Bank Letter", "party.bank_name"),
    _capture("PHOTO", 2, 100, "Site Photos", "manual_fields.project_summary", "site"),
    _capture(
        "SCREENSHOT", 2, 110, "Reference Screenshots", "manual_fields.project_cost_total", "dpr_reference"
    ),
)
_STAGE_PROGRESS: Final = (
    _capture("PHOTO", 4, 100, "Stage Progress Photos", "manual_fields.stage_notes", "stage_progress"),
    _capture("GEO", 1, 110, "GPS Photo", "property.address", "gps", is_required=False),
)
_COOP_NOTES: Final = {"notes": ["Co-op adopted/market inversion applies", "Round-up to next 500 review"]}

SEED_PROFILES: Final[tuple[ProfileSeed, ...]] = (
    _profile("Valuation SBI <5Cr Baseline", "VALUATION", "SBI", "LT_5CR", (*_VD, *_VP)),
    _profile("Valuation PSU >5Cr Baseline", "VALUATION", "PSU_GENERIC", "GT_5CR", (*_VD, *_VP)),
    _profile(
        "Valuation Co-op Baseline", "VALUATION", "COOP", "UNKNOWN", (*_VD, *_VP, _COOP_CHECKLIST), _COOP_NOTES
    ),
    _profile("Valuation Agri Baseline", "VALUATION", "AGRI", "UNKNOWN", _AGRI, {"agri_format_profile": True}),
    _profile("Revaluation Baseline", "REVALUATION", "OTHER", "UNKNOWN", (*_VD[:4], *_VP[:4])),
    _profile("DPR Baseline", "DPR", "OTHER", "UNKNOWN", _DPR),
    _profile("Stage Progress Baseline", "STAGE_PROGRESS", "OTHER", "UNKNOWN", _STAGE_PROGRESS),
)
"""Default evidence profiles seeded per org (§4.2), each with its items."""

SPECIALISED_BANK_TYPES: Final[frozenset[str]] = frozenset({"COOP", "AGRI"})
"""Bank types whose profiles encode a bank-specific format (co-op inversion, agri land records).

Their profiles are only ever chosen for that exact bank type (decision 4)."""

_GENERIC_BANK_TYPE: Final = "OTHER"


def _slab_score(profile_slab: Any, value_slab: str) -> int:
    # Original weights (§4.3): an exact slab beats a slab-agnostic (UNKNOWN) profile beats a mismatch.
    if profile_slab == value_slab:
        return 5
    if profile_slab == "UNKNOWN":
        return 1
    return 0


def _bank_tier(profile_bank: Any, bank_type: str) -> int | None:
    """Lower is better; None means the profile must not be chosen for this bank."""
    if profile_bank == bank_type:
        return 0
    if profile_bank == _GENERIC_BANK_TYPE:
        return 1
    if profile_bank in SPECIALISED_BANK_TYPES:
        return None
    # Another mainstream bank's profile (SBI / PSU) is a usable generic fallback: their item sets are
    # the standard valuation evidence, and only the slab differs between them.
    return 2


def select_default(
    profiles: Iterable[Mapping[str, Any]], report_type: str, bank_type: str, value_slab: str
) -> Mapping[str, Any] | None:
    """Pick the default evidence profile for a work order (§4.3 as amended by decision 4).

    Among the ``is_default`` profiles of the report type: an exact bank match wins; otherwise a
    generic profile (bank ``OTHER``); otherwise a mainstream bank's profile (never a co-op or agri one,
    whose formats are bank-specific). Within the best tier the slab decides (exact 5, ``UNKNOWN`` 1,
    else 0), then name (case-insensitive), then ``created_at`` and ``id`` for a total order.
    Returns the chosen profile mapping, or None when nothing fits.
    """
    best: tuple[tuple[int, int, str, str, str, str], Mapping[str, Any]] | None = None
    for profile in profiles:
        if not profile.get("is_default") or profile.get("report_type") != report_type:
            continue
        tier = _bank_tier(profile.get("bank_type"), bank_type)
        if tier is None:
            continue
        name = str(profile.get("name", ""))
        key = (
            tier,
            -_slab_score(profile.get("value_slab"), value_slab),
            name.casefold(),
            name,
            str(profile.get("created_at", "")),
            str(profile.get("id", "")),
        )
        if best is None or key < best[0]:
            best = (key, profile)
    return None if best is None else best[1]
