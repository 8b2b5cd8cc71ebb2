"""Root pytest configuration: the shared stack fixtures (real Postgres + Kafka + services) and a
summary of the time spent per test tier (unit, integration, end-to-end, chaos, static checks)."""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Iterator
from pathlib import PurePosixPath

import pytest

from shared.telemetry.tracing import uninstrument_libraries

pytest_plugins = ["devstack.testing.fixtures"]


@pytest.fixture(autouse=True)
def _no_instrumentation_leaks() -> Iterator[None]:
    """A test that configured tracing in this process (its in-memory exporter, the httpx/asyncpg/aiokafka
    instrumentations) must not make later tests' clients send this process's ``traceparent`` to the
    stack, where the services would continue the test's trace instead of starting their own."""
    yield
    uninstrument_libraries()


_TIERS = ("unit", "integration", "e2e", "chaos", "fuzz", "contracts", "deploy")
_seconds: dict[str, float] = defaultdict(float)
_counts: dict[str, int] = defaultdict(int)
_started = time.monotonic()


def _tier(nodeid: str) -> str:
    parts = PurePosixPath(nodeid.split("::", 1)[0]).parts
    return next((part for part in parts if part in _TIERS), "other")


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    # setup + call + teardown: the stack's start is paid by the first test that needs it.
    tier = _tier(report.nodeid)
    _seconds[tier] += report.duration
    if report.when == "call":
        _counts[tier] += 1


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if not _counts:
        return
    terminalreporter.section("time per tier")
    for tier in (*_TIERS, "other"):
        if _counts.get(tier):
            terminalreporter.write_line(f"{tier:<12} {_counts[tier]:>5} tests  {_seconds[tier]:>8.1f} s")
    terminalreporter.write_line(
        f"{'wall':<12} {sum(_counts.values()):>5} tests  {time.monotonic() - _started:>8.1f} s"
    )
