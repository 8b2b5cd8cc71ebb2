"""Billing end to end through the gateway on the real stack (issue 7, "done when").

Work orders are created and moved to DATA_PENDING through the workorders service (its acceptance
saga runs through Kafka into billing); the release is requested from the factory through the gateway
once the pack is rendered (the factory publishes ``release_requested``), and its outcome is read back
through billing's HTTP routes. The test publishes nothing itself.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import pytest

from devstack.launcher import StackInfo
from devstack.testing import flows
from devstack.testing.data import DEMO_CONTRACT_PATCH, TEST_TENANT, sbi_evidence_set
from devstack.testing.gateway import create_work_order, new_work_order_id
from devstack.testing.polling import eventually

pytestmark = pytest.mark.stack


@pytest.fixture
async def v1(stack: StackInfo) -> AsyncIterator[httpx.AsyncClient]:
    headers = {"x-service-token": stack.secrets.service_token}
    async with httpx.AsyncClient(base_url=stack.urls["gateway"], headers=headers, timeout=30) as client:
        yield client


async def billing_of(
    gateway: httpx.AsyncClient, wo: str, pred: Callable[[dict[str, Any]], bool]
) -> dict[str, Any]:
    async def check() -> dict[str, Any] | None:
        resp = await gateway.get(f"/v1/billing/work-orders/{wo}")
        if resp.status_code != 200:
            return None
        body: dict[str, Any] = resp.json()["work_order_billing"]
        return body if pred(body) else None

    return await eventually(check, f"billing state of {wo}")


async def credit_account(studio: httpx.AsyncClient, credits: int) -> tuple[str, str]:
    """A fresh CREDIT account with ``credits`` granted, and its external key."""
    key = f"v1:partner:e2e{uuid.uuid4().hex[:10]}"
    account_id = await flows.credit_account(
        studio,
        tenant_id=TEST_TENANT,
        external_key=key,
        display_name="E2E",
        credits=credits,
        grant_key_prefix="e2e-seed-",
    )
    return account_id, key


class TestBillingFlow:
    async def test_postpaid_acceptance_drafts_the_invoice(self, gateway: httpx.AsyncClient) -> None:
        wo = await new_work_order_id(gateway)
        moved = await gateway.post(f"/v1/repogen/work-orders/{wo}/status", json={"status": "DATA_PENDING"})
        assert moved.status_code == 201, moved.text
        billing = await billing_of(gateway, wo, lambda b: b["acceptance"] is not None)
        assert billing["acceptance"]["status"] == "ACCEPTED"
        assert billing["mode"] == "POSTPAID"
        assert billing["external_key"] == f"v2:tenant:{TEST_TENANT}"
        assert billing["invoice"]["status"] == "DRAFT"
        assert billing["invoice"]["total_minor"] == 10000
        assert billing["invoice"]["is_paid"] is False
        assert billing["billing_gate_status"]["releasable_without_override"] is False

    async def test_credit_acceptance_rejection_and_release_consume(
        self, gateway: httpx.AsyncClient, studio: httpx.AsyncClient, v1: httpx.AsyncClient
    ) -> None:
        account_id, key = await credit_account(studio, 1)
        wo = await new_work_order_id(gateway, billing_external_key=key)
        moved = await gateway.post(f"/v1/repogen/work-orders/{wo}/status", json={"status": "DATA_PENDING"})
        assert moved.status_code == 201, moved.text
        accepted = await billing_of(gateway, wo, lambda b: b["acceptance"] is not None)
        assert accepted["acceptance"]["status"] == "ACCEPTED"
        assert accepted["hold"]["status"] == "active"
        status = (await v1.get(f"/v1/billing/accounts/{account_id}/status")).json()
        assert status["credit"] == {"wallet": 1, "reserved": 1, "available": 0}

        # A second work order on the same account finds no credit: rejected with the code.
        wo2 = await new_work_order_id(gateway, billing_external_key=key)
        refused = await gateway.post(f"/v1/repogen/work-orders/{wo2}/status", json={"status": "DATA_PENDING"})
        rejected = await billing_of(gateway, wo2, lambda b: b["acceptance"] is not None)
        assert rejected["acceptance"]["status"] == "REJECTED"
        assert rejected["acceptance"]["code"] == "INSUFFICIENT_CREDITS"
        assert refused.status_code == 409, refused.text
        assert refused.json()["code"] == "INSUFFICIENT_CREDITS"

        # The release requested from the factory once the pack is rendered consumes the held credit.
        await flows.patch_contract(gateway, wo, DEMO_CONTRACT_PATCH)
        await flows.link_evidence(gateway, wo, sbi_evidence_set())
        await flows.move(gateway, wo, "READY_FOR_RENDER")
        await flows.generated_pack(gateway, wo)
        release_id = (await flows.release(gateway, wo, f"e2e-release-{wo}"))["release"]["id"]
        released = await billing_of(gateway, wo, lambda b: b["last_gate"] is not None)
        assert released["last_gate"]["release_id"] == release_id
        assert released["last_gate"]["result"] == "CREDIT_CONSUMED"
        assert released["hold"]["status"] == "consumed"
        status = (await v1.get(f"/v1/billing/accounts/{account_id}/status")).json()
        assert status["credit"] == {"wallet": 0, "reserved": 0, "available": 0}
        ledger = (await v1.get("/v1/billing/credits/ledger", params={"account_id": account_id})).json()
        assert [r["reason"] for r in ledger][:1] == ["CONSUME"]


class TestReadYourWrites:
    """The gateway attaches the client's write tokens; billing waits for them (architecture §4)."""

    async def test_billing_view_of_a_new_work_order_reads_at_once(self, gateway: httpx.AsyncClient) -> None:
        created = await create_work_order(gateway)
        wo = created.json()["work_order_id"]
        version = int(created.headers["x-zenops-version"].rsplit(":", 1)[1])
        resp = await gateway.get(f"/v1/billing/work-orders/{wo}")
        assert resp.status_code == 200, resp.text
        body = resp.json()["work_order_billing"]
        assert body["work_order_id"] == wo
        assert body["source_version"] >= version

    async def test_acceptance_is_visible_right_after_the_move(self, gateway: httpx.AsyncClient) -> None:
        wo = await new_work_order_id(gateway)
        moved = await gateway.post(f"/v1/repogen/work-orders/{wo}/status", json={"status": "DATA_PENDING"})
        assert moved.status_code == 201, moved.text
        resp = await gateway.get(f"/v1/billing/work-orders/{wo}")
        assert resp.status_code == 200, resp.text
        assert resp.json()["work_order_billing"]["acceptance"]["status"] == "ACCEPTED"
