"""Whether a service's consumer group has consumed everything of the partition a key is sent to.

A service answering "not found" for an aggregate it projects from another service's events may only be
sure when its consumer is caught up on the partition that would carry the aggregate's key (issue 19):
the committed offset of the service's consumer group on that partition is the partition's end offset.
The partition is the one the producers choose: aiokafka's default partitioner (murmur2 of the key) over
the topic's partitions, as the outbox relay sends every record with its key. Records already on the
partition get ``IN_FLIGHT_WAIT_S`` to be consumed (a record in flight is not "behind"; a stopped
consumer is).

:class:`CatchUp` asks the broker from the HTTP process with an admin client and a group-less consumer
(created on first use, rebuilt after a failure), each question bounded by ``timeout_s`` and its answer
reused for ``cache_s`` per partition. A broker that cannot be asked counts as not caught up: the caller
then answers 503 rather than a 404 it cannot vouch for.
"""

from __future__ import annotations

import asyncio
import logging
import time

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.partitioner import DefaultPartitioner

from shared.messaging.kafka import OffsetClients

log = logging.getLogger(__name__)

#: how long a topic's partition count is reused (partitions are added rarely, never removed)
PARTITIONS_CACHE_S = 60.0
#: the bound of starting the clients (once per process, again after a failure)
CONNECT_TIMEOUT_S = 5.0
#: how long records already on the partition when asked may take to be consumed before the group counts
#: as behind (a record in flight is consumed within milliseconds; a stopped consumer never)
IN_FLIGHT_WAIT_S = 0.5
#: Kafka's UNKNOWN_TOPIC_OR_PARTITION: nothing was ever sent to the topic, so nothing is pending
_UNKNOWN_TOPIC = 3


def partition_for(key: str, partitions: int) -> int:
    """The partition aiokafka's default partitioner sends ``key`` to, among ``partitions``."""
    if partitions < 1:
        raise ValueError("a topic has at least one partition")
    chosen: int = DefaultPartitioner()(key.encode(), list(range(partitions)), [])
    return chosen


def caught_up(committed: int, end: int) -> bool:
    """The group consumed every record of the partition (``committed`` is -1 when it never committed:
    caught up only while the partition is empty)."""
    return max(committed, 0) >= end


class CatchUp:
    """``await catch_up.caught_up(topic, key)``: has ``group`` consumed all of ``key``'s partition?"""

    def __init__(self, bootstrap: str, group: str, *, timeout_s: float = 1.0, cache_s: float = 1.0) -> None:
        self._group = group
        self._timeout_s = timeout_s
        self._cache_s = cache_s
        self._kafka = OffsetClients(
            bootstrap,
            f"{group}-catchup",
            request_timeout_ms=max(1000, int(timeout_s * 1000)),
            isolation_level="read_committed",
        )
        self._partitions: dict[str, tuple[int, float]] = {}
        self._answers: dict[TopicPartition, tuple[bool, float]] = {}
        self._lock = asyncio.Lock()

    async def caught_up(self, topic: str, key: str) -> bool:
        """Whether the group is caught up on ``key``'s partition of ``topic``; ``False`` when the broker
        does not answer within ``timeout_s`` (reused for ``cache_s``, like an answer)."""
        async with self._lock:
            now = time.monotonic()
            count = self._partitions.get(topic)
            if count is not None and now - count[1] < PARTITIONS_CACHE_S:
                tp = TopicPartition(topic, partition_for(key, count[0]))
                cached = self._answers.get(tp)
                if cached is not None and now - cached[1] < self._cache_s:
                    return cached[0]
            try:
                async with asyncio.timeout(CONNECT_TIMEOUT_S):
                    admin, consumer = await self._kafka.clients()
                async with asyncio.timeout(self._timeout_s + IN_FLIGHT_WAIT_S):
                    tp, answer = await self._ask(admin, consumer, topic, key)
            except Exception as exc:  # the broker is away or slow: not caught up, as far as we know
                log.debug("catch-up unknown", extra={"topic": topic, "error": type(exc).__name__})
                await self.close()
                return False
            self._answers[tp] = (answer, time.monotonic())
            return answer

    async def _ask(
        self, admin: AIOKafkaAdminClient, consumer: AIOKafkaConsumer, topic: str, key: str
    ) -> tuple[TopicPartition, bool]:
        now = time.monotonic()
        count = self._partitions.get(topic)
        if count is None or now - count[1] >= PARTITIONS_CACHE_S:
            described = [t for t in await admin.describe_topics([topic]) if t.get("topic") == topic]
            if described and described[0].get("error_code") == _UNKNOWN_TOPIC:
                return TopicPartition(topic, 0), True
            partitions = [p for t in described for p in t.get("partitions", [])]
            if not partitions:
                raise LookupError(f"topic {topic} has no partitions (yet)")
            count = (len(partitions), now)
            self._partitions[topic] = count
        tp = TopicPartition(topic, partition_for(key, count[0]))
        end = int((await consumer.end_offsets([tp]))[tp])
        deadline = time.monotonic() + IN_FLIGHT_WAIT_S
        pause = 0.02
        while True:
            # the records on the partition when asked: consumed already, or in flight for a moment?
            if caught_up(await self._committed(admin, tp), end):
                return tp, True
            if time.monotonic() >= deadline:
                return tp, False
            await asyncio.sleep(pause)
            pause = min(pause * 2, 0.2)

    async def _committed(self, admin: AIOKafkaAdminClient, tp: TopicPartition) -> int:
        committed = (await admin.list_consumer_group_offsets(self._group, partitions=[tp])).get(tp)
        return int(committed.offset) if committed is not None else -1

    async def close(self) -> None:
        """Drop the clients (the next question builds new ones)."""
        await self._kafka.close()
