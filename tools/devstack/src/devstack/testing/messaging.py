"""The broker and messaging-table side of the tests: :func:`publish` a message as another service's relay
(or a hostile producer) would, and scratch schemas with the messaging tables for tests and benchmarks of
the outbox, relay and inbox.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import asyncpg
from aiokafka import AIOKafkaProducer

from devstack.testing.data import TEST_TENANT
from shared.contracts import Event
from shared.messaging.envelope import Envelope
from shared.messaging.kafka import make_producer
from shared.messaging.schema import (
    counters_tables_sql,
    messaging_tables_sql,
    ops_tables_sql,
    unsendable_tables_sql,
)


@dataclass(frozen=True)
class RawEvent:
    """A message no contract checks: any ``event_type`` and ``payload`` on any ``topic`` (hostile input,
    an unknown type, an external producer's event)."""

    topic: str
    event_type: str
    payload: dict[str, Any]


async def publish(
    via: AIOKafkaProducer | str,
    message: Event | RawEvent | Envelope,
    *,
    aggregate_id: str | None = None,
    version: int = 1,
    tenant_id: str | None = TEST_TENANT,
    message_id: str | None = None,
    topic: str | None = None,
    client_id: str = "devstack-testing",
) -> Envelope:
    """Put ``message`` on the broker as the producing service's relay would; returns the envelope sent.

    ``message`` is a contract event (topic and type from its class), a :class:`RawEvent`, or an
    :class:`Envelope` sent again unchanged (a redelivery: same message id; ``topic`` required). A new
    envelope carries ``aggregate_id`` (also the partition key), aggregate ``version``, ``tenant_id`` and
    ``message_id`` (a fresh one when None). ``via`` is a started producer, or a bootstrap address: then a
    producer named ``client_id`` is started for this one message.
    """
    if isinstance(message, Envelope):
        envelope = message
    else:
        if isinstance(message, Event):
            message = RawEvent(message.TOPIC, message.TYPE, message.to_payload())
        if aggregate_id is None:
            raise TypeError("publish() needs the aggregate_id of a new envelope")
        envelope = Envelope.new(
            event_type=message.event_type,
            aggregate_id=aggregate_id,
            aggregate_version=version,
            payload=message.payload,
            tenant_id=tenant_id,
            message_id=message_id,
        )
        topic = topic or message.topic
    if topic is None:
        raise TypeError("publish() needs the topic to send an envelope again")
    key = envelope.aggregate_id.encode()
    if isinstance(via, str):
        async with make_producer(via, client_id=client_id) as producer:
            await producer.send_and_wait(topic, value=envelope.to_bytes(), key=key)
    else:
        await via.send_and_wait(topic, value=envelope.to_bytes(), key=key)
    return envelope


async def create_messaging_schema(admin_dsn: str, schema: str, *extra: str) -> None:
    """Create ``schema`` with the messaging tables every service schema carries, then run ``extra``."""
    conn = await asyncpg.connect(admin_dsn)
    try:
        await conn.execute(f"CREATE SCHEMA {schema}")
        for statement in [
            *messaging_tables_sql(schema),
            *unsendable_tables_sql(schema),
            *ops_tables_sql(schema),
            *counters_tables_sql(schema),
            *extra,
        ]:
            await conn.execute(statement)
    finally:
        await conn.close()


async def drop_schema(admin_dsn: str, schema: str) -> None:
    """Drop ``schema`` and everything in it."""
    conn = await asyncpg.connect(admin_dsn)
    try:
        await conn.execute(f"DROP SCHEMA {schema} CASCADE")
    finally:
        await conn.close()
