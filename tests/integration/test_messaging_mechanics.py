"""The reliability mechanics against the real broker and database (issue 3, item 5).

Each test uses its own topic and its own schema tables, so they never see another test's messages.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import signal
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
import pytest
from aiokafka import AIOKafkaConsumer, ConsumerRecord
from opentelemetry import trace
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from bench.worker import EFFECTS_TABLE, effect_handler, effects_handler
from devstack.kafka import ensure_topics
from devstack.launcher import StackInfo
from devstack.testing.messaging import RawEvent, create_messaging_schema, drop_schema, publish
from devstack.testing.polling import eventually
from shared.db.database import Database
from shared.db.uow import SqlUnitOfWork, UnitOfWork
from shared.messaging.consumer import ConsumerRunner, Subscription
from shared.messaging.envelope import Envelope
from shared.messaging.kafka import asyncpg_dsn, make_producer
from shared.messaging.outbox import OutboxWriter
from shared.telemetry.tracing import configure_tracing
from tests.integration.mechanics_worker import mechanics_runner

pytestmark = pytest.mark.stack
ROOT = Path(__file__).parents[2]


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
        f"CREATE TABLE {schema}.{EFFECTS_TABLE} (id BIGSERIAL PRIMARY KEY, message_id UUID NOT NULL, key TEXT NOT NULL)",
    )
    await ensure_topics(stack.kafka_bootstrap, [topic], partitions=3)
    yield {"schema": schema, "topic": topic, "dsn": admin_sa_url(stack), "bootstrap": stack.kafka_bootstrap}
    await drop_schema(stack.admin_dsn, schema)


async def insert_outbox(mech: dict[str, str], count: int, *, keys: int = 10) -> list[str]:
    db = Database(mech["dsn"], mech["dsn"], pool_size=2)
    ids: list[str] = []
    try:
        async with SqlUnitOfWork(db, OutboxWriter(mech["schema"])) as uow:
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


async def until_count(
    mech: dict[str, str], sql: str, what: str, *, equals: int = -1, within_s: float = 60
) -> None:
    """Until the count ``sql`` selects equals ``equals`` (is above zero when not given)."""

    async def reached() -> bool:
        count = await scalar(mech, sql)
        return count > 0 if equals < 0 else count == equals

    await eventually(reached, what, within_s=within_s)


def spawn(mode: str, mech: dict[str, str], *extra: str) -> subprocess.Popen[bytes]:
    args = [
        sys.executable,
        "-m",
        "tests.integration.mechanics_worker",
        mode,
        mech["dsn"],
        mech["schema"],
        mech["bootstrap"],
        mech["topic"],
        *extra,
    ]
    return subprocess.Popen(args, start_new_session=True, env={**os.environ}, cwd=ROOT)  # noqa: S603  this interpreter, argv built here, no shell


@contextlib.asynccontextmanager
async def running(runner: ConsumerRunner) -> AsyncIterator[ConsumerRunner]:
    """``runner`` consuming in a task of the test's loop for the duration of the block."""
    task = asyncio.create_task(runner.run())
    try:
        yield runner
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


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
            published = f"SELECT count(*) FROM {s}.outbox WHERE published_at IS NOT NULL"
            await until_count(mech, published, "the relay to publish its first batch")
        finally:
            kill(relay)
        unpublished = await scalar(mech, f"SELECT count(*) FROM {s}.outbox WHERE published_at IS NULL")
        assert unpublished > 0, "the relay finished before it could be killed; the test proves nothing"

        relay = spawn("relay", mech)
        consumer = spawn("consume", mech)
        try:
            pending = f"SELECT count(*) FROM {s}.outbox WHERE published_at IS NULL"
            await until_count(mech, pending, "every outbox row to be published", equals=0)
            applied = f"SELECT count(DISTINCT message_id) FROM {s}.{EFFECTS_TABLE}"
            await until_count(mech, applied, "every message to be applied", equals=len(ids))
            await asyncio.sleep(1.0)  # let any re-sent duplicate arrive
        finally:
            kill(relay)
            kill(consumer)
        assert await scalar(mech, f"SELECT count(*) FROM {s}.{EFFECTS_TABLE}") == len(ids)


