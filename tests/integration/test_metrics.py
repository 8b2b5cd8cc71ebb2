"""``/metrics`` of the running services after a flow: each family ops asks for first, with plausible values.

The flow (billing, the service with every kind of figure): status reads through the gateway (HTTP
latency by route template), a V1 usage event and a release request (consumer offsets of two topics, a
gate decision), a message that is not an envelope (dead-lettered) and one whose payload does not parse
(dead-lettered and its key parked). The parked key is discarded afterwards with the operator command.
"""

from __future__ import annotations

import os
import subprocess
import sys
import uuid

import asyncpg
import httpx
import pytest
from aiokafka import AIOKafkaProducer
from prometheus_client.parser import text_string_to_metric_families

from devstack.launcher import StackInfo
from devstack.testing.gateway import create_account
from devstack.testing.messaging import RawEvent, publish
from devstack.testing.polling import eventually
from shared.contracts.factory import ReleaseRequested
from shared.contracts.topics import FACTORY_RELEASE_REQUESTED, V1_BILLING_EVENTS
from shared.contracts.v1 import V1UsageEvent

pytestmark = pytest.mark.stack

DLQ = f"{V1_BILLING_EVENTS}.dlq"
Samples = dict[str, list[tuple[dict[str, str], float]]]


async def scrape(stack: StackInfo, service: str) -> Samples:
    """Every sample of the service's ``/metrics``, by sample name."""
    async with httpx.AsyncClient(base_url=stack.urls[service], timeout=30) as client:
        resp = await client.get("/metrics")
    assert resp.status_code == 200, resp.text
    samples: Samples = {}
    for family in text_string_to_metric_families(resp.text):
        for s in family.samples:
            samples.setdefault(s.name, []).append((dict(s.labels), float(s.value)))
    return samples


def values(samples: Samples, name: str, **labels: str) -> list[float]:
    return [v for lab, v in samples.get(name, []) if all(lab.get(k) == want for k, want in labels.items())]


def total(samples: Samples, name: str, **labels: str) -> float:
    return sum(values(samples, name, **labels))


