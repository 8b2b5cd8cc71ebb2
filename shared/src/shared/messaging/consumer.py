"""Idempotent Kafka consumers: inbox, aggregate-version checks, retries, dead letters, per-key parking.

Each message is applied in ONE database transaction that also inserts the inbox row
``(consumer, message_id)``; the offset is committed only after that transaction. A redelivery (crash
before the commit, relay re-send) finds the inbox row and changes nothing. Messages whose
``aggregate_version`` is not newer than the last one applied for that aggregate are stale and ignored.

A message that keeps failing is retried with exponential backoff, then sent to ``<topic>.dlq`` and its
key is *parked*; a failure that cannot pass (``shared.messaging.retry``: a programming error, data that
does not parse) is dead-lettered and parked at its first attempt: later messages of the same key are stored in ``parked_messages`` (in order) instead of
being applied, so per-aggregate order holds while other keys keep flowing. :meth:`ConsumerRunner.replay`
re-applies (or discards) the parked messages of a key.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRecord, TopicPartition
from opentelemetry import trace
from pydantic import ValidationError
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from shared.availability import database_away
from shared.db.database import Database, Role
from shared.db.uow import SqlUnitOfWork, UnitOfWork
from shared.messaging.envelope import Envelope
from shared.messaging.inbox import BatchStatements, Delivery, canonical_uuid, work_order_of
from shared.messaging.kafka import make_consumer
from shared.messaging.outbox import OutboxWriter
from shared.messaging.retry import can_pass
from shared.messaging.schema import DUPLICATES
from shared.messaging.spans import (
    DUPLICATE,
    FIRST,
    REPLAY,
    RETRY,
    STALE,
    SUPERSEDED,
    consuming,
    handling,
)
from shared.telemetry.tracing import recording

__all__ = [
    "DUPLICATE",
    "FIRST",
    "REPLAY",
    "RETRY",
    "STALE",
    "SUPERSEDED",
    "BatchHandler",
    "ConsumerRunner",
    "Handler",
    "Outcome",
    "Subscription",
]

log = logging.getLogger(__name__)
_tracer = trace.get_tracer("shared.messaging.consumer")

Handler = Callable[[UnitOfWork, Envelope], Awaitable[None]]
BatchHandler = Callable[[UnitOfWork, Sequence[Envelope]], Awaitable[None]]

#: the longest pause between two tries of a message while the database is away
_OUTAGE_MAX_BACKOFF_S = 2.0


@dataclass(frozen=True)
class Subscription:
    """Route messages of ``topic`` (optionally only some ``types``) to ``handler``.

    ``coalesce`` (issue 18, the fan-out) is for whole-state events only (``evidence_state``,
    ``work_order_billing``, ``account_status``): when it says yes for a message and a later message of
    the same aggregate and type in the same partition batch is applied, the handler is not called for
    the older one (inbox outcome ``superseded``): the newer state replaces it anyway. Never set it for
    events that trigger sagas (status changes, ``ready_for_render``, release requests) or carry more
    than a state (``evidence_state`` with notes).

    ``many`` is the set-wise form of ``handler`` for a projection that can write a batch in one
    statement: the batch path calls it once, after the per-message handlers of the batch, with every
    message of the batch to apply (in order; possibly of several tenants); retries, replays and the
    one-by-one fallback call ``handler``. Both must have the same effect.
    """

    topic: str
    handler: Handler
    types: frozenset[str] | None = None
    check_version: bool = True
    coalesce: Callable[[Envelope], bool] | None = None
    many: BatchHandler | None = None

    def accepts(self, event_type: str) -> bool:
        return self.types is None or event_type in self.types

    def may_skip(self, envelope: Envelope) -> bool:
        """Whether a newer state of the same aggregate in the batch makes this message unneeded."""
        return self.coalesce is not None and self.coalesce(envelope)


#: how many (topic, type) routes a consumer remembers
_MAX_ROUTES = 1024


@dataclass(frozen=True)
class Outcome:
    """What happened to one message (returned for tests and metrics)."""

    status: str  # applied | duplicate | stale | superseded | ignored | parked | dead_lettered | invalid
    message_id: str | None = None


class ConsumerRunner:
    """Consumes the subscribed topics as one consumer group and applies messages idempotently."""

    def __init__(
        self,
        *,
        consumer_name: str,
        schema: str,
        bootstrap: str,
        db: Database,
        outbox: OutboxWriter,
        producer: AIOKafkaProducer,
        subscriptions: Iterable[Subscription],
        max_attempts: int = 5,
        backoff_base_s: float = 0.05,
        session_timeout_ms: int = 10_000,
        heartbeat_interval_ms: int = 1_000,
    ) -> None:
        self.consumer_name = consumer_name
        self.schema = schema
        self._bootstrap = bootstrap
        self._db = db
        self._outbox = outbox
        self._producer = producer
        self._subs: dict[str, list[Subscription]] = {}
        for sub in subscriptions:
            self._subs.setdefault(sub.topic, []).append(sub)
        self._max_attempts = max(1, max_attempts)
        self._backoff_base_s = backoff_base_s
        self._session_timeout_ms = session_timeout_ms
        self._heartbeat_interval_ms = heartbeat_interval_ms
        self._parked: set[tuple[str, str]] = set()
        self._parked_loaded_at = -1e9
        self.ready = asyncio.Event()
        self.processed = 0
        #: redeliveries the inbox absorbed (message already applied: changed nothing)
        self.duplicates = 0
        self._batch = BatchStatements(schema)
        self._routes: dict[tuple[str, str], list[Subscription]] = {}

    @property
    def topics(self) -> list[str]:
        return sorted(self._subs)

    async def run(self) -> None:
        """Consume until cancelled."""
        consumer = make_consumer(
            self._bootstrap,
            *self.topics,
            group_id=self.consumer_name,
            client_id=self.consumer_name,
            session_timeout_ms=self._session_timeout_ms,
            heartbeat_interval_ms=self._heartbeat_interval_ms,
        )
        await consumer.start()
        try:
            await self._refresh_parked(force=True)
            while True:
                batches = await consumer.getmany(timeout_ms=500)
                if consumer.assignment():
                    self.ready.set()
                if not batches:
                    continue
                await self._refresh_parked()
                await asyncio.gather(
                    *(self._process_partition(consumer, tp, records) for tp, records in batches.items())
                )
        finally:
            await consumer.stop()

    async def _process_partition(
        self, consumer: AIOKafkaConsumer, tp: TopicPartition, records: list[ConsumerRecord[bytes, bytes]]
    ) -> None:
        await self.process_records(records)
        # Offsets move only after every effect of the batch is committed in Postgres.
        await consumer.commit({tp: records[-1].offset + 1})

    async def process_records(self, records: list[ConsumerRecord[bytes, bytes]]) -> None:
        """Apply a partition batch: in one transaction when all goes well, else one by one.

        Each envelope is parsed once. The fast path saves a commit per message and does the inbox,
        the version checks and the duplicate detection set-wise (one statement each for the batch).
        Any failure (or an invalid or parked message) rolls the fast path back and hands the records to
        the slow path, which retries, dead-letters and parks per message in order, so the outcome is
        the same as processing them singly.
        """
        deliveries = [Delivery.of(record) for record in records]
        start = await self._apply_batch(deliveries)
        for delivery in deliveries[start:]:
            await self._handle_delivery(delivery)

    async def _apply_batch(self, deliveries: list[Delivery]) -> int:
        """Apply the leading run of plain records in one transaction; returns how many were applied."""
        if len(deliveries) < 2:
            return 0
        batch: list[Delivery] = []
        for delivery in deliveries:
            if (delivery.topic, delivery.key) in self._parked or delivery.envelope is None:
                break
            batch.append(delivery)
        if len(batch) < 2:
            return 0
        try:
            async with SqlUnitOfWork(self._db, self._outbox, role=Role.SYSTEM) as uow:
                duplicates = await self._apply_set(uow, batch)
                await uow.commit()
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            log.info("batch apply failed; falling back to one by one", extra={"error": repr(exc)})
            return 0
        self.processed += len(batch)
        self.duplicates += duplicates
        return len(batch)

    async def _apply_set(self, uow: SqlUnitOfWork, batch: list[Delivery]) -> int:
        """The batch inside the caller's transaction, with the outcomes of applying it message by
        message: inbox rows (one statement), then the version checks of the new ones (one statement),
        then the handlers in order. Returns how many duplicates the inbox absorbed."""
        session = uow.session
        routed: list[tuple[Delivery, Envelope, list[Subscription]]] = []
        for delivery in batch:
            envelope = delivery.envelope
            if envelope is None:  # _apply_batch keeps only parsed ones
                raise RuntimeError("an unparsed record in the batch")
            subs = self._subscriptions_for(delivery.topic, envelope)
            if subs:  # a message no subscription wants is ignored (no inbox row), as one by one
                routed.append((delivery, envelope, subs))
        if not routed:
            return 0
        inserted = await session.execute(
            self._batch.inbox,
            {
                "c": self.consumer_name,
                "m": [e.message_id for _, e, _ in routed],
                "t": [d.topic for d, _, _ in routed],
                "ty": [e.type for _, e, _ in routed],
                "k": [d.key for d, _, _ in routed],
                "a": [e.aggregate_id for _, e, _ in routed],
                "v": [e.aggregate_version for _, e, _ in routed],
                "w": [work_order_of(e) for _, e, _ in routed],
                "tp": [e.traceparent for _, e, _ in routed],
            },
        )
        fresh = {row[0] for row in inserted}
        status: list[str] = []
        seen: set[str] = set()
        for _, envelope, _ in routed:
            message_id = envelope.message_id
            if message_id not in fresh:  # an id found as given is already in Postgres's spelling
                message_id = canonical_uuid(message_id)
            status.append(FIRST if message_id in fresh and message_id not in seen else DUPLICATE)
            seen.add(message_id)
        duplicates = status.count(DUPLICATE)
        if duplicates:
            await self._count_duplicates(session, duplicates)
        await self._check_versions(session, routed, status)
        await self._coalesce(session, routed, status)
        tenant: str | None = None
        gathered: dict[int, tuple[Subscription, list[Envelope]]] = {}
        traced = recording()
        for (delivery, envelope, subs), delivery_status in zip(routed, status, strict=True):
            singles = [sub for sub in subs if sub.many is None] if delivery_status == FIRST else []
            if delivery_status == FIRST:
                for sub in subs:
                    if sub.many is not None:
                        gathered.setdefault(id(sub), (sub, []))[1].append(envelope)
            if not singles and not traced:
                # nothing runs for this message alone and no span records it: no context to set
                # (a set-wise projection takes the batch, of any tenants, after this loop)
                continue
            with self._consuming(envelope, delivery.headers):
                if delivery_status != FIRST:
                    with self._handling(delivery.topic, envelope, delivery_status):
                        continue
                with self._handling(delivery.topic, envelope, FIRST):
                    if singles and envelope.tenant_id and envelope.tenant_id != tenant:
                        await session.execute(self._batch.set_tenant, {"t": envelope.tenant_id})
                        tenant = envelope.tenant_id
                    for sub in singles:
                        await sub.handler(uow, envelope)
        for sub, envelopes in gathered.values():
            if sub.many is not None:  # only those are gathered
                await sub.many(uow, envelopes)
        return duplicates

    async def _coalesce(
        self,
        session: AsyncSession,
        routed: list[tuple[Delivery, Envelope, list[Subscription]]],
        status: list[str],
    ) -> None:
        """Mark :data:`SUPERSEDED` (in ``status`` and the inbox) each message to apply that every one of
        its subscriptions may skip and that a later message to apply of the same aggregate and type
        follows (a whole state replaced by a newer one)."""
        last: dict[tuple[str, str, str], int] = {}
        for index, (delivery, envelope, _) in enumerate(routed):
            if status[index] == FIRST:
                last[(delivery.topic, envelope.aggregate_id, envelope.type)] = index
        skipped: list[str] = []
        for index, (delivery, envelope, subs) in enumerate(routed):
            newest = last.get((delivery.topic, envelope.aggregate_id, envelope.type), index)
            if status[index] == FIRST and newest != index and all(sub.may_skip(envelope) for sub in subs):
                status[index] = SUPERSEDED
                skipped.append(envelope.message_id)
        if skipped:
            await session.execute(self._batch.mark_superseded, {"c": self.consumer_name, "m": skipped})

    async def _count_duplicates(self, session: AsyncSession, count: int) -> None:
        """Add ``count`` to this consumer's duplicates counter, in the transaction that absorbed them."""
        await session.execute(self._batch.count, {"c": self.consumer_name, "n": DUPLICATES, "v": count})

    async def _check_versions(
        self,
        session: AsyncSession,
        routed: list[tuple[Delivery, Envelope, list[Subscription]]],
        status: list[str],
    ) -> None:
        """Mark :data:`STALE` (in ``status`` and the inbox) each new message whose aggregate version is
        not newer than the last one applied, counting the earlier messages of the batch."""
        newest: dict[tuple[str, str], int] = {}
        for (delivery, envelope, subs), delivery_status in zip(routed, status, strict=True):
            if delivery_status == FIRST and any(sub.check_version for sub in subs):
                aggregate = (delivery.topic, envelope.aggregate_id)
                newest[aggregate] = max(newest.get(aggregate, -1), envelope.aggregate_version)
        if not newest:
            return
        recorded = await session.execute(
            self._batch.versions,
            {
                "c": self.consumer_name,
                "t": [topic for topic, _ in newest],
                "a": [aggregate_id for _, aggregate_id in newest],
                "v": list(newest.values()),
            },
        )
        # the version each aggregate had before the batch; an aggregate not returned was already at
        # least as new as every message of the batch
        last: dict[tuple[str, str], int | None] = {(r[0], r[1]): r[2] for r in recorded}
        stale: list[str] = []
        for index, (delivery, envelope, subs) in enumerate(routed):
            if status[index] != FIRST or not any(sub.check_version for sub in subs):
                continue
            aggregate = (delivery.topic, envelope.aggregate_id)
            if aggregate not in last:
                newer = False
            else:
                before = last[aggregate]
                newer = before is None or envelope.aggregate_version > before
            if newer:
                last[aggregate] = envelope.aggregate_version
            else:
                status[index] = STALE
                stale.append(envelope.message_id)
        if stale:
            await session.execute(self._batch.mark_stale, {"c": self.consumer_name, "m": stale})

    def _consuming(
        self, envelope: Envelope, headers: dict[str, str]
    ) -> contextlib.AbstractContextManager[None]:
        return consuming(envelope, headers)

    def _handling(
        self, topic: str, envelope: Envelope, delivery: str
    ) -> contextlib.AbstractContextManager[trace.Span]:
        return handling(self.consumer_name, topic, envelope, delivery)

    async def handle(
        self, topic: str, key: str, value: bytes, headers: dict[str, str] | None = None
    ) -> Outcome:
        """Apply one raw message: parse, park-check, retry, dead-letter."""
        try:
            envelope: Envelope | None = Envelope.model_validate_json(value)
            error = ""
        except ValidationError as exc:
            envelope, error = None, f"invalid envelope: {exc.errors()[:3]}"
        return await self._handle_delivery(Delivery(topic, key, value, headers or {}, envelope, error))

    async def _handle_delivery(self, delivery: Delivery) -> Outcome:
        envelope = delivery.envelope
        if envelope is None:
            await self._send_dlq(
                delivery.topic, delivery.key, delivery.value, error=delivery.error, attempts=0
            )
            return Outcome("invalid")
        with self._consuming(envelope, delivery.headers):
            return await self._handle_envelope(delivery.topic, delivery.key, delivery.value, envelope)

    async def _handle_envelope(self, topic: str, key: str, value: bytes, envelope: Envelope) -> Outcome:
        if (topic, key) in self._parked:
            await self._park(topic, key, envelope, dead_lettered=False, error=None)
            return Outcome("parked", envelope.message_id)
        error: BaseException | None = None
        attempts = 0
        outage = 0
        attempt = 1
        while attempt <= self._max_attempts:
            attempts = attempt
            try:
                first = attempt == 1 and not outage
                status = await self._apply(topic, envelope, key, FIRST if first else RETRY)
                if outage:
                    log.info("database back; message applied", extra={"topic": topic, "key": key})
                self.processed += 1
                if status == DUPLICATE:
                    self.duplicates += 1
                return Outcome(status, envelope.message_id)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                if database_away(exc):
                    # The database is away, not the message at fault: wait for it without spending an
                    # attempt (a Postgres restart must not dead-letter and park a good message).
                    if not outage:
                        log.warning(
                            "database unavailable; the message waits for it",
                            extra={"topic": topic, "key": key, "error": repr(exc)},
                        )
                    outage += 1
                    await asyncio.sleep(
                        min(_OUTAGE_MAX_BACKOFF_S, self._backoff_base_s * 2 ** min(outage, 8))
                    )
                    continue
                error = exc
                retry = can_pass(exc)
                log.warning(
                    "message handling failed" if retry else "message handling failed for good",
                    extra={"topic": topic, "key": key, "attempt": attempt, "error": repr(exc)},
                    exc_info=not retry,
                )
                if not retry:
                    break
                if attempt < self._max_attempts:
                    await asyncio.sleep(self._backoff_base_s * (2 ** (attempt - 1)))
                attempt += 1
        await self._send_dlq(topic, key, value, error=repr(error), attempts=attempts)
        await self._park(topic, key, envelope, dead_lettered=True, error=repr(error))
        return Outcome("dead_lettered", envelope.message_id)

    async def _apply(
        self, topic: str, envelope: Envelope, key: str | None = None, delivery: str = FIRST
    ) -> str:
        if not self._subscriptions_for(topic, envelope):
            return "ignored"
        async with SqlUnitOfWork(
            self._db, self._outbox, role=Role.SYSTEM, tenant_id=envelope.tenant_id
        ) as uow:
            status = await self._apply_in(uow, topic, envelope, key, delivery)
            await uow.commit()
            return status

    def _subscriptions_for(self, topic: str, envelope: Envelope) -> list[Subscription]:
        # routed once per (topic, type): the subscriptions never change after start (bounded: the type
        # comes from the message, and a hostile producer may send any)
        route = (topic, envelope.type)
        found = self._routes.get(route)
        if found is None:
            found = [s for s in self._subs.get(topic, []) if s.accepts(envelope.type)]
            if len(self._routes) < _MAX_ROUTES:
                self._routes[route] = found
        return found

    async def _apply_in(
        self,
        uow: SqlUnitOfWork,
        topic: str,
        envelope: Envelope,
        key: str | None = None,
        delivery: str = FIRST,
    ) -> str:
        """Inbox row, version check and handlers inside the caller's transaction (the handler span is
        opened once the inbox says whether the message is new: see :meth:`_handling`)."""
        subs = self._subscriptions_for(topic, envelope)
        if not subs:
            return "ignored"
        s = self.schema
        session = uow.session
        # key, aggregate, work order and traceparent: what a work order's story shows (shared.ops)
        inserted = await session.execute(
            text(
                f"INSERT INTO {s}.inbox (consumer, message_id, topic, message_type, key, aggregate_id, "
                "aggregate_version, work_order_id, traceparent) "
                "VALUES (:c, CAST(:m AS uuid), :t, :ty, :k, :a, :v, :w, :tp) "
                "ON CONFLICT DO NOTHING RETURNING 1"
            ),
            {
                "c": self.consumer_name,
                "m": envelope.message_id,
                "t": topic,
                "ty": envelope.type,
                "k": envelope.aggregate_id if key is None else key,
                "a": envelope.aggregate_id,
                "v": envelope.aggregate_version,
                "w": work_order_of(envelope),
                "tp": envelope.traceparent,
            },
        )
        if inserted.first() is None:
            await self._count_duplicates(session, 1)
            with self._handling(topic, envelope, DUPLICATE):
                return "duplicate"
        if any(sub.check_version for sub in subs):
            # One statement: record the version if it is newer; RETURNING tells whether it was.
            newer = await session.execute(
                text(
                    f"INSERT INTO {s}.consumer_versions AS cv (consumer, topic, aggregate_id, aggregate_version) "
                    "VALUES (:c, :t, :a, :v) ON CONFLICT (consumer, topic, aggregate_id) "
                    "DO UPDATE SET aggregate_version = EXCLUDED.aggregate_version "
                    "WHERE cv.aggregate_version < EXCLUDED.aggregate_version RETURNING 1"
                ),
                {
                    "c": self.consumer_name,
                    "t": topic,
                    "a": envelope.aggregate_id,
                    "v": envelope.aggregate_version,
                },
            )
            if newer.first() is None:
                await session.execute(
                    text(
                        f"UPDATE {s}.inbox SET outcome = 'stale' WHERE consumer = :c AND message_id = CAST(:m AS uuid)"
                    ),
                    {"c": self.consumer_name, "m": envelope.message_id},
                )
                with self._handling(topic, envelope, STALE):
                    return "stale"
        with self._handling(topic, envelope, delivery):
            if envelope.tenant_id:
                await session.execute(
                    text("SELECT set_config('app.tenant_id', :t, true)"), {"t": envelope.tenant_id}
                )
            for sub in subs:
                await sub.handler(uow, envelope)
        return "applied"

    async def _send_dlq(self, topic: str, key: str, value: bytes, *, error: str, attempts: int) -> None:
        headers = [
            ("x-zenops-error", error[:1000].encode()),
            ("x-zenops-consumer", self.consumer_name.encode()),
            ("x-zenops-attempts", str(attempts).encode()),
        ]
        await self._producer.send_and_wait(f"{topic}.dlq", value=value, key=key.encode(), headers=headers)

    async def _park(
        self, topic: str, key: str, envelope: Envelope, *, dead_lettered: bool, error: str | None
    ) -> None:
        async with self._db.session(Role.SYSTEM) as session, session.begin():
            await session.execute(
                text(
                    f"INSERT INTO {self.schema}.parked_messages "
                    "(consumer, topic, key, message_id, envelope, dead_lettered, error) "
                    "VALUES (:c, :t, :k, CAST(:m AS uuid), CAST(:e AS jsonb), :d, :err) ON CONFLICT DO NOTHING"
                ),
                {
                    "c": self.consumer_name,
                    "t": topic,
                    "k": key,
                    "m": envelope.message_id,
                    "e": envelope.model_dump_json(),
                    "d": dead_lettered,
                    "err": error,
                },
            )
        self._parked.add((topic, key))

    async def _refresh_parked(self, *, force: bool = False) -> None:
        now = asyncio.get_running_loop().time()
        if not force and now - self._parked_loaded_at < 2.0:
            return
        async with self._db.session(Role.SYSTEM) as session:
            rows = await session.execute(
                text(f"SELECT DISTINCT topic, key FROM {self.schema}.parked_messages WHERE consumer = :c"),
                {"c": self.consumer_name},
            )
            self._parked = {(r[0], r[1]) for r in rows}
        self._parked_loaded_at = now

    async def parked(self) -> list[dict[str, Any]]:
        """The parked messages of this consumer, oldest first (for operators)."""
        async with self._db.session(Role.SYSTEM) as session:
            rows = await session.execute(
                text(
                    f"SELECT id, topic, key, message_id::text, dead_lettered, error, envelope::text "
                    f"FROM {self.schema}.parked_messages WHERE consumer = :c ORDER BY id"
                ),
                {"c": self.consumer_name},
            )
            return [
                {
                    "id": r[0],
                    "topic": r[1],
                    "key": r[2],
                    "message_id": r[3],
                    "dead_lettered": r[4],
                    "error": r[5],
                    "type": json.loads(r[6]).get("type"),
                }
                for r in rows
            ]

    async def replay(self, topic: str, key: str, *, discard_head: bool = False) -> list[Outcome]:
        """Re-apply the parked messages of one key in order; optionally discard the dead-lettered head.

        Stops at the first message that fails again (it stays parked, the key stays blocked). The
        replay is one span; each message's handler span is its child with a LINK to the message's
        original context.
        """
        with _tracer.start_as_current_span(
            f"replay {topic}",
            attributes={
                "messaging.destination.name": topic,
                "zenops.key": key,
                "zenops.discard": discard_head,
            },
        ):
            return await self._replay(topic, key, discard_head=discard_head)

    async def _replay(self, topic: str, key: str, *, discard_head: bool) -> list[Outcome]:
        async with self._db.session(Role.SYSTEM) as session:
            rows = (
                await session.execute(
                    text(
                        f"SELECT id, envelope::text, dead_lettered FROM {self.schema}.parked_messages "
                        "WHERE consumer = :c AND topic = :t AND key = :k ORDER BY id"
                    ),
                    {"c": self.consumer_name, "t": topic, "k": key},
                )
            ).all()
        outcomes: list[Outcome] = []
        for index, (row_id, raw, _dead) in enumerate(rows):
            envelope = Envelope.model_validate_json(raw)
            if index == 0 and discard_head:
                outcomes.append(Outcome("discarded", envelope.message_id))
            else:
                try:
                    outcomes.append(
                        Outcome(await self._apply(topic, envelope, key, REPLAY), envelope.message_id)
                    )
                except Exception as exc:
                    log.warning("replay failed; key stays parked", extra={"key": key, "error": repr(exc)})
                    break
            async with self._db.session(Role.SYSTEM) as session, session.begin():
                await session.execute(
                    text(f"DELETE FROM {self.schema}.parked_messages WHERE id = :id"), {"id": row_id}
                )
        else:
            self._parked.discard((topic, key))
        return outcomes
