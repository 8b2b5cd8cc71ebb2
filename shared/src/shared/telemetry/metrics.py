"""Prometheus metrics every service's ``/metrics`` carries, beyond the request counters.

- **HTTP latency** (observed by ``shared.http.RequestContextMiddleware``): ``zenops_http_server_duration_seconds`` — a
  histogram by service, method, *route template* (``/v1/repogen/work-orders/{work_order_id}``, never the
  raw path, so the label set stays bounded; ``unmatched`` when no route matched) and status.
- **Ops figures** (:class:`ServiceMetrics`), read when ``/metrics`` is scraped, at most once per
  ``cache_s`` (2 s by default; concurrent scrapes share one refresh), never on an ordinary request:

  ==========================================  ===============================================================
  ``zenops_outbox_pending``                   outbox rows waiting to be published (not the parked ones)
  ``zenops_outbox_oldest_pending_age_seconds``  age of the oldest of them (0 when none wait)
  ``zenops_outbox_unsendable_messages``       messages the relay moved aside as unsendable
  ``zenops_outbox_parked_behind_unsendable``  outbox rows waiting behind an unsendable message of their key
  ``zenops_consumer_lag``                     per group/topic/partition: end offset − committed offset
  ``zenops_consumer_committed_offset``        the group's committed offset (same labels; -1: none yet)
  ``zenops_consumer_parked_messages``         per consumer and ``dead_lettered``: messages parked in the DB
  ``zenops_consumer_parked_keys``             per consumer: keys blocked by a parked message
  ``zenops_consumer_duplicates_total``        per consumer: redeliveries its inbox absorbed
  ``zenops_dlq_messages``                     messages on ``<topic>.dlq`` of each topic the group consumes
  ``zenops_metrics_refresh_errors_total``     refreshes (per source: database, kafka, extras) that failed
  ==========================================  ===============================================================

  plus what a service adds through ``extras`` (billing: ``zenops_gate_decisions_total`` by result).

Consumer lag is the broker's view (committed offset of the consumer group against the partition's end
offset), not an inbox count: it also covers messages the service ignores, and it is what grows when
the stream process is down. A source that cannot be asked keeps its last values and counts an error;
``/metrics`` never fails for it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from prometheus_client import REGISTRY, Counter, Histogram
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from starlette.types import ASGIApp, Receive, Scope, Send

if TYPE_CHECKING:  # the database and broker clients load where a collector uses them (not in the gateway)
    import asyncpg

    from shared.messaging.kafka import OffsetClients

log = logging.getLogger(__name__)

HTTP_SERVER_DURATION = Histogram(
    "zenops_http_server_duration_seconds",
    "HTTP request latency by route template and status",
    ["service", "method", "route", "status"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0),
)
REFRESH_ERRORS = Counter(
    "zenops_metrics_refresh_errors",
    "Scrape-time refreshes of the ops figures that failed, by source (the last values are kept)",
    ["service", "source"],
)
UNMATCHED = "unmatched"


def route_template(scope: Scope) -> str:
    """The path template of the route that answered (``unmatched`` when none did)."""
    route = scope.get("route")
    path = getattr(route, "path_format", None) or getattr(route, "path", None)
    return str(path) if path else UNMATCHED


# --- ops figures ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Sample:
    """One value of one metric family."""

    labels: dict[str, str]
    value: float


@dataclass(frozen=True)
class Family:
    """A metric family to expose: name, help, kind (``gauge`` or ``counter``) and its samples."""

    name: str
    documentation: str
    kind: str
    samples: tuple[Sample, ...]

    def metric(self, service: str) -> Metric:
        names = ["service", *self.label_names()]
        family: GaugeMetricFamily | CounterMetricFamily
        if self.kind == "counter":
            family = CounterMetricFamily(self.name, self.documentation, labels=names)
        else:
            family = GaugeMetricFamily(self.name, self.documentation, labels=names)
        for s in self.samples:
            family.add_metric([service, *(s.labels.get(n, "") for n in names[1:])], s.value)
        return family

    def label_names(self) -> list[str]:
        names: list[str] = []
        for s in self.samples:
            names += [n for n in s.labels if n not in names]
        return names


def gauge(name: str, documentation: str, samples: Iterable[Sample]) -> Family:
    return Family(name, documentation, "gauge", tuple(samples))


def counter(name: str, documentation: str, samples: Iterable[Sample]) -> Family:
    """A monotonic total (exposed as ``<name>_total``)."""
    return Family(name, documentation, "counter", tuple(samples))


Extra = Callable[[], Awaitable[Sequence[Family]]]
"""A service's own figures (read at scrape time like the rest), e.g. billing's gate outcomes."""


async def outbox_families(conn: asyncpg.Connection, schema: str) -> list[Family]:
    """Outbox backlog: pending rows (not the parked ones), the oldest one's age, unsendable, parked."""
    row = await conn.fetchrow(
        f"SELECT (SELECT count(*) FROM {schema}.unsendable_messages) AS unsendable, "
        f"(SELECT count(*) FROM {schema}.outbox o WHERE o.published_at IS NULL AND EXISTS ("
        f"SELECT 1 FROM {schema}.unsendable_messages u WHERE u.topic = o.topic AND u.key = o.key)) AS parked, "
        f"(SELECT count(*) FROM {schema}.outbox WHERE published_at IS NULL) AS pending, "
        f"(SELECT COALESCE(EXTRACT(EPOCH FROM now() - min(created_at)), 0) FROM {schema}.outbox "
        f"WHERE published_at IS NULL) AS oldest_s"
    )
    if row is None:  # an aggregate-only SELECT always returns one row
        raise RuntimeError("the outbox counts query returned no row")
    parked = int(row["parked"])
    return [
        gauge(
            "zenops_outbox_pending",
            "Outbox rows waiting to be published (not counting the parked ones)",
            [Sample({}, int(row["pending"]) - parked)],
        ),
        gauge(
            "zenops_outbox_oldest_pending_age_seconds",
            "Age of the oldest outbox row waiting to be published (0 when none waits)",
            [Sample({}, float(row["oldest_s"]))],
        ),
        gauge(
            "zenops_outbox_unsendable_messages",
            "Outbox messages the relay moved aside as unsendable (replay or discard with replay-parked)",
            [Sample({}, int(row["unsendable"]))],
        ),
        gauge(
            "zenops_outbox_parked_behind_unsendable",
            "Outbox rows waiting behind an unsendable message of their key",
            [Sample({}, parked)],
        ),
    ]


