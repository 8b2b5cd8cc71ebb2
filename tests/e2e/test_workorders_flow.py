"""A work order through the whole spine on the real stack, only through the gateway (issue 5).

DRAFT → patch contract (SPN-01 values) → evidence linked in the evidence service (the SBI <5Cr profile set,
domain.md §11.2) → EVIDENCE_PENDING → DATA_PENDING (accepted by the billing service) → READY_FOR_RENDER
(bundle frozen, pack requested from factory) → contract locked; export hash stable; other tenants see
nothing.
"""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest

from devstack.testing import flows
from devstack.testing.data import VALUATION_CONTRACT_PATCH, sbi_evidence_set
from devstack.testing.data import WORK_ORDERS as WO
from devstack.testing.gateway import new_work_order_id
from devstack.testing.polling import eventually

pytestmark = pytest.mark.stack


async def wait_for_readiness(gateway: httpx.AsyncClient, wo: str) -> dict[str, Any]:
    async def unblocked() -> dict[str, Any] | None:
        readiness: dict[str, Any] = (await gateway.get(f"{WO}/{wo}")).json()["readiness"]
        return None if readiness["missing_evidence"] or readiness["missing_fields"] else readiness

    return await eventually(unblocked, f"the readiness of {wo} to stop blocking")


class TestWorkOrderSpine:
    async def test_draft_to_ready_for_render_through_the_gateway(
        self, gateway: httpx.AsyncClient, other_tenant: httpx.AsyncClient
    ) -> None:
        tag = uuid.uuid4().hex[:8]
        wo = await new_work_order_id(gateway, bank_name=f"State Bank of India {tag}")

        snapshot = (await flows.patch_contract(gateway, wo, VALUATION_CONTRACT_PATCH))["output_snapshot"]
        assert snapshot["version"] == 2
        assert snapshot["derived_json"]["computed_values"]["FMV"] == 5000000

        await flows.link_evidence(gateway, wo, sbi_evidence_set())
        readiness = await wait_for_readiness(gateway, wo)
        assert readiness["completeness_score"] == 100

        comment = await gateway.post(
            f"{WO}/{wo}/comments", json={"comment_type": "JUSTIFICATION", "body": "ok"}
        )
        assert comment.status_code == 201

        evidence_pending = await gateway.post(
            f"{WO}/{wo}/status", json={"status": "EVIDENCE_PENDING", "note": "collected"}
        )
        assert evidence_pending.status_code == 201, evidence_pending.text
        accepted = await gateway.post(
            f"{WO}/{wo}/status", json={"status": "DATA_PENDING", "note": "accepted"}
        )
        assert accepted.status_code == 201, accepted.text
        work_order = accepted.json()["work_order"]
        assert work_order["acceptance"]["status"] == "ACCEPTED"
        assert work_order["billing"]["mode_cache"] == "POSTPAID"
        assert work_order["billing"]["service_invoice_id"]

        export = await gateway.get(f"{WO}/{wo}/export")
        assert export.status_code == 200
        assert len(export.json()["export_bundle"]["evidence_manifest"]) == 14
        assert (await gateway.get(f"{WO}/{wo}/export")).json()["export_bundle_hash"] == export.json()[
            "export_bundle_hash"
        ]

        ready = await gateway.post(f"{WO}/{wo}/status", json={"status": "READY_FOR_RENDER", "note": "render"})
        assert ready.status_code == 201, ready.text
        body = ready.json()
        assert body["work_order"]["status"] == "READY_FOR_RENDER"
        if body["pack_link"] is None:
            assert body["pack_state"] in ("PENDING", "FAILED")
        else:
            assert body["pack_link"]["pack"]["id"] == body["work_order"]["report_pack_id"]
            assert body["pack_link"]["generation_job"]["id"]

        locked = await gateway.patch(f"{WO}/{wo}/contract", json=VALUATION_CONTRACT_PATCH)
        assert locked.status_code == 409
        assert locked.json()["code"] == "WORK_ORDER_LOCKED"

        statuses = [
            c["body"].split("\n")[0]
            for c in (await gateway.get(f"{WO}/{wo}/comments")).json()["items"]
            if c["body"].startswith("Status changed")
        ]
        assert statuses == [
            "Status changed: DATA_PENDING -> READY_FOR_RENDER",
            "Status changed: EVIDENCE_PENDING -> DATA_PENDING",
            "Status changed: DRAFT -> EVIDENCE_PENDING",
        ]

        assert (await other_tenant.get(f"{WO}/{wo}")).status_code == 404
        assert (await other_tenant.get(WO, params={"search": tag})).json()["items"] == []
        listed = (await gateway.get(WO, params={"search": tag})).json()["items"]
        assert [i["id"] for i in listed] == [wo]
        assert listed[0]["readiness_score"] == 100
        assert listed[0]["evidence_count"] == 14


class TestCancelledCompensation:
    async def test_list_and_detail_show_the_billing_state_published_after_compensation(
        self, gateway: httpx.AsyncClient
    ) -> None:
        tag = uuid.uuid4().hex[:8]
        created = await gateway.post(
            WO,
            json={"source_type": "TENANT", "report_type": "VALUATION", "bank_name": f"Cancel Bank {tag}"},
        )
        assert created.status_code == 201, created.text
        wo = created.json()["work_order_id"]
        accepted = await gateway.post(f"{WO}/{wo}/status", json={"status": "DATA_PENDING"})
        assert accepted.status_code == 201, accepted.text
        before = accepted.json()["work_order"]["billing"]
        # The tenant's default account is postpaid: acceptance drafts an invoice (no credit hold).
        assert before["invoice"]["status"] == "DRAFT"
        assert before["invoice"]["amount_due_minor"] > 0

        cancelled = await gateway.post(f"{WO}/{wo}/status", json={"status": "CANCELLED", "note": "dropped"})
        assert cancelled.status_code == 201, cancelled.text
        assert cancelled.json()["work_order"]["status"] == "CANCELLED"

        # Billing compensates asynchronously (decision 10): poll the projection for up to 10 s.
        async def compensated() -> dict[str, Any] | None:
            seen: dict[str, Any] = (await gateway.get(f"{WO}/{wo}")).json()["work_order"]
            return seen if seen["billing"]["invoice"]["status"] != "DRAFT" else None

        seen = await eventually(
            compensated, "billing to compensate the cancellation", within_s=10, every_s=0.2
        )
        billing = seen["billing"]
        assert billing["invoice"]["id"] == before["invoice"]["id"] == billing["service_invoice_id"]
        assert billing["invoice"]["status"] == "VOID"
        assert billing["invoice"]["amount_due_minor"] == 0
        assert billing["hold"] is None
        assert billing["reservation_id"] is None
        assert billing["acceptance"] == before["acceptance"]
        assert seen["status"] == "CANCELLED"
        assert seen["pack_state"] is None

        listed = (await gateway.get(WO, params={"search": tag})).json()["items"]
        assert [item["id"] for item in listed] == [wo]
        assert listed[0]["billing"] == billing
        assert listed[0]["pack_state"] == seen["pack_state"]
        assert listed[0]["status"] == "CANCELLED"
