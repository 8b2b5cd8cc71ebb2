"""The reliability mechanics against the real broker and database (issue 3, item 5).

Each test uses its own topic and its own schema tables, so they never see another test's messages.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from opentelemetry import trace
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from sqlalchemy import text

from devstack.kafka import ensure_topics
from devstack.launcher import StackInfo
from devstack.testing.gateway import eventually
from devstack.testing.messaging import create_messaging_schema, drop_schema
from shared.db.database import Database
from shared.db.uow import UnitOfWork
from shared.messaging.consumer import ConsumerRunner, Subscription
from shared.messaging.envelope import Envelope
from shared.messaging.kafka import asyncpg_dsn, make_producer
from shared.messaging.outbox import OutboxWriter
from shared.telemetry.tracing import configure_tracing

pytestmark = pytest.mark.stack
WORKER = Path(__file__).with_name("mechanics_worker.py")


def admin_sa_url(stack: StackInfo) -> str:
    return stack.admin_dsn.replace("postgresql://", "postgresql+asyncpg://", 1)


@pytest.fixture
async def mech(stack: StackInfo) -> AsyncIterator[dict[str, str]]:
    """A fresh schema with the messaging tables + an effects table, and a fresh topic (+ .dlq)."""
    schema = f"mech_{uuid.uuid4().hex[:10]}"
    topic = f"mechanics.{schema}.v1"
    await create_messaging_schema(
        stack.admin_dsn,
        schema,
        f"CREATE TABLE {schema}.effects (id BIGSERIAL PRIMARY KEY, message_id UUID NOT NULL, key TEXT NOT NULL)",
    )
    await ensure_topics(stack.kafka_bootstrap, [topic], partitions=3)
    yield {"schema": schema, "topic": topic, "dsn": admin_sa_url(stack), "bootstrap": stack.kafka_bootstrap}
    await drop_schema(stack.admin_dsn, schema)


async def insert_outbox(mech: dict[str, str], count: int, *, keys: int = 10) -> list[str]:
    db = Database(mech["dsn"], mech["dsn"], pool_size=2)
    ids: list[str] = []
    try:
        async with UnitOfWork(db, OutboxWriter(mech["schema"])) as uow:
            for i in range(count):
                env = await uow.publish(
                    topic=mech["topic"],
                    key=f"k{i % keys}",
                    event_type="tested",
                    payload={"i": i},
                    aggregate_id=f"k{i % keys}",
                    aggregate_version=i + 1,
                )
                ids.append(env.message_id)
            await uow.commit()
    finally:
        await db.dispose()
    return ids


async def scalar(mech: dict[str, str], sql: str) -> int:
    conn = await asyncpg.connect(asyncpg_dsn(mech["dsn"]))
    try:
        return int(await conn.fetchval(sql))
    finally:
        await conn.close()


async def wait_for(predicate: Callable[[], Awaitable[bool]], timeout: float, what: str) -> None:
    await eventually(predicate, what, within_s=timeout)


def consumer_runner(
    mech: dict[str, str],
    name: str,
    db: Database,
    producer: AIOKafkaProducer,
    handler: Callable[[UnitOfWork, Envelope], Awaitable[None]],
    **options: Any,
) -> ConsumerRunner:
    """A runner of the mechanics topic in the test schema; short session timeouts so rebalances are quick."""
    s = mech["schema"]
    return ConsumerRunner(
        consumer_name=f"{name}-{s}",
        schema=s,
        bootstrap=mech["bootstrap"],
        db=db,
        outbox=OutboxWriter(s),
        producer=producer,
        subscriptions=[Subscription(mech["topic"], handler)],
        session_timeout_ms=6000,
        heartbeat_interval_ms=500,
        **options,
    )


def spawn(mode: str, mech: dict[str, str], *extra: str) -> subprocess.Popen[bytes]:
    args = [
        sys.executable,
        str(WORKER),
        mode,
        mech["dsn"],
        mech["schema"],
        mech["bootstrap"],
        mech["topic"],
        *extra,
    ]
    return subprocess.Popen(args, start_new_session=True, env={**os.environ})


def kill(proc: subprocess.Popen[bytes]) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(timeout=10)


class TestRelayCrash:
    async def test_relay_killed_mid_batch_publishes_every_row_and_downstream_applies_each_once(
        self, mech: dict[str, str]
    ) -> None:
        ids = await insert_outbox(mech, 3000)
        s = mech["schema"]
        relay = spawn("relay", mech)
        try:
            await wait_for(
                lambda: _gt(
                    scalar(mech, f"SELECT count(*) FROM {s}.outbox WHERE published_at IS NOT NULL"), 0
                ),
                60,
                "the relay to publish its first batch",
            )
        finally:
            kill(relay)
        unpublished = await scalar(mech, f"SELECT count(*) FROM {s}.outbox WHERE published_at IS NULL")
        assert unpublished > 0, "the relay finished before it could be killed; the test proves nothing"

        relay = spawn("relay", mech)
        consumer = spawn("consume", mech)
        try:
            await wait_for(
                lambda: _eq(scalar(mech, f"SELECT count(*) FROM {s}.outbox WHERE published_at IS NULL"), 0),
                60,
                "every outbox row to be published",
            )
            await wait_for(
                lambda: _eq(scalar(mech, f"SELECT count(DISTINCT message_id) FROM {s}.effects"), len(ids)),
                60,
                "every message to be applied",
            )
            await asyncio.sleep(1.0)  # let any re-sent duplicate arrive
        finally:
            kill(relay)
            kill(consumer)
        assert await scalar(mech, f"SELECT count(*) FROM {s}.effects") == len(ids)


class TestConsumerCrash:
    async def test_consumer_killed_between_effect_and_offset_commit_applies_once(
        self, mech: dict[str, str]
    ) -> None:
        ids = await insert_outbox(mech, 200)
        s = mech["schema"]
        relay = spawn("relay", mech)
        crashing = spawn("consume", mech, "--crash-after-effect")
        try:
            await wait_for(
                lambda: _gt(scalar(mech, f"SELECT count(*) FROM {s}.effects"), 0), 60, "the first effects"
            )
            crashing.wait(timeout=60)
            assert crashing.returncode == -signal.SIGKILL
            applied_before_crash = await scalar(mech, f"SELECT count(*) FROM {s}.effects")
            consumer = spawn("consume", mech)
            try:
                await wait_for(
                    lambda: _eq(
                        scalar(mech, f"SELECT count(DISTINCT message_id) FROM {s}.effects"), len(ids)
                    ),
                    90,
                    "every message to be applied after the restart",
                )
            finally:
                kill(consumer)
        finally:
            kill(relay)
            kill(crashing)
        assert applied_before_crash > 0
        redelivered_but_skipped = await scalar(
            mech, f"SELECT count(*) FROM {s}.inbox WHERE consumer = 'mechanics-{mech['topic']}'"
        )
        assert redelivered_but_skipped == len(ids)
        assert await scalar(mech, f"SELECT count(*) FROM {s}.effects") == len(ids)


class TestPoisonMessage:
    async def test_poison_goes_to_dlq_other_keys_flow_same_key_waits_until_replayed(
        self, mech: dict[str, str]
    ) -> None:
        s, topic = mech["schema"], mech["topic"]
        poison_id = str(uuid.uuid4())
        state = {"poison_fixed": False}

        async def handler(uow: UnitOfWork, envelope: Envelope) -> None:
            if envelope.message_id == poison_id and not state["poison_fixed"]:
                raise RuntimeError("cannot apply this message")
            await uow.session.execute(
                text(f"INSERT INTO {s}.effects (message_id, key) VALUES (CAST(:m AS uuid), :k)"),
                {"m": envelope.message_id, "k": envelope.aggregate_id},
            )

        db = Database(mech["dsn"], mech["dsn"], pool_size=4)
        producer = make_producer(mech["bootstrap"], client_id="poison-test")
        await producer.start()
        runner = consumer_runner(mech, "poison", db, producer, handler, max_attempts=3, backoff_base_s=0.01)
        task = asyncio.create_task(runner.run())
        dlq = AIOKafkaConsumer(
            f"{topic}.dlq", bootstrap_servers=mech["bootstrap"], auto_offset_reset="earliest", group_id=None
        )
        await dlq.start()
        try:
            sequence = [
                ("order-a", 1, poison_id),
                ("order-b", 1, str(uuid.uuid4())),
                ("order-a", 2, str(uuid.uuid4())),
                ("order-b", 2, str(uuid.uuid4())),
                ("order-a", 3, str(uuid.uuid4())),
            ]
            for key, version, message_id in sequence:
                env = Envelope.new(
                    event_type="tested",
                    aggregate_id=key,
                    aggregate_version=version,
                    payload={},
                    message_id=message_id,
                )
                await producer.send_and_wait(topic, env.to_bytes(), key=key.encode())

            await wait_for(
                lambda: _eq(scalar(mech, f"SELECT count(*) FROM {s}.effects WHERE key = 'order-b'"), 2),
                30,
                "the healthy key to flow",
            )
            await wait_for(
                lambda: _eq(scalar(mech, f"SELECT count(*) FROM {s}.parked_messages"), 3),
                30,
                "the poison message and its successors to be parked",
            )
            dead = await asyncio.wait_for(dlq.getone(), 30)
            assert json.loads(dead.value)["message_id"] == poison_id
            assert dict(dead.headers)["x-zenops-attempts"] == b"3"
            assert await scalar(mech, f"SELECT count(*) FROM {s}.effects WHERE key = 'order-a'") == 0

            state["poison_fixed"] = True
            outcomes = await runner.replay(topic, "order-a")
            assert [o.status for o in outcomes] == ["applied", "applied", "applied"]
            rows = await _effect_order(mech, "order-a")
            assert rows == [poison_id, sequence[2][2], sequence[4][2]]
            assert await scalar(mech, f"SELECT count(*) FROM {s}.parked_messages") == 0
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
            await dlq.stop()
            await producer.stop()
            await db.dispose()


class TestTracing:
    async def test_consumer_span_continues_the_producers_trace(self, mech: dict[str, str]) -> None:
        exporter = InMemorySpanExporter()
        configure_tracing("mechanics-test", extra_processor=SimpleSpanProcessor(exporter))
        tracer = trace.get_tracer("test")
        s, topic = mech["schema"], mech["topic"]
        db = Database(mech["dsn"], mech["dsn"], pool_size=2)
        with tracer.start_as_current_span("http request") as root:
            trace_id = root.get_span_context().trace_id
            async with UnitOfWork(db, OutboxWriter(s)) as uow:
                await uow.publish(
                    topic=topic,
                    key="t1",
                    event_type="tested",
                    payload={},
                    aggregate_id="t1",
                    aggregate_version=1,
                )
                await uow.commit()
        producer = make_producer(mech["bootstrap"], client_id="trace-test")
        await producer.start()
        relay_conn = await asyncpg.connect(asyncpg_dsn(mech["dsn"]))
        from shared.messaging.relay import OutboxRelay

        relay = OutboxRelay(schema=s, dsn=asyncpg_dsn(mech["dsn"]), producer=producer)
        assert await relay.publish_batch(relay_conn) == 1
        await relay_conn.close()

        async def handler(uow: UnitOfWork, envelope: Envelope) -> None:
            await uow.session.execute(
                text(f"INSERT INTO {s}.effects (message_id, key) VALUES (CAST(:m AS uuid), 't1')"),
                {"m": envelope.message_id},
            )

        runner = consumer_runner(mech, "trace", db, producer, handler)
        task = asyncio.create_task(runner.run())
        try:
            await wait_for(
                lambda: _eq(scalar(mech, f"SELECT count(*) FROM {s}.effects"), 1), 30, "the effect"
            )
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
            await producer.stop()
            await db.dispose()
        consumer_spans = [sp for sp in exporter.get_finished_spans() if sp.name == f"consume {topic}"]
        assert consumer_spans, "no consumer span recorded"
        assert consumer_spans[0].context.trace_id == trace_id
        assert consumer_spans[0].parent is not None


async def _effect_order(mech: dict[str, str], key: str) -> list[str]:
    conn = await asyncpg.connect(asyncpg_dsn(mech["dsn"]))
    try:
        rows = await conn.fetch(
            f"SELECT message_id::text FROM {mech['schema']}.effects WHERE key = $1 ORDER BY id", key
        )
        return [r[0] for r in rows]
    finally:
        await conn.close()


async def _gt(value: Awaitable[int], threshold: int) -> bool:
    return await value > threshold


async def _eq(value: Awaitable[int], expected: int) -> bool:
    return await value == expected
