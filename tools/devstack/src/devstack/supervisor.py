"""Supervision of the stack's processes: the registry's entry type, the restart policy and the loop.

The supervisor is one detached process per state directory (``python -m devstack supervise``, started by
``up``). Each tick it compares the processes the launcher asked for (``wanted``: name -> request id)
with what runs, and restarts what died: after a backoff that doubles from ``first_backoff`` to
``max_backoff`` (reset once a process stayed up ``reset_after`` seconds), until ``max_restarts``
restarts within ``window`` seconds put the process in ``CRASH_LOOP``, where it stays until the
launcher asks again (a new request id from ``up`` or ``restart``).

Everything here except :func:`run` is pure: the clock and the process table are injected, so the
policy is unit-tested without a stack (``tools/devstack/tests/unit``).
"""

from __future__ import annotations

import contextlib
import enum
import signal
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

__all__ = [
    "Alive",
    "Http",
    "Node",
    "ProcState",
    "ProcessTable",
    "RestartPolicy",
    "Supervised",
    "Supervisor",
    "Tracker",
]


class ProcState(enum.StrEnum):
    """What ``status`` prints for a process."""

    UP = "UP"
    STARTING = "STARTING"
    RESTARTING = "RESTARTING"
    CRASH_LOOP = "CRASH_LOOP"
    STOPPED = "STOPPED"


@dataclass(frozen=True)
class RestartPolicy:
    """When to restart a process that died, and when to give up.

    The first restart comes after ``first_backoff`` seconds, doubled for each further consecutive
    failure up to ``max_backoff``; a process that stayed healthy ``reset_after`` seconds starts from
    ``first_backoff`` again. ``max_restarts`` restarts within ``window`` seconds: the next exit is a
    crash loop, and the supervisor stops restarting it.
    """

    def backoff(self, failures: int) -> float:
        """Delay before the restart that follows ``failures`` earlier consecutive failures."""
        return float(min(self.first_backoff * 2**failures, self.max_backoff))

    first_backoff: float = 0.5
    max_backoff: float = 30.0
    reset_after: float = 60.0
    max_restarts: int = 5
    window: float = 120.0


# ------------------------------------------------------------------------------------ registry entry


class Node(Protocol):
    """A server with its own start/stop logic and pid file (embedded Postgres, the Kafka node)."""

    def start(self, *, timeout: float = ...) -> object:
        """Start it (idempotent) and wait up to ``timeout`` seconds until it serves."""

    def stop(self) -> None:
        """Stop it (idempotent)."""

    def is_running(self) -> bool:
        """Whether it is up and serving."""

    def pid(self) -> int | None:
        """Its main process id, if it has one."""


@dataclass(frozen=True)
class Http:
    """Healthy once ``GET <url><path>`` answers 200 (``/healthz`` of the services)."""

    url: str
    path: str = "/healthz"

    def ok(self, uptime: float) -> bool:
        """One probe (2 s timeout)."""
        import httpx

        del uptime  # an HTTP answer is proof enough, however young the process
        try:
            return httpx.get(f"{self.url}{self.path}", timeout=2.0).status_code == 200
        except httpx.HTTPError:
            return False


@dataclass(frozen=True)
class Alive:
    """Healthy once alive for ``grace`` seconds (processes without a port: a bad config exits fast)."""

    grace: float = 1.0

    def ok(self, uptime: float) -> bool:
        """Whether the process outlived its start-up grace."""
        return uptime >= self.grace


@dataclass(frozen=True)
class Supervised:
    """One entry of the registry: a process the launcher starts and the supervisor keeps running.

    Exactly one of ``command`` (arguments after the Python interpreter, run detached with ``env``)
    and ``node`` (a server with its own start/stop) is set. ``service`` is what ``restart S=`` and
    ``logs S=`` name; ``logs`` are its log files, first the one whose tail goes into restart reports.
    """

    name: str
    service: str
    logs: tuple[Path, ...]
    command: tuple[str, ...] = ()
    env: Mapping[str, str] = field(default_factory=dict)
    node: Node | None = None
    health: Http | Alive = Alive()
    url: str = ""
    policy: RestartPolicy = RestartPolicy()


# ------------------------------------------------------------------------------------------- policy


@dataclass
class Tracker:
    """The supervisor's memory of one process since the launcher last asked for it (``request``)."""

    policy: RestartPolicy
    request: int
    state: ProcState = ProcState.STARTING
    restarts: int = 0
    failures: int = 0
    last_exit: str = ""
    started_at: float = 0.0
    healthy_since: float | None = None
    retry_at: float | None = None
    recent: list[float] = field(default_factory=list)

    def started(self, now: float) -> None:
        """A (re)start was just issued."""
        self.state = ProcState.STARTING
        self.started_at = now
        self.healthy_since = None
        self.retry_at = None

    def healthy(self, now: float) -> None:
        """Its health check passed."""
        if self.state is not ProcState.UP:
            self.state = ProcState.UP
            self.healthy_since = now

    def exited(self, now: float, how: str) -> float | None:
        """It died: when to restart it, or ``None`` when it is crash-looping (stop trying)."""
        if self.healthy_since is not None and now - self.healthy_since >= self.policy.reset_after:
            self.failures = 0
        self.last_exit = how
        self.recent = [t for t in self.recent if now - t < self.policy.window]
        if len(self.recent) >= self.policy.max_restarts:
            self.state = ProcState.CRASH_LOOP
            self.retry_at = None
            return None
        self.state = ProcState.RESTARTING
        self.retry_at = now + self.policy.backoff(self.failures)
        self.failures += 1
        return self.retry_at

    def restarting(self, now: float) -> None:
        """The scheduled restart is being issued now."""
        self.recent.append(now)
        self.restarts += 1
        self.started(now)

    def due(self, now: float) -> bool:
        """Whether a scheduled restart is due."""
        return self.state is ProcState.RESTARTING and self.retry_at is not None and now >= self.retry_at


