"""Template keys, report families and artifact names (domain.md §2.8, §5.2, §5.4; vectors FAC-08, WRK-01).

Pure functions: the factory derives every name from the work order's report type, template selector and
versions, so the same inputs always name the same artifacts.
"""

from __future__ import annotations

import re
from typing import Final

SBI_UNDER_5CR_V1: Final = "SBI_UNDER_5CR_V1"
PSU_GENERIC_OVER_5CR_V1: Final = "PSU_GENERIC_OVER_5CR_V1"
COOP_LB_V1: Final = "COOP_LB_V1"
AGRI_GENERIC_V1: Final = "AGRI_GENERIC_V1"
GENERIC_TEMPLATE_FILE_KEY: Final = "REPOGEN_GENERIC_V1"
"""Name of the one template file that serves every ``REPOGEN_<TYPE>_<SELECTOR>_V1`` key."""

DOCX_MIME_TYPE: Final = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
JSON_MIME_TYPE: Final = "application/json"
ZIP_MIME_TYPE: Final = "application/zip"
PDF_MIME_TYPE: Final = "application/pdf"

# Only these two report types have bank formats; the others fall through to the generic key (§2.8).
_VALUATION_REPORT_TYPES: Final = frozenset({"VALUATION", "REVALUATION"})
_BANK_FORMAT_KEYS: Final[dict[str, str]] = {
    "SBI_FORMAT_A": SBI_UNDER_5CR_V1,
    "BOI_PSU_GENERIC": PSU_GENERIC_OVER_5CR_V1,
    "COOP_GENERIC": COOP_LB_V1,
    "AGRI_GENERIC": AGRI_GENERIC_V1,
}
_REPORT_FAMILIES: Final[dict[str, str]] = {"DPR": "dpr", "STAGE_PROGRESS": "stage_progress"}
_GENERIC_KEY = re.compile(r"^REPOGEN_[A-Z0-9_]+_V1$")

TEMPLATE_TITLES: Final[dict[str, str]] = {
    SBI_UNDER_5CR_V1: "State Bank of India — Valuation Report (Format A, value up to ₹5 crore)",
    PSU_GENERIC_OVER_5CR_V1: "Public Sector Bank — Valuation Report (Generic format, value above ₹5 crore)",
    COOP_LB_V1: "Co-operative Bank — Valuation Report (LB format)",
    AGRI_GENERIC_V1: "Agricultural Property — Valuation Report (Generic agri format)",
    GENERIC_TEMPLATE_FILE_KEY: "ZenOps Repogen Report",
}
"""Human title printed at the top of each template file (the build script and the tests share it)."""


def _or_unknown(*candidates: str | None) -> str:
    # JavaScript `a || b || "UNKNOWN"`: empty strings fall through like missing values.
    for candidate in candidates:
        if candidate:
            return candidate
    return "UNKNOWN"


def template_key(report_type: str, template_selector: str | None, bank_type: str | None) -> str:
    """The factory template key for a work order (domain.md §2.8, FAC-08).

    VALUATION and REVALUATION use the bank format picked by the template selector; everything else
    (and a valuation with an unknown selector) gets ``REPOGEN_<REPORT_TYPE>_<SELECTOR|BANK|UNKNOWN>_V1``.
    """
    if report_type in _VALUATION_REPORT_TYPES and template_selector in _BANK_FORMAT_KEYS:
        return _BANK_FORMAT_KEYS[template_selector]
    return f"REPOGEN_{report_type}_{_or_unknown(template_selector, bank_type)}_V1"


def report_family(report_type: str) -> str:
    """``dpr``, ``stage_progress`` or ``valuation`` (VALUATION, REVALUATION and anything else)."""
    return _REPORT_FAMILIES.get(report_type, "valuation")


def template_file_key(key: str) -> str | None:
    """Which template file renders ``key``: its own for a bank format, the generic one for
    ``REPOGEN_*_V1``, ``None`` when no template serves the key."""
    if key in _BANK_FORMAT_KEYS.values():
        return key
    if _GENERIC_KEY.match(key):
        return GENERIC_TEMPLATE_FILE_KEY
    return None


def template_title(key: str) -> str:
    """Title printed on a report rendered for ``key`` (generic keys name their report type)."""
    file_key = template_file_key(key)
    if file_key is None:
        return key
    if file_key == GENERIC_TEMPLATE_FILE_KEY:
        return f"{TEMPLATE_TITLES[GENERIC_TEMPLATE_FILE_KEY]} ({key})"
    return TEMPLATE_TITLES[file_key]


def artifact_filename(key: str, version: int) -> str:
    """DOCX artifact name ``<KEY>-v<N>.docx`` for pack version ``N`` (WRK-01)."""
    return f"{key}-v{version}.docx"


def pdf_filename(key: str, version: int) -> str:
    """The report's PDF beside its DOCX: ``<KEY>-v<N>.pdf`` (issue 21)."""
    return f"{key}-v{version}.pdf"


BANK_COPY_KINDS: Final = frozenset({"docx", "pdf"})
"""The artifacts that make up the bank's copy: in the evidence pack, gated alike."""

COVER_SHEET_KIND: Final = "qa_cover_sheet"
"""The artifact kind of a pack's internal QA cover sheet (issue 21): operators only, never the bank's."""
INTERNAL_ARTIFACT_KINDS: Final = frozenset({COVER_SHEET_KIND})


def cover_sheet_filename(key: str, version: int) -> str:
    """The internal QA cover sheet's name ``<KEY>-v<N>-internal-qa.docx``."""
    return f"{key}-v{version}-internal-qa.docx"


def evidence_pack_filename(key: str, version: int) -> str:
    """Evidence-pack ZIP name ``<KEY>-v<N>-evidence-pack.zip``, beside the DOCX of the same pack."""
    return f"{key}-v{version}-evidence-pack.zip"


def export_bundle_filename(snapshot_version: int) -> str:
    """Debug-JSON artifact name ``repogen-export-bundle-v<N>.json`` for snapshot ``N`` (FAC-01)."""
    return f"repogen-export-bundle-v{snapshot_version}.json"


def export_bundle_storage_ref(work_order_id: str, snapshot_version: int) -> str:
    """Storage reference of the frozen export bundle of a snapshot (FAC-01)."""
    return f"repogen://work-orders/{work_order_id}/snapshots/{snapshot_version}/export-bundle"
