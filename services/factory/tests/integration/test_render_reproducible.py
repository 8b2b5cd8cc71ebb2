"""Decision 24 across processes: the same export bundle renders to the same DOCX bytes in separate
Python processes (different hash seeds, time zones and clocks), and so does its evidence pack."""

from __future__ import annotations

import hashlib
import io
import json
import os
import subprocess
import sys
import textwrap
from collections.abc import Callable
from pathlib import Path
from typing import Any

import docx

from devstack.testing.data import COMPLETE_READINESS
from shared.stable_json import stable_sha256

# Runs in a fresh interpreter. ``time.time`` is shifted by five years before anything is imported, so
# any wall-clock value that leaks into the output (zip entry dates, core properties) changes the hash.
RENDER_SCRIPT = textwrap.dedent(
    """
    import hashlib, json, sys, time
    from pathlib import Path

    shift = float(sys.argv[2])
    real_time = time.time
    time.time = lambda: real_time() + shift

    from factory_service.rendering.docx_renderer import render_report_docx
    from factory_service.rendering.evidence_pack import build_evidence_pack

    work = Path(sys.argv[1])
    job = json.loads((work / "job.json").read_text(encoding="utf-8"))
    blobs = {key: (work / name).read_bytes() for key, name in job["blobs"].items()}
    docx_bytes = render_report_docx(
        job["bundle"],
        template_key=job["template_key"],
        export_bundle_hash=job["hash"],
        pack_version=1,
        read_blob=blobs.get,
    )
    pack = build_evidence_pack({
        "export_bundle.json": (work / "job.json").read_bytes(),
        "SBI_UNDER_5CR_V1-v1.docx": docx_bytes,
        "audit_events.jsonl": b'{"action":"generation_completed"}\\n',
    })
    print(hashlib.sha256(docx_bytes).hexdigest(), hashlib.sha256(pack).hexdigest())
    """
)

FIVE_YEARS = 5 * 365 * 24 * 3600.0


def _bundle() -> dict[str, Any]:
    def photo(index: int, key_field: str, key: str, label: str, category: str) -> dict[str, Any]:
        return {
            "id": f"22222222-0000-0000-0000-00000000000{index}",
            "evidence_type": "PHOTO",
            "doc_type": "OTHER",
            "annexure_order": index,
            "document": {"original_filename": f"{category}.png", "content_type": "image/png", key_field: key},
            "annexure_hint": {
                "label": label,
                "category": category,
                "sort_order": index,
                "group_hint": {
                    "min_images_per_page": 1,
                    "max_images_per_page": 4,
                    "preferred_images_per_page": 2,
                },
            },
        }

    return {
        "work_order_id": "bbbbbbbb-bbbb-bbbb-bbbb-bbbbbbbbbbbb",
        "snapshot_version": 2,
        "contract_json": {
            "meta": {"report_type": "VALUATION", "bank_type": "SBI", "template_selector": "SBI_FORMAT_A"},
            "party": {"bank_name": "State Bank of India", "borrower_name": "Anita Rao"},
            "property": {"address": "Factory demo site", "land_area": {"value": 1200, "unit": "sqft"}},
            "manual_fields": {"justification_text": "Demo justification placeholder"},
            "audit": {"created_at": "2026-02-24T10:00:00.000Z"},
        },
        "derived_json": {
            "standardized": {"area": {"land_area_sqm": 111.48}, "rates": {"market_rate_per_sqm": 19375.02}},
            "computed_values": {"FMV": 3500000, "realizable_value": 3325000, "distress_value": 2800000},
        },
        "readiness_json": COMPLETE_READINESS,
        "annexure_defaults": {"min_images_per_page": 2, "max_images_per_page": 4},
        "evidence_manifest": [
            photo(1, "sha256", "a" * 64, "Exterior Photos", "exterior"),
            photo(2, "storage_key", "blobs/interior.png", "Interior Photos", "interior"),
        ],
    }


def _run(work: Path, env_overrides: dict[str, str], shift: float) -> tuple[str, str]:
    env = {**os.environ, **env_overrides}
    result = subprocess.run(  # noqa: S603  fixed argv built here (this interpreter, our script), no shell
        [sys.executable, "-c", RENDER_SCRIPT, str(work), str(shift)],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    docx_sha, pack_sha = result.stdout.split()
    return docx_sha, pack_sha


def test_two_processes_render_identical_docx_and_evidence_pack(
    tmp_path: Path, make_png: Callable[[tuple[int, int], tuple[int, int, int]], bytes]
) -> None:
    bundle = _bundle()
    (tmp_path / "exterior.png").write_bytes(make_png((64, 48), (180, 30, 30)))
    (tmp_path / "interior.png").write_bytes(make_png((48, 64), (30, 30, 180)))
    blob_files = {"a" * 64: "exterior.png", "blobs/interior.png": "interior.png"}
    bundle_hash = stable_sha256(bundle)
    job = {
        "bundle": bundle,
        "template_key": "SBI_UNDER_5CR_V1",
        "hash": bundle_hash,
        "blobs": blob_files,
    }
    (tmp_path / "job.json").write_text(json.dumps(job), encoding="utf-8")

    first = _run(tmp_path, {"PYTHONHASHSEED": "1", "TZ": "UTC"}, 0.0)
    second = _run(tmp_path, {"PYTHONHASHSEED": "4242", "TZ": "Asia/Kolkata"}, FIVE_YEARS)
    assert first == second

    # The hashes belong to a real report: render once more here and check what the processes produced.
    from factory_service.rendering.docx_renderer import render_report_docx

    blobs = {key: (tmp_path / name).read_bytes() for key, name in blob_files.items()}
    local = render_report_docx(
        bundle,
        template_key="SBI_UNDER_5CR_V1",
        export_bundle_hash=bundle_hash,
        pack_version=1,
        read_blob=blobs.get,
    )
    assert hashlib.sha256(local).hexdigest() == first[0]
    document = docx.Document(io.BytesIO(local))
    assert len(document.inline_shapes) == 2
    assert any(
        "₹ 35,00,000.00" in cell.text for table in document.tables for row in table.rows for cell in row.cells
    )
