"""aiokafka client factories with the project's reliability settings."""

from __future__ import annotations

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

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