class TestConsumerCrash:
    async def test_consumer_killed_between_effect_and_offset_commit_applies_once(
        self, mech: dict[str, str]
    ) -> None:
        messages = len(await insert_outbox(mech, 200))
        s = mech["schema"]
        relay = spawn("relay", mech)
        crashing = spawn("consume", mech, "--crash-after-effect")
        try:
            await until_count(mech, f"SELECT count(*) FROM {s}.{EFFECTS_TABLE}", "the first effects")
            crashing.wait(timeout=60)
            assert crashing.returncode == -signal.SIGKILL
            applied_before_crash = await scalar(mech, f"SELECT count(*) FROM {s}.{EFFECTS_TABLE}")
            consumer = spawn("consume", mech)
            try:
                applied = f"SELECT count(DISTINCT message_id) FROM {s}.{EFFECTS_TABLE}"
                await until_count(
                    mech,
                    applied,
                    "every message to be applied after the restart",
                    equals=messages,
                    within_s=90,
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
        assert redelivered_but_skipped == messages
        assert await scalar(mech, f"SELECT count(*) FROM {s}.{EFFECTS_TABLE}") == messages


class TestPoisonMessage:
    async def test_poison_goes_to_dlq_other_keys_flow_same_key_waits_until_replayed(
        self, mech: dict[str, str]
    ) -> None:
        s, topic = mech["schema"], mech["topic"]
        poison_id = str(uuid.uuid4())
        state = {"poison_fixed": False}

        apply = effect_handler(s)

        async def handler(uow: UnitOfWork, envelope: Envelope) -> None:
            if envelope.message_id == poison_id and not state["poison_fixed"]:
                raise RuntimeError("cannot apply this message")
            await apply(uow, envelope)

        sequence = [
            ("order-a", 1, poison_id),
            ("order-b", 1, str(uuid.uuid4())),
            ("order-a", 2, str(uuid.uuid4())),
            ("order-b", 2, str(uuid.uuid4())),
            ("order-a", 3, str(uuid.uuid4())),
        ]
        db = Database(mech["dsn"], mech["dsn"], pool_size=4)
        dlq = AIOKafkaConsumer(
            f"{topic}.dlq", bootstrap_servers=mech["bootstrap"], auto_offset_reset="earliest", group_id=None
        )
        producer = make_producer(mech["bootstrap"], client_id="poison-test")
        await producer.start()
        subscription = Subscription(topic, handler)
        runner = mechanics_runner(
            mech, f"poison-{s}", db, producer, subscription, max_attempts=3, backoff_base_s=0.01
        )
        await dlq.start()
        try:
            async with running(runner):
                tested = RawEvent(topic, "tested", {})
                for key, version, message_id in sequence:
                    await publish(
                        producer,
                        tested,
                        aggregate_id=key,
                        version=version,
                        tenant_id=None,
                        message_id=message_id,
                    )

                healthy = f"SELECT count(*) FROM {s}.{EFFECTS_TABLE} WHERE key = 'order-b'"
                await until_count(mech, healthy, "the healthy key to flow", equals=2, within_s=30)
                parked = f"SELECT count(*) FROM {s}.parked_messages"
                await until_count(
                    mech,
                    parked,
                    "the poison message and its successors to be parked",
                    equals=3,
                    within_s=30,
                )
                dead = await asyncio.wait_for(dlq.getone(), 30)
                assert json.loads(dead.value)["message_id"] == poison_id
                assert dict(dead.headers)["x-zenops-attempts"] == b"3"
                assert (
                    await scalar(mech, f"SELECT count(*) FROM {s}.{EFFECTS_TABLE} WHERE key = 'order-a'") == 0
                )

                state["poison_fixed"] = True
                outcomes = await runner.replay(topic, "order-a")
                assert [o.status for o in outcomes] == ["applied", "applied", "applied"]
                rows = await _effect_order(mech, "order-a")
                assert rows == [poison_id, sequence[2][2], sequence[4][2]]
                assert await scalar(mech, f"SELECT count(*) FROM {s}.parked_messages") == 0
        finally:
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
            async with SqlUnitOfWork(db, OutboxWriter(s)) as uow:
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

        subscription = Subscription(topic, effect_handler(s))
        try:
            async with running(mechanics_runner(mech, f"trace-{s}", db, producer, subscription)):
                effects = f"SELECT count(*) FROM {s}.{EFFECTS_TABLE}"
                await until_count(mech, effects, "the effect", equals=1, within_s=30)
        finally:
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
            f"SELECT message_id::text FROM {mech['schema']}.{EFFECTS_TABLE} WHERE key = $1 ORDER BY id", key
        )
        return [r[0] for r in rows]
    finally:
        await conn.close()


def _record(topic: str, offset: int, envelope: Envelope) -> ConsumerRecord[bytes, bytes]:
    value = envelope.model_dump_json().encode()
    key = envelope.aggregate_id.encode()
    return ConsumerRecord(topic, 0, offset, 0, 0, key, value, None, len(key), len(value), [])


def _tested(key: str, version: int, message_id: str | None = None) -> Envelope:
    return Envelope.new(
        event_type="tested",
        aggregate_id=key,
        aggregate_version=version,
        payload={},
        tenant_id=None,
        message_id=message_id,
    )


