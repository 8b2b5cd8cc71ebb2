"""The outbox relay: one active instance per service publishes outbox rows to Kafka in order.

Exclusivity comes from a Postgres advisory lock held on a dedicated connection: a second replica waits
as a hot standby and takes over when the first one's connection dies. The relay is woken by NOTIFY on
commit and falls back to polling, publishes a batch with the idempotent producer (acks=all), waits for
every acknowledgement and only then marks the rows published. A crash between the two steps re-sends
the batch; consumers drop the duplicates through their inbox.

**Unsendable messages** (issue 12). A row the broker can never accept must not stop the relay, or every
other aggregate of every tenant waits behind it. Before sending, the relay measures each record
(aiokafka's own size estimate) against :data:`~shared.messaging.kafka.RELAY_MAX_RECORD_BYTES`; a record
that is too large, whose topic does not exist on a reachable broker, or that the broker refuses with a
*permanent* error (:data:`PERMANENT_ERRORS`) is **moved aside** into ``<schema>.unsendable_messages``
(same id, same columns, plus reason and detail) with one ERROR log line. Its key (topic + key = one
aggregate) is then blocked: the later outbox rows of that key stay unpublished, *parked behind it*, the
way a consumer parks a key behind a dead letter, while every other key keeps flowing. An operator
replays it (e.g. after the envelope was fixed or the limits raised) or discards it with
``python -m <pkg>.main replay-parked TOPIC KEY [--discard]`` (:func:`replay_unsendable`); then the
parked rows of the key flow again, in order.

Every other error (broker unreachable, timeouts, a database hiccup) is *transient*: the rows stay in
the outbox, the relay logs and backs off (1 s doubling to 30 s) and tries again; it never dies on a
message.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import asyncpg
from aiokafka import AIOKafkaProducer
from aiokafka.errors import (
    CorruptRecordException,
    InvalidTimestampError,
    InvalidTopicError,
    MessageSizeTooLargeError,
    OutOfOrderSequenceNumber,
    RecordListTooLargeError,
    RecordTooLargeError,
    UnknownTopicOrPartitionError,
    UnsupportedForMessageFormatError,
)
from aiokafka.record.default_records import DefaultRecordBatchBuilder
from opentelemetry import trace
from opentelemetry.trace import SpanKind

from shared.messaging.kafka import RELAY_MAX_RECORD_BYTES
from shared.messaging.outbox import notify_channel
from shared.messaging.relay_batches import PartitionBatches
from shared.telemetry.tracing import context_from_traceparent, inject_headers, record_error, recording

log = logging.getLogger(__name__)
_tracer = trace.get_tracer("shared.messaging.relay")

#: Broker/client errors that concern the record itself: sending it again can never succeed, so it is
#: moved aside. Everything else (connection, timeouts, leadership, authorisation, unknown topic while
#: the broker cannot be asked) is transient and retried with back-off.
PERMANENT_ERRORS: tuple[type[BaseException], ...] = (
    MessageSizeTooLargeError,  # 10: larger than the broker's / topic's message.max.bytes
    RecordTooLargeError,  # client side: larger than the producer's max_request_size
    RecordListTooLargeError,  # 18
    CorruptRecordException,  # 2 (also InvalidMessageError)
    InvalidTopicError,  # 17: a topic name the broker can never accept
    InvalidTimestampError,  # 32
    UnsupportedForMessageFormatError,  # 43
)

REASON_TOO_LARGE = "too_large"
REASON_UNKNOWN_TOPIC = "unknown_topic"

_BACKOFF_START_S = 1.0
_BACKOFF_MAX_S = 30.0


def _lock_id(schema: str) -> int:
    # A stable 31-bit id per schema: advisory locks are keyed by integers.
    return zlib.crc32(f"zenops-outbox:{schema}".encode()) & 0x7FFFFFFF


def is_permanent(exc: BaseException) -> bool:
    """Whether a send error concerns the record itself (move it aside) rather than the moment."""
    return isinstance(exc, PERMANENT_ERRORS)


@dataclass(frozen=True)
class _Record:
    """One outbox row ready to send."""

    id: int
    topic: str
    key: str
    key_bytes: bytes
    value: bytes
    headers: list[tuple[str, bytes]]
    size: int
    traceparent: str | None = None
    event_type: str = ""

    def start_publish_span(self) -> trace.Span:
        """The relay's PRODUCER span of this row: a child of the context the outbox row was written in
        (the writing request's outbox span), so the publish sits in the request's trace."""
        return _tracer.start_span(
            f"publish {self.topic}",
            context=context_from_traceparent(self.traceparent),
            kind=SpanKind.PRODUCER,
            attributes={
                "messaging.system": "kafka",
                "messaging.destination.name": self.topic,
                "messaging.operation.type": "send",
                "messaging.kafka.message.key": self.key[:256],
                "zenops.event_type": self.event_type,
                "zenops.outbox_id": self.id,
            },
        )

    def headers_in(self, span: trace.Span) -> list[tuple[str, bytes]]:
        """The record's headers with ``span``'s ``traceparent`` (a fresh list per send: the Kafka
        instrumentation appends its own context to the list it is given)."""
        carrier: dict[str, str] = {}
        with trace.use_span(span, end_on_exit=False):
            inject_headers(carrier)
        kept = [(k, v) for k, v in self.headers if k not in carrier]
        return [*kept, *((k, v.encode()) for k, v in carrier.items())]


_TRACEPARENT_ONLY = '{"traceparent": "'


def _stored_headers(text: str) -> dict[str, Any]:
    """An outbox row's ``headers`` (jsonb as text). What the outbox writes, ``{}`` or only a
    ``traceparent`` (hex and dashes), is read without the JSON parser; anything else is parsed."""
    if text == "{}":
        return {}
    if (
        text.startswith(_TRACEPARENT_ONLY)
        and text.endswith('"}')
        and text.count('"') == 4
        and "\\" not in text
    ):
        return {"traceparent": text[len(_TRACEPARENT_ONLY) : -2]}
    stored = json.loads(text)
    return stored if isinstance(stored, dict) else {}


def _record(row: asyncpg.Record) -> _Record:
    """The record of one outbox row: its ``type`` header comes from the row's ``type`` column
    (``envelope->>'type'``, read by Postgres) when the query has one, so the relay never parses the
    envelope; only the small ``headers`` object is decoded."""
    stored = _stored_headers(row["headers"])
    headers = [(k, str(v).encode()) for k, v in stored.items()]
    if "type" in row.keys():  # noqa: SIM118  asyncpg.Record has no __contains__ over its names
        envelope_type = row["type"] or ""
    else:
        envelope = json.loads(row["envelope"])
        envelope_type = envelope.get("type", "") if isinstance(envelope, dict) else ""
    headers.append(("type", str(envelope_type).encode()))
    key_bytes = row["key"].encode()
    value = row["envelope"].encode()
    size = int(DefaultRecordBatchBuilder.estimate_size_in_bytes(key_bytes, value, headers))
    traceparent = stored.get("traceparent")
    return _Record(
        row["id"],
        row["topic"],
        row["key"],
        key_bytes,
        value,
        headers,
        size,
        traceparent=str(traceparent) if traceparent else None,
        event_type=str(envelope_type),
    )


class TransientPublishError(Exception):
    """Some rows of a batch could not be sent for now; they stay in the outbox."""


class OutboxRelay:
    """Publishes ``<schema>.outbox`` rows; run :meth:`run` as a task and cancel it to stop."""

    def __init__(
        self,
        *,
        schema: str,
        dsn: str,
        producer: AIOKafkaProducer | None = None,
        producer_factory: Callable[[], AIOKafkaProducer] | None = None,
        batch_size: int = 500,
        poll_interval_s: float = 1.0,
        retention_s: float = 30 * 24 * 3600,
        max_record_bytes: int = RELAY_MAX_RECORD_BYTES,
    ) -> None:
        self.schema = schema
        self._dsn = dsn
        if producer is None and producer_factory is None:
            raise ValueError("OutboxRelay needs a producer or a producer_factory")
        # With a factory the relay owns its producer: it starts it, and replaces it after the broker
        # refused a record (aiokafka's idempotent producer then fails every later batch of that
        # partition with OutOfOrderSequenceNumber; a new producer id starts the sequences afresh).
        self._producer_factory = producer_factory
        self._producer: AIOKafkaProducer | None = producer
        self._producer_started = producer is not None
        self._batch_size = batch_size
        self._poll_interval_s = poll_interval_s
        self._retention_s = retention_s
        self._max_record_bytes = max_record_bytes
        self._wake = asyncio.Event()
        self.published_total = 0
        self.moved_aside_total = 0
        self.is_leader = False
        self._backoff_s = _BACKOFF_START_S

    async def run(self) -> None:
        """Hold the lock, then publish until cancelled; never dies on an error, backs off instead."""
        try:
            await self._run_forever()
        finally:
            if self._producer_factory is not None:
                await self._stop_producer()

    @property
    def producer(self) -> AIOKafkaProducer:
        """The producer in use: the one given, or the one the relay started from its factory."""
        producer = self._producer
        if producer is None:
            raise RuntimeError("the relay's producer is not started")
        return producer

    async def _ensure_producer(self) -> None:
        factory = self._producer_factory
        if self._producer_started:
            return
        if factory is None:
            raise RuntimeError("the relay was given a producer, it cannot start one of its own")
        self._producer = factory()
        await self._producer.start()
        self._producer_started = True

    async def _stop_producer(self) -> None:
        if self._producer is not None and self._producer_started:
            with contextlib.suppress(Exception):
                await self._producer.stop()
        self._producer_started = False

    async def _reset_producer(self) -> None:
        """A fresh producer after a broker refusal (only when the relay owns its producer)."""
        if self._producer_factory is None:
            return
        log.warning("outbox relay replaces its Kafka producer after a refusal", extra={"schema": self.schema})
        await self._stop_producer()
        await self._ensure_producer()

    async def _run_forever(self) -> None:
        last_error = ""
        while True:
            try:
                await self._run_once()
            except asyncio.CancelledError:
                raise
            except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
                log.warning("outbox relay connection lost; retrying", extra={"error": str(exc)})
            except TransientPublishError as exc:
                log.warning(
                    "outbox relay could not publish; retrying",
                    extra={"schema": self.schema, "error": str(exc), "retry_in_s": self._backoff_s},
                )
            except Exception as exc:
                error = repr(exc)
                if error != last_error:
                    # the traceback once per distinct error, not once per retry
                    log.exception("outbox relay failed; retrying", extra={"schema": self.schema})
                else:
                    log.error(
                        "outbox relay failed again; retrying",
                        extra={"schema": self.schema, "error": error, "retry_in_s": self._backoff_s},
                    )
                last_error = error
            self.is_leader = False
            await asyncio.sleep(self._backoff_s)
            self._backoff_s = min(self._backoff_s * 2, _BACKOFF_MAX_S)

    async def _run_once(self) -> None:
        await self._ensure_producer()
        conn: asyncpg.Connection = await asyncpg.connect(self._dsn)
        try:
            while not await conn.fetchval("SELECT pg_try_advisory_lock($1)", _lock_id(self.schema)):
                await asyncio.sleep(self._poll_interval_s)
            self.is_leader = True
            log.info("outbox relay is the active publisher", extra={"schema": self.schema})
            await conn.add_listener(notify_channel(self.schema), self._on_notify)
            last_cleanup = 0.0
            loop = asyncio.get_running_loop()
            while True:
                # Cleared BEFORE the read: a commit notified after this point is either seen by the read
                # or sets the event again, so the wait below never sleeps through one (cleared after the
                # read, a NOTIFY arriving during an empty read was lost until the next poll).
                self._wake.clear()
                fetched = await self._publish_batch(conn)
                if fetched >= self._batch_size:
                    continue  # a full batch: more may be waiting
                if loop.time() - last_cleanup > 60:
                    await self._cleanup(conn)
                    last_cleanup = loop.time()
                # Nothing more was committed since the read unless a NOTIFY said so: wait for one (or the
                # poll interval, for commits of writers that do not notify) instead of reading again.
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), self._poll_interval_s)
        finally:
            self.is_leader = False
            with contextlib.suppress(Exception):
                await conn.close()

    def _on_notify(self, *_: Any) -> None:
        self._wake.set()

    async def publish_batch(self, conn: asyncpg.Connection) -> int:
        """Publish up to one batch in id order; returns how many rows were published."""
        before = self.published_total
        await self._publish_batch(conn)
        return self.published_total - before

    async def _publish_batch(self, conn: asyncpg.Connection) -> int:
        """Handle up to one batch; returns how many rows were fetched (published or moved aside).

        Rows of a key that has a message moved aside are not fetched at all: they wait behind it.
        Raises :class:`TransientPublishError` after storing what did succeed when some rows could not
        be sent for a transient reason (they are retried after a back-off).
        """
        s = self.schema
        rows = await conn.fetch(
            f"SELECT o.id, o.topic, o.key, o.envelope::text AS envelope, o.headers::text AS headers, "
            f"o.envelope->>'type' AS type "
            f"FROM {s}.outbox o WHERE o.published_at IS NULL AND NOT EXISTS ("
            f"SELECT 1 FROM {s}.unsendable_messages u WHERE u.topic = o.topic AND u.key = o.key) "
            f"ORDER BY o.id LIMIT $1",
            self._batch_size,
        )
        if not rows:
            return 0
        records = [_record(row) for row in rows]
        unknown = await unknown_topics(self.producer, {r.topic for r in records})
        blocked: dict[tuple[str, str], int] = {}  # key -> id of its head moved aside in this batch
        pending: list[tuple[_Record, asyncio.Future[Any]]] = []
        spans: dict[int, trace.Span] = {}
        transient: list[str] = []
        traced = recording()  # a publish span per record only when spans are recorded
        send = self.producer.send
        # without spans, records go into Kafka batches the relay fills itself (shared.messaging.relay_batches)
        batches = None if traced else PartitionBatches(self.producer)
        for rec in records:
            if (rec.topic, rec.key) in blocked:
                continue  # parked behind its head; fetched again once the head is replayed/discarded
            if rec.topic in unknown:
                await self._move_aside(conn, rec, REASON_UNKNOWN_TOPIC, f"topic {rec.topic!r} does not exist")
                blocked[(rec.topic, rec.key)] = rec.id
                continue
            if rec.size > self._max_record_bytes:
                detail = f"record is {rec.size} bytes, the relay's limit is {self._max_record_bytes}"
                await self._move_aside(conn, rec, REASON_TOO_LARGE, detail)
                blocked[(rec.topic, rec.key)] = rec.id
                continue
            if batches is not None:
                # nothing records spans: the row's stored traceparent (the envelope's) travels as is
                try:
                    await batches.add(rec)
                except asyncio.CancelledError:
                    raise
                except Exception as exc:
                    # submitting a full batch failed: whatever the error, it is not this record's own
                    transient.append(repr(exc))
                    break  # keep id order: nothing after a failure is sent in this batch
                continue
            try:
                span = spans[rec.id] = rec.start_publish_span()
                with trace.use_span(span, record_exception=False, set_status_on_exception=False):
                    future = await send(
                        rec.topic, value=rec.value, key=rec.key_bytes, headers=rec.headers_in(span)
                    )
            except asyncio.CancelledError:
                if rec.id in spans:
                    spans.pop(rec.id).end()
                raise
            except Exception as exc:
                if rec.id in spans:
                    span = spans.pop(rec.id)
                    record_error(span, exc)
                    span.end()
                if not is_permanent(exc):
                    transient.append(repr(exc))
                    break  # keep id order: nothing after a transient failure is sent in this batch
                await self._move_aside(conn, rec, type(exc).__name__, str(exc))
                blocked[(rec.topic, rec.key)] = rec.id
                continue
            pending.append((rec, future))
        if batches is not None:
            if not transient:
                try:
                    await batches.flush()
                except asyncio.CancelledError:
                    raise
                except Exception as exc:
                    transient.append(repr(exc))
            batches.drop_open()  # not submitted: those rows stay in the outbox
            pending.extend(batches.pending)
        results = await asyncio.gather(*(f for _, f in pending), return_exceptions=True)
        for (rec, _), result in zip(pending, results, strict=True):
            traced_span = spans.get(rec.id)
            if traced_span is None:
                continue
            if isinstance(result, Exception):
                record_error(traced_span, result)
            traced_span.end()
        published: list[int] = []
        refused: list[_Record] = []
        out_of_order: list[_Record] = []
        for (rec, _), result in zip(pending, results, strict=True):
            if not isinstance(result, BaseException):
                published.append(rec.id)
            elif is_permanent(result):
                refused.append(rec)
            elif isinstance(result, OutOfOrderSequenceNumber):
                out_of_order.append(rec)
            else:
                transient.append(repr(result))
        if refused:
            # The broker refuses a whole produce batch (several records, several keys) for one bad
            # record, and the refusal breaks the producer's sequence numbers for that partition (later
            # batches fail with OutOfOrderSequenceNumber). So each of those records is sent again on
            # its own, in id order, with a fresh producer after every refusal, and only a record
            # refused alone is moved aside.
            suspects = sorted(refused + out_of_order, key=lambda r: r.id)
            out_of_order = []
            poisoned = True
            for rec in suspects:
                if (rec.topic, rec.key) in blocked:
                    continue  # parked behind the head of its key moved aside just before it
                if transient:
                    break  # keep id order behind a transient failure
                if poisoned:
                    await self._reset_producer()
                    poisoned = False
                try:
                    await self.producer.send_and_wait(
                        rec.topic, value=rec.value, key=rec.key_bytes, headers=rec.headers
                    )
                except asyncio.CancelledError:
                    raise
                except Exception as exc:
                    poisoned = True
                    if is_permanent(exc):
                        await self._move_aside(conn, rec, type(exc).__name__, str(exc))
                        blocked[(rec.topic, rec.key)] = rec.id
                    else:
                        transient.append(repr(exc))
                else:
                    published.append(rec.id)
            if poisoned:
                await self._reset_producer()
        elif out_of_order:
            transient.append(f"OutOfOrderSequenceNumber on {len(out_of_order)} row(s)")
            await self._reset_producer()
        sent = set(published)
        for rec, _ in pending:
            if rec.id in sent and rec.id > blocked.get((rec.topic, rec.key), rec.id):
                # The broker took a later row of a key whose earlier row it refused (another produce
                # batch): consumers see them out of order; their version check drops the older on replay.
                log.warning(
                    "outbox row published after an earlier row of its key was refused",
                    extra={"schema": s, "topic": rec.topic, "key": rec.key, "outbox_id": rec.id},
                )
        if published:
            await conn.execute(
                f"UPDATE {s}.outbox SET published_at = now() WHERE id = ANY($1::bigint[])", published
            )
            self.published_total += len(published)
        if transient:
            raise TransientPublishError(f"{len(transient)} row(s) not sent: {transient[0]}")
        self._backoff_s = _BACKOFF_START_S  # a clean batch: the next failure starts the back-off anew
        return len(rows)

    async def _move_aside(self, conn: asyncpg.Connection, rec: _Record, reason: str, detail: str) -> None:
        """Move one outbox row into ``unsendable_messages`` (one statement, so atomic) and say so."""
        s = self.schema
        row = await conn.fetchrow(
            f"WITH moved AS (DELETE FROM {s}.outbox WHERE id = $1 AND published_at IS NULL "
            "RETURNING id, message_id, topic, key, envelope, headers, created_at) "
            f"INSERT INTO {s}.unsendable_messages "
            "(id, message_id, topic, key, envelope, headers, created_at, reason, detail, size_bytes) "
            "SELECT id, message_id, topic, key, envelope, headers, created_at, $2, $3, $4 FROM moved "
            "ON CONFLICT (id) DO UPDATE SET reason = EXCLUDED.reason, detail = EXCLUDED.detail, "
            "size_bytes = EXCLUDED.size_bytes, attempts = unsendable_messages.attempts + 1, moved_at = now() "
            "RETURNING message_id::text",
            rec.id,
            reason,
            detail[:2000],
            rec.size,
        )
        if row is None:
            return  # already published or moved by someone else
        self.moved_aside_total += 1
        log.error(
            "outbox message is unsendable: moved aside, later messages of its key wait behind it "
            "(replay or discard with `replay-parked TOPIC KEY [--discard]`)",
            extra={
                "schema": s,
                "topic": rec.topic,
                "key": rec.key,
                "outbox_id": rec.id,
                "message_id": row["message_id"],
                "reason": reason,
                "detail": detail[:500],
                "size_bytes": rec.size,
            },
        )

    async def _cleanup(self, conn: asyncpg.Connection) -> None:
        """Drop published outbox rows and inbox rows older than the retention (what a story covers)."""
        for statement in (
            f"DELETE FROM {self.schema}.outbox WHERE published_at < now() - make_interval(secs => $1)",
            f"DELETE FROM {self.schema}.inbox WHERE processed_at < now() - make_interval(secs => $1)",
        ):
            await conn.execute(statement, self._retention_s)


async def outbox_lag(conn: asyncpg.Connection, schema: str) -> int:
    """How many outbox rows wait to be published (a metric)."""
    return int(await conn.fetchval(f"SELECT count(*) FROM {schema}.outbox WHERE published_at IS NULL"))


@dataclass(frozen=True)
class OutboxHealth:
    """The relay's gauges: unsendable rows, rows parked behind them, rows waiting to be sent."""

    unsendable: int
    parked_behind: int
    pending: int


async def outbox_health(conn: asyncpg.Connection, schema: str) -> OutboxHealth:
    """Counts for ``/metrics`` (read by the HTTP process; the relay runs in the stream process)."""
    row = await conn.fetchrow(
        f"SELECT (SELECT count(*) FROM {schema}.unsendable_messages) AS unsendable, "
        f"(SELECT count(*) FROM {schema}.outbox o WHERE o.published_at IS NULL AND EXISTS ("
        f"SELECT 1 FROM {schema}.unsendable_messages u WHERE u.topic = o.topic AND u.key = o.key)) AS parked, "
        f"(SELECT count(*) FROM {schema}.outbox WHERE published_at IS NULL) AS pending"
    )
    if row is None:  # an aggregate-only SELECT always returns one row
        raise RuntimeError("the outbox counts query returned no row")
    return OutboxHealth(int(row["unsendable"]), int(row["parked"]), int(row["pending"]) - int(row["parked"]))


async def list_unsendable(conn: asyncpg.Connection, schema: str) -> list[dict[str, Any]]:
    """The unsendable messages, oldest first, with how many rows of their key wait behind them."""
    rows = await conn.fetch(
        f"SELECT u.id, u.topic, u.key, u.message_id::text AS message_id, u.envelope->>'type' AS type, "
        f"u.reason, u.detail, u.size_bytes, u.attempts, u.moved_at, "
        f"(SELECT count(*) FROM {schema}.outbox o WHERE o.published_at IS NULL "
        f"AND o.topic = u.topic AND o.key = u.key) AS parked_behind "
        f"FROM {schema}.unsendable_messages u ORDER BY u.id"
    )
    return [dict(r) for r in rows]


@dataclass(frozen=True)
class ReplayOutcome:
    """What happened to one unsendable message on replay."""

    status: str  # published | discarded | unsendable (still; kept) | failed (transient; kept)
    message_id: str
    detail: str = ""


async def replay_unsendable(
    conn: asyncpg.Connection,
    schema: str,
    producer: AIOKafkaProducer,
    topic: str,
    key: str,
    *,
    discard: bool = False,
    max_record_bytes: int = RELAY_MAX_RECORD_BYTES,
) -> list[ReplayOutcome]:
    """Send (or with ``discard`` drop) the unsendable messages of one key, oldest first.

    A message sent or discarded leaves the table and the relay is woken: the rows parked behind it
    flow again, in order. A message that still cannot be sent stays (attempts + 1) and the key stays
    blocked; nothing after it is touched. Safe while the relay runs: the relay does not publish rows of
    a key that still has an unsendable message, and the row is deleted only after the broker's ack.
    """
    rows = await conn.fetch(
        f"SELECT id, topic, key, message_id::text AS message_id, envelope::text AS envelope, "
        f"headers::text AS headers FROM {schema}.unsendable_messages "
        "WHERE topic = $1 AND key = $2 ORDER BY id",
        topic,
        key,
    )
    outcomes: list[ReplayOutcome] = []
    for row in rows:
        message_id = row["message_id"]
        if discard:
            await _delete_unsendable(conn, schema, row["id"])
            log.warning(
                "unsendable outbox message discarded by an operator",
                extra={"schema": schema, "topic": topic, "key": key, "message_id": message_id},
            )
            outcomes.append(ReplayOutcome("discarded", message_id))
            continue
        rec = _record(row)
        error: BaseException | None = None
        if rec.size > max_record_bytes:
            error = RecordTooLargeError(
                f"record is {rec.size} bytes, the relay's limit is {max_record_bytes}"
            )
        else:
            try:
                if await unknown_topics(producer, {topic}):
                    # asked the broker just now: answering at once beats the producer's metadata wait
                    raise UnknownTopicOrPartitionError(f"topic {topic!r} does not exist")
                await producer.send_and_wait(topic, value=rec.value, key=rec.key_bytes, headers=rec.headers)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                error = exc
        if error is None:
            await _delete_unsendable(conn, schema, row["id"])
            outcomes.append(ReplayOutcome("published", message_id))
            continue
        status = "unsendable" if is_permanent(error) else "failed"
        await conn.execute(
            f"UPDATE {schema}.unsendable_messages SET attempts = attempts + 1, detail = $2 WHERE id = $1",
            row["id"],
            f"replay: {error!r}"[:2000],
        )
        outcomes.append(ReplayOutcome(status, message_id, repr(error)))
        break
    return outcomes


async def unknown_topics(producer: AIOKafkaProducer, topics: set[str]) -> set[str]:
    """Those of ``topics`` the broker (reachable, asked just now) does not have.

    Asking only when the producer's metadata cache lacks a topic keeps the hot path free; a broker
    that cannot be asked raises (transient), so an outage never moves messages aside and a replay
    reports ``failed`` rather than ``unsendable``.
    """
    client = producer.client
    missing = {t for t in topics if client.cluster.partitions_for_topic(t) is None}
    if not missing:
        return set()
    try:
        metadata = await client.fetch_all_metadata()
    except Exception as exc:
        raise TransientPublishError(f"cannot read the broker's topics: {exc!r}") from exc
    known = set(metadata.topics(exclude_internal_topics=False))
    if not known:
        raise TransientPublishError("the broker returned no topics")
    return {t for t in missing if t not in known}


async def _delete_unsendable(conn: asyncpg.Connection, schema: str, row_id: int) -> None:
    async with conn.transaction():
        await conn.execute(f"DELETE FROM {schema}.unsendable_messages WHERE id = $1", row_id)
        await conn.execute("SELECT pg_notify($1, '')", notify_channel(schema))
