"""The metrics of ``shared.telemetry.metrics``: HTTP latency by route template, the ops families, the
scrape-time cache and its fail-soft refresh, and what ``/metrics`` finally renders."""

from __future__ import annotations

from collections.abc import Iterator
from typing import cast

import asyncpg
import httpx
import pytest
from fastapi import FastAPI
from prometheus_client import REGISTRY, generate_latest

from shared.http import install_request_context
from shared.telemetry.metrics import (
    Family,
    PartitionLag,
    Sample,
    ServiceMetrics,
    counter,
    duplicates_families,
    gauge,
    install_service_metrics,
    lag_families,
    register,
)


def sample_value(name: str, labels: dict[str, str]) -> float | None:
    return REGISTRY.get_sample_value(name, labels)


@pytest.fixture
def app() -> FastAPI:
    app = FastAPI()

    @app.get("/items/{item_id}")
    async def item(item_id: int) -> dict[str, int]:
        return {"id": item_id}

    @app.get("/boom")
    async def boom() -> None:
        raise RuntimeError("boom")

    install_request_context(app, "metrics-test")  # the one middleware that observes every request
    return app


def http_count(route: str, status: str, method: str = "GET") -> float:
    labels = {"service": "metrics-test", "method": method, "route": route, "status": status}
    return sample_value("zenops_http_server_duration_seconds_count", labels) or 0.0


async def test_latency_is_labelled_by_route_template_and_status(app: FastAPI) -> None:
    before = http_count("/items/{item_id}", "200")
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        assert (await client.get("/items/1")).status_code == 200
        assert (await client.get("/items/2")).status_code == 200
        assert (await client.get("/nowhere/3")).status_code == 404
        assert (await client.get("/items/x")).status_code == 422
        assert (await client.get("/boom")).status_code == 500
    assert http_count("/items/{item_id}", "200") == before + 2
    assert http_count("unmatched", "404") >= 1
    assert http_count("/items/{item_id}", "422") >= 1
    assert http_count("/boom", "500") >= 1
    # raw paths never become labels
    exposed = generate_latest().decode()
    assert 'route="/items/1"' not in exposed
    assert "zenops_http_server_duration_seconds_bucket" in exposed


def test_partition_lag() -> None:
    assert PartitionLag("t", 0, committed=7, end=10).lag == 3
    assert PartitionLag("t", 0, committed=-1, end=4).lag == 4  # never committed: all behind
    assert PartitionLag("t", 0, committed=10, end=10).lag == 0


def test_lag_families_label_each_partition_and_dlq() -> None:
    families = lag_families("billing", [PartitionLag("a", 1, 5, 9)], {"a.dlq": 2})
    by_name = {f.name: f for f in families}
    assert by_name["zenops_consumer_lag"].samples == (
        Sample({"group": "billing", "topic": "a", "partition": "1"}, 4),
    )
    assert by_name["zenops_consumer_committed_offset"].samples[0].value == 5
    assert by_name["zenops_dlq_messages"].samples == (Sample({"topic": "a.dlq"}, 2),)


class _Counters:
    """A connection that knows one consumer counter row (or none)."""

    def __init__(self, value: int | None) -> None:
        self.value = value
        self.asked: list[tuple[str, tuple[object, ...]]] = []

    async def fetchval(self, sql: str, *args: object) -> int | None:
        self.asked.append((sql, args))
        return self.value


@pytest.mark.parametrize(("stored", "shown"), [(7, 7), (None, 0)])
async def test_duplicates_absorbed_are_a_counter_per_consumer(stored: int | None, shown: int) -> None:
    conn = _Counters(stored)
    families = await duplicates_families(cast(asyncpg.Connection, conn), "billing", "billing")
    assert [(f.name, f.kind, f.samples) for f in families] == [
        ("zenops_consumer_duplicates", "counter", (Sample({"consumer": "billing"}, shown),))
    ]
    ((sql, args),) = conn.asked
    assert "billing.consumer_counters" in sql
    assert args == ("billing",)
    rendered = families[0].metric("billing")
    assert [s.name for s in rendered.samples] == ["zenops_consumer_duplicates_total"]


def test_a_family_renders_with_the_service_label_first() -> None:
    metric = gauge("zenops_x", "x", [Sample({"a": "1"}, 2), Sample({"b": "2"}, 3)]).metric("svc")
    assert [(s.labels, s.value) for s in metric.samples] == [
        ({"service": "svc", "a": "1", "b": ""}, 2),
        ({"service": "svc", "a": "", "b": "2"}, 3),
    ]
    total = counter("zenops_y", "y", [Sample({}, 1)]).metric("svc")
    assert total.type == "counter"
    assert [s.name for s in total.samples] == ["zenops_y_total"]


class ScriptedMetrics(ServiceMetrics):
    """ServiceMetrics whose sources are scripted: each read returns the next value or raises."""

    db_values: Iterator[int | Exception]
    reads: int = 0

    async def _database(self) -> list[Family]:
        self.reads += 1
        value = next(self.db_values)
        if isinstance(value, Exception):
            raise value
        return [gauge("zenops_outbox_pending", "pending", [Sample({}, value)])]

    async def _kafka_figures(self) -> list[Family]:
        return lag_families("g", [PartitionLag("t", 0, 1, 3)], {})

    async def _extras(self) -> list[Family]:
        return []


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def scripted(service: str, clock: Clock, *values: int | Exception) -> ScriptedMetrics:
    metrics = ScriptedMetrics(service, "s", "dsn", "kafka", "g", cache_s=2.0, clock=clock)
    metrics.db_values = iter(values)
    return register(metrics)  # type: ignore[return-value]


async def test_figures_are_read_at_most_once_per_cache_period() -> None:
    clock = Clock()
    metrics = scripted("cache-test", clock, 1, 2, 3)
    await metrics.refresh()
    clock.now += 1.9
    await metrics.refresh()
    assert metrics.reads == 1
    assert sample_value("zenops_outbox_pending", {"service": "cache-test"}) == 1
    clock.now += 0.1
    await metrics.refresh()
    assert metrics.reads == 2
    assert sample_value("zenops_outbox_pending", {"service": "cache-test"}) == 2
    assert (
        sample_value(
            "zenops_consumer_lag", {"service": "cache-test", "group": "g", "topic": "t", "partition": "0"}
        )
        == 2
    )


async def test_a_failing_source_keeps_its_last_values_and_counts_the_error() -> None:
    clock = Clock()
    metrics = scripted("failing-test", clock, 5, ConnectionError("db down"), 6)
    errors = {"service": "failing-test", "source": "database"}
    await metrics.refresh()
    clock.now += 5
    await metrics.refresh()
    assert sample_value("zenops_outbox_pending", {"service": "failing-test"}) == 5
    assert sample_value("zenops_metrics_refresh_errors_total", errors) == 1
    clock.now += 5
    await metrics.refresh()
    assert sample_value("zenops_outbox_pending", {"service": "failing-test"}) == 6


async def test_metrics_endpoint_refreshes_before_answering_and_other_paths_do_not() -> None:
    clock = Clock()
    metrics = scripted("endpoint-test", clock, 10, 11)
    app = FastAPI()

    @app.get("/metrics")
    async def exposed() -> str:
        return generate_latest().decode()

    @app.get("/other")
    async def other() -> str:
        return "x"

    install_service_metrics(app, metrics)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as client:
        await client.get("/other")
        assert metrics.reads == 0
        text = (await client.get("/metrics")).json()
    assert metrics.reads == 1
    assert 'zenops_outbox_pending{service="endpoint-test"} 10.0' in text
