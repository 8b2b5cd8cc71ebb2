"""Test data the end-to-end tests, the services' tests and ``make demo`` share (no pytest, no I/O).

One definition per request body, so a change to the wire format is made once and the demo keeps
exercising what the tests exercise.
"""

from __future__ import annotations

import copy
from typing import Any, Final

TEST_TENANT: Final = "11111111-1111-1111-1111-111111111111"
OTHER_TENANT: Final = "22222222-2222-2222-2222-222222222222"
TEST_USER: Final = "33333333-3333-3333-3333-333333333333"

WORK_ORDERS: Final = "/v1/repogen/work-orders"

# The work order of the original demo (domain.md §11): an SBI valuation created by the tenant.
SBI_WORK_ORDER: Final[dict[str, str]] = {
    "source_type": "TENANT",
    "report_type": "VALUATION",
    "bank_name": "State Bank of India",
    "bank_type": "SBI",
}

# The documents and the tagged photos the SBI <5Cr evidence profile requires (domain.md §11.2).
SBI_DOCUMENT_TYPES: Final = ("SALE_DEED", "RTC", "EC", "KHATA", "TAX", "PLAN")
SBI_PHOTO_TAGS: Final = (
    ("PHOTO", "exterior"),
    ("PHOTO", "exterior"),
    ("PHOTO", "interior"),
    ("PHOTO", "interior"),
    ("PHOTO", "surroundings"),
    ("GEO", "gps"),
    ("SCREENSHOT", "google_map"),
    ("SCREENSHOT", "route_map"),
)

# A contract patch that satisfies every required field of a VALUATION under ruleset m5.4-v1.
VALUATION_CONTRACT_PATCH: Final[dict[str, Any]] = {
    "patch": {
        "property": {
            "address": "Fixture address",
            "land_area": {"value": 1000, "unit": "sqft"},
            "floors": [],
        },
        "valuation_inputs": {
            "market_rate_input": {"value": 2000, "unit": "sqft"},
            "guideline_rate_input": {"value": 1500, "unit": "sqft"},
            "land_value": 2000000,
            "building_value": 3000000,
        },
    },
    "ruleset_version": "m5.4-v1",
}

# The contract of the original demo (domain.md §11): FMV 35,00,000, realizable 33,25,000, distress 28,00,000.
DEMO_CONTRACT_PATCH: Final[dict[str, Any]] = {
    "patch": {
        "party": {"borrower_name": "Demo Borrower", "owner_name": "Demo Owner"},
        "property": {
            "address": "Factory demo site",
            "city": "Bengaluru",
            "survey_no": "123/4",
            "land_area": {"value": 1200, "unit": "sqft"},
            "floors": [],
        },
        "valuation_inputs": {
            "guideline_rate_per_sqm": 12000,
            "market_rate_input": {"value": 1800, "unit": "sqft"},
            "land_value": 2000000,
            "building_value": 1500000,
            "depreciation_percent": 10,
        },
        "manual_fields": {"justification_text": "Demo justification placeholder"},
    },
    "ruleset_version": "m5.4-v1",
}

# Readiness with nothing missing, as an export bundle carries it.
COMPLETE_READINESS: Final[dict[str, Any]] = {
    "completeness_score": 100,
    "missing_fields": [],
    "missing_evidence": [],
    "warnings": [],
}

HASH_01_WORK_ORDER_ID: Final = "aaaaaaaa-aaaa-aaaa-aaaa-aaaaaaaaaaaa"


def hash01_bundle() -> dict[str, Any]:
    """A fresh copy of the export bundle of vector HASH-01 (vectors.md; also the FAC-* fixture)."""
    return {
        "work_order_id": HASH_01_WORK_ORDER_ID,
        "snapshot_version": 2,
        "contract_json": {"meta": {"report_type": "VALUATION", "template_selector": "SBI_FORMAT_A"}},
        "derived_json": {
            "computed_values": {"FMV": 1000000, "realizable_value": 950000, "distress_value": 800000}
        },
        "readiness_json": copy.deepcopy(COMPLETE_READINESS),
        "evidence_manifest": [],
    }


def dev_login_body(*roles: str, user_id: str = TEST_USER) -> dict[str, Any]:
    """The body of the dev-only ``POST /v1/auth/login``: a web user of the test tenant with every capability."""
    return {
        "aud": "web",
        "tenant_id": TEST_TENANT,
        "user_id": user_id,
        "sub": user_id,
        "roles": list(roles),
        "capabilities": ["*"],
    }


def work_order_body(**fields: Any) -> dict[str, Any]:
    """The body of ``POST /v1/repogen/work-orders``: :data:`SBI_WORK_ORDER` with ``fields`` on top."""
    return {**SBI_WORK_ORDER, **fields}


def sbi_evidence_set() -> list[dict[str, Any]]:
    """Evidence by file reference that satisfies the SBI <5Cr profile (domain.md §11.2): the documents of
    :data:`SBI_DOCUMENT_TYPES`, then the tagged photos of :data:`SBI_PHOTO_TAGS` in annexure order."""
    docs = [
        {"evidence_type": "DOCUMENT", "doc_type": kind, "file_ref": f"demo://{kind.lower()}.pdf"}
        for kind in SBI_DOCUMENT_TYPES
    ]
    photos = [
        {
            "evidence_type": kind,
            "doc_type": "OTHER",
            "file_ref": f"demo://{category}-{i}.jpg",
            "tags": {"category": category},
            "annexure_order": i,
        }
        for i, (kind, category) in enumerate(SBI_PHOTO_TAGS, start=1)
    ]
    return docs + photos


def exterior_photos(count: int, *, prefix: str = "ext") -> list[dict[str, Any]]:
    """``count`` exterior photos by file reference, as ``POST …/evidence/link`` takes them."""
    return [
        {"evidence_type": "PHOTO", "file_ref": f"demo://{prefix}-{i}.jpg", "tags": {"category": "exterior"}}
        for i in range(count)
    ]


def pdf_bytes(lines: tuple[str, ...]) -> bytes:
    """A one-page PDF with a real text layer, written by hand (no PDF library involved)."""
    ops = "".join(f"({line}) Tj 0 -24 Td " for line in lines)
    content = f"BT /F1 14 Tf 72 720 Td {ops}ET".encode("latin-1")
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R "
        b"/Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length " + str(len(content)).encode() + b" >>\nstream\n" + content + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>",
    ]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += f"{number} 0 obj\n".encode() + body + b"\nendobj\n"
    xref = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    out += b"".join(f"{offset:010d} 00000 n \n".encode() for offset in offsets)
    out += f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode()
    return bytes(out)