async def parked_families(conn: asyncpg.Connection, schema: str, consumer: str) -> list[Family]:
    """Messages the consumer parked (dead-lettered heads and the ones queued behind them), and keys."""
    rows = await conn.fetch(
        f"SELECT dead_lettered, count(*) AS messages FROM {schema}.parked_messages WHERE consumer = $1 "
        "GROUP BY dead_lettered",
        consumer,
    )
    counts = {bool(r["dead_lettered"]): int(r["messages"]) for r in rows}
    keys = await conn.fetchval(
        f"SELECT count(*) FROM (SELECT DISTINCT topic, key FROM {schema}.parked_messages WHERE consumer = $1) k",
        consumer,
    )
    return [
        gauge(
            "zenops_consumer_parked_messages",
            "Messages parked by the consumer: dead-lettered (true) or waiting behind one (false)",
            [
                Sample({"consumer": consumer, "dead_lettered": flag}, counts.get(flag == "true", 0))
                for flag in ("true", "false")
            ],
        ),
        gauge(
            "zenops_consumer_parked_keys",
            "Keys the consumer holds back until an operator replays or discards them",
            [Sample({"consumer": consumer}, int(keys or 0))],
        ),
    ]


async def duplicates_families(conn: asyncpg.Connection, schema: str, consumer: str) -> list[Family]:
    """Redeliveries the consumer's inbox absorbed (counted by the stream process in the transaction that
    absorbed them, so the figure survives restarts and matches what was committed)."""
    value = await conn.fetchval(
        f"SELECT value FROM {schema}.consumer_counters WHERE consumer = $1 AND name = 'duplicates'",
        consumer,
    )
    return [
        counter(
            "zenops_consumer_duplicates",
            "Messages delivered again that the consumer's inbox absorbed (already applied: nothing changed)",
            [Sample({"consumer": consumer}, int(value or 0))],
        )
    ]


