"""Seed 000's operator checklist end to end through the gateway on the real stack (issues 8 and 19).

Runs ``make demo`` itself (:func:`scripts.demo.run_demo`) and asserts what an operator checks on each
of its three work orders: computed values, evidence satisfying the SBI profile, OCR text, billing
acceptance, the rendered DOCX and its values, the export bundle and the evidence pack verified, and
the three billing gate paths — CREDIT_CONSUMED on the CREDIT account created through the control plane,
BLOCKED then PAID once the POSTPAID invoice is paid, OVERRIDE with its reason — plus the V1 step.
"""

from __future__ import annotations

import hashlib
import io

import docx
import pytest
from rich.console import Console

from devstack.launcher import StackInfo
from scripts.demo import DemoSettings, run_demo
from scripts.demo.flow import OVERRIDE_REASON, Produced
from scripts.demo.progress import Board
from scripts.demo.run import CREDIT, OVERRIDE, PAID

pytestmark = pytest.mark.stack


def rendered_text(content: bytes) -> str:
    document = docx.Document(io.BytesIO(content))
    cells = [cell.text for table in document.tables for row in table.rows for cell in row.cells]
    return "\n".join([p.text for p in document.paragraphs] + cells)


def check_factory(made: Produced, mode: str) -> None:
    """What the operator checks of one work order before its release (seed 000 checklist 1–4)."""
    computed = made.derived["computed_values"]
    assert (computed["FMV"], computed["realizable_value"], computed["distress_value"]) == (
        3500000,
        3325000,
        2800000,
    )
    assert len(made.evidence) == 14
    readiness = made.readiness_after_links
    assert (readiness["completeness_score"], readiness["missing_evidence"]) == (100, [])
    assert readiness["missing_fields"] == readiness["missing_field_evidence_links"] == []
    assert made.ocr_job["status"] == "DONE"
    assert "123/4" in made.ocr_job["result_json"]["extracted_text"]
    assert made.billing["mode_cache"] == mode
    assert made.ready["work_order"]["status"] == "READY_FOR_RENDER"
    assert sorted(a["kind"] for a in made.artifacts) == ["debug_json", "docx", "pdf", "qa_cover_sheet"]
    assert hashlib.sha256(made.docx).hexdigest() == made.docx_sha256
    text = rendered_text(made.docx)
    for figure in ("35,00,000", "33,25,000", "28,00,000", "State Bank of India", "Factory demo site"):
        assert figure in text


class TestOperatorChecklist:
    async def test_every_gate_path_releases_a_real_docx(self, stack: StackInfo) -> None:
        settings = DemoSettings(
            gateway_url=stack.urls["gateway"],
            service_token=stack.secrets.service_token,
            kafka_bootstrap=stack.kafka_bootstrap,
            zipkin_url=stack.tracing.zipkin_url or "",
            provider_sim_url=stack.provider_sim_url or "",
        )
        with Board(Console(width=200, soft_wrap=True), live=False) as board:
            result = await run_demo(settings, board)

        assert result.failures == {}
        assert result.ok
        credit, paid, override = (result.work_orders[lane] for lane in (CREDIT, PAID, OVERRIDE))
        check_factory(credit.produced, "CREDIT")
        check_factory(paid.produced, "POSTPAID")
        check_factory(override.produced, "POSTPAID")
        assert len({o.produced.work_order_id for o in (credit, paid, override)}) == 3

        # CREDIT: the hold reserved at acceptance is consumed by the release
        assert credit.produced.billing["reservation_id"]
        assert credit.released.outcomes == ["CREDIT_CONSUMED"]
        assert credit.released.last.blocked is False
        assert credit.released.billing["hold"]["status"] == "consumed"
        assert credit.released.billing["last_gate"]["result"] == "CREDIT_CONSUMED"

        # POSTPAID: blocked while unpaid, released as PAID once the invoice is issued and paid
        assert paid.produced.billing["service_invoice_id"]
        assert paid.released.outcomes == ["BLOCKED", "PAID"]
        assert [r.blocked for r in paid.released.releases] == [True, False]
        assert paid.released.payment is not None
        assert (paid.released.payment["status"], paid.released.payment["is_paid"]) == ("PAID", True)
        # paid the way a customer pays: a checkout at the provider (simulator), settled by its signed webhook
        [settlement] = paid.released.payment["payments"]
        assert settlement["mode"].lower() == "razorpay"
        assert "webhook" in (settlement["notes"] or "").lower()
        assert paid.released.billing["last_gate"]["result"] == "PAID"

        # POSTPAID unpaid: an override, with its reason kept on the release
        assert override.released.outcomes == ["OVERRIDE"]
        assert override.released.last.body["release"]["override_reason"] == OVERRIDE_REASON
        assert override.released.billing["invoice"]["is_paid"] is False

        for outcome in (credit, paid, override):
            verified = outcome.verified
            assert "verification_checksums.txt" in verified.evidence_pack_files
            assert verified.checksums_verified == len(verified.evidence_pack_files) - 1
            assert verified.frozen_bundle_hash == outcome.produced.pack["pack"]["export_bundle_hash"]
            assert len(verified.export_bundle_hash) == 64
            assert all(r.trace_id for r in outcome.released.releases)

        # V1 on the CREDIT account: its own commission held and consumed after the work order's credit
        assert result.v1 is not None
        assert result.credit_account is not None
        assert result.v1.account_key == result.credit_account[1]
        assert (result.v1.credit_before["wallet"], result.v1.credit_before["reserved"]) == (1, 0)
        assert (result.v1.credit_after["wallet"], result.v1.credit_after["reserved"]) == (0, 0)
        assert len(result.v1.events) == 2
