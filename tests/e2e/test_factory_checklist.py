"""Seed 000's operator checklist end to end through the gateway on the real stack (issue 8, done-when).

Runs the same flow as ``make demo`` (scripts/demo.py) and asserts what an operator checks: computed
values, evidence satisfying the SBI profile, OCR text, billing acceptance, the rendered DOCX and its
values, the gated release and a verifiable evidence pack.
"""

from __future__ import annotations

import hashlib
import io

import docx
import httpx
import pytest

from devstack.launcher import StackInfo
from scripts.demo import run_flow

pytestmark = pytest.mark.stack


class TestOperatorChecklist:
    async def test_factory_flow_produces_a_real_docx_and_a_gated_release(self, stack: StackInfo) -> None:
        async with httpx.AsyncClient(base_url=stack.urls["gateway"], timeout=60) as client:
            result = await run_flow(client)

        computed = result["derived"]["computed_values"]
        assert computed["FMV"] == 3500000
        assert computed["realizable_value"] == 3325000
        assert computed["distress_value"] == 2800000
        assert result["evidence_count"] == 14
        readiness = result["readiness_after_links"]
        assert readiness["missing_evidence"] == []
        assert readiness["missing_fields"] == []
        assert readiness["missing_field_evidence_links"] == []
        ocr = result["ocr_job"]
        assert ocr is not None
        assert ocr["status"] == "DONE"
        assert "123/4" in ocr["result_json"]["extracted_text"]

        billing = result["accepted"]["work_order"]["billing"]
        assert billing["mode_cache"] == "POSTPAID"
        assert billing["service_invoice_id"]
        assert result["ready"]["work_order"]["status"] == "READY_FOR_RENDER"

        kinds = sorted(a["kind"] for a in result["artifacts"])
        assert kinds == ["debug_json", "docx", "pdf", "qa_cover_sheet"]
        content = result["docx"]
        assert isinstance(content, bytes)
        assert hashlib.sha256(content).hexdigest() == result["docx_sha256"]
        text = "\n".join(p.text for p in docx.Document(io.BytesIO(content)).paragraphs)
        tables = "\n".join(
            cell.text
            for table in docx.Document(io.BytesIO(content)).tables
            for row in table.rows
            for cell in row.cells
        )
        rendered = text + "\n" + tables
        assert "35,00,000" in rendered
        assert "33,25,000" in rendered
        assert "28,00,000" in rendered
        assert "State Bank of India" in rendered
        assert "Factory demo site" in rendered

        release = result["release"]
        assert release["blocked"] is False
        assert release["release"]["billing_gate_result"] == "OVERRIDE"
        files = result["evidence_pack_files"]
        assert "verification_checksums.txt" in files
        assert result["checksums_verified"] == len(files) - 1
