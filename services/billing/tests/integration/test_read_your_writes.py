"""``x-zenops-after`` on billing reads (architecture §4): bounded waits on workorders versions."""

from __future__ import annotations

import time
import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from aiokafka import AIOKafkaProducer

from devstack.launcher import StackInfo
from devstack.testing.fixtures import TEST_TENANT, make_token
from shared.contracts.workorders import (
    AcceptanceRequest,
    Readiness,
    ReadinessChanged,
    StatusChanged,
)

pytestmark = pytest.mark.stack


@pytest.fixture
async def jwt_direct(stack: StackInfo) -> AsyncIterator[httpx.AsyncClient]:
    """A tenant JWT client straight to billing (the gateway would add its own tokens)."""
    headers = {"authorization": f"Bearer {make_token(stack)}"}
    async with httpx.AsyncClient(base_url=stack.urls["billing"], headers=headers, timeout=30) as client:
        yield client


def readiness(wo: str) -> ReadinessChanged:
    return ReadinessChanged(
        work_order_id=wo,
        readiness=Readiness(completeness_score=10, missing_fields=["x"], missing_evidence=[]),
        evidence_version=1,
    )


def after(wo: str, version: int) -> dict[str, str]:
    return {"x-zenops-after": f"workorders:work-order:{wo}:{version}"}


class TestAfterOnWorkOrderReads:
    async def test_waits_for_the_version_then_answers(
        self, jwt_direct: httpx.AsyncClient, producer: AIOKafkaProducer, bh: Any
    ) -> None:
        wo = str(uuid.uuid4())
        await bh.publish(producer, bh.work_order_created(wo), key=wo, version=1)
        # An event billing otherwise ignores still advances the row's source version.
        await bh.publish(producer, readiness(wo), key=wo, version=2)
        resp = await jwt_direct.get(f"/v1/billing/work-orders/{wo}?wait=20000", headers=after(wo, 2))
        assert resp.status_code == 200, resp.text
        assert resp.json()["work_order_billing"]["source_version"] == 2

    async def test_unreached_version_is_bounded_by_the_wait_budget(
        self, jwt_direct: httpx.AsyncClient, producer: AIOKafkaProducer, bh: Any
    ) -> None:
        wo = str(uuid.uuid4())
        await bh.publish(producer, bh.work_order_created(wo), key=wo, version=1)

        async def seen() -> bool:
            return (await jwt_direct.get(f"/v1/billing/work-orders/{wo}")).status_code == 200

        await bh.eventually(seen, what="work order projected")
        started = time.monotonic()
        resp = await jwt_direct.get(f"/v1/billing/work-orders/{wo}?wait=400", headers=after(wo, 9))
        elapsed = time.monotonic() - started
        assert resp.status_code == 200, resp.text
        assert resp.json()["work_order_billing"]["source_version"] == 1
        assert 0.35 <= elapsed < 5.0

    async def test_unknown_token_kinds_do_not_wait(self, jwt_direct: httpx.AsyncClient) -> None:
        wo = str(uuid.uuid4())
        started = time.monotonic()
        resp = await jwt_direct.get(
            f"/v1/billing/work-orders/{wo}?wait=3000",
            headers={"x-zenops-after": f"evidence:work-order-evidence:{wo}:4"},
        )
        assert resp.status_code == 404
        assert resp.json()["code"] == "WORK_ORDER_NOT_FOUND"
        assert time.monotonic() - started < 2.5

    async def test_bad_wait_is_a_400(self, jwt_direct: httpx.AsyncClient) -> None:
        wo = str(uuid.uuid4())
        resp = await jwt_direct.get(f"/v1/billing/work-orders/{wo}?wait=soon", headers=after(wo, 1))
        assert resp.status_code == 400
        assert resp.json()["code"] == "INVALID_WAIT"


class TestAfterOnAccountStatus:
    async def test_account_status_waits_for_the_acceptance(
        self, stack: StackInfo, studio: httpx.AsyncClient, producer: AIOKafkaProducer, bh: Any
    ) -> None:
        """A token of the DATA_PENDING move: the status read already shows the acceptance hold."""
        account = await bh.make_account(studio, wallet=3)
        wo = str(uuid.uuid4())
        await bh.publish(
            producer, bh.work_order_created(wo, external_key=account.external_key), key=wo, version=1
        )
        await bh.publish(
            producer,
            StatusChanged(
                work_order_id=wo,
                from_status="DRAFT",
                to_status="DATA_PENDING",
                acceptance_request=AcceptanceRequest(
                    tenant_id=TEST_TENANT,
                    report_type="VALUATION",
                    bank_name="State Bank of India",
                    billing_external_key=account.external_key,
                ),
            ),
            key=wo,
            version=2,
        )
        headers = {"x-service-token": stack.secrets.service_token, **after(wo, 2)}
        async with httpx.AsyncClient(base_url=stack.urls["billing"], headers=headers, timeout=30) as client:
            by_id = await client.get(f"/v1/billing/accounts/{account.id}/status?wait=20000")
            assert by_id.status_code == 200, by_id.text
            assert by_id.json()["credit"]["reserved"] == 1
            by_key = await client.get(
                "/v1/billing/accounts/status", params={"external_key": account.external_key, "wait": 20000}
            )
            assert by_key.status_code == 200
            assert by_key.json()["credit"]["available"] == 2
