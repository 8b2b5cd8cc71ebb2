"""Process entry points every service shares: ``migrate``, ``stream`` (consumers + relay) and the HTTP app.

A service's ``main.py`` calls :func:`service_main` with its settings, schema, migrations folder and a
factory for its subscriptions; the launcher runs ``python -m <pkg>.main migrate|stream`` and
``uvicorn <pkg>.main:create_app --factory``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import sys
from collections.abc import Callable, Coroutine, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aiokafka import AIOKafkaProducer

from shared.db.database import Database
from shared.db.migrations import upgrade_head
from shared.messaging.consumer import ConsumerRunner, Subscription
from shared.messaging.kafka import asyncpg_dsn, make_producer
from shared.messaging.outbox import OutboxWriter
from shared.messaging.relay import OutboxRelay
from shared.settings import ServiceSettings
from shared.telemetry import configure_logging, configure_tracing

log = logging.getLogger(__name__)


@dataclass
class StreamApp:
    """The stream side of a service: its outbox relay and its consumer group."""

    settings: ServiceSettings
    schema: str
    db: Database
    outbox: OutboxWriter
    producer: AIOKafkaProducer
    relay: OutboxRelay
    consumer: ConsumerRunner | None
    extra_tasks: list[Callable[[], Coroutine[Any, Any, None]]] = field(default_factory=list)

    async def run(self) -> None:
        await self.producer.start()
        tasks = [asyncio.create_task(self.relay.run(), name="outbox-relay")]
        if self.consumer is not None:
            tasks.append(asyncio.create_task(self.consumer.run(), name="consumer"))
        tasks += [asyncio.create_task(t(), name="extra") for t in self.extra_tasks]
        try:
            done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_EXCEPTION)
            for task in done:
                task.result()
        finally:
            for task in tasks:
                task.cancel()
            for task in tasks:
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task
            await self.producer.stop()
            await self.db.dispose()


def build_stream_app(
    settings: ServiceSettings,
    schema: str,
    subscriptions: Callable[[Database, OutboxWriter], Iterable[Subscription]],
    *,
    consumer_name: str | None = None,
) -> StreamApp:
    """Wire the relay and the consumer runner of one service from its settings."""
    db = Database.from_settings(settings)
    outbox = OutboxWriter(schema)
    producer = make_producer(settings.kafka_bootstrap, client_id=f"{settings.service_name}-stream")
    relay = OutboxRelay(
        schema=schema,
        dsn=asyncpg_dsn(settings.db_system_url),
        producer=producer,
        batch_size=settings.relay_batch_size,
        poll_interval_s=settings.relay_poll_interval_s,
    )
    subs = list(subscriptions(db, outbox))
    consumer = (
        ConsumerRunner(
            consumer_name=consumer_name or settings.service_name,
            schema=schema,
            bootstrap=settings.kafka_bootstrap,
            db=db,
            outbox=outbox,
            producer=producer,
            subscriptions=subs,
            max_attempts=settings.consumer_max_attempts,
            backoff_base_s=settings.consumer_backoff_base_s,
            session_timeout_ms=settings.consumer_session_timeout_ms,
            heartbeat_interval_ms=settings.consumer_heartbeat_interval_ms,
        )
        if subs
        else None
    )
    return StreamApp(settings, schema, db, outbox, producer, relay, consumer)


async def _run_until_signalled(factory: Callable[[], StreamApp]) -> None:
    # aiokafka clients must be created inside the running loop, hence the factory.
    app = factory()
    loop = asyncio.get_running_loop()
    main = asyncio.create_task(app.run())
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, main.cancel)
    with contextlib.suppress(asyncio.CancelledError):
        await main


def service_main(
    argv: Sequence[str],
    *,
    settings: ServiceSettings,
    schema: str,
    migrations_dir: Path,
    stream_factory: Callable[[ServiceSettings], StreamApp],
) -> int:
    """``migrate`` | ``stream`` | ``replay-parked TOPIC KEY [--discard]``."""
    configure_logging(settings.service_name, settings.log_level)
    command = argv[0] if argv else "stream"
    if command == "migrate":
        upgrade_head(migrations_dir, settings.db_owner_url, schema)
        return 0
    configure_tracing(settings.service_name, otlp_endpoint=settings.otel_exporter_endpoint)
    if command == "stream":
        asyncio.run(_run_until_signalled(lambda: stream_factory(settings)))
        return 0
    if command == "replay-parked" and len(argv) >= 3:

        async def _replay() -> None:
            app = stream_factory(settings)
            await app.producer.start()
            try:
                assert app.consumer is not None
                for outcome in await app.consumer.replay(argv[1], argv[2], discard_head="--discard" in argv):
                    print(outcome.status, outcome.message_id)
            finally:
                await app.producer.stop()
                await app.db.dispose()

        asyncio.run(_replay())
        return 0
    print(f"usage: {sys.argv[0]} migrate|stream|replay-parked TOPIC KEY [--discard]", file=sys.stderr)
    return 2
