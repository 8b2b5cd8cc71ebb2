"""The demo's released report, read as a bank reads it, and verified through the gateway (issue 21).

Runs the flow of ``make demo``; then reads the DOCX the platform released part by part (nothing
internal, every attachment listed, words match figures), takes the verification code from its footer
and asks the public ``GET /v1/verify/{code}`` without a token: the answer names the same bank, report
date and FMV, and the SHA-256 of the very file in hand (the DOCX, and the PDF beside it, whose text
layer is read page by page and whose pages are saved as PNG under ``.zenops-test/report-pages/``).
"""

from __future__ import annotations

import hashlib

import httpx
import pytest

from devstack.launcher import StackInfo, repo_root
from devstack.testing import flows
from scripts.demo import run_flow
from services.factory.tests.report_reader import (
    bank_copy_problems,
    pdf_problems,
    read_report,
    save_page_images,
)

pytestmark = pytest.mark.stack


class TestReleasedReport:
    async def test_the_demo_report_states_nothing_untrue_and_its_code_resolves_to_its_sha256(
        self, stack: StackInfo
    ) -> None:
        async with httpx.AsyncClient(base_url=stack.urls["gateway"], timeout=60) as client:
            result = await run_flow(client)
            wo = result["work_order_id"]
            detail = flows.expect(await client.get(f"/v1/repogen/work-orders/{wo}"), 200)

            content = result["docx"]
            report = read_report(content)
            assert bank_copy_problems(report, documents=6, evidence=14) == []
            assert detail["readiness"]["completeness_score"] == 100
            enclosed = {row[3] for row in report.table_with("#", "Document", "Label", "File", "Pages")}
            assert enclosed == {"sale_deed.pdf", "rtc.pdf", "ec.pdf", "khata.pdf", "tax.pdf", "plan.pdf"}
            assert "Rupees Thirty-Five Lakh Only" in report.text
            code = report.verification_code
            assert code is not None

            async with httpx.AsyncClient(base_url=stack.urls["gateway"], timeout=60) as anonymous:
                verified = await anonymous.get(f"/v1/verify/{code}")
                assert verified.status_code == 200, verified.text
                answer = verified.json()
                assert answer["docx_sha256"] == hashlib.sha256(content).hexdigest()
                assert (answer["bank_name"], answer["fmv"], answer["fmv_in_words"]) == (
                    "State Bank of India",
                    3500000.0,
                    "Rupees Thirty-Five Lakh Only",
                )
                assert (answer["released"], answer["superseded"], answer["valid"]) == (True, False, True)
                assert answer["report_date"] is not None
                assert wo not in verified.text  # no private identifiers on the public route
                assert "Demo Borrower" not in verified.text
                # the code as a person types it
                assert (await anonymous.get(f"/v1/verify/{code.lower().replace('-', '')}")).status_code == 200
                unknown = await anonymous.get("/v1/verify/0000-0000-0000")
                assert unknown.status_code == 404
                assert unknown.json()["code"] == "VERIFICATION_CODE_NOT_FOUND"

            cover = next(a for a in result["artifacts"] if a["kind"] == "qa_cover_sheet")
            assert cover["metadata_json"]["internal"] is True

            # the PDF beside it: its own SHA-256 answered too, its text layer right on every page
            pdf_artifact = next(a for a in result["artifacts"] if a["kind"] == "pdf")
            pdf = await flows.download_artifact(client, pdf_artifact)
            assert hashlib.sha256(pdf).hexdigest() == answer["pdf_sha256"] == pdf_artifact["checksum_sha256"]
            header = f"State Bank of India · Work order {wo} · Report date"
            assert pdf_problems(pdf, code=code, header=header) == []
            saved = save_page_images(pdf, repo_root() / ".zenops-test" / "report-pages" / "demo-released")
            assert saved
