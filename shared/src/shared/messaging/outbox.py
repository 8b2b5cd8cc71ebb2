"""Transactional outbox: rows written with the state change, published later by the relay."""

from __future__ import annotations

import json
from collections.abc import Sequence

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from shared.messaging.envelope import Envelope


def notify_channel(schema: str) -> str:
    """The LISTEN/NOTIFY channel that wakes a service's relay."""
    return f"{schema}_outbox"


class OutboxWriter:
    """Writes envelopes into ``<schema>.outbox`` and wakes the relay on commit.

    A unit of work hands its transaction's envelopes over at commit: :meth:`write_many` stores them in
    ONE statement (``INSERT … SELECT … FROM unnest(…)``: one round trip and one prepared statement
    whatever the count; ids follow the given order, which is the order the relay publishes in) that
    also queues the relay's wake-up. NOTIFY is transactional, so the relay wakes only once the rows are
    visible. :meth:`write` stores one row at once (inside a savepoint, so a rolled-back savepoint takes
    its events with it).
    """

    def __init__(self, schema: str) -> None:
        self.schema = schema
        self._insert = text(
            f"INSERT INTO {schema}.outbox (message_id, topic, key, envelope, headers) "
            "VALUES (CAST(:message_id AS uuid), :topic, :key, CAST(:envelope AS jsonb), CAST(:headers AS jsonb))"
        )
        self._insert_many = text(
            f"WITH written AS (INSERT INTO {schema}.outbox (message_id, topic, key, envelope, headers) "
            "SELECT m, t, k, e::jsonb, h::jsonb FROM unnest(CAST(:m AS uuid[]), CAST(:t AS text[]), "
            "CAST(:k AS text[]), CAST(:e AS text[]), CAST(:h AS text[])) WITH ORDINALITY AS r(m, t, k, e, h, n) "
            "ORDER BY n RETURNING 1) "
            f"SELECT pg_notify('{notify_channel(schema)}', '') WHERE :wake"
        )
        self._notify = text(f"SELECT pg_notify('{notify_channel(schema)}', '')")

    async def write(self, session: AsyncSession, *, topic: str, key: str, envelope: Envelope) -> None:
        await session.execute(
            self._insert,
            {
                "message_id": envelope.message_id,
                "topic": topic,
                "key": key,
                "envelope": envelope.model_dump_json(),
                "headers": _headers_json(envelope),
            },
        )

    async def write_many(
        self, session: AsyncSession, rows: Sequence[tuple[str, str, Envelope]], *, wake: bool = True
    ) -> None:
        """Store ``(topic, key, envelope)`` rows in this order, in one statement; with ``wake`` the relay
        is woken when ``session``'s transaction commits (same statement)."""
        if not rows:
            if wake:
                await self.wake(session)
            return
        await session.execute(
            self._insert_many,
            {
                "m": [envelope.message_id for _, _, envelope in rows],
                "t": [topic for topic, _, _ in rows],
                "k": [key for _, key, _ in rows],
                "e": [envelope.model_dump_json() for _, _, envelope in rows],
                "h": [_headers_json(envelope) for _, _, envelope in rows],
                "wake": wake,
            },
        )

    async def wake(self, session: AsyncSession) -> None:
        """Wake the relay when ``session``'s transaction commits."""
        await session.execute(self._notify)


def _headers_json(envelope: Envelope) -> str:
    # the only stored header; a string the envelope already validated, so no JSON encoder is needed
    return json.dumps({"traceparent": envelope.traceparent}) if envelope.traceparent else "{}"
