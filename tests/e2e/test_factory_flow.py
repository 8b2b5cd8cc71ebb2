"""The factory operator checklist (seed 000, demo §11.2 steps 5–8) through the gateway on the real stack.

Everything is driven through the gateway, nothing is published by the test: the work order is created,
its contract patched and its evidence linked, then moved through billing's acceptance to
READY_FOR_RENDER (workorders publishes ``ready_for_render``); the factory bridge and worker render the
DOCX, billing's decider answers the release request, the factory records the outcome and serves the
downloads.
"""

from __future__ import annotations

import hashlib
import io
import uuid
import zipfile

import docx
import httpx
import pytest

from devstack.launcher import StackInfo
from devstack.testing import flows
from devstack.testing.data import DEMO_CONTRACT_PATCH
from devstack.testing.fixtures import make_token
from devstack.testing.gateway import new_work_order_id

pytestmark = pytest.mark.stack


class TestFactoryOperatorChecklist:
    async def test_render_gate_release_and_download(
        self, gateway: httpx.AsyncClient, stack: StackInfo
    ) -> None:
        # CHANNEL, created by the test user: the portal token of that user may download (issue 12)
        wo = await new_work_order_id(gateway, source_type="CHANNEL")
        await flows.ready_for_render(gateway, wo, DEMO_CONTRACT_PATCH)

        # 4. generation job completed, real DOCX artifact exists
        view = await flows.generated_pack(gateway, wo)
        pack = view["pack"]
        assert (pack["template_key"], pack["version"], pack["status"]) == ("SBI_UNDER_5CR_V1", 1, "generated")
        assert sorted(a["kind"] for a in pack["artifacts"]) == ["debug_json", "docx", "pdf", "qa_cover_sheet"]
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

        # 5. billing gate: accepted into billing as POSTPAID with a draft invoice, unpaid: not releasable
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

        # 8. pack view: 4 artifacts (bundle, report DOCX and PDF, internal QA cover sheet), both releases
        final = (await gateway.get(f"/v1/repogen/work-orders/{wo}/pack")).json()
        assert len(final["pack"]["artifacts"]) == 4
        assert [r["billing_gate_result"] for r in final["deliverable_releases"]] == ["OVERRIDE", "BLOCKED"]
