"""The factory operator checklist (seed 000, demo §11.2 steps 5–8) through the gateway on the real stack.

The work order is created through the gateway (workorders). Its ``ready_for_render`` is published by the
test with a real producer, to the workorders contract, because the workorders status saga is built
concurrently; from there everything is real: the factory bridge and worker render the DOCX, billing's
decider answers the release request, the factory records the outcome and serves the downloads.
"""

from __future__ import annotations

import asyncio
import hashlib
import io
import uuid
import zipfile
from typing import Any

import docx
import httpx
import pytest

from devstack.launcher import StackInfo
from devstack.testing.data import COMPLETE_READINESS
from devstack.testing.fixtures import make_token
from devstack.testing.gateway import new_work_order_id, publish_event
from shared.contracts.workorders import ReadyForRender
from shared.stable_json import stable_sha256

pytestmark = pytest.mark.stack

# Far above anything the workorders service reaches in this test, so the message is never stale.
READY_VERSION = 1000


def _bundle(work_order_id: str) -> dict[str, Any]:
    values = {"FMV": 3500000, "realizable_value": 3325000, "distress_value": 2800000}
    return {
        "work_order_id": work_order_id,
        "snapshot_version": 2,
        "contract_json": {
            "meta": {"report_type": "VALUATION", "bank_type": "SBI", "template_selector": "SBI_FORMAT_A"},
            "party": {"bank_name": "State Bank of India"},
            "property": {"address": "Factory demo site", "land_area": {"value": 1200, "unit": "sqft"}},
            "computed_values": values,
            "manual_fields": {"justification_text": "Demo justification placeholder"},
        },
        "derived_json": {
            "value_slab": "LT_5CR",
            "template_selector": "SBI_FORMAT_A",
            "computed_values": values,
        },
        "readiness_json": COMPLETE_READINESS,
        "annexure_defaults": {"min_images_per_page": 2, "max_images_per_page": 4},
        "evidence_manifest": [],
    }


async def _publish_ready(stack: StackInfo, work_order_id: str) -> None:
    bundle = _bundle(work_order_id)
    event = ReadyForRender(
        work_order_id=work_order_id,
        export_bundle=bundle,
        export_bundle_hash=stable_sha256(bundle),
        snapshot_version=2,
        template_selector="SBI_FORMAT_A",
        value_slab="LT_5CR",
        report_type="VALUATION",
        bank_type="SBI",
        readiness_score=100,
    )
    await publish_event(
        stack.kafka_bootstrap,
        event,
        aggregate_id=work_order_id,
        version=READY_VERSION,
        client_id="factory-e2e",
    )


async def _poll_pack(client: httpx.AsyncClient, work_order_id: str) -> dict[str, Any]:
    deadline = asyncio.get_running_loop().time() + 90
    while True:
        resp = await client.get(f"/v1/repogen/work-orders/{work_order_id}/pack")
        if resp.status_code == 200:
            job = resp.json()["generation_job"]
            assert job is None or job["status"] not in {"failed", "cancelled"}, job
            if job is not None and job["status"] == "completed":
                return dict(resp.json())
        assert asyncio.get_running_loop().time() < deadline, resp.text
        await asyncio.sleep(0.5)


class TestFactoryOperatorChecklist:
    async def test_render_gate_release_and_download(
        self, gateway: httpx.AsyncClient, stack: StackInfo
    ) -> None:
        # CHANNEL, created by the test user: the portal token of that user may download (issue 12)
        wo = await new_work_order_id(gateway, source_type="CHANNEL")
        await _publish_ready(stack, wo)

        # 4. generation job completed, real DOCX artifact exists
        view = await _poll_pack(gateway, wo)
        pack = view["pack"]
        assert (pack["template_key"], pack["version"], pack["status"]) == ("SBI_UNDER_5CR_V1", 1, "generated")
        assert sorted(a["kind"] for a in pack["artifacts"]) == ["debug_json", "docx"]
        docx_artifact = next(a for a in pack["artifacts"] if a["kind"] == "docx")
        download = await gateway.get(docx_artifact["download_url"])
        assert download.status_code == 200
        assert hashlib.sha256(download.content).hexdigest() == docx_artifact["checksum_sha256"]
        document = docx.Document(io.BytesIO(download.content))
        text = "\n".join(
            [p.text for p in document.paragraphs]
            + [c.text for t in document.tables for r in t.rows for c in r.cells]
        )
        assert "₹ 35,00,000.00" in text

        # 5. billing gate: nothing accepted into billing → POSTPAID without invoice, not releasable
        gate = view["billing_gate_status"]
        assert gate["releasable_without_override"] is False

        # 6. release: blocked without override, released with one
        key = f"demo:repogen:release:{wo}:{uuid.uuid4().hex[:8]}"
        blocked = await gateway.post(
            f"/v1/repogen/work-orders/{wo}/release-deliverables", json={"idempotency_key": key}
        )
        assert blocked.status_code == 201, blocked.text
        assert (blocked.json()["blocked"], blocked.json()["release"]["billing_gate_result"]) == (
            True,
            "BLOCKED",
        )
        portal_headers = {
            "authorization": f"Bearer {make_token(stack, aud='portal', roles=('portal_user',), capabilities=())}"
        }
        async with httpx.AsyncClient(
            base_url=stack.urls["gateway"], headers=portal_headers, timeout=30
        ) as portal:
            locked = await portal.get(f"/v1/repogen/work-orders/{wo}/evidence-pack")
            assert (locked.status_code, locked.json()["code"]) == (
                403,
                "DELIVERABLE_LOCKED_UNTIL_BILLING_SATISFIED",
            )
            released = await gateway.post(
                f"/v1/repogen/work-orders/{wo}/release-deliverables",
                json={
                    "idempotency_key": f"{key}:override",
                    "override": True,
                    "override_reason": "Manual override for local demo run",
                },
            )
            assert released.status_code == 201, released.text
            assert (released.json()["blocked"], released.json()["release"]["billing_gate_result"]) == (
                False,
                "OVERRIDE",
            )
            evidence = await portal.get(f"/v1/repogen/work-orders/{wo}/evidence-pack")
        assert evidence.status_code == 200
        entries = zipfile.ZipFile(io.BytesIO(evidence.content))
        assert entries.read("SBI_UNDER_5CR_V1-v1.docx") == download.content

        # 8. pack view: 2 artifacts, both release records
        final = (await gateway.get(f"/v1/repogen/work-orders/{wo}/pack")).json()
        assert len(final["pack"]["artifacts"]) == 2
        assert [r["billing_gate_result"] for r in final["deliverable_releases"]] == ["OVERRIDE", "BLOCKED"]
