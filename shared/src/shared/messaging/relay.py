"""The outbox relay: one active instance per service publishes outbox rows to Kafka in order.

Exclusivity comes from a Postgres advisory lock held on a dedicated connection: a second replica waits
as a hot standby and takes over when the first one's connection dies. The relay is woken by NOTIFY on
commit and falls back to polling, publishes a batch with the idempotent producer (acks=all), waits for
every acknowledgement and only then marks the rows published. A crash between the two steps re-sends
the batch; consumers drop the duplicates through their inbox.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import zlib
from typing import Any

import asyncpg
from aiokafka import AIOKafkaProducer

from shared.messaging.outbox import notify_channel

log = logging.getLogger(__name__)


def _lock_id(schema: str) -> int:
    # A stable 31-bit id per schema: advisory locks are keyed by integers.
    return zlib.crc32(f"zenops-outbox:{schema}".encode()) & 0x7FFFFFFF


class OutboxRelay:
    """Publishes ``<schema>.outbox`` rows; run :meth:`run` as a task and cancel it to stop."""

    def __init__(
        self,
        *,
        schema: str,
        dsn: str,
        producer: AIOKafkaProducer,
        batch_size: int = 500,
        poll_interval_s: float = 1.0,
        retention_s: float = 24 * 3600,
    ) -> None:
        self.schema = schema
        self._dsn = dsn
        self._producer = producer
        self._batch_size = batch_size
        self._poll_interval_s = poll_interval_s
        self._retention_s = retention_s
        self._wake = asyncio.Event()
        self.published_total = 0
        self.is_leader = False

    async def run(self) -> None:
        """Hold the lock, then publish until cancelled; reconnects on connection loss."""
        while True:
            try:
                await self._run_once()
            except asyncio.CancelledError:
                raise
            except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
                self.is_leader = False
                log.warning("outbox relay connection lost; retrying", extra={"error": str(exc)})
                await asyncio.sleep(1.0)

    async def _run_once(self) -> None:
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
                published = await self.publish_batch(conn)
                if published >= self._batch_size:
                    continue
                if loop.time() - last_cleanup > 60:
                    await self._cleanup(conn)
                    last_cleanup = loop.time()
                if published == 0:
                    self._wake.clear()
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
        rows = await conn.fetch(
            f"SELECT id, topic, key, envelope::text AS envelope, headers::text AS headers "
            f"FROM {self.schema}.outbox WHERE published_at IS NULL ORDER BY id LIMIT $1",
            self._batch_size,
        )
        if not rows:
            return 0
        futures = []
        for row in rows:
            headers = [(k, str(v).encode()) for k, v in json.loads(row["headers"]).items()]
            envelope_type = json.loads(row["envelope"]).get("type", "")
            headers.append(("type", str(envelope_type).encode()))
            futures.append(
                await self._producer.send(
                    row["topic"], value=row["envelope"].encode(), key=row["key"].encode(), headers=headers
                )
            )
        await asyncio.gather(*futures)
        await conn.execute(
            f"UPDATE {self.schema}.outbox SET published_at = now() WHERE id = ANY($1::bigint[])",
            [row["id"] for row in rows],
        )
        self.published_total += len(rows)
        return len(rows)

    async def _cleanup(self, conn: asyncpg.Connection) -> None:
        await conn.execute(
            f"DELETE FROM {self.schema}.outbox WHERE published_at < now() - make_interval(secs => $1)",
            self._retention_s,
        )


async def outbox_lag(conn: asyncpg.Connection, schema: str) -> int:
    """How many outbox rows wait to be published (a metric)."""
    return int(await conn.fetchval(f"SELECT count(*) FROM {schema}.outbox WHERE published_at IS NULL"))
