"""The SQL of the ops routes over the messaging tables every service schema has (never commits).

The schema is the unit of work's (:attr:`SqlUnitOfWork.schema`): every statement names
``<schema>.<table>`` and every value is a bound parameter.
"""

from __future__ import annotations

import json
import zlib
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Self

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from shared.db.uow import Repository, SqlUnitOfWork

#: what a dead letter is: a consumer's parked message, or an outbox message the relay moved aside
CONSUMER = "consumer"
UNSENDABLE = "unsendable"
KINDS = (CONSUMER, UNSENDABLE)


@dataclass(frozen=True, slots=True)
class OutboxBacklog:
    """The relay's backlog: rows waiting, how old the oldest is, rows moved aside or parked behind them."""

    pending: int
    oldest_pending_at: datetime | None
    oldest_pending_age_s: float | None
    unsendable: int
    parked_behind_unsendable: int
    published_retained: int
    oldest_published_at: datetime | None


@dataclass(frozen=True, slots=True)
class DeadLetter:
    """The head of a blocked key: the message that failed (or could not be sent) and what waits behind.

    ``consumer`` is the consumer group for a consumer's parked message, ``None`` for an unsendable one;
    ``reason`` is the error (consumer) or the relay's reason; ``attempts`` how often it was tried.
    """

    message_id: str
    kind: str
    consumer: str | None
    topic: str
    key: str
    event_type: str | None
    dead_lettered: bool
    reason: str | None
    detail: str | None
    attempts: int | None
    parked_at: datetime
    waiting_behind: int


@dataclass(frozen=True, slots=True)
class WaitingMessage:
    """A message waiting behind a dead letter of its key."""

    message_id: str
    event_type: str | None
    since: datetime


@dataclass(frozen=True, slots=True)
class DeadLetterDetail:
    """One parked or unsendable message: its row as a dead letter, whether it heads its key, the head's
    id, its envelope and (for a head) the messages waiting behind it (oldest first)."""

    letter: DeadLetter
    is_head: bool
    head_message_id: str
    envelope: dict[str, Any]
    waiting: list[WaitingMessage]


@dataclass(frozen=True, slots=True)
class StoryEvent:
    """One message about a work order as this service saw it.

    ``direction``: ``published`` (outbox, sent), ``pending`` (outbox, not yet sent), ``unsendable``,
    ``consumed`` (inbox; ``outcome`` applied or stale) or ``parked`` (``outcome`` dead_lettered or
    parked). ``at`` is when it happened here (written to the outbox, processed or parked).
    """

    at: datetime
    direction: str
    event_type: str
    topic: str
    key: str | None
    message_id: str
    aggregate_id: str | None
    aggregate_version: int | None
    traceparent: str | None
    correlation_id: str | None
    consumer: str | None
    outcome: str | None


@dataclass(frozen=True, slots=True)
class ActionRecord:
    """One audited ops write."""

    id: int
    action: str
    target: str
    actor: str
    request_id: str | None
    done: bool
    outcome: dict[str, Any]
    created_at: datetime


def _json(value: Any) -> dict[str, Any]:
    loaded = json.loads(value) if isinstance(value, str) else value
    return dict(loaded) if isinstance(loaded, dict) else {}


def _int(value: Any) -> int | None:
    return int(value) if value is not None else None


