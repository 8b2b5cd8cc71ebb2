"""Template keys, report families and artifact names (domain.md §2.8, vectors FAC-08, FAC-01, WRK-01)."""

from __future__ import annotations

import pytest

from factory_service.domain.templates import (
    GENERIC_TEMPLATE_FILE_KEY,
    TEMPLATE_TITLES,
    artifact_filename,
    evidence_pack_filename,
    export_bundle_filename,
    export_bundle_storage_ref,
    report_family,
    template_file_key,
    template_key,
    template_title,
)


class TestTemplateKey:
    @pytest.mark.parametrize(
        ("report_type", "selector", "bank_type", "expected"),
        [
            ("VALUATION", "SBI_FORMAT_A", "SBI", "SBI_UNDER_5CR_V1"),
            ("REVALUATION", "BOI_PSU_GENERIC", "PSU_GENERIC", "PSU_GENERIC_OVER_5CR_V1"),
            ("VALUATION", "COOP_GENERIC", "COOP", "COOP_LB_V1"),
            ("VALUATION", "AGRI_GENERIC", "AGRI", "AGRI_GENERIC_V1"),
            ("VALUATION", "UNKNOWN", "SBI", "REPOGEN_VALUATION_UNKNOWN_V1"),
            ("DPR", "UNKNOWN", "OTHER", "REPOGEN_DPR_UNKNOWN_V1"),
            ("STAGE_PROGRESS", "SBI_FORMAT_A", "SBI", "REPOGEN_STAGE_PROGRESS_SBI_FORMAT_A_V1"),
        ],
    )
    def test_fac08_mapping(self, report_type: str, selector: str, bank_type: str, expected: str) -> None:
        assert template_key(report_type, selector, bank_type) == expected

    def test_missing_selector_falls_back_to_bank_type_then_unknown(self) -> None:
        assert template_key("DPR", None, "PSU_GENERIC") == "REPOGEN_DPR_PSU_GENERIC_V1"
        assert template_key("DPR", "", "") == "REPOGEN_DPR_UNKNOWN_V1"
        assert template_key("VALUATION", None, None) == "REPOGEN_VALUATION_UNKNOWN_V1"


class TestReportFamily:
    @pytest.mark.parametrize(
        ("report_type", "family"),
        [
            ("VALUATION", "valuation"),
            ("REVALUATION", "valuation"),
            ("DPR", "dpr"),
            ("STAGE_PROGRESS", "stage_progress"),
        ],
    )
    def test_family(self, report_type: str, family: str) -> None:
        assert report_family(report_type) == family


class TestNames:
    def test_docx_artifact_filename_wrk01(self) -> None:
        assert artifact_filename("SBI_UNDER_5CR_V1", 1) == "SBI_UNDER_5CR_V1-v1.docx"

    def test_evidence_pack_sits_beside_the_docx(self) -> None:
        assert evidence_pack_filename("COOP_LB_V1", 3) == "COOP_LB_V1-v3-evidence-pack.zip"

    def test_debug_json_names_fac01(self) -> None:
        wo = "aaaaaaaa-aaaa-aaaa-aaaa-aaaaaaaaaaaa"
        assert export_bundle_filename(2) == "repogen-export-bundle-v2.json"
        assert export_bundle_storage_ref(wo, 2) == f"repogen://work-orders/{wo}/snapshots/2/export-bundle"


class TestTemplateFiles:
    @pytest.mark.parametrize(
        "key", ["SBI_UNDER_5CR_V1", "PSU_GENERIC_OVER_5CR_V1", "COOP_LB_V1", "AGRI_GENERIC_V1"]
    )
    def test_bank_formats_have_their_own_file_and_title(self, key: str) -> None:
        assert template_file_key(key) == key
        assert template_title(key) == TEMPLATE_TITLES[key]

    @pytest.mark.parametrize("key", ["REPOGEN_DPR_UNKNOWN_V1", "REPOGEN_STAGE_PROGRESS_SBI_FORMAT_A_V1"])
    def test_generic_keys_share_the_generic_file_and_name_themselves(self, key: str) -> None:
        assert template_file_key(key) == GENERIC_TEMPLATE_FILE_KEY
        assert key in template_title(key)

    @pytest.mark.parametrize("key", ["SBI_UNDER_5CR_V2", "repogen_dpr_unknown_v1", "", "OTHER"])
    def test_unknown_keys_have_no_file(self, key: str) -> None:
        assert template_file_key(key) is None
