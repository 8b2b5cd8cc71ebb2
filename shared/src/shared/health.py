"""Liveness (``/healthz``) and readiness (``/readyz``) of a service's HTTP process.

``/healthz`` says the process answers and nothing else: no dependency is asked, so a slow database never
gets a live process restarted. ``/readyz`` asks the dependencies, each bounded by a short timeout:

* ``database``: ``SELECT 1`` on the service's system engine;
* ``broker``: a metadata request through a fresh bootstrap connection, its answer reused for a few
  seconds so frequent probes do not hammer the broker;
* ``stream``: the heartbeat the stream process writes every few seconds into ``<schema>.stream_heartbeats``
  (:class:`StreamHeartbeat`, created by ``shared.db.migrations.finish_schema``), stale after ~15 s.

Ready → 200 ``{"status": "ok", "service", "details": {check: "ok"}}``; otherwise 503 ``NOT_READY`` with the
same ``details`` naming what failed (``"stale (42 s)"``, ``"unavailable (TimeoutError)"``).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Literal

from fastapi import FastAPI
from pydantic import BaseModel

from shared.errors import DomainError, ErrorBody

if TYPE_CHECKING:  # the database and broker clients load where a probe uses them (the gateway has neither)
    from sqlalchemy.ext.asyncio import AsyncEngine

log = logging.getLogger(__name__)

OK = "ok"
#: a probe answers ``"ok"`` or a short reason; an exception it raises becomes ``unavailable (<type>)``
Probe = Callable[[], Awaitable[str]]
HEARTBEAT_TABLE = "stream_heartbeats"
STREAM_PROCESS = "stream"


class Liveness(BaseModel):
    """``GET /healthz``: the process answers."""

    status: Literal["ok"] = "ok"
    service: str


class ReadinessReport(BaseModel):
    """``GET /readyz`` when every dependency answers: each check and ``"ok"``."""

    status: Literal["ok"] = "ok"
    service: str
    details: dict[str, str]


class NotReady(DomainError, code="NOT_READY", status=503):
    """A dependency of the process does not answer; ``details`` says which and why."""


def unavailable(exc: BaseException) -> str:
    """The reason a probe gives for an exception (its type only: no addresses or secrets leak)."""
    return f"unavailable ({type(exc).__name__})"


class Readiness:
    """Runs named probes concurrently, each within ``timeout_s``."""

    def __init__(self, probes: Mapping[str, Probe], *, timeout_s: float = 2.0) -> None:
        self._probes = dict(probes)
        self._timeout_s = timeout_s

    async def _run(self, probe: Probe) -> str:
        try:
            async with asyncio.timeout(self._timeout_s):
                return await probe()
        except Exception as exc:  # any failure of a dependency is "not ready", never a 500
            return unavailable(exc)

    async def check(self) -> dict[str, str]:
        """Each probe's answer, by name."""
        names = sorted(self._probes)
        answers = await asyncio.gather(*(self._run(self._probes[n]) for n in names))
        return dict(zip(names, answers, strict=True))

    async def report(self, service: str) -> ReadinessReport:
        """The 200 body when every probe says ``ok``; :class:`NotReady` (503) otherwise."""
        details = await self.check()
        if any(answer != OK for answer in details.values()):
            failing = ", ".join(name for name, answer in details.items() if answer != OK)
            raise NotReady(f"not ready: {failing}", details=details)
        return ReadinessReport(service=service, details=details)


def install_probes(
    app: FastAPI, service: str, readiness: Readiness | None, dependencies: Sequence[Any] = ()
) -> None:
    """``GET /healthz`` (liveness) and ``GET /readyz`` (``readiness``; a process without dependencies,
    ``None``, is ready whenever it answers), both documented with every status they answer.

    ``dependencies`` run before either (the gateway's per-IP rate limit: ``/readyz`` fans out to every
    upstream, so the public edge must not let it be called without bound)."""

    @app.get("/healthz", response_model=Liveness, tags=["probes"], dependencies=list(dependencies))
    async def healthz() -> Liveness:
        """Liveness: the process answers (no dependency is asked)."""
        return Liveness(service=service)

    @app.get(
        "/readyz",
        response_model=ReadinessReport,
        tags=["probes"],
        dependencies=list(dependencies),
        responses={NotReady.status: {"model": ErrorBody, "description": NotReady.code}},
    )
    async def readyz() -> ReadinessReport:
        """Readiness: every dependency answers (503 ``NOT_READY`` naming those that do not)."""
        return await (readiness or Readiness({})).report(service)


