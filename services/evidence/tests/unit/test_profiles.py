"""Seeded evidence profiles (domain.md §4.2) and default selection (§4.3 + decision 4, LOG-06)."""

from __future__ import annotations

from dataclasses import asdict, astuple
from typing import Any

import pytest

from evidence_service.domain.profiles import SEED_FIELD_DEFS, SEED_PROFILES, ProfileSeed, select_default

SBI = "Valuation SBI <5Cr Baseline"
PSU = "Valuation PSU >5Cr Baseline"
COOP = "Valuation Co-op Baseline"
AGRI = "Valuation Agri Baseline"

# The valuation item groups exactly as domain.md §4.2 tabulates them:
# (type, doc, min, required, tags, order, label, hint)
VD = [
    ("DOCUMENT", "SALE_DEED", 1, True, None, 10, "Sale Deed", "property.address"),
    ("DOCUMENT", "RTC", 1, True, None, 20, "RTC / Ownership Extract", "property.address"),
    ("DOCUMENT", "EC", 1, True, None, 30, "Encumbrance Certificate", "property.address"),
    ("DOCUMENT", "KHATA", 1, True, None, 40, "Khata / Assessment", "property.address"),
    ("DOCUMENT", "TAX", 1, True, None, 50, "Tax Receipt", "property.address"),
    ("DOCUMENT", "PLAN", 1, True, None, 60, "Plan / Approval Drawing", "property.built_up_area"),
]
VP = [
    ("PHOTO", None, 2, True, {"category": "exterior"}, 100, "Exterior Photos", "property.address"),
    ("PHOTO", None, 2, True, {"category": "interior"}, 110, "Interior Photos", "property.built_up_area"),
    ("PHOTO", None, 1, True, {"category": "surroundings"}, 120, "Surroundings Photo", "property.address"),
    ("GEO", None, 1, True, {"category": "gps"}, 130, "GPS Photo", "property.address"),
    (
        "SCREENSHOT",
        None,
        1,
        True,
        {"category": "google_map"},
        140,
        "Google Map Screenshot",
        "property.address",
    ),
    ("SCREENSHOT", None, 1, True, {"category": "route_map"}, 150, "Route Map Screenshot", "property.address"),
]


def _rows(profile: ProfileSeed) -> list[tuple[Any, ...]]:
    return [astuple(item) for item in profile.items]


def _seed(name: str) -> ProfileSeed:
    return next(profile for profile in SEED_PROFILES if profile.name == name)


def _org_profiles() -> list[dict[str, Any]]:
    """The seeds as the repository would return them for one org (with ids and created_at)."""
    return [
        {**asdict(profile), "id": f"profile-{index}", "created_at": f"2026-02-24T10:00:0{index}.000Z"}
        for index, profile in enumerate(SEED_PROFILES)
    ]


def _default_profile(profile_id: str, name: str, bank_type: str, value_slab: str) -> dict[str, Any]:
    """A default VALUATION profile as the repository would return it."""
    return {
        "id": profile_id,
        "name": name,
        "report_type": "VALUATION",
        "bank_type": bank_type,
        "value_slab": value_slab,
        "is_default": True,
    }


def _selected_name(report_type: str, bank_type: str, value_slab: str, profiles: Any = None) -> str | None:
    chosen = select_default(
        _org_profiles() if profiles is None else profiles, report_type, bank_type, value_slab
    )
    return None if chosen is None else str(chosen["name"])


class TestSeedFieldDefs:
    def test_fifteen_defs_with_four_required(self) -> None:
        keys = [field.field_key for field in SEED_FIELD_DEFS]

        assert len(keys) == len(set(keys)) == 15
        assert [f.field_key for f in SEED_FIELD_DEFS if f.required_by_default] == [
            "party.bank_name",
            "property.address",
            "property.land_area",
            "valuation_inputs.rate",
        ]

    def test_units_and_types(self) -> None:
        by_key = {field.field_key: field for field in SEED_FIELD_DEFS}

        assert by_key["property.land_area"].data_type == "unit_number"
        assert by_key["property.land_area"].unit == "sqm"
        assert by_key["valuation_inputs.guideline_rate_per_sqm"].unit == "sqm"
        assert by_key["valuation_inputs.market_rate_input"].unit is None
        assert by_key["manual_fields.justification_text"].label == "Justification"


