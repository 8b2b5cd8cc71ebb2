"""The relay's records put into Kafka record batches itself, one per partition (issue 18).

``AIOKafkaProducer.send`` costs a coroutine, a future, the partitioner and the accumulator's
bookkeeping per record; the relay sends hundreds of records at a time, so when it records no spans it
appends them to one ``BatchBuilder`` per partition instead and submits each with ``send_batch``
(one future per batch). The idempotent producer numbers the batches when it drains them, as it
numbers its own, so ordering and de-duplication on the broker are unchanged; records of one key stay
in one partition (the producer's own partitioner picks it) and in id order within it.
"""

from __future__ import annotations

import asyncio
from typing import Any, Protocol

from aiokafka import AIOKafkaProducer


class Sendable(Protocol):
    """What the relay sends: a row's topic, key and value and its headers."""

    @property
    def topic(self) -> str: ...

    @property
    def key_bytes(self) -> bytes: ...

    @property
    def value(self) -> bytes: ...

    @property
    def headers(self) -> list[tuple[str, bytes]]: ...


class PartitionBatches:
    """Records appended in order to an open batch per (topic, partition); a full batch is submitted
    and another opened; :meth:`flush` submits the rest. ``pending`` pairs each submitted record with
    its batch's future (the broker's answer for the whole batch)."""

    def __init__(self, producer: AIOKafkaProducer) -> None:
        self._producer = producer
        self._open: dict[tuple[str, int], tuple[Any, list[Sendable]]] = {}
        self._partition_of: dict[tuple[str, bytes], int] = {}
        self._known: set[str] = set()
        self.pending: list[tuple[Any, asyncio.Future[Any]]] = []

    async def add(self, rec: Sendable) -> None:
        """Append ``rec`` to its partition's open batch (submitting that batch first when it is full).

        Raises what ``send_batch`` raises when a full batch could not be submitted: the caller treats
        it as a failure to send ``rec`` (and the records of that batch are not pending).
        """
        if rec.topic not in self._known:
            await self._producer.partitions_for(rec.topic)  # the partitioner needs the topic's metadata
            self._known.add(rec.topic)
        slot_key = (rec.topic, rec.key_bytes)
        partition = self._partition_of.get(slot_key)
        if partition is None:
            # the producer's own choice (its partitioner over its metadata), as `send` would make it
            partition = self._producer._partition(rec.topic, None, None, None, rec.key_bytes, rec.value)
            self._partition_of[slot_key] = partition
        slot = (rec.topic, partition)
        entry = self._open.get(slot)
        if entry is None:
            entry = self._open[slot] = (self._producer.create_batch(), [])
        if self._append(entry[0], rec) is None:
            await self._submit(slot)
            entry = self._open[slot] = (self._producer.create_batch(), [])
            if self._append(entry[0], rec) is None:
                # an empty batch takes any first record; should one ever refuse, the record goes alone,
                # after the batches of its partition submitted so far
                del self._open[slot]
                future = await self._producer.send(
                    rec.topic, value=rec.value, key=rec.key_bytes, headers=[*rec.headers]
                )
                self.pending.append((rec, future))
                return
        entry[1].append(rec)

    @staticmethod
    def _append(builder: Any, rec: Sendable) -> Any:
        return builder.append(timestamp=None, key=rec.key_bytes, value=rec.value, headers=rec.headers)

    async def _submit(self, slot: tuple[str, int]) -> None:
        builder, records = self._open.pop(slot)
        if not records:
            return
        future = await self._producer.send_batch(builder, slot[0], partition=slot[1])
        self.pending.extend((rec, future) for rec in records)

    async def flush(self) -> None:
        """Submit every open batch (in the order they were opened)."""
        for slot in list(self._open):
            await self._submit(slot)

    def drop_open(self) -> None:
        """Forget the batches not submitted (after a failure: their rows stay in the outbox)."""
        self._open.clear()
