"""A relay or consumer process for the crash tests (run as a subprocess and SIGKILLed by them).

Usage: ``python mechanics_worker.py relay|consume <dsn> <schema> <bootstrap> <topic> [--crash-after-effect]``
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys

from aiokafka import AIOKafkaConsumer, ConsumerRecord, TopicPartition
from sqlalchemy import text

from shared.db.database import Database
from shared.db.uow import UnitOfWork
from shared.messaging.consumer import ConsumerRunner, Subscription
from shared.messaging.envelope import Envelope
from shared.messaging.kafka import asyncpg_dsn, make_producer
from shared.messaging.outbox import OutboxWriter
from shared.messaging.relay import OutboxRelay


def effect_handler(schema: str):  # type: ignore[no-untyped-def]
    async def _apply(uow: UnitOfWork, envelope: Envelope) -> None:
        await uow.session.execute(
            text(f"INSERT INTO {schema}.effects (message_id, key) VALUES (CAST(:m AS uuid), :k)"),
            {"m": envelope.message_id, "k": envelope.aggregate_id},
        )

    return _apply


class CrashingRunner(ConsumerRunner):
    """Dies (SIGKILL) after the effects of its first batch are committed, before the offset commit."""

    async def _process_partition(
        self, consumer: AIOKafkaConsumer, tp: TopicPartition, records: list[ConsumerRecord[bytes, bytes]]
    ) -> None:
        for record in records:
            await self.handle(record.topic, (record.key or b"").decode(), record.value or b"", {})
        os.kill(os.getpid(), signal.SIGKILL)


async def main(argv: list[str]) -> None:
    mode, dsn, schema, bootstrap, topic = argv[:5]
    producer = make_producer(bootstrap, client_id=f"mechanics-{mode}")
    await producer.start()
    try:
        if mode == "relay":
            relay = OutboxRelay(schema=schema, dsn=asyncpg_dsn(dsn), producer=producer, batch_size=200)
            await relay.run()
        else:
            db = Database(dsn, dsn, pool_size=4)
            cls = CrashingRunner if "--crash-after-effect" in argv else ConsumerRunner
            runner = cls(
                consumer_name=f"mechanics-{topic}",
                schema=schema,
                bootstrap=bootstrap,
                db=db,
                outbox=OutboxWriter(schema),
                producer=producer,
                subscriptions=[Subscription(topic, effect_handler(schema), check_version=False)],
                session_timeout_ms=6000,
                heartbeat_interval_ms=500,
            )
            await runner.run()
    finally:
        await producer.stop()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1:]))
