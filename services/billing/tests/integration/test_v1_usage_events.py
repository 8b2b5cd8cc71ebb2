"""``v1.billing-events.v1``: V1 usage events stored once by V1's idempotency key (domain.md §7.5, §8.2)."""

from __future__ import annotations

import json
import uuid
from typing import Any

import asyncpg
import httpx
import pytest
from aiokafka import AIOKafkaProducer

from billing_service.domain.accounts import v1_invoice_event_idempotency_key
from shared.contracts.v1 import V1UsageEvent

pytestmark = pytest.mark.stack


async def usage_rows(admin_db: asyncpg.Connection, key: str) -> list[dict[str, Any]]:
    rows = await admin_db.fetch(
        "SELECT account_id::text AS account_id, tenant_id::text AS tenant_id, external_account_key, "
        "source_system, event_type, payload_json, unmatched FROM billing.usage_events "
        "WHERE source_system = 'v1' AND idempotency_key = $1",
        key,
    )
    return [dict(r) for r in rows]


def event(account_key: str, idem: str, **payload: Any) -> V1UsageEvent:
    return V1UsageEvent(
        event_type="invoice_created",
        external_account_key=account_key,
        payload_json={"invoice_id": str(uuid.uuid4()), "total_amount": "1180.00", **payload},
        idempotency_key=idem,
    )


async def stored(admin_db: asyncpg.Connection, bh: Any, idem: str) -> list[dict[str, Any]]:
    async def check() -> list[dict[str, Any]]:
        return await usage_rows(admin_db, idem)

    result: list[dict[str, Any]] = await bh.eventually(check, what=f"usage event {idem}")
    return result


class TestV1UsageEvents:
    async def test_known_account_is_matched_and_duplicates_change_nothing(
        self, studio: httpx.AsyncClient, producer: AIOKafkaProducer, admin_db: asyncpg.Connection, bh: Any
    ) -> None:
        account = await bh.make_account(studio, mode="postpaid")
        idem = f"v1:invoice_created:{uuid.uuid4()}:0:abcdef0123456789"
        first = event(account.external_key, idem, note="first")
        env = await bh.publish(producer, first, key=account.external_key, version=1, tenant_id=None)
        rows = await stored(admin_db, bh, idem)
        assert len(rows) == 1
        row = rows[0]
        assert row["account_id"] == account.id
        assert row["tenant_id"] == account.tenant_id
        assert row["unmatched"] is False
        assert row["event_type"] == "invoice_created"
        assert json.loads(row["payload_json"])["note"] == "first"

        # The same envelope again, and a new envelope with the same V1 key but another payload.
        await bh.publish(producer, first, key=account.external_key, version=1, envelope=env, tenant_id=None)
        await bh.publish(
            producer, event(account.external_key, idem, note="second"), key=account.external_key, version=2
        )
        # A marker behind them on the same key (same partition): once it is stored, they were handled.
        marker = f"v1:marker:{uuid.uuid4()}"
        await bh.publish(producer, event(account.external_key, marker), key=account.external_key, version=3)
        assert len(await stored(admin_db, bh, marker)) == 1
        after = await usage_rows(admin_db, idem)
        assert len(after) == 1
        assert json.loads(after[0]["payload_json"])["note"] == "first"

        timeline = await studio.get("/v1/control/credits/timeline", params={"account_id": account.id})
        assert timeline.status_code == 200, timeline.text
        keys = [i["idempotency_key"] for i in timeline.json() if i["source"] == "USAGE_V1"]
        assert keys.count(idem) == 1
        assert marker in keys

    async def test_unknown_account_is_stored_unmatched(
        self, producer: AIOKafkaProducer, admin_db: asyncpg.Connection, bh: Any
    ) -> None:
        key = bh.unique_key()
        idem = f"v1:work_accepted:commission:{uuid.uuid4()}"
        await bh.publish(producer, event(key, idem), key=key, version=1, tenant_id=None)
        rows = await stored(admin_db, bh, idem)
        assert len(rows) == 1
        assert rows[0]["account_id"] is None
        assert rows[0]["tenant_id"] is None
        assert rows[0]["unmatched"] is True
        assert rows[0]["external_account_key"] == key

    async def test_v1_invoice_events_by_alias_key_resolve_and_stay_single(
        self, studio: httpx.AsyncClient, producer: AIOKafkaProducer, admin_db: asyncpg.Connection, bh: Any
    ) -> None:
        """V1's invoice lifecycle as it arrives on the topic: V1's ``external_associate`` spelling of the
        partner key (domain.md §8.1) matches the ``v1:partner:`` account, decimal-string amounts are kept
        as sent, and a re-emit under V1's key (new ``event_emitted_at``) changes nothing."""
        account = await bh.make_account(studio, mode="postpaid")
        alias = account.external_key.replace("v1:partner:", "v1:external_associate:")
        invoice_id = uuid.uuid4().int % 10**9
        keys = []
        for n, (kind, status, due) in enumerate(
            [("invoice_issued", "ISSUED", "1180.00"), ("payment_recorded", "PARTIALLY_PAID", "180.00")]
        ):
            key = v1_invoice_event_idempotency_key(
                kind, invoice_id, n or None, status, "2026-02-24T10:00:00", due
            )
            payload = {
                "invoice_id": invoice_id,
                "status": status,
                "total_amount": "1180.00",
                "amount_due": due,
            }
            body = V1UsageEvent(
                event_type=kind, external_account_key=alias, payload_json=payload, idempotency_key=key
            )
            await bh.publish(producer, body, key=alias, version=1, tenant_id=None)
            emitted_again = V1UsageEvent(
                event_type=kind,
                external_account_key=alias,
                payload_json={**payload, "event_emitted_at": "again"},
                idempotency_key=key,
            )
            await bh.publish(producer, emitted_again, key=alias, version=1, tenant_id=None)
            keys.append((key, payload))
        marker = f"v1:marker:{uuid.uuid4()}"
        await bh.publish(producer, event(alias, marker), key=alias, version=1, tenant_id=None)
        assert len(await stored(admin_db, bh, marker)) == 1
        for key, payload in keys:
            rows = await usage_rows(admin_db, key)
            assert len(rows) == 1
            assert (rows[0]["account_id"], rows[0]["unmatched"]) == (account.id, False)
            assert rows[0]["external_account_key"] == account.external_key
            assert json.loads(rows[0]["payload_json"]) == payload

    async def test_a_channel_key_is_stored_unmatched(
        self, producer: AIOKafkaProducer, admin_db: asyncpg.Connection, bh: Any
    ) -> None:
        key = f"v1:channel:{uuid.uuid4().hex[:8]}"
        idem = f"v1:work_accepted:commission:{uuid.uuid4()}"
        await bh.publish(producer, event(key, idem), key=key, version=1, tenant_id=None)
        rows = await stored(admin_db, bh, idem)
        assert [(r["account_id"], r["unmatched"], r["external_account_key"]) for r in rows] == [
            (None, True, key)
        ]