def operator(stack: StackInfo, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(  # noqa: S603  this interpreter with the test's fixed argv, no shell
        [sys.executable, "-m", "billing_service.main", *args],
        env={**os.environ, **stack.env("billing")},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


async def test_each_family_is_on_metrics_after_a_flow(
    stack: StackInfo,
    studio: httpx.AsyncClient,
    producer: AIOKafkaProducer,
    admin_db: asyncpg.Connection,
) -> None:
    before = await scrape(stack, "billing")
    dlq_before = total(before, "zenops_dlq_messages", topic=DLQ)
    duplicates_before = total(before, "zenops_consumer_duplicates_total", consumer="billing")
    run = uuid.uuid4().hex[:10]

    # HTTP: a status read that finds the account and one that does not, through the gateway.
    account_key = f"v1:partner:metrics{run}"
    account_id = await create_account(studio, display_name="metrics", external_key=account_key)
    service = {"x-service-token": stack.secrets.service_token}
    async with httpx.AsyncClient(base_url=stack.urls["gateway"], headers=service, timeout=30) as v1:
        assert (await v1.get(f"/v1/billing/accounts/{account_id}/status")).status_code == 200
        assert (await v1.get(f"/v1/billing/accounts/{uuid.uuid4()}/status")).status_code == 404

    # Consumed messages: a V1 usage event and a release request (decided by the gate).
    usage_key = f"v1:metrics:{run}"
    event = V1UsageEvent(
        event_type="invoice_created", external_account_key=account_key, idempotency_key=usage_key
    )
    await publish(producer, event, aggregate_id=account_key, tenant_id=None)
    release_id = str(uuid.uuid4())
    work_order = str(uuid.uuid4())
    release = ReleaseRequested(
        release_id=release_id,
        work_order_id=work_order,
        idempotency_key=f"metrics-{run}",
        override=False,
        pack_id=str(uuid.uuid4()),
        job_status="completed",
        requested_at="2026-02-24T10:00:00.000Z",
    )
    sent = await publish(producer, release, aggregate_id=work_order)
    # the same message again (a relay that re-sent it): the inbox absorbs it and counts it
    await publish(producer, sent, topic=FACTORY_RELEASE_REQUESTED)

    # Poison: not an envelope at all (dead-lettered), and a payload that does not parse (dead-lettered
    # and its key parked).
    await producer.send_and_wait(V1_BILLING_EVENTS, value=b"not an envelope", key=f"v1:poison:{run}".encode())
    parked_key = f"v1:parked:{run}"
    await publish(
        producer,
        RawEvent(V1_BILLING_EVENTS, V1UsageEvent.TYPE, {"nonsense": True}),
        aggregate_id=parked_key,
        tenant_id=None,
    )

    async def decided() -> str | None:
        result: str | None = await admin_db.fetchval(
            "SELECT result FROM billing.gate_decisions WHERE release_id = $1", release_id
        )
        return result

    result = await eventually(decided, f"the gate decision of {release_id}")

    async def settled() -> Samples | None:
        now = await scrape(stack, "billing")
        ready = (
            total(now, "zenops_dlq_messages", topic=DLQ) >= dlq_before + 2
            and total(now, "zenops_consumer_parked_keys", consumer="billing") >= 1
            and total(now, "zenops_gate_decisions_total", result=result) >= 1
            and total(now, "zenops_consumer_duplicates_total", consumer="billing") >= duplicates_before + 1
            and total(now, "zenops_consumer_lag", group="billing", topic=V1_BILLING_EVENTS) == 0
            and total(now, "zenops_consumer_lag", group="billing", topic=FACTORY_RELEASE_REQUESTED) == 0
            # the partition that carried the release has a commit (-1 on a partition never committed: a
            # sum over partitions would hide it on a fresh stack)
            and max(
                values(
                    now, "zenops_consumer_committed_offset", group="billing", topic=FACTORY_RELEASE_REQUESTED
                ),
                default=-1,
            )
            >= 1
        )
        return now if ready else None

    try:
        after = await eventually(settled, "billing's /metrics to show the flow", within_s=60)
    finally:
        discarded = operator(stack, "replay-parked", V1_BILLING_EVENTS, parked_key, "--discard")
        assert discarded.returncode == 0, discarded.stderr

    status_route = "/v1/billing/accounts/{account_id}/status"
    for status in ("200", "404"):
        assert (
            total(after, "zenops_http_server_duration_seconds_count", route=status_route, status=status) >= 1
        )
        buckets = values(
            after, "zenops_http_server_duration_seconds_bucket", route=status_route, status=status
        )
        assert buckets == sorted(buckets)  # cumulative
        assert buckets[-1] >= 1  # the +Inf bucket holds every request
    assert not any(
        account_id in lab.get("route", "") for lab, _ in after["zenops_http_server_duration_seconds_count"]
    )

    assert values(after, "zenops_outbox_pending", service="billing")[0] >= 0
    assert values(after, "zenops_outbox_oldest_pending_age_seconds", service="billing")[0] >= 0
    assert values(after, "zenops_outbox_unsendable_messages", service="billing") == [0]
    assert values(after, "zenops_consumer_parked_messages", consumer="billing", dead_lettered="true")[0] >= 1
    assert {lab["result"] for lab, _ in after["zenops_gate_decisions_total"]} == {
        "PAID",
        "CREDIT_CONSUMED",
        "OVERRIDE",
        "BLOCKED",
        "ERROR",
    }
    db_count = await admin_db.fetchval(
        "SELECT count(*) FROM billing.gate_decisions WHERE result = $1", result
    )
    assert 1 <= total(after, "zenops_gate_decisions_total", result=result) <= db_count

    # Every service shows its outbox backlog and parked counts, the gateway its latencies.
    for name in ("workorders", "evidence", "factory"):
        samples = await scrape(stack, name)
        assert values(samples, "zenops_outbox_pending", service=name), name
        assert values(samples, "zenops_consumer_parked_keys", service=name, consumer=name), name
    gateway = await scrape(stack, "gateway")
    assert total(gateway, "zenops_http_server_duration_seconds_count", service="gateway") >= 2
