"""Fixtures of the work-orders integration tests: a Kafka producer on the real topics and a DB probe.

The other services' events (evidence state, billing state, pack state) are published by these tests with
aggregate versions far above what the real producers reach, so the work order under test sees exactly the
state the test wants (the real, lower versions are then stale and ignored by the consumer).
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import asyncpg
import pytest

from devstack.launcher import StackInfo
from devstack.testing.fixtures import TEST_TENANT
from shared.messaging.envelope import Envelope
from shared.messaging.kafka import make_producer

Publish = Callable[..., Awaitable[Envelope]]


@pytest.fixture
async def publish(stack: StackInfo) -> AsyncIterator[Publish]:
    """``await publish(topic, event_type, wo_id, version, payload, message_id=None)`` on the real broker."""
    producer = make_producer(stack.kafka_bootstrap, client_id=f"wo-test-{uuid.uuid4().hex[:6]}")
    await producer.start()

    async def _publish(
        topic: str,
        event_type: str,
        work_order_id: str,
        version: int,
        payload: dict[str, Any],
        *,
        message_id: str | None = None,
        tenant_id: str = TEST_TENANT,
    ) -> Envelope:
        envelope = Envelope.new(
            event_type=event_type,
            aggregate_id=work_order_id,
            aggregate_version=version,
            payload=payload,
            tenant_id=tenant_id,
            message_id=message_id,
        )
        await producer.send_and_wait(topic, envelope.to_bytes(), key=work_order_id.encode())
        return envelope

    try:
        yield _publish
    finally:
        await producer.stop()


Query = Callable[..., Awaitable[Any]]


@pytest.fixture
def db(admin_db: asyncpg.Connection) -> Query:
    """``await db(sql, *args)`` → the first column of the first row (admin connection)."""
    fetchval: Query = admin_db.fetchval
    return fetchval
