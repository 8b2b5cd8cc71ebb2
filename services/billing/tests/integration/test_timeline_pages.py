"""The credit timeline through the gateway (domain.md §7.5): service invoices among ledger and usage, and
cursor pages (``cursor`` / ``x-next-cursor``) that join without gaps or repeats, on the studio route and
on V1's monitor route."""

from __future__ import annotations

import uuid
from typing import Any

import asyncpg
import httpx
import pytest
from aiokafka import AIOKafkaProducer

from devstack.testing.fixtures import TEST_TENANT
from shared.contracts.workorders import AcceptanceRequest, StatusChanged

pytestmark = pytest.mark.stack

ROUTES = ("studio", "/v1/control/credits/timeline"), ("svc", "/v1/billing/timeline")


async def postpaid_account_with_history(
    studio: httpx.AsyncClient,
    svc: httpx.AsyncClient,
    producer: AIOKafkaProducer,
    admin_db: asyncpg.Connection,
    bh: Any,
) -> tuple[Any, str]:
    """A POSTPAID account with grants (ledger + V2 usage), V1 events and the draft acceptance invoice of a
    work order billed to it (drafted by the real saga); the account and the invoice id."""
    acc = await bh.make_account(studio, mode="postpaid")
    for n in range(3):
        grant = await studio.post(
            f"/v1/control/accounts/{acc.id}/credits/grant", json={"amount": 1, "idempotency_key": f"g{n}"}
        )
        assert grant.status_code == 201, grant.text
    for n in range(4):
        event = await svc.post(
            "/v1/billing/events",
            json={
                "source_system": "v1",
                "event_type": "invoice_sent",
                "idempotency_key": f"v1:invoice_sent:{uuid.uuid4()}",
                "payload_json": {"invoice_id": n, "total_amount": "10.50"},
                "external_account_key": acc.external_key,
            },
        )
        assert event.status_code == 201, event.text
    wo = str(uuid.uuid4())
    created = bh.work_order_created(wo, external_key=acc.external_key)
    await bh.publish(producer, created, key=wo, version=1)
    request = AcceptanceRequest(
        report_type="VALUATION",
        bank_name="State Bank of India",
        billing_external_key=acc.external_key,
        tenant_id=TEST_TENANT,
    )
    moved = StatusChanged(
        work_order_id=wo, from_status="DRAFT", to_status="DATA_PENDING", acceptance_request=request
    )
    await bh.publish(producer, moved, key=wo, version=2)

    async def drafted() -> str | None:
        found = await admin_db.fetchval(
            "SELECT id::text FROM billing.service_invoices WHERE work_order_id = $1", uuid.UUID(wo)
        )
        return str(found) if found else None

    invoice_id: str = await bh.eventually(drafted, what=f"acceptance invoice of {wo}")
    return acc, invoice_id


async def walk(client: httpx.AsyncClient, path: str, params: dict[str, Any]) -> list[list[dict[str, Any]]]:
    """Every page of a timeline, following ``x-next-cursor`` until a page comes without one."""
    pages: list[list[dict[str, Any]]] = []
    cursor: str | None = None
    while True:
        resp = await client.get(path, params={**params, **({"cursor": cursor} if cursor else {})})
        assert resp.status_code == 200, resp.text
        assert isinstance(resp.json(), list)  # a bare list stays a bare list
        pages.append(resp.json())
        cursor = resp.headers.get("x-next-cursor")
        if cursor is None:
            return pages
        assert len(pages) < 100, "the cursor does not advance"


def identity(item: dict[str, Any]) -> tuple[str, str | None, str | None, str | None]:
    return (item["source"], item["idempotency_key"], item["ref_id"], item["timestamp"])