class OpsRepository(Repository):
    """Reads of the messaging tables and the ops audit of the unit of work's schema."""

    def __init__(self, session: AsyncSession, schema: str) -> None:
        super().__init__(session)
        self.schema = schema

    @classmethod
    def bind(cls, uow: SqlUnitOfWork) -> Self:
        """Over ``uow``'s session and schema."""
        return cls(uow.session, uow.schema)

    async def _rows(self, sql: str, **params: Any) -> list[Any]:
        return list((await self.session.execute(text(sql), params)).mappings().all())

    # ------------------------------------------------------------------------------------------ outbox

    async def outbox_backlog(self) -> OutboxBacklog:
        """Counts over the outbox and the unsendable messages."""
        s = self.schema
        (row,) = await self._rows(
            f"SELECT (SELECT count(*) FROM {s}.outbox WHERE published_at IS NULL) AS pending, "
            f"(SELECT min(created_at) FROM {s}.outbox WHERE published_at IS NULL) AS oldest, "
            f"(SELECT extract(epoch FROM now() - min(created_at)) FROM {s}.outbox "
            "WHERE published_at IS NULL) AS age, "
            f"(SELECT count(*) FROM {s}.unsendable_messages) AS unsendable, "
            f"(SELECT count(*) FROM {s}.outbox o WHERE o.published_at IS NULL AND EXISTS ("
            f"SELECT 1 FROM {s}.unsendable_messages u WHERE u.topic = o.topic AND u.key = o.key)) AS behind, "
            f"(SELECT count(*) FROM {s}.outbox WHERE published_at IS NOT NULL) AS published, "
            f"(SELECT min(published_at) FROM {s}.outbox WHERE published_at IS NOT NULL) AS oldest_published"
        )
        behind = int(row["behind"])
        return OutboxBacklog(
            pending=int(row["pending"]) - behind,
            oldest_pending_at=row["oldest"],
            oldest_pending_age_s=round(float(row["age"]), 3) if row["age"] is not None else None,
            unsendable=int(row["unsendable"]),
            parked_behind_unsendable=behind,
            published_retained=int(row["published"]),
            oldest_published_at=row["oldest_published"],
        )

    # ------------------------------------------------------------------------------------ dead letters

    def _consumer_heads(self) -> str:
        s = self.schema
        return (
            "SELECT message_id, 'consumer' AS kind, consumer, topic, key, event_type, dead_lettered, "
            "error AS reason, NULL::text AS detail, NULL::int AS attempts, parked_at, waiting FROM ("
            "SELECT DISTINCT ON (consumer, topic, key) id, message_id::text AS message_id, consumer, topic, "
            "key, envelope->>'type' AS event_type, dead_lettered, error, parked_at, "
            "count(*) OVER (PARTITION BY consumer, topic, key) - 1 AS waiting "
            f"FROM {s}.parked_messages ORDER BY consumer, topic, key, id) heads"
        )

    def _unsendable_heads(self) -> str:
        s = self.schema
        return (
            "SELECT message_id, 'unsendable' AS kind, NULL::text AS consumer, topic, key, event_type, "
            "true AS dead_lettered, reason, detail, attempts, moved_at AS parked_at, waiting FROM ("
            "SELECT DISTINCT ON (u.topic, u.key) u.id, u.message_id::text AS message_id, u.topic, u.key, "
            "u.envelope->>'type' AS event_type, u.reason, u.detail, u.attempts, u.moved_at, "
            "count(*) OVER (PARTITION BY u.topic, u.key) - 1 + ("
            f"SELECT count(*) FROM {s}.outbox o WHERE o.published_at IS NULL AND o.topic = u.topic "
            f"AND o.key = u.key) AS waiting FROM {s}.unsendable_messages u ORDER BY u.topic, u.key, u.id) heads"
        )

    @staticmethod
    def _letter(row: Any) -> DeadLetter:
        return DeadLetter(
            message_id=row["message_id"],
            kind=row["kind"],
            consumer=row["consumer"],
            topic=row["topic"],
            key=row["key"],
            event_type=row["event_type"],
            dead_lettered=bool(row["dead_lettered"]),
            reason=row["reason"],
            detail=row["detail"],
            attempts=_int(row["attempts"]),
            parked_at=row["parked_at"],
            waiting_behind=int(row["waiting"]),
        )

    async def dead_letters(self, *, kind: str | None, limit: int) -> list[DeadLetter]:
        """The heads of the blocked keys, oldest first (``kind`` None: both kinds)."""
        parts = [
            query
            for name, query in ((CONSUMER, self._consumer_heads()), (UNSENDABLE, self._unsendable_heads()))
            if kind in (None, name)
        ]
        sql = " UNION ALL ".join(f"({p})" for p in parts) + " ORDER BY parked_at, message_id LIMIT :limit"
        return [self._letter(r) for r in await self._rows(sql, limit=limit)]

    async def dead_letter(self, message_id: str, *, waiting_limit: int = 100) -> DeadLetterDetail | None:
        """One parked or unsendable message by its message id (a uuid), ``None`` when there is none."""
        s = self.schema
        parked = await self._rows(
            f"SELECT id, consumer, topic, key, envelope::text AS envelope FROM {s}.parked_messages "
            "WHERE message_id = CAST(:m AS uuid) ORDER BY id LIMIT 1",
            m=message_id,
        )
        if parked:
            p = parked[0]
            heads = await self._rows(
                f"SELECT * FROM ({self._consumer_heads()}) h WHERE consumer = :c AND topic = :t AND key = :k",
                c=p["consumer"],
                t=p["topic"],
                k=p["key"],
            )
            behind = await self._rows(
                f"SELECT message_id::text AS message_id, envelope->>'type' AS event_type, parked_at AS since "
                f"FROM {s}.parked_messages WHERE consumer = :c AND topic = :t AND key = :k AND id > :id "
                "ORDER BY id LIMIT :limit",
                c=p["consumer"],
                t=p["topic"],
                k=p["key"],
                id=p["id"],
                limit=waiting_limit,
            )
            return self._detail(heads[0], message_id, p["envelope"], behind)
        moved = await self._rows(
            f"SELECT id, topic, key, envelope::text AS envelope FROM {s}.unsendable_messages "
            "WHERE message_id = CAST(:m AS uuid)",
            m=message_id,
        )
        if not moved:
            return None
        u = moved[0]
        heads = await self._rows(
            f"SELECT * FROM ({self._unsendable_heads()}) h WHERE topic = :t AND key = :k",
            t=u["topic"],
            k=u["key"],
        )
        behind = await self._rows(
            "SELECT message_id, event_type, since FROM ("
            f"SELECT id, message_id::text AS message_id, envelope->>'type' AS event_type, moved_at AS since "
            f"FROM {s}.unsendable_messages WHERE topic = :t AND key = :k AND id > :id UNION ALL "
            f"SELECT id, message_id::text, envelope->>'type', created_at FROM {s}.outbox "
            "WHERE published_at IS NULL AND topic = :t AND key = :k AND id > :id) w ORDER BY id LIMIT :limit",
            t=u["topic"],
            k=u["key"],
            id=u["id"],
            limit=waiting_limit,
        )
        return self._detail(heads[0], message_id, u["envelope"], behind)

    def _detail(self, head: Any, message_id: str, envelope: Any, behind: list[Any]) -> DeadLetterDetail:
        letter = self._letter(head)
        is_head = letter.message_id == message_id
        return DeadLetterDetail(
            letter=letter,
            is_head=is_head,
            head_message_id=letter.message_id,
            envelope=_json(envelope),
            waiting=[WaitingMessage(r["message_id"], r["event_type"], r["since"]) for r in behind]
            if is_head
            else [],
        )

    # ------------------------------------------------------------------------------------------- story

    async def story(self, work_order_id: str, *, limit: int) -> list[StoryEvent]:
        """Every message about the work order this schema still holds, oldest first (at most ``limit``).

        About = keyed by it, of its aggregate, or naming it as ``work_order_id`` in the payload.
        """
        s = self.schema
        about = (
            "(key = :wo OR envelope->>'aggregate_id' = :wo OR envelope->'payload'->>'work_order_id' = :wo)"
        )
        envelope_columns = (
            "envelope->>'type' AS event_type, topic, key, message_id::text AS message_id, "
            "envelope->>'aggregate_id' AS aggregate_id, envelope->>'aggregate_version' AS aggregate_version, "
            "envelope->>'traceparent' AS traceparent, envelope->>'correlation_id' AS correlation_id"
        )
        sql = (
            # an outbox row happened when its transaction wrote it (its consumers see it only later)
            f"SELECT created_at AS at, "
            f"CASE WHEN published_at IS NULL THEN 'pending' ELSE 'published' END AS direction, "
            f"{envelope_columns}, NULL::text AS consumer, NULL::text AS outcome FROM {s}.outbox WHERE {about} "
            f"UNION ALL SELECT moved_at, 'unsendable', {envelope_columns}, NULL, reason "
            f"FROM {s}.unsendable_messages WHERE {about} "
            f"UNION ALL SELECT parked_at, 'parked', {envelope_columns}, consumer, "
            f"CASE WHEN dead_lettered THEN 'dead_lettered' ELSE 'parked' END "
            f"FROM {s}.parked_messages WHERE {about} "
            "UNION ALL SELECT processed_at, 'consumed', message_type, topic, key, message_id::text, "
            "aggregate_id, aggregate_version::text, traceparent, NULL, consumer, outcome "
            f"FROM {s}.inbox WHERE work_order_id = :wo OR aggregate_id = :wo OR key = :wo "
            "ORDER BY at, message_id LIMIT :limit"
        )
        return [
            StoryEvent(
                at=r["at"],
                direction=r["direction"],
                event_type=r["event_type"] or "",
                topic=r["topic"],
                key=r["key"],
                message_id=r["message_id"],
                aggregate_id=r["aggregate_id"],
                aggregate_version=_int(r["aggregate_version"]),
                traceparent=r["traceparent"],
                correlation_id=r["correlation_id"],
                consumer=r["consumer"],
                outcome=r["outcome"],
            )
            for r in await self._rows(sql, wo=work_order_id, limit=limit)
        ]

    # ------------------------------------------------------------------------------------------- audit

    async def lock_actions(self) -> None:
        """Serialise the ops writes of this schema until the transaction ends."""
        lock = zlib.crc32(f"zenops-ops:{self.schema}".encode()) & 0x7FFFFFFF
        await self.session.execute(text("SELECT pg_advisory_xact_lock(:id)"), {"id": lock})

    async def done_action(self, target: str) -> ActionRecord | None:
        """The audited write that handled ``target`` for good, if any."""
        rows = await self._rows(
            f"SELECT id, action, target, actor, request_id, done, outcome::text AS outcome, created_at "
            f"FROM {self.schema}.ops_actions WHERE target = :t AND done ORDER BY id LIMIT 1",
            t=target,
        )
        return self._action(rows[0]) if rows else None

    async def actions(self, *, limit: int) -> list[ActionRecord]:
        """The audited writes, newest first."""
        rows = await self._rows(
            f"SELECT id, action, target, actor, request_id, done, outcome::text AS outcome, created_at "
            f"FROM {self.schema}.ops_actions ORDER BY id DESC LIMIT :limit",
            limit=limit,
        )
        return [self._action(r) for r in rows]

    async def record_action(
        self,
        *,
        action: str,
        target: str,
        actor: str,
        request_id: str | None,
        done: bool,
        outcome: dict[str, Any],
    ) -> ActionRecord:
        """Append one audited write."""
        (row,) = await self._rows(
            f"INSERT INTO {self.schema}.ops_actions (action, target, actor, request_id, done, outcome) "
            "VALUES (:a, :t, :actor, :r, :d, CAST(:o AS jsonb)) "
            "RETURNING id, action, target, actor, request_id, done, outcome::text AS outcome, created_at",
            a=action,
            t=target,
            actor=actor,
            r=request_id,
            d=done,
            o=json.dumps(outcome, default=str),
        )
        return self._action(row)

    @staticmethod
    def _action(row: Any) -> ActionRecord:
        return ActionRecord(
            id=int(row["id"]),
            action=row["action"],
            target=row["target"],
            actor=row["actor"],
            request_id=row["request_id"],
            done=bool(row["done"]),
            outcome=_json(row["outcome"]),
            created_at=row["created_at"],
        )
