"""aiokafka client factories with the project's reliability settings."""

from __future__ import annotations

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer


def make_producer(bootstrap: str, *, client_id: str, linger_ms: int = 5) -> AIOKafkaProducer:
    """An idempotent producer with ``acks=all`` (aiokafka defaults to acks=1 without idempotence)."""
    return AIOKafkaProducer(
        bootstrap_servers=bootstrap,
        client_id=client_id,
        acks="all",
        enable_idempotence=True,
        linger_ms=linger_ms,
        max_batch_size=256 * 1024,
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