@dataclass(frozen=True)
class PartitionLag:
    """One partition of a consumer group: committed and end offsets."""

    topic: str
    partition: int
    committed: int
    end: int

    @property
    def lag(self) -> int:
        # no commit yet: everything on the partition is behind
        return max(0, self.end - max(self.committed, 0))


def lag_families(group: str, lags: Sequence[PartitionLag], dlq_depth: dict[str, int]) -> list[Family]:
    """The consumer-lag and dead-letter families of one group."""

    def labels(p: PartitionLag) -> dict[str, str]:
        return {"group": group, "topic": p.topic, "partition": str(p.partition)}

    return [
        gauge(
            "zenops_consumer_lag",
            "Messages on the partition the consumer group has not committed yet (end - committed offset)",
            [Sample(labels(p), p.lag) for p in lags],
        ),
        gauge(
            "zenops_consumer_committed_offset",
            "The consumer group's committed offset",
            [Sample(labels(p), p.committed) for p in lags],
        ),
        gauge(
            "zenops_dlq_messages",
            "Messages on the dead-letter topic of each topic the group consumes (end - beginning offset)",
            [Sample({"topic": topic}, depth) for topic, depth in sorted(dlq_depth.items())],
        ),
    ]


class KafkaOffsets:
    """Committed offsets of a group and end/beginning offsets of topics, over long-lived clients started
    on first use (in the running loop) and rebuilt after a failure."""

    def __init__(self, bootstrap: str, client_id: str) -> None:
        from shared.messaging.kafka import OffsetClients

        self._kafka: OffsetClients = OffsetClients(bootstrap, client_id)

    async def close(self) -> None:
        """Drop the clients (the next read builds new ones)."""
        await self._kafka.close()

    async def group(self, group: str) -> tuple[list[PartitionLag], dict[str, int]]:
        """The group's partitions with committed/end offsets, and the depth of each ``<topic>.dlq``."""
        from aiokafka import TopicPartition

        try:
            admin, consumer = await self._kafka.clients()
            committed = {
                tp: int(o.offset) for tp, o in (await admin.list_consumer_group_offsets(group)).items()
            }
            existing = {t["topic"]: t for t in await admin.describe_topics()}
            topics = sorted({tp.topic for tp in committed})
            # every partition of a topic the group consumes; one it never committed on counts from 0
            tps = sorted(
                {
                    *committed,
                    *(
                        TopicPartition(topic, p["partition"])
                        for topic in topics
                        if topic in existing
                        for p in existing[topic]["partitions"]
                    ),
                },
                key=lambda tp: (tp.topic, tp.partition),
            )
            ends = await consumer.end_offsets(tps) if tps else {}
            lags = [PartitionLag(tp.topic, tp.partition, committed.get(tp, -1), int(ends[tp])) for tp in tps]
            dlq_tps = [
                TopicPartition(f"{topic}.dlq", p["partition"])
                for topic in topics
                if f"{topic}.dlq" in existing
                for p in existing[f"{topic}.dlq"]["partitions"]
            ]
            depth: dict[str, int] = {f"{t}.dlq": 0 for t in topics if f"{t}.dlq" in existing}
            if dlq_tps:
                first = await consumer.beginning_offsets(dlq_tps)
                last = await consumer.end_offsets(dlq_tps)
                for tp in dlq_tps:
                    depth[tp.topic] += int(last[tp]) - int(first[tp])
        except BaseException:
            await self.close()
            raise
        return lags, depth


