"""HTTP idempotency of the mutating work-order routes on the real stack (architecture §5).

``PATCH …/contract``, ``POST …/status`` and ``POST …/comments`` with an ``Idempotency-Key``: the same key
and parameters answer the stored response and write nothing; other parameters answer 409
``IDEMPOTENCY_KEY_REUSED`` and write nothing; the scope is tenant + route + work order. A status request
answered 202 (saga not settled yet) is not stored: its retry answers the settled outcome of the first
request without starting a second saga.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
import pytest

from devstack.testing.data import WORK_ORDERS as WO
from devstack.testing.gateway import new_work_order_id

pytestmark = pytest.mark.stack

VERSION = "x-zenops-version"

Query = Callable[..., Awaitable[Any]]

PATCH = {
    "patch": {
        "property": {"address": "Idempotent address", "land_area": {"value": 1000, "unit": "sqft"}},
        "valuation_inputs": {"land_value": 2000000, "building_value": 3000000},
    },
    "ruleset_version": "m5.4-v1",
}


def key_header() -> dict[str, str]:
    return {"idempotency-key": f"wo-idem-{uuid.uuid4()}"}


async def written(db: Query, wo: str) -> dict[str, int]:
    """Everything a mutating request of these routes can write for one work order (the row version is
    left out: readiness_changed events follow the evidence service's asynchronous answers)."""
    wid = uuid.UUID(wo)
    return {
        "snapshots": await db(
            "SELECT count(*) FROM workorders.contract_snapshots WHERE work_order_id = $1", wid
        ),
        "rules_runs": await db("SELECT count(*) FROM workorders.rules_runs WHERE work_order_id = $1", wid),
        "comments": await db("SELECT count(*) FROM workorders.comments WHERE work_order_id = $1", wid),
        "snapshot_events": await db(
            "SELECT count(*) FROM workorders.outbox WHERE key = $1 AND envelope->>'type' = 'contract_snapshotted'",
            wo,
        ),
        "status_events": await db(
            "SELECT count(*) FROM workorders.outbox WHERE key = $1 "
            "AND envelope->>'type' IN ('status_changed', 'cancelled', 'closed', 'reopened', 'ready_for_render')",
            wo,
        ),
    }


async def status_events_into(db: Query, wo: str, target: str) -> int:
    return int(
        await db(
            "SELECT count(*) FROM workorders.outbox WHERE key = $1 AND envelope->>'type' = 'status_changed' "
            "AND envelope->'payload'->>'to_status' = $2",
            wo,
            target,
        )
    )


def assert_same(first: httpx.Response, again: httpx.Response) -> None:
    assert again.status_code == first.status_code, again.text
    assert again.json() == first.json()
    assert again.headers.get(VERSION) == first.headers.get(VERSION)


def assert_reused(resp: httpx.Response) -> None:
    assert resp.status_code == 409, resp.text
    assert resp.json()["code"] == "IDEMPOTENCY_KEY_REUSED"


async def sent_twice(
    gateway: httpx.AsyncClient, db: Query, request: tuple[str, str, str], body: Any, *, other: Any = None
) -> tuple[httpx.Response, dict[str, int]]:
    """The first answer to ``body`` sent as ``(method, work order, route)`` under a new key and what it
    wrote, after checking that sending it again answers the same and that ``other`` parameters under the
    key answer 409 ``IDEMPOTENCY_KEY_REUSED``, neither writing anything."""
    method, wo, route = request
    url, key = f"{WO}/{wo}/{route}", key_header()
    first = await gateway.request(method, url, json=body, headers=key)
    after_first = await written(db, wo)
    assert_same(first, await gateway.request(method, url, json=body, headers=key))
    assert await written(db, wo) == after_first
    if other is not None:
        assert_reused(await gateway.request(method, url, json=other, headers=key))
        assert await written(db, wo) == after_first
    return first, after_first


class TestContractPatch:
    async def test_replay_answers_the_stored_response_and_writes_nothing(
        self, gateway: httpx.AsyncClient, db: Query
    ) -> None:
        wo = await new_work_order_id(gateway)
        first, after_first = await sent_twice(gateway, db, ("PATCH", wo, "contract"), PATCH)
        assert first.status_code == 200, first.text
        assert after_first["snapshots"] == 2
        assert after_first["snapshot_events"] == 1

    async def test_other_parameters_are_409_and_write_nothing(
        self, gateway: httpx.AsyncClient, db: Query
    ) -> None:
        wo = await new_work_order_id(gateway)
        other = {**PATCH, "patch": {"property": {"address": "Another address"}}}
        first, _ = await sent_twice(gateway, db, ("PATCH", wo, "contract"), PATCH, other=other)
        assert first.status_code == 200, first.text
        latest = (await gateway.get(f"{WO}/{wo}")).json()["latest_snapshot"]
        assert latest["contract_json"]["property"]["address"] == "Idempotent address"

    async def test_the_scope_is_per_work_order(self, gateway: httpx.AsyncClient, db: Query) -> None:
        first_wo, second_wo = await new_work_order_id(gateway), await new_work_order_id(gateway)
        key = key_header()
        first = await gateway.patch(f"{WO}/{first_wo}/contract", json=PATCH, headers=key)
        second = await gateway.patch(f"{WO}/{second_wo}/contract", json=PATCH, headers=key)
        assert first.status_code == second.status_code == 200, second.text
        assert second.json()["work_order_id"] == second_wo
        assert (await written(db, second_wo))["snapshots"] == 2


class TestComments:
    async def test_replay_answers_the_stored_comment_and_other_body_is_409(
        self, gateway: httpx.AsyncClient, db: Query
    ) -> None:
        wo = await new_work_order_id(gateway)
        body = {"comment_type": "NOTES", "body": "site visit done"}
        other = {**body, "body": "other text"}
        first, after_first = await sent_twice(gateway, db, ("POST", wo, "comments"), body, other=other)
        assert first.status_code == 201, first.text
        assert first.json()["body"] == "site visit done"
        assert after_first["comments"] == 1
        listed = (await gateway.get(f"{WO}/{wo}/comments")).json()["items"]
        assert [c["id"] for c in listed] == [first.json()["id"]]

    async def test_without_a_key_every_post_is_a_new_comment(
        self, gateway: httpx.AsyncClient, db: Query
    ) -> None:
        wo = await new_work_order_id(gateway)
        body = {"comment_type": "NOTES", "body": "twice"}
        for _ in range(2):
            assert (await gateway.post(f"{WO}/{wo}/comments", json=body)).status_code == 201
        assert (await written(db, wo))["comments"] == 2


class TestStatus:
    async def test_replay_of_a_transition_answers_the_stored_detail_and_writes_nothing(
        self, gateway: httpx.AsyncClient, db: Query
    ) -> None:
        wo = await new_work_order_id(gateway)
        body, other = (
            {"status": "EVIDENCE_PENDING", "note": "collecting"},
            {"status": "CANCELLED", "note": "x"},
        )
        first, after_first = await sent_twice(gateway, db, ("POST", wo, "status"), body, other=other)
        assert first.status_code == 201, first.text
        assert first.json()["work_order"]["status"] == "EVIDENCE_PENDING"
        assert after_first["status_events"] == 1
        assert (await gateway.get(f"{WO}/{wo}")).json()["work_order"]["status"] == "EVIDENCE_PENDING"

    async def test_a_rejection_is_stored_and_replayed(self, gateway: httpx.AsyncClient, db: Query) -> None:
        wo = await new_work_order_id(gateway)
        body = {"status": "READY_FOR_RENDER"}
        first, _ = await sent_twice(gateway, db, ("POST", wo, "status"), body)
        assert first.status_code == 400, first.text
        assert first.json()["code"] == "INVALID_STATUS_TRANSITION", first.text

    async def test_a_rejected_acceptance_is_replayed_without_a_second_saga(
        self, gateway: httpx.AsyncClient, db: Query
    ) -> None:
        # A named account that does not exist is never created implicitly: billing rejects it.
        wo = await new_work_order_id(
            gateway, billing_external_key=f"v1:partner:{uuid.uuid4().int % 10**9 + 10**9}"
        )
        body = {"status": "DATA_PENDING", "note": "accept please"}
        # Without the key the second send would start a second acceptance saga from DRAFT.
        first, _ = await sent_twice(gateway, db, ("POST", wo, "status"), body)
        assert first.status_code == 409, first.text
        assert first.json()["code"] == "ACCOUNT_NOT_ACTIVE", first.text
        assert await status_events_into(db, wo, "DATA_PENDING") == 1

    async def test_a_pending_202_is_not_stored_and_the_retry_answers_the_outcome(
        self, gateway: httpx.AsyncClient, db: Query
    ) -> None:
        wo = await new_work_order_id(gateway)
        key = key_header()
        body = {"status": "DATA_PENDING"}
        pending = await gateway.post(f"{WO}/{wo}/status", json=body, headers=key, params={"wait": 0})
        assert pending.status_code == 202, pending.text
        request_id = pending.json()["acceptance"]["request_message_id"]

        settled = await gateway.post(f"{WO}/{wo}/status", json=body, headers=key, params={"wait": 10000})
        assert settled.status_code == 201, settled.text
        acceptance = settled.json()["work_order"]["acceptance"]
        assert acceptance["status"] == "ACCEPTED"
        assert acceptance["request_message_id"] == request_id
        assert await status_events_into(db, wo, "DATA_PENDING") == 1
        after = await written(db, wo)

        assert_same(settled, await gateway.post(f"{WO}/{wo}/status", json=body, headers=key))
        assert await written(db, wo) == after
        assert_reused(await gateway.post(f"{WO}/{wo}/status", json={"status": "CANCELLED"}, headers=key))
        assert await written(db, wo) == after