class TestSeedProfiles:
    def test_all_seven_profiles_are_default_and_unique(self) -> None:
        identities = {(p.report_type, p.bank_type, p.value_slab, p.name) for p in SEED_PROFILES}

        assert len(identities) == len(SEED_PROFILES) == 7
        assert all(profile.is_default for profile in SEED_PROFILES)

    @pytest.mark.parametrize("name", [SBI, PSU])
    def test_sbi_and_psu_have_the_twelve_valuation_items(self, name: str) -> None:
        profile = _seed(name)

        assert _rows(profile) == VD + VP
        assert sum(1 for item in profile.items if item.is_required) == 12
        assert profile.metadata_json == {}

    def test_coop_adds_one_optional_checklist_item(self) -> None:
        profile = _seed(COOP)

        assert _rows(profile)[:12] == VD + VP
        assert _rows(profile)[12] == (
            "OTHER",
            "OTHER",
            1,
            False,
            {"kind": "checklist", "checklist_key": "coop_rounding_review"},
            200,
            "Co-op Rounding Checklist (metadata only)",
            "valuation_inputs.market_rate_input",
        )
        assert profile.metadata_json == {
            "notes": ["Co-op adopted/market inversion applies", "Round-up to next 500 review"]
        }

    def test_agri_profile(self) -> None:
        profile = _seed(AGRI)

        assert (profile.bank_type, profile.value_slab) == ("AGRI", "UNKNOWN")
        assert profile.metadata_json == {"agri_format_profile": True}
        assert _rows(profile) == [
            ("DOCUMENT", "SALE_DEED", 1, True, None, 10, "Sale Deed / Title", "property.address"),
            ("DOCUMENT", "RTC", 1, True, None, 20, "RTC / Land Record", "property.address"),
            ("PHOTO", None, 4, True, {"category": "site"}, 100, "Site Photos", "property.address"),
            ("GEO", None, 1, True, {"category": "gps"}, 110, "GPS Photo", "property.address"),
        ]

    def test_revaluation_takes_the_first_four_of_each_group(self) -> None:
        profile = _seed("Revaluation Baseline")

        assert (profile.report_type, profile.bank_type) == ("REVALUATION", "OTHER")
        assert _rows(profile) == VD[:4] + VP[:4]

    def test_dpr_profile(self) -> None:
        profile = _seed("DPR Baseline")

        assert _rows(profile) == [
            ("DOCUMENT", "PLAN", 1, True, None, 10, "Plan / Layout", "manual_fields.project_summary"),
            ("DOCUMENT", "BANK_LETTER", 1, True, None, 20, "Bank Letter", "party.bank_name"),
            (
                "PHOTO",
                None,
                2,
                True,
                {"category": "site"},
                100,
                "Site Photos",
                "manual_fields.project_summary",
            ),
            (
                "SCREENSHOT",
                None,
                2,
                True,
                {"category": "dpr_reference"},
                110,
                "Reference Screenshots",
                "manual_fields.project_cost_total",
            ),
        ]

    def test_stage_progress_gps_is_optional(self) -> None:
        profile = _seed("Stage Progress Baseline")

        assert [(row[0], row[2], row[3]) for row in _rows(profile)] == [("PHOTO", 4, True), ("GEO", 1, False)]

    def test_seed_items_are_independent_copies(self) -> None:
        sbi_items = _seed(SBI).items
        psu_items = _seed(PSU).items

        assert sbi_items[6].tags_json is not psu_items[6].tags_json


class TestSelectDefault:
    @pytest.mark.parametrize(
        ("bank_type", "value_slab", "expected"),
        [
            pytest.param("OTHER", "LT_5CR", SBI, id="log06-bank-other-lt5cr-gets-sbi"),
            pytest.param("PSU_GENERIC", "LT_5CR", PSU, id="log06-psu-lt5cr-keeps-exact-bank"),
            *(
                pytest.param(bank_type, "UNKNOWN", expected, id=f"exact-bank-at-creation-{bank_type}")
                for bank_type, expected in [
                    ("SBI", SBI),
                    ("PSU_GENERIC", PSU),
                    ("COOP", COOP),
                    ("AGRI", AGRI),
                ]
            ),
            # The original picked Agri here (tie with Co-op broken by name); decision 4 forbids it.
            pytest.param("OTHER", "UNKNOWN", PSU, id="decision4-bank-other-at-creation-is-not-agri-or-coop"),
            pytest.param("OTHER", "GT_5CR", PSU, id="bank-other-over-5cr-gets-psu"),
        ],
    )
    def test_valuation_default(self, bank_type: str, value_slab: str, expected: str) -> None:
        assert _selected_name("VALUATION", bank_type, value_slab) == expected

    @pytest.mark.parametrize(
        ("report_type", "expected"),
        [
            ("REVALUATION", "Revaluation Baseline"),
            ("DPR", "DPR Baseline"),
            ("STAGE_PROGRESS", "Stage Progress Baseline"),
        ],
    )
    @pytest.mark.parametrize("bank_type", ["SBI", "COOP", "OTHER"])
    def test_other_report_types_get_their_generic_profile(
        self, report_type: str, expected: str, bank_type: str
    ) -> None:
        assert _selected_name(report_type, bank_type, "LT_5CR") == expected

    def test_org_generic_valuation_profile_wins_for_bank_other(self) -> None:
        generic = _default_profile("custom", "Valuation Generic", "OTHER", "UNKNOWN")

        assert (
            _selected_name("VALUATION", "OTHER", "LT_5CR", [*_org_profiles(), generic]) == "Valuation Generic"
        )
        assert _selected_name("VALUATION", "SBI", "LT_5CR", [*_org_profiles(), generic]) == SBI

    def test_non_default_profiles_are_never_chosen(self) -> None:
        profiles = [{**p, "is_default": p["bank_type"] != "SBI"} for p in _org_profiles()]

        assert _selected_name("VALUATION", "SBI", "LT_5CR", profiles) == PSU

    def test_specialised_profiles_are_not_a_fallback(self) -> None:
        only_specialised = [p for p in _org_profiles() if p["bank_type"] in {"COOP", "AGRI"}]

        assert _selected_name("VALUATION", "SBI", "LT_5CR", only_specialised) is None
        assert _selected_name("VALUATION", "COOP", "LT_5CR", only_specialised) == COOP

    def test_no_profile_for_report_type(self) -> None:
        assert _selected_name("DPR", "OTHER", "UNKNOWN", []) is None

    def test_exact_slab_beats_unknown_slab_within_a_bank(self) -> None:
        profiles = [
            _default_profile("a", "A any", "SBI", "UNKNOWN"),
            _default_profile("b", "B big", "SBI", "GT_5CR"),
        ]

        assert _selected_name("VALUATION", "SBI", "GT_5CR", profiles) == "B big"
        assert _selected_name("VALUATION", "SBI", "LT_5CR", profiles) == "A any"