class TestTimeline:
    async def test_service_invoices_join_the_timeline(
        self,
        studio: httpx.AsyncClient,
        svc: httpx.AsyncClient,
        producer: AIOKafkaProducer,
        admin_db: asyncpg.Connection,
        bh: Any,
    ) -> None:
        acc, invoice_id = await postpaid_account_with_history(studio, svc, producer, admin_db, bh)
        resp = await studio.get("/v1/control/credits/timeline", params={"account_id": acc.id, "limit": 500})
        assert resp.status_code == 200, resp.text
        assert "x-next-cursor" not in resp.headers
        items = resp.json()
        assert {i["source"] for i in items} == {"CREDITS_LEDGER", "USAGE_V1", "USAGE_V2", "SERVICE_INVOICE"}
        invoice = next(i for i in items if i["source"] == "SERVICE_INVOICE")
        assert invoice == {
            "timestamp": invoice["timestamp"],
            "source": "SERVICE_INVOICE",
            "account_id": acc.id,
            "tenant_id": TEST_TENANT,
            "event_type": "INVOICE_DRAFT",
            "ref_type": "service_invoice",
            "ref_id": invoice_id,
            "amount": 100.0,
            "idempotency_key": None,
            "payload_json": {
                "invoice_id": invoice_id,
                "invoice_number": None,
                "status": "DRAFT",
                "amount_due": 100.0,
                "amount_paid": 0.0,
                "is_paid": False,
            },
        }
        stamps = [i["timestamp"] for i in items]
        assert stamps == sorted(stamps, reverse=True)

        one = await studio.get(
            "/v1/control/credits/timeline",
            params={"account_id": acc.id, "ref_type": "service_invoice", "ref_id": invoice_id},
        )
        assert [i["ref_id"] for i in one.json() if i["source"] == "SERVICE_INVOICE"] == [invoice_id]
        assert [i for i in one.json() if i["source"] == "CREDITS_LEDGER"] == []  # no ledger row has that ref

    @pytest.mark.parametrize(("who", "path"), ROUTES)
    @pytest.mark.parametrize("limit", [1, 3])
    async def test_pages_join_without_gaps_or_repeats(
        self,
        studio: httpx.AsyncClient,
        svc: httpx.AsyncClient,
        producer: AIOKafkaProducer,
        admin_db: asyncpg.Connection,
        bh: Any,
        who: str,
        path: str,
        limit: int,
    ) -> None:
        acc, _ = await postpaid_account_with_history(studio, svc, producer, admin_db, bh)
        client = studio if who == "studio" else svc
        whole = await client.get(path, params={"account_id": acc.id, "limit": 500})
        everything = whole.json()
        assert len(everything) >= 3 + 3 + 4 + 1  # grants, their V2 usage, V1 events, the invoice
        pages = await walk(client, path, {"account_id": acc.id, "limit": limit})
        assert all(0 < len(p) <= limit for p in pages)
        joined = [i for p in pages for i in p]
        assert [identity(i) for i in joined] == [identity(i) for i in everything]
        assert len({identity(i) for i in joined}) == len(joined)

    async def test_the_v1_route_pages_by_external_key(
        self,
        studio: httpx.AsyncClient,
        svc: httpx.AsyncClient,
        producer: AIOKafkaProducer,
        admin_db: asyncpg.Connection,
        bh: Any,
    ) -> None:
        acc, _ = await postpaid_account_with_history(studio, svc, producer, admin_db, bh)
        by_key = await walk(svc, "/v1/billing/timeline", {"external_key": acc.external_key, "limit": 4})
        by_id = await walk(studio, "/v1/control/credits/timeline", {"account_id": acc.id, "limit": 4})
        assert by_key == by_id

    @pytest.mark.parametrize(("who", "path"), ROUTES)
    async def test_a_bad_cursor_is_400_invalid_cursor(
        self, studio: httpx.AsyncClient, svc: httpx.AsyncClient, bh: Any, who: str, path: str
    ) -> None:
        acc = await bh.make_account(studio, mode="postpaid")
        client = studio if who == "studio" else svc
        for cursor in ("nonsense", "eyJ2IjoxfQ", str(uuid.uuid4())):
            resp = await client.get(path, params={"account_id": acc.id, "cursor": cursor})
            assert (resp.status_code, resp.json()["code"]) == (400, "INVALID_CURSOR"), resp.text
        too_long = await client.get(path, params={"account_id": acc.id, "cursor": "x" * 513})
        assert too_long.status_code == 400
        for limit in (0, 501):
            resp = await client.get(path, params={"account_id": acc.id, "limit": limit})
            assert (resp.status_code, resp.json()["code"]) == (400, "VALIDATION_FAILED")
