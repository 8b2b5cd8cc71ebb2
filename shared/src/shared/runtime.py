"""Process entry points every service shares: ``migrate``, ``serve`` (HTTP + stream), ``stream`` and the HTTP app.

A service describes itself once, in its ``bootstrap.py``, as a :class:`ServiceDefinition` (name, schema,
settings, migrations, router, subscriptions); its ``main.py`` is then a few lines::

    from workorders_service.bootstrap import SERVICE

    create_app = SERVICE.create_app
    if __name__ == "__main__":
        sys.exit(SERVICE.main(sys.argv[1:]))

The launcher runs ``python -m <pkg>.main migrate|serve|stream|replay-parked|list-parked``: by default
``serve`` is the whole service in one process and one event loop (:mod:`shared.serve`); with
``ZENOPS_PROCESS_MODE=split`` the HTTP app (``serve``, or ``uvicorn <pkg>.main:create_app --factory``) and
the stream app (``stream``) run as separate processes, to scale them apart.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import signal
import sys
import time
from collections.abc import Callable, Coroutine, Iterable, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any, Generic

import asyncpg
import uvloop
from aiokafka import AIOKafkaProducer
from fastapi import APIRouter, FastAPI

from shared import cpu
from shared.api import install_truthful_openapi
from shared.availability import unavailable_dependency
from shared.catchup import CatchUp
from shared.container import ServiceContainer, SettingsT
from shared.db.database import Database
from shared.health import BrokerProbe, Probe, Readiness, StreamHeartbeat, database_probe, heartbeat_probe
from shared.http import create_service_app
from shared.messaging.consumer import ConsumerRunner, Subscription
from shared.messaging.kafka import asyncpg_dsn, make_producer
from shared.messaging.outbox import OutboxWriter
from shared.messaging.relay import OutboxRelay, list_unsendable, replay_unsendable
from shared.ops.api import ops_router
from shared.settings import ServiceSettings
from shared.telemetry import configure_logging, configure_tracing
from shared.telemetry.metrics import Extra, ServiceMetrics, install_service_metrics
from shared.telemetry.outages import OutageWatch

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
    #: whether :meth:`run` disposes the database engines at its end (not when the HTTP app shares them:
    #: ``serve`` disposes them once both parts stopped)
    owns_db: bool = True
    #: true while every task runs (``/readyz`` of the combined process asks it)
    running: bool = field(default=False, init=False)

    async def run(self) -> None:
        tasks: list[asyncio.Task[None]] = []
        try:
            await self.producer.start()
            tasks.append(asyncio.create_task(self.relay.run(), name="outbox-relay"))
            if self.consumer is not None:
                tasks.append(asyncio.create_task(self._keep_consuming(self.consumer), name="consumer"))
            tasks += [asyncio.create_task(t(), name="extra") for t in self.extra_tasks]
            self.running = True
            done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_EXCEPTION)
            for task in done:
                task.result()
        finally:
            self.running = False
            for task in tasks:
                task.cancel()
            for task in tasks:
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task
            await self.producer.stop()
            if self.owns_db:
                await self.db.dispose()

    @staticmethod
    async def _keep_consuming(consumer: ConsumerRunner) -> None:
        """The consumer group's loop. A database or broker outage (``shared.availability``) restarts it
        after a pause (0.5 s doubling to 10 s) instead of ending the process: a stream process outlives a
        Postgres restart without crash-looping its supervisor, the outage is logged once
        (``shared.telemetry.outages``), and records whose offsets were not committed are delivered again
        and deduplicated by the inbox. Any other failure still ends the process."""
        pause = 0.5
        while True:
            started = time.monotonic()
            try:
                await consumer.run()
                return
            except Exception as exc:
                dependency = unavailable_dependency(exc)
                if dependency is None:
                    raise
                log.warning("consumer stopped, restarting it", extra={"dependency": dependency}, exc_info=exc)
            pause = 0.5 if time.monotonic() - started > 60 else min(pause * 2, 10.0)
            await asyncio.sleep(pause)


def build_stream_app(
    container: ServiceContainer[Any],
    subscriptions: Iterable[Subscription],
    *,
    consumer_name: str | None = None,
) -> StreamApp:
    """Wire the relay and the consumer runner of one service from its container."""
    settings = container.settings
    producer = make_producer(settings.kafka_bootstrap, client_id=f"{settings.service_name}-stream")
    relay = OutboxRelay(
        schema=container.schema,
        dsn=asyncpg_dsn(settings.db_system_url.get_secret_value()),
        # The relay owns its producer (it replaces it after a broker refusal); the consumer's
        # dead-letter producer stays apart.
        producer_factory=lambda: make_producer(
            settings.kafka_bootstrap, client_id=f"{settings.service_name}-relay"
        ),
        batch_size=settings.relay_batch_size,
        poll_interval_s=settings.relay_poll_interval_s,
        retention_s=settings.messaging_retention_days * 86_400,
    )
    subs = list(subscriptions)
    consumer = (
        ConsumerRunner(
            consumer_name=consumer_name or settings.service_name,
            schema=container.schema,
            bootstrap=settings.kafka_bootstrap,
            db=container.db,
            outbox=container.outbox,
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
    heartbeat = StreamHeartbeat(
        container.db.system_engine, container.schema, interval_s=settings.stream_heartbeat_interval_s
    )
    return StreamApp(
        settings,
        container.schema,
        container.db,
        container.outbox,
        producer,
        relay,
        consumer,
        extra_tasks=[heartbeat.run, outage_watch(container).run],
    )


def outage_watch(container: ServiceContainer[Any]) -> OutageWatch:
    """Logs "<dependency> back" once the broker or the database answers again after an outage the
    process logged (``shared.telemetry.outages``)."""
    settings = container.settings
    return OutageWatch(
        {
            "broker": BrokerProbe(settings.kafka_bootstrap, timeout_s=settings.ready_timeout_s, cache_s=0.0),
            "database": database_probe(container.db.system_engine),
        },
        timeout_s=settings.ready_timeout_s,
    )


def service_readiness(container: ServiceContainer[Any], stream: StreamApp | None = None) -> Readiness:
    """What ``/readyz`` of a service's HTTP app asks: its database, the broker and the heartbeat of its
    stream app (see :mod:`shared.health`); with the stream app in the same process (``stream``), also
    whether that app runs at all (``stream``: ``"not running"`` before it started or after it stopped)."""
    settings = container.settings
    engine = container.db.system_engine
    heartbeat = heartbeat_probe(engine, container.schema, stale_after_s=settings.stream_stale_after_s)
    return Readiness(
        {
            "database": database_probe(engine),
            "broker": BrokerProbe(
                settings.kafka_bootstrap,
                timeout_s=settings.ready_timeout_s,
                cache_s=settings.ready_broker_cache_s,
            ),
            "stream": heartbeat if stream is None else _local_stream_probe(stream, heartbeat),
        },
        timeout_s=settings.ready_timeout_s,
    )


def _local_stream_probe(stream: StreamApp, heartbeat: Probe) -> Probe:
    async def probe() -> str:
        return await heartbeat() if stream.running else "not running"

    return probe


@dataclass(frozen=True)
class ServiceDefinition(Generic[SettingsT]):
    """Everything that makes one service, declared once in its ``bootstrap.py``::

        SERVICE = ServiceDefinition("workorders", "ZenOps work orders", Settings, router, subscriptions)

    ``name`` is also the schema (unless ``schema`` says otherwise); the migrations are the service's
    ``migrations/`` folder next to its ``src/``. ``subscriptions`` builds the Kafka subscriptions from
    the process's container (handlers reach the database, the outbox and the settings through it).
    The HTTP app's ``/readyz`` asks the service's database, the broker and its stream process's
    heartbeat (:func:`service_readiness`); every service serves the ops routes of :mod:`shared.ops.api`
    and ``ops``, its own ones.
    """

    name: str
    title: str
    settings: type[SettingsT]
    router: APIRouter
    subscriptions: Callable[[ServiceContainer[SettingsT]], Iterable[Subscription]] = lambda _c: ()
    schema: str = ""
    migrations_dir: Path | None = None
    #: the service's own ops routes (under ``/v1/ops/<name>/``), beside the shared ones
    ops: APIRouter | None = None
    metrics: Callable[[ServiceContainer[SettingsT]], Sequence[Extra]] = lambda _c: ()

    def __post_init__(self) -> None:
        if not self.schema:
            object.__setattr__(self, "schema", self.name)
        if self.migrations_dir is None:
            # <service>/src/<package>/settings.py -> <service>/migrations
            module = sys.modules[self.settings.__module__]
            if module.__file__ is None:
                raise ValueError(f"{self.name}: cannot locate migrations; pass migrations_dir")
            object.__setattr__(
                self, "migrations_dir", Path(module.__file__).resolve().parents[2] / "migrations"
            )

    @cached_property
    def container(self) -> ServiceContainer[SettingsT]:
        """The one container of this process (built on first use, inside the running process)."""
        return ServiceContainer.create(self.settings(), self.schema)

    def create_app(self, stream: StreamApp | None = None) -> FastAPI:
        """The HTTP app (``uvicorn <pkg>.main:create_app --factory``, or ``serve``). ``stream``: the stream
        app running in the same process and loop (``serve`` in the combined mode), which ``/readyz``
        asks too and which already watches for outages."""
        settings = self.container.settings
        configure_logging(settings.service_name, settings.log_level)
        cpu.configure(settings.cpu_pool_workers)
        configure_tracing(
            settings.service_name,
            otlp_endpoint=settings.otel_exporter_endpoint,
            zipkin_endpoint=settings.zipkin_endpoint,
        )
        app = create_service_app(
            settings, title=self.title, readiness=service_readiness(self.container, stream)
        )
        app.state.container = self.container
        # "not found" of a projected aggregate asks whether the stream process's group is caught up
        # (shared.consistency.not_found_or_not_yet); the group is named after the service
        catchup = app.state.catchup = CatchUp(
            settings.kafka_bootstrap,
            settings.service_name,
            timeout_s=settings.catchup_timeout_s,
            cache_s=settings.catchup_cache_s,
        )
        app.router.on_shutdown.append(catchup.close)
        app.router.on_shutdown.append(self.container.close_notifications)
        install_service_metrics(app, self.service_metrics())
        if stream is None:  # the stream app runs its own watch
            watch = outage_watch(self.container)
            watching: set[asyncio.Task[None]] = set()

            async def start_watching() -> None:  # the task lives as long as the server's loop
                watching.add(asyncio.get_running_loop().create_task(watch.run(), name="outage-watch"))

            app.router.on_startup.append(start_watching)
        app.include_router(self.router)
        app.include_router(ops_router(self.name, self.subscriptions))
        if self.ops is not None:
            app.include_router(self.ops)
        install_truthful_openapi(app, dependencies=True)
        return app

    def service_metrics(self) -> ServiceMetrics:
        """The ops figures ``/metrics`` of the HTTP process reads at scrape time (outbox, consumer lag,
        parked and dead-lettered messages, and the service's own ``metrics`` extras)."""
        c = self.container
        settings = c.settings
        return ServiceMetrics(
            service=settings.service_name,
            schema=self.schema,
            dsn=asyncpg_dsn(settings.db_system_url.get_secret_value()),
            kafka_bootstrap=settings.kafka_bootstrap,
            # the stream process's consumer group is named after the service (build_stream_app); a
            # service without subscriptions has no committed offsets, hence no lag series
            group=settings.service_name,
            extras=list(self.metrics(c)),
            cache_s=settings.metrics_cache_s,
        )

    def stream(self) -> StreamApp:
        """The stream process: outbox relay + consumer group (built inside the running loop)."""
        return build_stream_app(self.container, self.subscriptions(self.container))

    def serve(self, argv: Sequence[str]) -> int:
        """``serve [--host H] [--port P]``: the HTTP app and, in the ``combined`` process mode (the
        default; ``ZENOPS_PROCESS_MODE=split`` leaves it to ``stream``), the stream app in one process and
        one event loop (:mod:`shared.serve`). Returns the exit status."""
        import argparse

        from shared import serve

        parser = argparse.ArgumentParser(prog=f"{sys.argv[0]} serve")
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8000)
        args = parser.parse_args(list(argv))
        combined = self.container.settings.process_mode == "combined"

        def stream() -> StreamApp:
            app = self.stream()
            app.owns_db = False  # shared with the HTTP app; disposed once both stopped
            return app

        with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
            return runner.run(
                serve.serve(self.create_app, stream if combined else None, host=args.host, port=args.port)
            )

    def main(self, argv: Sequence[str]) -> int:
        """``python -m <pkg>.main migrate|serve|stream|replay-parked TOPIC KEY [--discard]|list-parked``."""
        if argv and argv[0] == "serve":
            return self.serve(argv[1:])
        return service_main(
            argv,
            settings=self.container.settings,
            schema=self.schema,
            migrations_dir=self.migrations_dir or Path("migrations"),
            stream_factory=self.stream,
        )


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
    stream_factory: Callable[[], StreamApp],
) -> int:
    """``migrate`` | ``stream`` | ``replay-parked TOPIC KEY [--discard]`` | ``list-parked``.

    ``replay-parked`` handles both kinds of parking of one key: the relay's unsendable outbox message
    (sent again, or dropped with ``--discard``; then the outbox rows waiting behind it flow) and the
    consumer's parked messages (re-applied, or the dead-lettered head dropped with ``--discard``). It
    exits 1 when a message is still unsendable. ``list-parked`` prints both, one JSON object a line.
    """
    configure_logging(settings.service_name, settings.log_level)
    command = argv[0] if argv else "stream"
    if command == "migrate":
        # alembic (with mako and pygments, ~14 MB) only where migrations run, not in every service process
        from shared.db.migrations import upgrade_head

        upgrade_head(migrations_dir, settings.db_owner_url.get_secret_value(), schema)
        return 0
    configure_tracing(
        settings.service_name,
        otlp_endpoint=settings.otel_exporter_endpoint,
        zipkin_endpoint=settings.zipkin_endpoint,
    )
    if command == "stream":
        cpu.configure(settings.cpu_pool_workers)
        with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
            runner.run(_run_until_signalled(stream_factory))
        return 0
    if (command == "replay-parked" and len(argv) >= 3) or command == "list-parked":
        with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
            return runner.run(_parking(argv, settings, schema, stream_factory))
    print(  # noqa: T201  the parking CLI's output
        f"usage: {sys.argv[0]} migrate|serve [--host H] [--port P]|stream|replay-parked TOPIC KEY "
        "[--discard]|list-parked",
        file=sys.stderr,
    )
    return 2


