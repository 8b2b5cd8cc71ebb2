"""A message the broker can never accept never blocks the pipeline (issue 12, Critical finding + item 2).

Runs against the real stack: the workorders stream process's own relay publishes the rows inserted
here (as the schema's system role); the replay / discard goes through the service's operator command
(``python -m workorders_service.main replay-parked TOPIC KEY [--discard]``).
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import uuid
from typing import Any

import asyncpg
import httpx
import pytest
from aiokafka import AIOKafkaConsumer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import TopicAlreadyExistsError

from devstack.kafka import ensure_topics
from devstack.launcher import StackInfo
from devstack.testing.fixtures import OTHER_TENANT, TEST_TENANT, make_token
from devstack.testing.gateway import get_when_found
from devstack.testing.polling import eventually
from shared.contracts.topics import WORKORDERS_WORK_ORDER
from shared.messaging.envelope import Envelope
from shared.messaging.kafka import RELAY_MAX_RECORD_BYTES, asyncpg_dsn

pytestmark = pytest.mark.stack

TOPIC = "zenops.test.relay-unsendable.v1"
# A topic whose own limit is below the relay's: the broker itself refuses what the relay lets through.
STRICT_TOPIC = "zenops.test.relay-strict.v1"
STRICT_LIMIT = 20_000
S = "workorders"
OVERSIZED = RELAY_MAX_RECORD_BYTES + 200_000  # bytes of payload: > the relay's limit and the broker's


def _envelope(key: str, version: int, *, filler: int = 0) -> Envelope:
    payload: dict[str, Any] = {"n": version}
    if filler:
        payload["bank_name"] = "x" * filler
    return Envelope.new(
        event_type="tested",
        aggregate_id=key,
        aggregate_version=version,
        payload=payload,
        tenant_id=TEST_TENANT,
    )


async def _system_conn(stack: StackInfo) -> asyncpg.Connection:
    """A connection as ``workorders_system``, the role the relay itself uses."""
    return await asyncpg.connect(asyncpg_dsn(stack.env(S)["ZENOPS_DB_SYSTEM_URL"]))


async def _insert(stack: StackInfo, rows: list[tuple[str, str, Envelope]]) -> None:
    """Insert outbox rows (topic, key, envelope) in this order, in one transaction, and wake the relay."""
    conn = await _system_conn(stack)
    try:
        async with conn.transaction():
            for topic, key, env in rows:
                await conn.execute(
                    f"INSERT INTO {S}.outbox (message_id, topic, key, envelope) "
                    "VALUES ($1::uuid, $2, $3, $4::jsonb)",
                    env.message_id,
                    topic,
                    key,
                    env.model_dump_json(),
                )
            await conn.execute(f"SELECT pg_notify('{S}_outbox', '')")
    finally:
        await conn.close()


async def _fetchval(stack: StackInfo, sql: str, *args: Any) -> Any:
    conn = await _system_conn(stack)
    try:
        return await conn.fetchval(sql, *args)
    finally:
        await conn.close()


async def _wait_moved_aside(stack: StackInfo, keys: list[str], what: str) -> None:
    """Wait until one row per key in ``keys`` stands in ``unsendable_messages``."""

    async def _moved() -> bool:
        n = await _fetchval(
            stack, f"SELECT count(*) FROM {S}.unsendable_messages WHERE key = ANY($1::text[])", keys
        )
        return int(n) == len(keys)

    await eventually(_moved, what, within_s=30, every_s=0.2)


def _operator(stack: StackInfo, *args: str) -> subprocess.CompletedProcess[str]:
    """The service's operator command, as an operator runs it."""
    return subprocess.run(  # noqa: S603  this interpreter with the test's fixed argv, no shell
        [sys.executable, "-m", "workorders_service.main", *args],
        env={**os.environ, **stack.env(S)},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def _outcomes(out: subprocess.CompletedProcess[str]) -> list[list[str]]:
    """The command's outcome lines (``status message_id [detail]``), without the JSON log lines."""
    return [line.split() for line in out.stdout.splitlines() if line and not line.startswith("{")]


class _Collector:
    """Reads the topics from the beginning and keeps the messages of this run's keys, in arrival order."""

    def __init__(self, stack: StackInfo, prefix: str, topics: tuple[str, ...] = (TOPIC,)) -> None:
        self._consumer = AIOKafkaConsumer(
            *topics,
            bootstrap_servers=stack.kafka_bootstrap,
            group_id=f"relay-unsendable-{prefix}",
            auto_offset_reset="earliest",
            enable_auto_commit=False,
            fetch_max_bytes=4 * 1024 * 1024,
        )
        self._prefix = prefix
        self.by_key: dict[str, list[Envelope]] = {}
        self._task: asyncio.Task[None] | None = None

    async def __aenter__(self) -> _Collector:
        await self._consumer.start()
        self._task = asyncio.create_task(self._run())
        return self

    async def __aexit__(self, *_: object) -> None:
        assert self._task is not None
        self._task.cancel()
        await asyncio.gather(self._task, return_exceptions=True)
        await self._consumer.stop()

    async def _run(self) -> None:
        async for record in self._consumer:
            key = (record.key or b"").decode()
            if key.startswith(self._prefix):
                self.by_key.setdefault(key, []).append(Envelope.model_validate_json(record.value or b""))

    def versions(self, key: str) -> list[int]:
        return [e.aggregate_version for e in self.by_key.get(key, [])]

    async def wait_versions(self, key: str, expected: list[int], timeout: float = 30) -> None:
        async def _done() -> bool:
            return len(self.versions(key)) >= len(expected)

        await eventually(_done, f"{expected} on key {key}", within_s=timeout, every_s=0.2)
        assert self.versions(key) == expected


@pytest.fixture
async def topic(stack: StackInfo) -> str:
    await ensure_topics(stack.kafka_bootstrap, [TOPIC], partitions=3)
    return TOPIC


@pytest.fixture
async def strict_topic(stack: StackInfo, topic: str) -> str:  # noqa: ARG001  requested so the main topic exists first
    admin = AIOKafkaAdminClient(bootstrap_servers=stack.kafka_bootstrap)
    await admin.start()
    try:
        response = await admin.create_topics(
            [
                NewTopic(
                    STRICT_TOPIC,
                    num_partitions=1,
                    replication_factor=1,
                    topic_configs={"max.message.bytes": str(STRICT_LIMIT)},
                )
            ]
        )
        errors = [code for _, code, *_ in response.topic_errors]
        assert errors in ([0], [TopicAlreadyExistsError.errno]), response
    finally:
        await admin.close()
    return STRICT_TOPIC


async def _fetch(stack: StackInfo, sql: str, *args: Any) -> list[asyncpg.Record]:
    conn = await _system_conn(stack)
    try:
        return list(await conn.fetch(sql, *args))
    finally:
        await conn.close()


async def _metric(stack: StackInfo, name: str) -> float:
    async with httpx.AsyncClient(base_url=stack.urls[S], timeout=10) as client:
        text = (await client.get("/metrics")).text
    for line in text.splitlines():
        if line.startswith(f'{name}{{service="{S}"}}'):
            return float(line.rsplit(" ", 1)[1])
    raise AssertionError(f"{name} not in /metrics")


async def _metric_reaches(stack: StackInfo, name: str, at_least: float) -> float:
    """The gauge once it shows ``at_least``: /metrics reads the database at most every
    ``ZENOPS_METRICS_CACHE_S`` (2 s), so a scrape right after a change may still show the last figure."""

    async def check() -> float | None:
        value = await _metric(stack, name)
        return value if value >= at_least else None

    return await eventually(check, f"{name} >= {at_least}", within_s=15)


class TestUnsendableOutboxMessage:
    async def test_other_keys_flow_same_key_waits_replay_and_discard_release_it_in_order(
        self, stack: StackInfo, topic: str
    ) -> None:
        run = uuid.uuid4().hex[:10]
        big, other, fixable = f"{run}-big", f"{run}-other", f"{run}-fixable"
        big_head = _envelope(big, 1, filler=OVERSIZED)
        fixable_head = _envelope(fixable, 1, filler=OVERSIZED)
        # The oversized rows come FIRST (lowest ids): before this fix the relay died on them forever.
        await _insert(
            stack,
            [
                (topic, big, big_head),
                (topic, fixable, fixable_head),
                (topic, big, _envelope(big, 2)),
                (topic, other, _envelope(other, 1)),
                (topic, big, _envelope(big, 3)),
                (topic, fixable, _envelope(fixable, 2)),
                (topic, other, _envelope(other, 2)),
            ],
        )
        async with _Collector(stack, run) as seen:
            # every other key keeps flowing, in order
            await seen.wait_versions(other, [1, 2])

            await _wait_moved_aside(stack, [big, fixable], "both oversized heads moved aside")
            reason = await _fetchval(
                stack,
                f"SELECT reason FROM {S}.unsendable_messages WHERE message_id = $1::uuid",
                big_head.message_id,
            )
            assert reason == "too_large"
            # the head left the outbox; its followers wait there, unpublished
            assert (
                await _fetchval(
                    stack, f"SELECT count(*) FROM {S}.outbox WHERE message_id = $1::uuid", big_head.message_id
                )
                == 0
            )
            waiting = await _fetchval(
                stack, f"SELECT count(*) FROM {S}.outbox WHERE key = $1 AND published_at IS NULL", big
            )
            assert waiting == 2
            assert await _metric_reaches(stack, "zenops_outbox_unsendable_messages", 2) >= 2
            assert await _metric_reaches(stack, "zenops_outbox_parked_behind_unsendable", 3) >= 3

            listed = _operator(stack, "list-parked")
            assert listed.returncode == 0, listed.stderr
            items = [json.loads(line) for line in listed.stdout.splitlines() if line.startswith("{")]
            mine = {i["key"]: i for i in items if i.get("kind") == "unsendable" and i["key"].startswith(run)}
            assert mine[big]["parked_behind"] == 2
            assert mine[big]["reason"] == "too_large"

            # replaying a message that is still too large changes nothing: it stays, the key stays blocked
            again = _operator(stack, "replay-parked", topic, big)
            assert again.returncode == 1, again.stdout + again.stderr
            assert _outcomes(again)[0][0] == "unsendable"
            await asyncio.sleep(1.5)
            assert seen.versions(big) == []
            attempts = await _fetchval(
                stack,
                f"SELECT attempts FROM {S}.unsendable_messages WHERE message_id = $1::uuid",
                big_head.message_id,
            )
            assert attempts == 2

            # discard: the head is dropped, the rows parked behind it flow, in order
            discarded = _operator(stack, "replay-parked", topic, big, "--discard")
            assert discarded.returncode == 0, discarded.stdout + discarded.stderr
            assert _outcomes(discarded)[0][:2] == ["discarded", big_head.message_id]
            await seen.wait_versions(big, [2, 3])

            # replay after the cause is fixed (here: the envelope shrunk, as after raising the limit)
            conn = await _system_conn(stack)
            try:
                await conn.execute(
                    f"UPDATE {S}.unsendable_messages SET envelope = $2::jsonb WHERE message_id = $1::uuid",
                    fixable_head.message_id,
                    fixable_head.model_copy(update={"payload": {"n": 1}}).model_dump_json(),
                )
            finally:
                await conn.close()
            assert seen.versions(fixable) == []
            replayed = _operator(stack, "replay-parked", topic, fixable)
            assert replayed.returncode == 0, replayed.stdout + replayed.stderr
            assert _outcomes(replayed)[0][:2] == ["published", fixable_head.message_id]
            await seen.wait_versions(fixable, [1, 2])
            assert seen.by_key[fixable][0].message_id == fixable_head.message_id

        left = await _fetchval(
            stack, f"SELECT count(*) FROM {S}.unsendable_messages WHERE key LIKE $1", f"{run}%"
        )
        assert left == 0


class TestRefusedByTheBroker:
    async def test_refused_record_is_moved_aside_its_batch_neighbours_are_sent(
        self, stack: StackInfo, strict_topic: str
    ) -> None:
        """The broker refuses a whole produce batch; only the record that is really too big moves aside.

        Also: a row for a topic that does not exist moves aside (``unknown_topic``) instead of stalling.
        """
        run = uuid.uuid4().hex[:10]
        refused, neighbour, lost = f"{run}-refused", f"{run}-neighbour", f"{run}-lost"
        head = _envelope(refused, 1, filler=STRICT_LIMIT * 3)  # well under the relay's limit
        nowhere = "zenops.test.no-such-topic.v1"
        # one partition: the refused record and its neighbours share the broker's produce batch
        await _insert(
            stack,
            [
                (nowhere, lost, _envelope(lost, 1)),
                (strict_topic, neighbour, _envelope(neighbour, 1)),
                (strict_topic, refused, head),
                (strict_topic, neighbour, _envelope(neighbour, 2)),
                (strict_topic, refused, _envelope(refused, 2)),
                (strict_topic, neighbour, _envelope(neighbour, 3)),
            ],
        )
        async with _Collector(stack, run, (strict_topic,)) as seen:
            await seen.wait_versions(neighbour, [1, 2, 3])

            await _wait_moved_aside(stack, [refused, lost], "the refused and the lost rows moved aside")
            rows = await _fetch(
                stack,
                f"SELECT key, reason FROM {S}.unsendable_messages WHERE key = ANY($1::text[])",
                [refused, lost],
            )
            reasons = {r["key"]: r["reason"] for r in rows}
            assert reasons == {refused: "MessageSizeTooLargeError", lost: "unknown_topic"}
            assert (
                await _fetchval(
                    stack, f"SELECT count(*) FROM {S}.outbox WHERE key = $1 AND published_at IS NULL", refused
                )
                == 1
            )
            assert seen.versions(refused) == []

            out = _operator(stack, "replay-parked", strict_topic, refused, "--discard")
            assert out.returncode == 0, out.stdout + out.stderr
            await seen.wait_versions(refused, [2])
        out = _operator(stack, "replay-parked", nowhere, lost, "--discard")
        assert out.returncode == 0, out.stdout + out.stderr


class TestPipelineFlowsAfterOversizedWorkOrderEvent:
    async def test_work_orders_of_every_tenant_still_reach_billing(
        self, stack: StackInfo, gateway: httpx.AsyncClient
    ) -> None:
        # The Critical finding's message: a work-order event of several MB on the real topic, ahead of
        # everything else in the outbox (inserted directly: the edge now refuses such a body).
        stuck_wo = str(uuid.uuid4())
        huge = _envelope(stuck_wo, 1, filler=3 * 1024 * 1024)
        await _insert(stack, [(WORKORDERS_WORK_ORDER, stuck_wo, huge)])
        try:
            for tenant in (TEST_TENANT, OTHER_TENANT):
                headers = {"authorization": f"Bearer {make_token(stack, tenant_id=tenant)}"}
                resp = await gateway.post(
                    "/v1/repogen/work-orders",
                    headers=headers,
                    json={
                        "source_type": "TENANT",
                        "report_type": "VALUATION",
                        "bank_name": "State Bank of India",
                        "bank_type": "SBI",
                        "billing_external_key": "v1:partner:12",
                    },
                )
                assert resp.status_code == 201, resp.text
                wo_id = resp.json()["work_order_id"]
                seen = await get_when_found(
                    gateway, f"/v1/billing/work-orders/{wo_id}", within_s=45, headers=headers
                )
                assert seen.status_code == 200, seen.text
                billing = seen.json()["work_order_billing"]
                assert billing["tenant_id"] == tenant
                assert billing["billing_external_key"] == "v1:partner:12"

            reason = await _fetchval(
                stack,
                f"SELECT reason FROM {S}.unsendable_messages WHERE message_id = $1::uuid",
                huge.message_id,
            )
            assert reason == "too_large"
            # the relay is alive and the health says so through the gauge, not by dying
            assert await _metric_reaches(stack, "zenops_outbox_unsendable_messages", 1) >= 1
        finally:
            out = _operator(stack, "replay-parked", WORKORDERS_WORK_ORDER, stuck_wo, "--discard")
            assert out.returncode == 0, out.stdout + out.stderr
