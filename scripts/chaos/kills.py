"""SIGKILL the stack's processes one at a time and time how long the supervisor takes to bring each back.

The targets are the launcher's registry entries (``devstack.launcher.registry``): each service's process
(HTTP app, consumers and outbox relay in one process by default; its HTTP and its stream process apart in
the split process mode), the gateway, the Kafka broker and Postgres. A kill is ``kill -9`` of the
process's pid, nothing more: no ``restart``, no ``up`` — the supervisor alone must notice and start it
again. A target is back when a new process runs and passes its health check (Postgres: it accepts a
connection; Kafka: its port answers; a process running a stream app: it also wrote a heartbeat into its
schema's ``stream_heartbeats`` after the kill, which a health check alone would not prove: the HTTP app
answers before the consumer has joined its group, and under load that takes far longer).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import asyncpg

from devstack import catalog
from devstack.launcher import ProcessRecord, StackInfo, _State, entry_pid, registry, uptime_of
from devstack.supervisor import Supervised

__all__ = ["DEFAULT_TARGETS", "Kill", "Killer", "default_targets", "known_targets"]

#: every process of the stack (the default combined process mode: one per service), the servers last;
#: on a split stack ``known_targets`` names the ``<service>-http`` and ``<service>-stream`` processes
DEFAULT_TARGETS: tuple[str, ...] = (
    "workorders",
    "evidence",
    "factory",
    "billing",
    "gateway-http",
    "kafka",
    "postgres",
)


@dataclass
class Kill:
    """One SIGKILL: what, when (seconds into the run), the pid, and how long until it was back."""

    target: str
    at_s: float
    pid: int | None
    back_after_s: float | None = None
    new_pid: int | None = None
    note: str = ""


def known_targets(info: StackInfo) -> tuple[str, ...]:
    """The names a kill list may use on this stack (the trace store is not one of them)."""
    return tuple(e.name for e in registry(info) if e.service != "zipkin")


def default_targets(info: StackInfo) -> tuple[str, ...]:
    """Every process of this stack, in :data:`DEFAULT_TARGETS`' order: a split service's stream process
    before its HTTP process, in place of its one process."""
    return tuple(
        name
        for target in DEFAULT_TARGETS
        for name in sorted(
            info.components(target) if _has_stream(target) else (target,), key=lambda n: n.endswith("-http")
        )
    )


def _has_stream(name: str) -> bool:
    spec = _spec(name)
    return spec is not None and spec.has_stream


def _spec(service: str) -> catalog.ServiceSpec | None:
    try:
        return catalog.service(service)
    except KeyError:
        return None


def _records(info: StackInfo) -> dict[str, ProcessRecord]:
    """The launcher's own records (``pids.json``), read the way ``status`` reads them."""
    return _State(info.state_dir).processes()


class Killer:
    """Kills targets in turn on a stack and waits, bounded, for the supervisor to restart each."""

    def __init__(self, info: StackInfo, *, started_at: float, recovery_timeout_s: float = 300.0) -> None:
        self.info = info
        self.kills: list[Kill] = []
        self._started_at = started_at
        self._recovery_timeout_s = recovery_timeout_s
        self._entries = {e.name: e for e in registry(info)}

    def entry(self, target: str) -> Supervised:
        """The registry entry of ``target`` (``KeyError`` for an unknown name)."""
        return self._entries[target]

    def pid(self, target: str) -> int | None:
        """The live pid of ``target``, if it runs."""
        return entry_pid(self.entry(target), _records(self.info))

    async def healthy(self, target: str) -> bool:
        """Whether ``target`` runs and passes its health check now."""
        entry = self.entry(target)
        pid = await asyncio.to_thread(self.pid, target)
        if pid is None:
            return False
        if target == "postgres":
            return await self._postgres_answers()
        if entry.node is not None:
            return await asyncio.to_thread(entry.node.is_running)
        uptime = uptime_of(pid)
        return uptime is not None and await asyncio.to_thread(entry.health.ok, uptime)

    def runs_stream(self, target: str) -> bool:
        """Whether ``target`` runs a stream app (a service's one process, or its stream process)."""
        spec = _spec(self.entry(target).service)
        return spec is not None and spec.has_stream and target in (spec.name, f"{spec.name}-stream")

    async def _last_beat(self, target: str) -> datetime | None:
        """The newest stream heartbeat of ``target``'s schema (``None``: none, or Postgres away)."""
        schema = catalog.service(self.entry(target).service).schema
        try:
            conn = await asyncpg.connect(self.info.admin_dsn, timeout=5)
        except (OSError, asyncpg.PostgresError, TimeoutError):
            return None
        try:
            beat: datetime | None = await conn.fetchval(
                f"SELECT max(beat_at) FROM {schema}.stream_heartbeats"
            )
            return beat
        except (OSError, asyncpg.PostgresError):
            return None
        finally:
            with contextlib.suppress(Exception):
                await conn.close()

    async def _postgres_answers(self) -> bool:
        try:
            conn = await asyncpg.connect(self.info.admin_dsn, timeout=5)
        except (OSError, asyncpg.PostgresError, TimeoutError):
            return False
        try:
            await conn.fetchval("SELECT 1")
            return True
        except (OSError, asyncpg.PostgresError):
            return False
        finally:
            with contextlib.suppress(Exception):
                await conn.close()

    async def all_healthy(self, targets: Sequence[str], *, within_s: float) -> list[str]:
        """Wait until every target is healthy; the names still unhealthy at the deadline."""
        deadline = time.monotonic() + within_s
        while True:
            sick = [t for t in targets if not await self.healthy(t)]
            if not sick or time.monotonic() > deadline:
                return sick
            await asyncio.sleep(0.5)

    async def kill(self, target: str) -> Kill:
        """SIGKILL ``target`` now and wait until a new process of it is healthy (or the timeout)."""
        stream = self.runs_stream(target)
        beat_before = await self._last_beat(target) if stream else None
        pid = await asyncio.to_thread(self.pid, target)
        now = time.monotonic()
        kill = Kill(target, now - self._started_at, pid)
        self.kills.append(kill)
        if pid is None:
            kill.note = "not running when its turn came"
            return kill
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
        deadline = now + self._recovery_timeout_s
        while time.monotonic() < deadline:
            await asyncio.sleep(0.25)
            new = await asyncio.to_thread(self.pid, target)
            if new is not None and new != pid and await self.healthy(target):
                if stream:
                    beat = await self._last_beat(target)
                    if beat is None or (beat_before is not None and beat <= beat_before):
                        continue
                kill.new_pid = new
                kill.back_after_s = time.monotonic() - now
                return kill
        kill.note = f"not back after {self._recovery_timeout_s:.0f} s (no manual restart was made)"
        return kill