# ---------------------------------------------------------------------------------------------- loop


class ProcessTable(Protocol):
    """What the supervisor observes and does; the launcher's real table, or a fake in unit tests."""

    def wanted(self) -> contextlib.AbstractContextManager[Mapping[str, int] | None]:
        """For one tick: the names to keep running with their request ids (``None``: skip the tick)."""

    def alive(self, entry: Supervised) -> bool:
        """Whether its process (or start-up) is alive."""

    def healthy(self, entry: Supervised) -> bool:
        """Whether its health check passes now."""

    def start(self, entry: Supervised) -> None:
        """(Re)start it without waiting for it to be healthy."""

    def exit_code(self, entry: Supervised) -> int | None:
        """Its exit status (negative: killed by that signal), when known."""

    def log_tail(self, entry: Supervised) -> str:
        """The last lines of its log."""


def describe_exit(code: int | None) -> str:
    """``exit code 3`` / ``killed by SIGKILL`` / ``exit code unknown`` (not a child of this supervisor)."""
    if code is None:
        return "exit code unknown"
    if code < 0:
        with contextlib.suppress(ValueError):
            return f"killed by {signal.Signals(-code).name}"
    return f"exit code {code}"


class Supervisor:
    """Applies the restart policy to the registry's entries, one :meth:`tick` at a time."""

    def __init__(
        self,
        entries: Callable[[], Sequence[Supervised]],
        table: ProcessTable,
        clock: Callable[[], float],
        log: Callable[[str], None],
    ) -> None:
        self._entries = entries
        self._table = table
        self._clock = clock
        self._log = log
        self.trackers: dict[str, Tracker] = {}

    def tick(self) -> bool:
        """Observe every wanted process once and act; ``True`` when something changed."""
        with self._table.wanted() as wanted:
            if wanted is None:
                return False
            changed = False
            for name in set(self.trackers) - set(wanted):
                del self.trackers[name]
                changed = True
            for entry in self._entries():
                if entry.name in wanted:
                    changed |= self._watch(entry, wanted[entry.name])
            return changed

    def _watch(self, entry: Supervised, request: int) -> bool:
        now = self._clock()
        tracker = self.trackers.get(entry.name)
        fresh = tracker is None or tracker.request != request
        if tracker is None or fresh:
            tracker = self.trackers[entry.name] = Tracker(entry.policy, request)
        before = (tracker.state, tracker.restarts)
        if self._table.alive(entry):
            if tracker.state in (ProcState.RESTARTING, ProcState.CRASH_LOOP):
                tracker.started(now)  # started by someone else meanwhile
            if tracker.state is not ProcState.UP and self._table.healthy(entry):
                tracker.healthy(now)
        elif tracker.state is ProcState.CRASH_LOOP:
            pass
        elif fresh:
            # Asked for by `up`/`restart` and not running: start it now, no failure to count.
            self._table.start(entry)
            tracker.started(now)
        elif tracker.due(now):
            self._log(f"{entry.name}: restart {tracker.restarts + 1} ({tracker.last_exit})")
            tracker.restarting(now)
            self._table.start(entry)
        elif tracker.state is not ProcState.RESTARTING:
            self._exited(entry, tracker, now)
        return (tracker.state, tracker.restarts) != before

    def _exited(self, entry: Supervised, tracker: Tracker, now: float) -> None:
        how = describe_exit(self._table.exit_code(entry))
        was = tracker.state.value.lower()
        retry_at = tracker.exited(now, how)
        tail = self._table.log_tail(entry)
        if retry_at is None:
            self._log(
                f"{entry.name}: GIVING UP, CRASH_LOOP ({how}; {entry.policy.max_restarts} restarts within "
                f"{entry.policy.window:.0f}s); `make restart S={entry.service}` or `make up` tries again. "
                f"Log tail:\n{tail}"
            )
        else:
            self._log(
                f"{entry.name}: died while {was} ({how}); restarting in {retry_at - now:.1f}s. "
                f"Log tail:\n{tail}"
            )

    def snapshot(self) -> dict[str, dict[str, object]]:
        """Per process: state, restarts, last exit and request id (what ``status`` reads)."""
        return {
            name: {
                "state": t.state.value,
                "restarts": t.restarts,
                "last_exit": t.last_exit,
                "request": t.request,
            }
            for name, t in self.trackers.items()
        }


def run(
    supervisor: Supervisor,
    publish: Callable[[dict[str, dict[str, object]]], None],
    *,
    interval: float = 0.5,
    stop: threading.Event | None = None,
) -> None:
    """Tick until SIGTERM/SIGINT (or ``stop``), publishing the snapshot whenever it changes."""
    stop = stop or threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        # Only a flag: a tick in progress finishes (a spawned process gets recorded) before exit.
        signal.signal(sig, lambda *_: stop.set())
    publish(supervisor.snapshot())
    while not stop.is_set():
        if supervisor.tick():
            publish(supervisor.snapshot())
        stop.wait(interval)