def database_probe(engine: AsyncEngine) -> Probe:
    """``SELECT 1`` through ``engine`` (a pooled connection: cheap when the database is there)."""

    from sqlalchemy import text

    async def probe() -> str:
        async with engine.connect() as conn:
            await conn.execute(text("SELECT 1"))
        return OK

    return probe


class BrokerProbe:
    """Whether the Kafka cluster answers a metadata request, remembered for ``cache_s`` seconds.

    Concurrent probes share one request; a failure is remembered as long as a success, so a down broker
    is not asked more often than an up one.
    """

    def __init__(self, bootstrap: str, *, timeout_s: float = 2.0, cache_s: float = 5.0) -> None:
        self._bootstrap = bootstrap
        self._timeout_s = timeout_s
        self._cache_s = cache_s
        self._answer: tuple[str, float] | None = None
        self._lock = asyncio.Lock()

    async def _ask(self) -> str:
        from aiokafka.client import AIOKafkaClient

        client = AIOKafkaClient(
            bootstrap_servers=self._bootstrap,
            client_id="zenops-readyz",
            request_timeout_ms=int(self._timeout_s * 1000),
        )
        try:
            async with asyncio.timeout(self._timeout_s):
                await client.bootstrap()
            return OK
        except Exception as exc:  # reported as the broker's state
            return unavailable(exc)
        finally:
            await client.close()

    async def __call__(self) -> str:
        async with self._lock:
            if self._answer is not None and time.monotonic() - self._answer[1] < self._cache_s:
                return self._answer[0]
            answer = await self._ask()
            self._answer = (answer, time.monotonic())
            return answer


def heartbeat_probe(engine: AsyncEngine, schema: str, *, stale_after_s: float = 15.0) -> Probe:
    """``ok`` while the stream process's last heartbeat is younger than ``stale_after_s`` (both ages are
    the database's clock, so host clocks never matter)."""
    from sqlalchemy import text

    async def probe() -> str:
        async with engine.connect() as conn:
            age = (
                await conn.execute(
                    text(f"SELECT extract(epoch FROM now() - max(beat_at)) FROM {schema}.{HEARTBEAT_TABLE}")
                )
            ).scalar()
        if age is None:
            return "no heartbeat yet"
        if float(age) > stale_after_s:
            return f"stale ({float(age):.0f} s)"
        return OK

    return probe


class StreamHeartbeat:
    """Written by the stream process every ``interval_s``: one row per process name, ``beat_at = now()``.

    A beat that cannot be written (database away) is logged and tried again at the next interval; the
    heartbeat never stops the stream process, ``/readyz`` reports it stale instead.
    """

    def __init__(
        self, engine: AsyncEngine, schema: str, *, interval_s: float = 3.0, process: str = STREAM_PROCESS
    ) -> None:
        self._engine = engine
        self._schema = schema
        self._interval_s = interval_s
        self._process = process

    async def beat(self) -> None:
        """Record that the process is alive now."""
        from sqlalchemy import text

        async with self._engine.begin() as conn:
            await conn.execute(
                text(
                    f"INSERT INTO {self._schema}.{HEARTBEAT_TABLE} (process, beat_at) VALUES (:p, now()) "
                    "ON CONFLICT (process) DO UPDATE SET beat_at = excluded.beat_at"
                ),
                {"p": self._process},
            )

    async def run(self) -> None:
        """Beat until cancelled."""
        while True:
            try:
                await self.beat()
            except Exception as exc:  # a missed beat is what /readyz reports
                log.warning("stream heartbeat not written", extra={"error": repr(exc)})
            await asyncio.sleep(self._interval_s)


def heartbeat_table_sql(schema: str) -> list[str]:
    """The heartbeat table of ``schema`` (created by ``finish_schema``, granted like the others)."""
    return [
        f"CREATE TABLE {schema}.{HEARTBEAT_TABLE} ("
        "process TEXT PRIMARY KEY, beat_at TIMESTAMPTZ NOT NULL DEFAULT now())"
    ]
