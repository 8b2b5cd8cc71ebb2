"""Fixtures of the work-orders integration tests: a Kafka producer on the real topics and a DB probe.

The other services' events (evidence state, billing state, pack state) are published by these tests with
aggregate versions far above what the real producers reach, so the work order under test sees exactly the
state the test wants (the real, lower versions are then stale and ignored by the consumer).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import asyncpg
import pytest
from aiokafka import AIOKafkaProducer

from devstack.testing.fixtures import TEST_TENANT
from devstack.testing.messaging import RawEvent
from devstack.testing.messaging import publish as send
from shared.messaging.envelope import Envelope

Publish = Callable[..., Awaitable[Envelope]]


@pytest.fixture
def publish(producer: AIOKafkaProducer) -> Publish:
    """``await publish(topic, event_type, wo_id, version, payload, message_id=None)``: another service's
    event about work order ``wo_id``, on the real broker through the shared producer."""

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
        return await send(
            producer,
            RawEvent(topic, event_type, payload),
            aggregate_id=work_order_id,
            version=version,
            tenant_id=tenant_id,
            message_id=message_id,
        )

    return _publish


Query = Callable[..., Awaitable[Any]]


@pytest.fixture
def db(admin_db: asyncpg.Connection) -> Query:
    """``await db(sql, *args)`` → the first column of the first row (admin connection)."""
    fetchval: Query = admin_db.fetchval
    return fetchval
