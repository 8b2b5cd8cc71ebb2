"""aiokafka client factories with the project's reliability settings."""

from __future__ import annotations

import contextlib

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient

# Message size, set in ONE place (docs/development.md, "Message size"):
# - the broker's ``message.max.bytes`` (embedded node and deploy/compose.yaml) and every producer's
#   ``max_request_size`` are the same 1 MiB, so what a producer lets through the broker accepts;
# - the outbox relay moves aside any record whose serialized size (aiokafka's own estimate: value, key,
#   headers and batch overhead) exceeds RELAY_MAX_RECORD_BYTES, 16 KiB below that limit. The headroom is
#   for the headers a consumer adds when it forwards a record to ``<topic>.dlq`` (error text, consumer,
#   attempts), so a record the relay published can always be dead-lettered too.
MAX_MESSAGE_BYTES = 1024 * 1024
RELAY_MAX_RECORD_BYTES = MAX_MESSAGE_BYTES - 16 * 1024
MAX_BATCH_BYTES = 256 * 1024


def make_producer(bootstrap: str, *, client_id: str, linger_ms: int = 5) -> AIOKafkaProducer:
    """An idempotent producer with ``acks=all`` (aiokafka defaults to acks=1 without idempotence)."""
    return AIOKafkaProducer(
        bootstrap_servers=bootstrap,
        client_id=client_id,
        acks="all",
        enable_idempotence=True,
        linger_ms=linger_ms,
        max_batch_size=MAX_BATCH_BYTES,
        max_request_size=MAX_MESSAGE_BYTES,
        request_timeout_ms=30_000,
    )


def make_consumer(
    bootstrap: str,
    *topics: str,
    group_id: str,
    client_id: str,
    session_timeout_ms: int = 10_000,
    heartbeat_interval_ms: int = 1_000,
) -> AIOKafkaConsumer:
    """A consumer that never auto-commits: offsets are committed only after the effect is stored."""
    return AIOKafkaConsumer(
        *topics,
        bootstrap_servers=bootstrap,
        group_id=group_id,
        client_id=client_id,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        isolation_level="read_committed",
        session_timeout_ms=session_timeout_ms,
        heartbeat_interval_ms=heartbeat_interval_ms,
        max_poll_records=500,
    )


def asyncpg_dsn(sqlalchemy_url: str) -> str:
    """``postgresql+asyncpg://…`` → ``postgresql://…`` for direct asyncpg connections."""
    return sqlalchemy_url.replace("postgresql+asyncpg://", "postgresql://", 1)


class OffsetClients:
    """An admin client and a group-less consumer for reading offsets (a group's committed offsets, the
    ends of partitions), started together on first use in the running loop and dropped together by
    :meth:`close` after a failure, so the next question builds new ones. The consumer-lag metrics and the
    catch-up check of the 404-or-503 answer both read offsets through one of these."""

    def __init__(
        self,
        bootstrap: str,
        client_id: str,
        *,
        request_timeout_ms: int | None = None,
        isolation_level: str = "read_uncommitted",
    ) -> None:
        self._bootstrap = bootstrap
        self._client_id = client_id
        self._admin_options = {} if request_timeout_ms is None else {"request_timeout_ms": request_timeout_ms}
        self._isolation_level = isolation_level
        self._admin: AIOKafkaAdminClient | None = None
        self._consumer: AIOKafkaConsumer | None = None

    async def clients(self) -> tuple[AIOKafkaAdminClient, AIOKafkaConsumer]:
        """Both clients, started (a failure to start either leaves neither)."""
        if self._admin is None or self._consumer is None:
            admin = AIOKafkaAdminClient(
                bootstrap_servers=self._bootstrap, client_id=self._client_id, **self._admin_options
            )
            consumer = AIOKafkaConsumer(
                bootstrap_servers=self._bootstrap,
                client_id=self._client_id,
                group_id=None,
                enable_auto_commit=False,
                isolation_level=self._isolation_level,
            )
            try:
                await admin.start()
                await consumer.start()
            except BaseException:
                with contextlib.suppress(Exception):
                    await admin.close()
                with contextlib.suppress(Exception):
                    await consumer.stop()
                raise
            self._admin, self._consumer = admin, consumer
        return self._admin, self._consumer

    async def close(self) -> None:
        """Drop the clients (the next :meth:`clients` builds new ones)."""
        admin, consumer, self._admin, self._consumer = self._admin, self._consumer, None, None
        if consumer is not None:
            with contextlib.suppress(Exception):
                await consumer.stop()
        if admin is not None:
            with contextlib.suppress(Exception):
                await admin.close()
