"""A relay or consumer process for the crash tests (run as a subprocess and SIGKILLed by them), and the
consumer runner the in-process mechanics tests build the same way.

Usage (from the repo root): ``python -m tests.integration.mechanics_worker relay|consume <dsn> <schema>
<bootstrap> <topic> [--crash-after-effect]``. The effect handler is the benchmark's (one row per message
in ``<schema>.bench_effects``), so the tests measure the projection the benchmark measures.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from collections.abc import Awaitable, Callable, Mapping

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRecord, TopicPartition

from bench.worker import effect_handler
from shared.db.database import Database
from shared.db.uow import UnitOfWork
from shared.messaging.consumer import ConsumerRunner, Subscription
from shared.messaging.envelope import Envelope
from shared.messaging.kafka import asyncpg_dsn, make_producer
from shared.messaging.outbox import OutboxWriter
from shared.messaging.relay import OutboxRelay

Handler = Callable[[UnitOfWork, Envelope], Awaitable[None]]


class CrashingRunner(ConsumerRunner):
    """Dies (SIGKILL) after the effects of its first batch are committed, before the offset commit."""

    async def _process_partition(
        self,
        consumer: AIOKafkaConsumer,  # noqa: ARG002  ConsumerRunner._process_partition's signature
        tp: TopicPartition,  # noqa: ARG002  ConsumerRunner._process_partition's signature
        records: list[ConsumerRecord[bytes, bytes]],
    ) -> None:
        for record in records:
            await self.handle(record.topic, (record.key or b"").decode(), record.value or b"", {})
        os.kill(os.getpid(), signal.SIGKILL)


def mechanics_runner(
    mech: Mapping[str, str],
    consumer_name: str,
    db: Database,
    producer: AIOKafkaProducer,
    subscription: Subscription,
    runner: type[ConsumerRunner] = ConsumerRunner,
    *,
    max_attempts: int = 5,
    backoff_base_s: float = 0.05,
) -> ConsumerRunner:
    """A runner of ``subscription`` in the test schema ``mech["schema"]``; short session timeouts so
    rebalances are quick."""
    return runner(
        consumer_name=consumer_name,
        schema=mech["schema"],
        bootstrap=mech["bootstrap"],
        db=db,
        outbox=OutboxWriter(mech["schema"]),
        producer=producer,
        subscriptions=[subscription],
        max_attempts=max_attempts,
        backoff_base_s=backoff_base_s,
        session_timeout_ms=6000,
        heartbeat_interval_ms=500,
    )


async def main(argv: list[str]) -> None:
    mode, dsn, schema, bootstrap, topic = argv[:5]
    mech = {"schema": schema, "bootstrap": bootstrap}
    producer = make_producer(bootstrap, client_id=f"mechanics-{mode}")
    await producer.start()
    try:
        if mode == "relay":
            relay = OutboxRelay(schema=schema, dsn=asyncpg_dsn(dsn), producer=producer, batch_size=200)
            await relay.run()
        else:
            db = Database(dsn, dsn, pool_size=4)
            subscription = Subscription(topic, effect_handler(schema), check_version=False)
            crashing = "--crash-after-effect" in argv
            runner = CrashingRunner if crashing else ConsumerRunner
            await mechanics_runner(mech, f"mechanics-{topic}", db, producer, subscription, runner).run()
    finally:
        await producer.stop()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1:]))