class TestBatchSemantics:
    @pytest.mark.parametrize("projection", ["per_message", "set_wise"])
    async def test_a_batch_applied_set_wise_has_the_outcomes_of_one_by_one_and_counts_duplicates(
        self, mech: dict[str, str], caplog: pytest.LogCaptureFixture, projection: str
    ) -> None:
        caplog.set_level(logging.INFO, logger="shared.messaging.consumer")
        s, topic = mech["schema"], mech["topic"]
        a1, a2, b5, b3, a1_again, c1 = (
            _tested("a", 1),
            _tested("a", 2),
            _tested("b", 5),
            _tested("b", 3),  # older than b5 of the same batch: stale
            _tested("a", 1),  # a new message with a version already applied: stale
            _tested("c", 1),
        )
        a2_redelivered = _tested("a", 2, a2.message_id)  # the same message again: a duplicate
        batch = [a1, a2, a2_redelivered, b5, b3, a1_again, c1]
        db = Database(mech["dsn"], mech["dsn"], pool_size=2)
        producer = make_producer(mech["bootstrap"], client_id="batch-test")
        await producer.start()
        many = effects_handler(s) if projection == "set_wise" else None
        subscription = Subscription(topic, effect_handler(s), many=many)
        runner = mechanics_runner(mech, f"batch-{s}", db, producer, subscription)
        try:
            await runner.process_records([_record(topic, i, e) for i, e in enumerate(batch)])
            assert runner.duplicates == 1
            # the whole batch again (a consumer that crashed before its offset commit): all duplicates
            await runner.process_records([_record(topic, i, e) for i, e in enumerate(batch)])
            assert runner.duplicates == 1 + len(batch)
            # both batches took the set-wise path (the one-by-one fallback has the same outcomes)
            assert not [r for r in caplog.records if "falling back" in r.getMessage()]
        finally:
            await producer.stop()
            await db.dispose()
        assert await _effect_order(mech, "a") == [a1.message_id, a2.message_id]
        assert await _effect_order(mech, "b") == [b5.message_id]
        assert await _effect_order(mech, "c") == [c1.message_id]
        conn = await asyncpg.connect(asyncpg_dsn(mech["dsn"]))
        try:
            outcomes = {
                r[0]: r[1]
                for r in await conn.fetch(
                    f"SELECT message_id::text, outcome FROM {s}.inbox WHERE consumer = $1",
                    runner.consumer_name,
                )
            }
            versions = {
                r[0]: r[1]
                for r in await conn.fetch(
                    f"SELECT aggregate_id, aggregate_version FROM {s}.consumer_versions WHERE consumer = $1",
                    runner.consumer_name,
                )
            }
            counted = await conn.fetchval(
                f"SELECT value FROM {s}.consumer_counters WHERE consumer = $1 AND name = 'duplicates'",
                runner.consumer_name,
            )
        finally:
            await conn.close()
        assert outcomes == {
            a1.message_id: "applied",
            a2.message_id: "applied",
            b5.message_id: "applied",
            b3.message_id: "stale",
            a1_again.message_id: "stale",
            c1.message_id: "applied",
        }
        assert versions == {"a": 2, "b": 5, "c": 1}
        assert counted == runner.duplicates

    async def test_of_several_whole_states_in_a_batch_only_the_newest_is_applied_unless_one_must_be_kept(
        self, mech: dict[str, str]
    ) -> None:
        s, topic = mech["schema"], mech["topic"]
        s1, s2_kept, s3, s4, other = (
            _tested("state", 1),
            Envelope.new(
                event_type="tested", aggregate_id="state", aggregate_version=2, payload={"keep": True}
            ),
            _tested("state", 3),
            _tested("state", 4),
            _tested("other", 1),
        )
        subscription = Subscription(
            topic, effect_handler(s), coalesce=lambda envelope: not envelope.payload.get("keep")
        )
        db = Database(mech["dsn"], mech["dsn"], pool_size=2)
        producer = make_producer(mech["bootstrap"], client_id="coalesce-test")
        await producer.start()
        runner = mechanics_runner(mech, f"coalesce-{s}", db, producer, subscription)
        try:
            batch = [s1, s2_kept, other, s3, s4]
            await runner.process_records([_record(topic, i, e) for i, e in enumerate(batch)])
        finally:
            await producer.stop()
            await db.dispose()
        # the kept one (its payload says so) and the newest state; the other key is untouched
        assert await _effect_order(mech, "state") == [s2_kept.message_id, s4.message_id]
        assert await _effect_order(mech, "other") == [other.message_id]
        conn = await asyncpg.connect(asyncpg_dsn(mech["dsn"]))
        try:
            outcomes = dict(
                await conn.fetch(
                    f"SELECT message_id::text, outcome FROM {s}.inbox WHERE consumer = $1",
                    runner.consumer_name,
                )
            )
            version = await conn.fetchval(
                f"SELECT aggregate_version FROM {s}.consumer_versions WHERE consumer = $1 AND aggregate_id = 'state'",
                runner.consumer_name,
            )
        finally:
            await conn.close()
        assert outcomes == {
            s1.message_id: "superseded",
            s2_kept.message_id: "applied",
            s3.message_id: "superseded",
            s4.message_id: "applied",
            other.message_id: "applied",
        }
        assert version == 4
