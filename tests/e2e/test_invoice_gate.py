"""Issue 15 done-when, through the gateway on the real stack: a POSTPAID work order's draft acceptance
invoice is issued, paid in two parts and its deliverables released without override (gate result
``PAID``); another work order's invoice is voided; retries with the same keys change nothing.

The factory's gate view is read right after each invoice write: the gateway carries the write's
``x-zenops-version`` (the work order's billing version) to the factory, which answers once its
projection reached it (read your writes).
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from devstack.testing import flows
from devstack.testing.data import DEMO_CONTRACT_PATCH, WORK_ORDERS, sbi_evidence_set
from devstack.testing.gateway import new_work_order_id
from devstack.testing.polling import eventually

pytestmark = pytest.mark.stack

INVOICES = "/v1/service-invoices"


async def acceptance_invoice(gateway: httpx.AsyncClient, wo: str) -> str:
    """The id of the POSTPAID work order's draft acceptance invoice."""

    async def check() -> str | None:
        resp = await gateway.get(f"/v1/billing/work-orders/{wo}")
        if resp.status_code != 200:
            return None
        invoice = resp.json()["work_order_billing"].get("invoice")
        return str(invoice["id"]) if invoice else None

    return await eventually(check, f"acceptance invoice of {wo}")


async def gate_view(gateway: httpx.AsyncClient, wo: str) -> dict[str, Any]:
    resp = await gateway.get(f"{WORK_ORDERS}/{wo}/pack")
    assert resp.status_code == 200, resp.text
    return dict(resp.json()["billing_gate_status"])


def ok(resp: httpx.Response) -> dict[str, Any]:
    assert resp.status_code == 201, resp.text
    return dict(resp.json())


class TestInvoiceGate:
    async def test_a_paid_acceptance_invoice_releases_with_paid_and_no_override(
        self, gateway: httpx.AsyncClient
    ) -> None:
        wo = await new_work_order_id(gateway)
        await flows.move(gateway, wo, "DATA_PENDING")
        invoice_id = await acceptance_invoice(gateway, wo)
        await flows.patch_contract(gateway, wo, DEMO_CONTRACT_PATCH)
        await flows.link_evidence(gateway, wo, sbi_evidence_set())
        await flows.move(gateway, wo, "READY_FOR_RENDER")
        await flows.generated_pack(gateway, wo)
        assert (await gate_view(gateway, wo))["releasable_without_override"] is False

        key = {"Idempotency-Key": f"issue-{wo}"}
        issued = ok(await gateway.post(f"{INVOICES}/{invoice_id}/issue", headers=key))
        assert issued["invoice_number"].startswith("INV-")
        assert ok(await gateway.post(f"{INVOICES}/{invoice_id}/issue", headers=key))["id"] == invoice_id
        total = issued["total_amount"]
        first = {"amount": 40, "reference": "utr-1"}
        part = ok(
            await gateway.post(
                f"{INVOICES}/{invoice_id}/payments", json=first, headers={"Idempotency-Key": f"p1-{wo}"}
            )
        )
        assert (part["status"], part["amount_due"]) == ("PARTIALLY_PAID", total - 40)
        view = await gate_view(gateway, wo)
        assert (view["service_invoice_status"], view["service_invoice_is_paid"]) == ("PARTIALLY_PAID", False)

        rest = {"amount": total - 40, "reference": "utr-2"}
        for _ in range(2):  # the retry with the same key changes nothing
            paid = ok(
                await gateway.post(
                    f"{INVOICES}/{invoice_id}/payments", json=rest, headers={"Idempotency-Key": f"p2-{wo}"}
                )
            )
            assert (paid["status"], paid["is_paid"], len(paid["payments"])) == ("PAID", True, 2)
        view = await gate_view(gateway, wo)  # read your writes: no polling
        assert (view["service_invoice_is_paid"], view["releasable_without_override"]) == (True, True)

        released = await flows.release(gateway, wo, f"release-{wo}")
        assert released["blocked"] is False

        async def decided() -> dict[str, Any] | None:
            resp = await gateway.get(f"/v1/billing/work-orders/{wo}")
            gate = resp.json()["work_order_billing"]["last_gate"] if resp.status_code == 200 else None
            return gate if gate else None

        gate = await eventually(decided, f"gate decision of {wo}")
        assert gate["result"] == "PAID"
        assert gate["blocked_reason"] is None

    async def test_a_voided_acceptance_invoice_shows_void_and_blocks(
        self, gateway: httpx.AsyncClient
    ) -> None:
        wo = await new_work_order_id(gateway)
        await flows.move(gateway, wo, "DATA_PENDING")
        invoice_id = await acceptance_invoice(gateway, wo)
        body = {"reason": "customer withdrew the order"}
        for _ in range(2):  # void of void is a no-op
            voided = ok(
                await gateway.post(
                    f"{INVOICES}/{invoice_id}/void", json=body, headers={"Idempotency-Key": f"v-{wo}"}
                )
            )
            assert (voided["status"], voided["amount_due"], voided["void_reason"]) == (
                "VOID",
                0,
                body["reason"],
            )
        billing = (await gateway.get(f"/v1/billing/work-orders/{wo}")).json()["work_order_billing"]
        assert (billing["invoice"]["status"], billing["invoice"]["is_paid"]) == ("VOID", False)
        refused = await gateway.post(f"{INVOICES}/{invoice_id}/payments", json={"amount": 1})
        assert (refused.status_code, refused.json()["code"]) == (409, "INVOICE_NOT_PAYABLE")
