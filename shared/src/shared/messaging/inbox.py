"""What the consumer's batch path works with: each record parsed once, and its set-wise statements.

A partition batch is applied in one transaction with one statement each for the inbox rows, the
version checks and the outcomes (issue 18): arrays as parameters (``unnest``), so the statement text
does not depend on the batch size and each is prepared once per connection.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from aiokafka import ConsumerRecord
from pydantic import ValidationError
from sqlalchemy import text

from shared.messaging.envelope import Envelope


class Delivery:
    """One record of a partition batch, its envelope parsed once (``None``: it does not parse); its
    headers are decoded on first use (a set-wise projection with tracing off never reads them)."""

    __slots__ = ("_headers", "_raw_headers", "envelope", "error", "key", "topic", "value")

    def __init__(
        self,
        topic: str,
        key: str,
        value: bytes,
        headers: dict[str, str] | Sequence[tuple[str, bytes]],
        envelope: Envelope | None,
        error: str = "",
    ) -> None:
        self.topic = topic
        self.key = key
        self.value = value
        self.envelope = envelope
        self.error = error
        self._headers = headers if isinstance(headers, dict) else None
        self._raw_headers: Sequence[tuple[str, bytes]] = () if isinstance(headers, dict) else headers

    @property
    def headers(self) -> dict[str, str]:
        """The record's headers; of a repeated name the FIRST counts (:func:`decode_headers`)."""
        if self._headers is None:
            self._headers = decode_headers(self._raw_headers)
        return self._headers

    @classmethod
    def of(cls, record: ConsumerRecord[bytes, bytes]) -> Delivery:
        topic, key, value = record.topic, (record.key or b"").decode(), record.value or b""
        try:
            envelope = Envelope.model_validate_json(value)
        except ValidationError as exc:
            return cls(topic, key, value, {}, None, f"invalid envelope: {exc.errors()[:3]}")
        return cls(topic, key, value, record.headers or (), envelope)


def decode_headers(raw: Sequence[tuple[str, bytes]]) -> dict[str, str]:
    """Record headers as text; of a repeated name the FIRST counts (the relay writes its publish span's
    ``traceparent`` first; the Kafka instrumentation appends its own send span's after it)."""
    headers: dict[str, str] = {}
    for name, value in raw:
        headers.setdefault(name, value.decode(errors="replace"))
    return headers


def record_headers(record: ConsumerRecord[bytes, bytes]) -> dict[str, str]:
    """A record's headers (:func:`decode_headers`)."""
    return decode_headers(record.headers or ())


class BatchStatements:
    """The set-wise statements of one consumer schema."""

    def __init__(self, schema: str) -> None:
        s = schema
        # The batch path's set-wise statements (issue 18): one each per partition batch, whatever its
        # size, with arrays as parameters, so each is prepared once per connection.
        self.inbox = text(
            f"INSERT INTO {s}.inbox (consumer, message_id, topic, message_type, key, aggregate_id, "
            "aggregate_version, work_order_id, traceparent) "
            "SELECT :c, m, t, ty, k, a, v, w, tp FROM unnest(CAST(:m AS uuid[]), CAST(:t AS text[]), "
            "CAST(:ty AS text[]), CAST(:k AS text[]), CAST(:a AS text[]), CAST(:v AS bigint[]), "
            "CAST(:w AS text[]), CAST(:tp AS text[])) AS r(m, t, ty, k, a, v, w, tp) "
            "ON CONFLICT DO NOTHING RETURNING message_id::text"
        )
        # Records each aggregate's newest version of the batch where it is newer than the stored one and
        # returns the version it replaced (Postgres 18 ``RETURNING old``; NULL: first of the aggregate);
        # an aggregate not returned had a version at least as new as every message of the batch.
        self.versions = text(
            f"INSERT INTO {s}.consumer_versions AS cv (consumer, topic, aggregate_id, aggregate_version) "
            "SELECT :c, t, a, v FROM unnest(CAST(:t AS text[]), CAST(:a AS text[]), CAST(:v AS bigint[])) "
            "AS r(t, a, v) ON CONFLICT (consumer, topic, aggregate_id) "
            "DO UPDATE SET aggregate_version = EXCLUDED.aggregate_version "
            "WHERE cv.aggregate_version < EXCLUDED.aggregate_version "
            "RETURNING cv.topic, cv.aggregate_id, old.aggregate_version"
        )
        self.mark_stale = text(
            f"UPDATE {s}.inbox SET outcome = 'stale' WHERE consumer = :c AND message_id = ANY(CAST(:m AS uuid[]))"
        )
        self.mark_superseded = text(
            f"UPDATE {s}.inbox SET outcome = 'superseded' "
            "WHERE consumer = :c AND message_id = ANY(CAST(:m AS uuid[]))"
        )
        self.set_tenant = text("SELECT set_config('app.tenant_id', :t, true)")
        self.count = text(
            f"INSERT INTO {s}.consumer_counters AS cc (consumer, name, value) VALUES (:c, :n, :v) "
            "ON CONFLICT (consumer, name) DO UPDATE SET value = cc.value + EXCLUDED.value"
        )


def work_order_of(envelope: Envelope) -> str | None:
    """The payload's ``work_order_id`` as the inbox keeps it (what a work order's story looks up)."""
    work_order_id = envelope.payload.get("work_order_id")
    return work_order_id[:64] if isinstance(work_order_id, str) else None


def canonical_uuid(value: str) -> str:
    """``value`` as Postgres prints a uuid (what ``RETURNING message_id::text`` answers)."""
    try:
        return str(uuid.UUID(value))
    except ValueError:
        return value
