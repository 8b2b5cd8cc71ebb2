"""The gateway on the real stack: edge concerns, merged OpenAPI, health, metrics, scope (architecture §6,
§8, §10, decision 34) and read-your-writes token keeping (architecture §4).

Behaviour that needs a controlled upstream (webhook bytes, 429, cross-service tokens, upstream down) is
proved with an in-process gateway in ``services/gateway/tests/unit/test_gateway_app.py``.
"""

from __future__ import annotations

import uuid

import httpx
import pytest

from devstack.launcher import StackInfo
from devstack.testing.gateway import create_work_order

pytestmark = pytest.mark.stack


class TestEdge:
    async def test_request_id_is_echoed_or_generated(self, gateway: httpx.AsyncClient) -> None:
        url = f"/v1/billing/work-orders/{uuid.uuid4()}"
        given = await gateway.get(url, headers={"x-request-id": "edge-test-1"})
        generated = await gateway.get(url, headers={"x-request-id": ""})
        assert given.headers["x-zenops-service"] == "billing", given.text
        assert given.headers["x-request-id"] == "edge-test-1"
        assert uuid.UUID(generated.headers["x-request-id"])

    async def test_meta_is_public_and_compatible(self, stack: StackInfo) -> None:
        async with httpx.AsyncClient(base_url=stack.urls["gateway"], timeout=30) as client:
            resp = await client.get("/v1/meta")
        assert resp.status_code == 200
        body = resp.json()
        assert {"app", "service", "env", "git_sha", "build_time", "repo_root"} <= set(body)
        assert (body["app"], body["env"]) == ("zenops-v2", "dev")

    async def test_health_is_live_and_readiness_reports_every_upstream(self, stack: StackInfo) -> None:
        async with httpx.AsyncClient(base_url=stack.urls["gateway"], timeout=30) as client:
            live = await client.get("/healthz")
            resp = await client.get("/readyz")
        assert (live.status_code, live.json()) == (200, {"status": "ok", "service": "gateway"})
        assert resp.status_code == 200, resp.text
        body = resp.json()
        assert set(body["details"]) == {"workorders", "evidence", "factory", "billing"}
        assert body["status"] == "ok", body
        assert all(u == "ok" for u in body["details"].values())

    async def test_out_of_scope_and_unknown_routes_are_404(self, gateway: httpx.AsyncClient) -> None:
        answers = [
            await gateway.get(f"/v1/assignments/{uuid.uuid4()}/report-generation/context"),
            await gateway.get(f"/v1/report-generation/jobs/{uuid.uuid4()}"),
            await gateway.post("/v1/control/onboard", json={}),
            await gateway.get("/v1/billing/me"),
            await gateway.get("/v1/billing/invoices"),
            await gateway.get("/v1/definitely-not-a-route"),
        ]
        for resp in answers:
            assert resp.status_code == 404, resp.text
            assert resp.json()["code"] == "ROUTE_NOT_FOUND"
        assert all(r.json()["details"]["reason"] == "OUT_OF_SCOPE" for r in answers[:5])

    async def test_merged_openapi_lists_the_services_routes(self, stack: StackInfo) -> None:
        async with httpx.AsyncClient(base_url=stack.urls["gateway"], timeout=30) as client:
            resp = await client.get("/openapi.json")
        assert resp.status_code == 200
        doc = resp.json()
        assert doc["x-zenops-upstreams"] == dict.fromkeys(
            ("billing", "evidence", "factory", "workorders"), "ok"
        )
        work_orders = doc["paths"]["/v1/repogen/work-orders"]
        assert work_orders["post"]["x-zenops-service"] == "workorders"
        assert work_orders["post"]["x-zenops-auth"] == "jwt"
        assert "/v1/meta" in doc["paths"]
        for item in doc["paths"].values():
            for operation in item.values():
                assert operation["x-zenops-service"] in {
                    "gateway",
                    "workorders",
                    "evidence",
                    "factory",
                    "billing",
                }

    async def test_metrics_count_requests_by_route_and_service(
        self, gateway: httpx.AsyncClient, stack: StackInfo
    ) -> None:
        await gateway.get("/v1/repogen/work-orders")
        async with httpx.AsyncClient(base_url=stack.urls["gateway"], timeout=30) as client:
            text = (await client.get("/metrics")).text
        assert 'route="/v1/repogen/work-orders",service="workorders"' in text
        assert "zenops_gateway_upstream_seconds_bucket" in text


class TestReadYourWrites:
    async def test_write_then_immediate_read_through_the_gateway(self, gateway: httpx.AsyncClient) -> None:
        created = await create_work_order(gateway)
        wo_id = created.json()["work_order_id"]
        token = created.headers["x-zenops-version"]
        assert token == f"workorders:work-order:{wo_id}:1"
        # the client sends no token; the gateway attaches the one it kept for this client
        detail = await gateway.get(f"/v1/repogen/work-orders/{wo_id}")
        assert detail.status_code == 200, detail.text
        assert detail.json()["work_order"]["id"] == wo_id
