"""What the ops routes do through Kafka: the consumer group's positions, and replay/discard of a blocked
key through the service's own parking mechanisms (the ones ``python -m <pkg>.main replay-parked`` uses).

Both are protocols so the handlers run on fakes in the unit tests; :class:`KafkaOperator` is the real one,
built per request by :mod:`shared.ops.api` (a replay is a rare operator action: a producer of its own,
started and stopped around it, keeps the HTTP process free of long-lived Kafka clients).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Protocol

import asyncpg
from aiokafka import AIOKafkaConsumer, TopicPartition

from shared.db.database import Database
from shared.messaging.consumer import ConsumerRunner, Subscription
from shared.messaging.kafka import make_producer
from shared.messaging.outbox import OutboxWriter
from shared.messaging.relay import replay_unsendable
from shared.ops.errors import BrokerUnavailable

#: how long the broker may take to answer the ops routes
BROKER_TIMEOUT_S = 10.0


@dataclass(frozen=True, slots=True)
class PartitionPosition:
    """Where the group stands on one partition: ``committed`` (None: never committed), the log ``end``
    and the ``lag`` (end - committed, or end when never committed)."""

    topic: str
    partition: int
    committed: int | None
    end: int
    lag: int


@dataclass(frozen=True, slots=True)
class MessageOutcome:
    """What a replay or discard did to one message (``applied``, ``duplicate``, ``stale``, ``ignored``,
    ``discarded``, ``published``, ``unsendable``, ``failed``)."""

    message_id: str
    status: str
    detail: str = ""


class ParkingOperator(Protocol):
    """Replays (or discards the head of) one blocked key."""

    async def replay_consumer(self, topic: str, key: str, *, discard: bool) -> list[MessageOutcome]:
        """The consumer's parked messages of ``topic``/``key``: re-applied in order (after dropping the
        head with ``discard``); stops at the first one that fails again."""
        ...

    async def replay_unsendable(self, topic: str, key: str, *, discard: bool) -> list[MessageOutcome]:
        """The relay's unsendable messages of ``topic``/``key``: sent again (or dropped)."""
        ...


class LagReader(Protocol):
    """The consumer group's positions on its topics."""

    async def positions(self, group: str, topics: list[str]) -> list[PartitionPosition]: ...


@dataclass
class KafkaOperator:
    """The real :class:`ParkingOperator` and :class:`LagReader` of one service."""

    bootstrap: str
    consumer_name: str
    schema: str
    db: Database
    outbox: OutboxWriter
    system_dsn: str
    subscriptions: Callable[[], Iterable[Subscription]]

    async def replay_consumer(self, topic: str, key: str, *, discard: bool) -> list[MessageOutcome]:
        # the producer only forwards to ``<topic>.dlq``, which a replay never does: never started
        producer = make_producer(self.bootstrap, client_id=f"{self.consumer_name}-ops")
        runner = ConsumerRunner(
            consumer_name=self.consumer_name,
            schema=self.schema,
            bootstrap=self.bootstrap,
            db=self.db,
            outbox=self.outbox,
            producer=producer,
            subscriptions=self.subscriptions(),
        )
        try:
            outcomes = await runner.replay(topic, key, discard_head=discard)
        finally:
            with contextlib.suppress(Exception):
                await producer.stop()
        return [MessageOutcome(o.message_id or "", o.status) for o in outcomes]

    async def replay_unsendable(self, topic: str, key: str, *, discard: bool) -> list[MessageOutcome]:
        producer = make_producer(self.bootstrap, client_id=f"{self.consumer_name}-ops")
        conn: asyncpg.Connection = await asyncpg.connect(self.system_dsn, timeout=BROKER_TIMEOUT_S)
        try:
            if not discard:
                try:
                    await asyncio.wait_for(producer.start(), BROKER_TIMEOUT_S)
                except Exception as exc:
                    raise BrokerUnavailable(details={"error": type(exc).__name__}) from exc
            sent = await replay_unsendable(conn, self.schema, producer, topic, key, discard=discard)
            return [MessageOutcome(o.message_id, o.status, o.detail) for o in sent]
        finally:
            with contextlib.suppress(Exception):
                await producer.stop()
            await conn.close()

    async def positions(self, group: str, topics: list[str]) -> list[PartitionPosition]:
        consumer = AIOKafkaConsumer(
            bootstrap_servers=self.bootstrap,
            group_id=group,
            client_id=f"{group}-ops",
            enable_auto_commit=False,
        )
        try:
            await asyncio.wait_for(consumer.start(), BROKER_TIMEOUT_S)
        except Exception as exc:
            raise BrokerUnavailable(details={"error": type(exc).__name__}) from exc
        try:
            return await asyncio.wait_for(_positions(consumer, topics), BROKER_TIMEOUT_S)
        except BrokerUnavailable:
            raise
        except Exception as exc:
            raise BrokerUnavailable(details={"error": type(exc).__name__}) from exc
        finally:
            await consumer.stop()


async def _positions(consumer: AIOKafkaConsumer, topics: list[str]) -> list[PartitionPosition]:
    # the partitions of each topic, asked of the broker now (the consumer subscribes to nothing)
    metadata = await consumer._client.fetch_all_metadata()
    partitions = [
        TopicPartition(topic, p)
        for topic in topics
        for p in sorted(metadata.partitions_for_topic(topic) or ())
    ]
    if not partitions:
        return []
    ends = await consumer.end_offsets(partitions)
    positions = []
    for tp in partitions:
        committed = await consumer.committed(tp)
        end = int(ends.get(tp, 0))
        positions.append(PartitionPosition(tp.topic, tp.partition, committed, end, end - (committed or 0)))
    return positions
