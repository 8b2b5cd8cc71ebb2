"""The relay or the consumer side of the outbox benchmark, run as its own process by :mod:`bench.run`.

Separate processes, like in the deployment: the publishing service's relay and the consuming service's
consumer group never share an event loop (or, on a 2-core box, a core). Each prints ``ready`` on stdout
once it is able to do its work (relay: holds the advisory lock; consumer: has partitions assigned),
then runs until terminated.

Usage: ``python -m bench.worker relay|consume <sqlalchemy-dsn> <schema> <bootstrap> <topic>``
"""

from __future__ import annotations

import asyncio
import signal
import sys
from collections.abc import Awaitable, Callable

from sqlalchemy import text

from shared.db.database import Database
from shared.db.uow import Repository, UnitOfWork
from shared.messaging.consumer import ConsumerRunner, Subscription
from shared.messaging.envelope import Envelope
from shared.messaging.kafka import asyncpg_dsn, make_producer
from shared.messaging.outbox import OutboxWriter
from shared.messaging.relay import OutboxRelay
from shared.settings import ServiceSettings

EFFECTS_TABLE = "bench_effects"
"""The table the trivial handler writes one row per message into."""


def effect_handler(schema: str) -> Callable[[UnitOfWork, Envelope], Awaitable[None]]:
    """A trivial projection: one effect row per message, in the inbox row's transaction."""
    statement = text(f"INSERT INTO {schema}.{EFFECTS_TABLE} (message_id, key) VALUES (CAST(:m AS uuid), :k)")

    class Effects(Repository):
        async def add(self, envelope: Envelope) -> None:
            await self.session.execute(statement, {"m": envelope.message_id, "k": envelope.aggregate_id})

    async def apply(uow: UnitOfWork, envelope: Envelope) -> None:
        await uow.repo(Effects).add(envelope)

    return apply


def _ready() -> None:
    print("ready", flush=True)


async def _wait_then_report(is_ready: Callable[[], bool]) -> None:
    while not is_ready():
        await asyncio.sleep(0.05)
    _ready()


async def main(mode: str, dsn: str, schema: str, bootstrap: str, topic: str) -> None:
    """Run the relay or the consumer with the settings a service's stream process uses."""
    # The defaults every service's stream process runs with (batch size, attempts, timeouts).
    defaults = ServiceSettings(env="dev")
    producer = make_producer(bootstrap, client_id=f"bench-{mode}")
    await producer.start()
    db: Database | None = None
    tasks: list[asyncio.Task[None]] = []
    try:
        if mode == "relay":
            relay = OutboxRelay(
                schema=schema,
                dsn=asyncpg_dsn(dsn),
                producer=producer,
                batch_size=defaults.relay_batch_size,
                poll_interval_s=defaults.relay_poll_interval_s,
            )
            tasks.append(asyncio.create_task(relay.run()))
            tasks.append(asyncio.create_task(_wait_then_report(lambda: relay.is_leader)))
        elif mode == "consume":
            db = Database(dsn, dsn, pool_size=defaults.db_pool_size)
            runner = ConsumerRunner(
                consumer_name=f"bench-{schema}",
                schema=schema,
                bootstrap=bootstrap,
                db=db,
                outbox=OutboxWriter(schema),
                producer=producer,
                subscriptions=[Subscription(topic, effect_handler(schema))],
                max_attempts=defaults.consumer_max_attempts,
                backoff_base_s=defaults.consumer_backoff_base_s,
                session_timeout_ms=defaults.consumer_session_timeout_ms,
                heartbeat_interval_ms=defaults.consumer_heartbeat_interval_ms,
            )
            tasks.append(asyncio.create_task(runner.run()))
            tasks.append(asyncio.create_task(_wait_then_report(runner.ready.is_set)))
        else:
            raise SystemExit(f"unknown mode {mode!r}; expected relay or consume")
        loop = asyncio.get_running_loop()
        stop = asyncio.Event()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        worker = tasks[0]
        stopper = asyncio.create_task(stop.wait())
        await asyncio.wait({worker, stopper}, return_when=asyncio.FIRST_COMPLETED)
        stopper.cancel()
        if worker.done():
            worker.result()  # surfaces the crash in the worker's stderr
    finally:
        for task in tasks:
            task.cancel()
        # return_exceptions: a task's crash or cancellation must not skip the cleanup below
        await asyncio.gather(*tasks, return_exceptions=True)
        await producer.stop()
        if db is not None:
            await db.dispose()


if __name__ == "__main__":
    if len(sys.argv) != 6:
        raise SystemExit(__doc__)
    asyncio.run(main(*sys.argv[1:6]))
