"""The thin end-to-end flow through the gateway on the real stack (issue 3, item 4).

HTTP write in workorders → outbox → Kafka → billing consumer (inbox + effect) → readable over HTTP.
"""

from __future__ import annotations

import asyncpg
import httpx
import pytest

from devstack.launcher import StackInfo
from devstack.testing.data import TEST_TENANT, WORK_ORDERS
from devstack.testing.gateway import create_work_order, get_when_found

pytestmark = pytest.mark.stack


class TestThinFlow:
    async def test_created_work_order_reaches_billing_through_kafka(
        self, gateway: httpx.AsyncClient, admin_db: asyncpg.Connection
    ) -> None:
        resp = await create_work_order(gateway, billing_external_key="v1:partner:10")
        body = resp.json()
        wo_id = body["work_order_id"]
        assert body["work_order"]["status"] == "DRAFT"
        assert body["work_order"]["org_id"] == TEST_TENANT
        assert resp.headers["x-zenops-version"] == f"workorders:work-order:{wo_id}:1"

        seen = await get_when_found(gateway, f"/v1/billing/work-orders/{wo_id}")
        assert seen.status_code == 200, seen.text
        billing = seen.json()["work_order_billing"]
        assert billing["billing_external_key"] == "v1:partner:10"
        assert billing["tenant_id"] == TEST_TENANT
        # Billing's view follows every work-order event (readiness_changed follows the creation).
        assert billing["source_version"] >= 1

        inbox = await admin_db.fetchval(
            "SELECT count(*) FROM billing.inbox i JOIN workorders.outbox o ON o.message_id = i.message_id "
            "WHERE o.key = $1 AND o.envelope->>'type' = 'created'",
            wo_id,
        )
        assert inbox == 1


class TestRejectedRequestWritesNothing:
    async def test_invalid_create_is_a_normalized_400_and_no_row_or_event(
        self, gateway: httpx.AsyncClient, admin_db: asyncpg.Connection
    ) -> None:
        # Only a create writes a work order or a `created` event; the work-order service's consumers keep
        # writing other outbox rows for earlier tests' flows meanwhile.
        created = "SELECT count(*) FROM workorders.outbox WHERE envelope->>'type' = 'created'"
        before = await admin_db.fetchval("SELECT count(*) FROM workorders.work_orders")
        before_outbox = await admin_db.fetchval(created)
        resp = await gateway.post(
            WORK_ORDERS, json={"source_type": "TENANT", "report_type": "NOT_A_TYPE", "bank_name": "SBI"}
        )
        blank = await gateway.post(
            WORK_ORDERS, json={"source_type": "TENANT", "report_type": "VALUATION", "bank_name": "   "}
        )
        after = await admin_db.fetchval("SELECT count(*) FROM workorders.work_orders")
        after_outbox = await admin_db.fetchval(created)
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
