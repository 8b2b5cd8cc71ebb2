"""The thin end-to-end flow through the gateway on the real stack (issue 3, item 4).

HTTP write in workorders → outbox → Kafka → billing consumer (inbox + effect) → readable over HTTP.
"""

from __future__ import annotations

import asyncio

import asyncpg
import httpx
import pytest

from shared.devstack.launcher import StackInfo
from shared.testing.fixtures import TEST_TENANT

pytestmark = pytest.mark.stack


async def poll(client: httpx.AsyncClient, url: str, *, timeout: float = 30.0) -> httpx.Response:
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        resp = await client.get(url)
        if resp.status_code == 200 or asyncio.get_running_loop().time() > deadline:
            return resp
        await asyncio.sleep(0.1)


class TestThinFlow:
    async def test_created_work_order_reaches_billing_through_kafka(
        self, gateway: httpx.AsyncClient, stack: StackInfo
    ) -> None:
        resp = await gateway.post(
            "/v1/repogen/work-orders",
            json={
                "source_type": "TENANT",
                "report_type": "VALUATION",
                "bank_name": "State Bank of India",
                "bank_type": "SBI",
                "billing_external_key": "v1:partner:10",
            },
        )
        assert resp.status_code == 201, resp.text
        body = resp.json()
        wo_id = body["work_order_id"]
        assert body["work_order"]["status"] == "DRAFT"
        assert body["work_order"]["org_id"] == TEST_TENANT
        assert resp.headers["x-zenops-version"] == f"workorders:work-order:{wo_id}:1"

        seen = await poll(gateway, f"/v1/billing/work-orders/{wo_id}")
        assert seen.status_code == 200, seen.text
        billing = seen.json()["work_order_billing"]
        assert billing["billing_external_key"] == "v1:partner:10"
        assert billing["tenant_id"] == TEST_TENANT
        # Billing's view follows every work-order event (readiness_changed follows the creation).
        assert billing["source_version"] >= 1

        conn = await asyncpg.connect(stack.admin_dsn)
        try:
            inbox = await conn.fetchval(
                "SELECT count(*) FROM billing.inbox i JOIN workorders.outbox o ON o.message_id = i.message_id "
                "WHERE o.key = $1 AND o.envelope->>'type' = 'created'",
                wo_id,
            )
        finally:
            await conn.close()
        assert inbox == 1


class TestRejectedRequestWritesNothing:
    async def test_invalid_create_is_a_normalized_400_and_no_row_or_event(
        self, gateway: httpx.AsyncClient, stack: StackInfo
    ) -> None:
        conn = await asyncpg.connect(stack.admin_dsn)
        try:
            before = await conn.fetchval("SELECT count(*) FROM workorders.work_orders")
            before_outbox = await conn.fetchval("SELECT count(*) FROM workorders.outbox")
            resp = await gateway.post(
                "/v1/repogen/work-orders",
                json={"source_type": "TENANT", "report_type": "NOT_A_TYPE", "bank_name": "SBI"},
            )
            blank = await gateway.post(
                "/v1/repogen/work-orders",
                json={"source_type": "TENANT", "report_type": "VALUATION", "bank_name": "   "},
            )
            after = await conn.fetchval("SELECT count(*) FROM workorders.work_orders")
            after_outbox = await conn.fetchval("SELECT count(*) FROM workorders.outbox")
        finally:
            await conn.close()
        assert resp.status_code == 400
        body = resp.json()
        assert set(body) == {"code", "message", "details"}
        assert body["code"] == "VALIDATION_FAILED"
        assert any(issue["path"] == "report_type" for issue in body["details"]["issues"])
        assert blank.status_code == 400
        assert (after, after_outbox) == (before, before_outbox)

    async def test_missing_token_is_401(self, stack: StackInfo) -> None:
        async with httpx.AsyncClient(base_url=stack.urls["gateway"]) as client:
            resp = await client.get("/v1/repogen/work-orders/00000000-0000-0000-0000-000000000000")
        assert resp.status_code == 401
        assert resp.json()["code"] == "TOKEN_MISSING"