@dataclass
class ServiceMetrics:
    """The ops figures of one service, refreshed at scrape time at most once per ``cache_s``."""

    service: str
    schema: str
    dsn: str
    kafka_bootstrap: str
    group: str | None
    extras: Sequence[Extra] = ()
    cache_s: float = 2.0
    clock: Callable[[], float] = time.monotonic
    _families: dict[str, list[Family]] = field(default_factory=dict)
    _refreshed_at: float | None = None
    _lock: asyncio.Lock | None = None
    _kafka: KafkaOffsets | None = None

    def families(self) -> Iterator[Family]:
        for source in ("database", "kafka", "extras"):
            yield from self._families.get(source, [])

    async def refresh(self) -> None:
        """Read the figures again unless they are younger than ``cache_s`` (never raises)."""
        if self._lock is None:
            self._lock = asyncio.Lock()
        async with self._lock:
            now = self.clock()
            if self._refreshed_at is not None and now - self._refreshed_at < self.cache_s:
                return
            await asyncio.gather(
                self._refresh("database", self._database),
                self._refresh("kafka", self._kafka_figures),
                self._refresh("extras", self._extras),
            )
            self._refreshed_at = self.clock()

    async def _refresh(self, source: str, read: Callable[[], Awaitable[list[Family]]]) -> None:
        try:
            self._families[source] = await read()
        except Exception as exc:
            REFRESH_ERRORS.labels(self.service, source).inc()
            log.warning("metrics source unavailable", extra={"source": source, "error": repr(exc)[:300]})

    async def _database(self) -> list[Family]:
        import asyncpg

        conn: asyncpg.Connection = await asyncpg.connect(self.dsn, timeout=2.0)
        try:
            families = await outbox_families(conn, self.schema)
            if self.group:
                families += await parked_families(conn, self.schema, self.group)
                families += await duplicates_families(conn, self.schema, self.group)
            return families
        finally:
            with contextlib.suppress(Exception):
                await conn.close()

    async def _kafka_figures(self) -> list[Family]:
        if not self.group:
            return []
        if self._kafka is None:
            self._kafka = KafkaOffsets(self.kafka_bootstrap, f"{self.service}-metrics")
        lags, depth = await asyncio.wait_for(self._kafka.group(self.group), timeout=5.0)
        return lag_families(self.group, lags, depth)

    async def _extras(self) -> list[Family]:
        families: list[Family] = []
        for extra in self.extras:
            families += await extra()
        return families

    async def close(self) -> None:
        if self._kafka is not None:
            await self._kafka.close()


class _OpsCollector(Collector):
    """The one collector of the process's registry; exposes every registered service's last figures."""

    def __init__(self) -> None:
        self.services: dict[str, ServiceMetrics] = {}

    def collect(self) -> Iterable[Metric]:
        merged: dict[str, Metric] = {}
        for service, metrics in sorted(self.services.items()):
            for family in metrics.families():
                metric = family.metric(service)
                if metric.name in merged:
                    merged[metric.name].samples += metric.samples
                else:
                    merged[metric.name] = metric
        return list(merged.values())


_COLLECTOR = _OpsCollector()
REGISTRY.register(_COLLECTOR)


def register(metrics: ServiceMetrics) -> ServiceMetrics:
    """Expose ``metrics`` on this process's ``/metrics`` (a second app of one service replaces the first)."""
    _COLLECTOR.services[metrics.service] = metrics
    return metrics


class MetricsRefreshMiddleware:
    """Refreshes the service's ops figures (cached) before ``/metrics`` answers; other paths pass."""

    def __init__(self, app: ASGIApp, metrics: ServiceMetrics, path: str = "/metrics") -> None:
        self.app = app
        self.metrics = metrics
        self.path = path

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope.get("path") == self.path:
            await self.metrics.refresh()
        await self.app(scope, receive, send)


def install_service_metrics(app: Any, metrics: ServiceMetrics) -> None:
    """Expose ``metrics`` on the app's ``/metrics``, read at scrape time (see :class:`ServiceMetrics`)."""
    register(metrics)
    app.add_middleware(MetricsRefreshMiddleware, metrics=metrics)
