"""The V1 example against the real stack, and what V2 keeps of it (ledger, holds, usage events).

The example runs as V1 would: a separate process that knows only the bridge's settings.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
from typing import Any

import asyncpg
import pytest

from devstack.launcher import StackInfo
from devstack.testing.polling import eventually
from v1_bridge.sources import TopicStatusSource

pytestmark = pytest.mark.stack


def bridge_env(stack: StackInfo) -> dict[str, str]:
    """The process environment of the example: the bridge's settings only (no ZENOPS_* leaks in)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ZENOPS_", "V1_BRIDGE_"))}
    return env | {
        "V1_BRIDGE_BASE_URL": stack.urls["gateway"],
        "V1_BRIDGE_SERVICE_TOKEN": stack.secrets.service_token,
        "V1_BRIDGE_KAFKA_BOOTSTRAP": stack.kafka_bootstrap,
        "V1_BRIDGE_STUDIO_ADMIN_TOKEN": stack.secrets.studio_admin_token,
    }


async def run_example(stack: StackInfo, *args: str) -> tuple[int, str, str]:
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "v1_bridge.examples.play_v1",
        *args,
        env=bridge_env(stack),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await proc.communicate()
    assert proc.returncode is not None
    return proc.returncode, out.decode(), err.decode()


async def test_the_v1_example_runs_green_and_v2_keeps_its_story(
    stack: StackInfo, admin_db: asyncpg.Connection
) -> None:
    code, out, err = await run_example(stack, "--json")
    assert code == 0, f"{out}\n{err}"
    played: dict[str, Any] = json.loads(out.strip().splitlines()[-1])
    key = played["account_key"]
    account_id = await admin_db.fetchval("SELECT id::text FROM billing.accounts WHERE external_key = $1", key)
    assert account_id is not None

    holds = await admin_db.fetch(
        "SELECT id::text, status, amount, ref_type, ref_id, idempotency_key FROM billing.holds WHERE account_id = $1",
        account_id,
    )
    assert [dict(h) for h in holds] == [
        {
            "id": played["hold_id"],
            "status": "consumed",
            "amount": 1,
            "ref_type": "commission_request",
            "ref_id": str(played["commission_id"]),
            "idempotency_key": f"v1:credit_reserve:commission:{played['commission_id']}",
        }
    ]
    ledger = await admin_db.fetch(
        "SELECT reason, delta, idempotency_key FROM billing.ledger_entries WHERE account_id = $1 ORDER BY created_at",
        account_id,
    )
    by_key = {r["idempotency_key"]: (r["reason"], r["delta"]) for r in ledger}
    assert by_key[f"v1:credit_consume:deliverable:{played['deliverable_id']}"][0] == "consume"
    assert [r["idempotency_key"] for r in ledger].count(
        f"v1:credit_reserve:commission:{played['commission_id']}"
    ) <= 1  # the retried approval added nothing

    usage = await admin_db.fetch(
        "SELECT idempotency_key, event_type, account_id::text AS account_id, unmatched, payload_json "
        "FROM billing.usage_events WHERE source_system = 'v1' AND external_account_key = $1 ORDER BY idempotency_key",
        key,
    )
    assert [(u["idempotency_key"], u["event_type"]) for u in usage] == [
        (f"v1:deliverables_released:{played['deliverable_id']}", "deliverables_released"),
        (f"v1:work_accepted:commission:{played['commission_id']}", "work_accepted"),
    ]
    assert all(u["account_id"] == account_id and u["unmatched"] is False for u in usage)
    accepted = json.loads(usage[1]["payload_json"])
    assert accepted == {
        "commission_request_id": str(played["commission_id"]),
        "assignment_id": accepted["assignment_id"],
        "assignment_code": f"A-{accepted['assignment_id']}",
        "fees": "1500.00",
    }

    # The same story through the compacted topic: the account's last status shows the credit spent.
    async with TopicStatusSource(stack.kafka_bootstrap) as topic:
        assert await topic.wait_caught_up(60)

        async def spent() -> dict[str, Any] | None:
            view = topic.known(key)
            return view if view is not None and view["credit"] == played["credit_after"] else None

        view = await eventually(spent, f"{key}'s spent credit on billing.account-status.v1")
        assert view["billing_mode"] == "CREDIT"
        assert (await topic.fetch(account_id))["external_key"] == key
