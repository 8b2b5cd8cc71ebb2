"""Issue 4 done-when: a client that knows nothing of tokens logs in (dev), writes in one service and
immediately reads the effect through another service's route — all through the gateway.
"""

from __future__ import annotations

import uuid

import httpx
import pytest

from devstack.launcher import StackInfo
from devstack.testing.data import TEST_TENANT, WORK_ORDERS, exterior_photos
from devstack.testing.gateway import new_work_order_id

pytestmark = pytest.mark.stack


class TestReadYourWritesAcrossServices:
    async def test_linked_evidence_is_visible_at_once_in_the_work_order_detail(
        self, stack: StackInfo
    ) -> None:
        user = str(uuid.uuid4())
        async with httpx.AsyncClient(base_url=stack.urls["gateway"], timeout=30) as client:
            login = await client.post(
                "/v1/auth/login",
                json={"aud": "web", "tenant_id": TEST_TENANT, "user_id": user, "sub": user, "roles": ["ops"]},
            )
            assert login.status_code == 201, login.text
            client.headers["authorization"] = f"Bearer {login.json()['access_token']}"

            for round_no in range(3):
                wo = await new_work_order_id(client)
                # Written in the evidence service, right after the work-orders write.
                linked = await client.post(
                    f"{WORK_ORDERS}/{wo}/evidence/link",
                    json={"items": exterior_photos(2, prefix=f"ext-{round_no}")},
                )
                assert linked.status_code == 201, linked.text
                linked_ids = sorted(item["id"] for item in linked.json()["evidence_items"])

                # Read at once through the work-orders service: it must already reflect the link.
                detail = await client.get(f"{WORK_ORDERS}/{wo}")
                assert detail.status_code == 200, detail.text
                body = detail.json()
                assert sorted(item["id"] for item in body["evidence_items"]) == linked_ids
                assert not any("Exterior Photos" in line for line in body["readiness"]["missing_evidence"])