async def _parking(
    argv: Sequence[str],
    settings: ServiceSettings,
    schema: str,
    stream_factory: Callable[[], StreamApp],
) -> int:
    """The operator commands on parked keys (see :func:`service_main`)."""
    app = stream_factory()
    conn: asyncpg.Connection = await asyncpg.connect(asyncpg_dsn(settings.db_system_url.get_secret_value()))
    await app.producer.start()
    try:
        if argv[0] == "list-parked":
            for item in await list_unsendable(conn, schema):
                print(json.dumps({"kind": "unsendable", **item}, default=str))  # noqa: T201  the parking CLI's output
            if app.consumer is not None:
                for item in await app.consumer.parked():
                    print(json.dumps({"kind": "parked", **item}, default=str))  # noqa: T201  the parking CLI's output
            return 0
        topic, key, discard = argv[1], argv[2], "--discard" in argv
        code = 0
        for sent in await replay_unsendable(conn, schema, app.producer, topic, key, discard=discard):
            print(sent.status, sent.message_id, sent.detail)  # noqa: T201  the parking CLI's output
            if sent.status in ("unsendable", "failed"):
                code = 1
        if app.consumer is not None:
            for outcome in await app.consumer.replay(topic, key, discard_head=discard):
                print(outcome.status, outcome.message_id)  # noqa: T201  the parking CLI's output
        return code
    finally:
        await app.producer.stop()
        await conn.close()
        await app.db.dispose()
