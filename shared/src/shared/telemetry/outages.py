"""Log a dependency outage once per state change, not once per reconnect attempt (issue 19).

After a broker restart aiokafka logs every failed reconnect, metadata request, heartbeat and commit of
every client (thousands of ERROR lines per stream process); a database restart makes the pool, the
heartbeat and the relay do the same. :class:`OutageLog` is a logging filter on the process's one handler
(:func:`shared.telemetry.configure_logging` installs it) that recognises those lines
(:func:`dependency_of`):

* the first one of an outage passes, rewritten as ``"<dependency> unavailable"`` (its original text in
  ``first_error``, its logger in ``source_logger``), and ``zenops_dependency_outages_total`` counts it;
* the following ones are dropped and counted (``zenops_dependency_log_lines_suppressed_total``);
* :class:`OutageWatch` (a task of each process) asks the dependency every second while it is down and,
  once it answers and no failure was logged for ``quiet_s``, logs ``"<dependency> back"`` with the
  outage's duration and the number of lines it held back;
* for ``settle_s`` after that, stragglers (a consumer's coordinator still reloading after the broker
  answers metadata again) are dropped and counted too; failures that go on past it are a new outage.

Only lines that mean "cannot reach it" are folded: a failure whose exception is a connection failure
(:func:`shared.availability.unavailable_dependency`), any warning of aiokafka's own loggers during a
broker outage (and those naming a connection problem outside one), the SQLAlchemy pool's errors, and the
retry lines of the relay and the heartbeat. Anything else is logged as before.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass

from prometheus_client import Counter

from shared.availability import BROKER, DATABASE, unavailable_dependency

log = logging.getLogger("shared.outages")

OUTAGES = Counter(
    "zenops_dependency_outages_total",
    "Outages of a dependency seen by this process (one per unavailable -> back cycle)",
    ["dependency"],
)
SUPPRESSED = Counter(
    "zenops_dependency_log_lines_suppressed_total",
    "Log lines of repeated connection failures folded into one outage line",
    ["dependency"],
)

#: text that names a failure to reach the broker, in aiokafka's own lines
_BROKER_TEXT = (
    "unable connect",
    "connect call failed",
    "unable to request metadata",
    "unable to update metadata",
    "kafkaconnectionerror",
    "nodenotready",
    "coordinator dead",
    "coordinator request failed",
    "coordinatornotavailable",
    "notcoordinator",
    "heartbeat failed",
    "requesttimedout",
    "failed fetch messages",
    "error sending",
    "connection refused",
    "connection reset",
    "connection lost",
    "timeout",
)
#: text that names a failure to reach the database, in an ``error`` field of our own lines
_DATABASE_TEXT = (
    "cannotconnectnow",
    "connectiondoesnotexist",
    "adminshutdown",
    "crashshutdown",
    "the database system is",
    "connection is closed",
    "connection was closed",
    "connect call failed",
    "connectionrefusederror",
    "too many clients",
)
#: our own retry lines, by logger and message
_RETRY_LINES: Mapping[tuple[str, str], str] = {
    ("shared.messaging.relay", "outbox relay could not publish; retrying"): BROKER,
    ("shared.messaging.relay", "outbox relay connection lost; retrying"): DATABASE,
    ("shared.health", "stream heartbeat not written"): DATABASE,
}


def dependency_of(record: logging.LogRecord, *, broker_down: bool = False) -> str | None:
    """The dependency a log line says cannot be reached (``"broker"``/``"database"``), else ``None``."""
    if record.levelno < logging.WARNING:
        return None
    if record.exc_info and record.exc_info[1] is not None:
        found = unavailable_dependency(record.exc_info[1])
        if found is not None:
            return found
    known = _RETRY_LINES.get((record.name, str(record.msg)))
    if known is not None:
        return known
    if record.name.startswith("aiokafka"):
        if broker_down:
            return BROKER
        text = record.getMessage().lower()
        return BROKER if any(t in text for t in _BROKER_TEXT) else None
    if record.name.startswith("sqlalchemy.pool"):
        return DATABASE
    error = str(getattr(record, "error", "")).lower()
    if error and any(t in error for t in _DATABASE_TEXT):
        return DATABASE
    return None


@dataclass
class _Outage:
    since: float
    last_seen: float
    suppressed: int = 0


class OutageLog(logging.Filter):
    """The filter (see the module): one line when a dependency goes away, one when it is back."""

    def __init__(self, *, settle_s: float = 30.0) -> None:
        super().__init__()
        self._lock = threading.Lock()
        self._down: dict[str, _Outage] = {}
        self._settle_s = settle_s
        self._settling: dict[str, float] = {}

    def filter(self, record: logging.LogRecord) -> bool:
        if record.name == log.name:
            return True
        with self._lock:
            dependency = dependency_of(record, broker_down=BROKER in self._down)
            if dependency is None:
                return True
            now = time.monotonic()
            outage = self._down.get(dependency)
            if outage is not None or now < self._settling.get(dependency, 0.0):
                # during the outage, or a straggler right after it (a client still reconnecting)
                if outage is not None:
                    outage.suppressed += 1
                    outage.last_seen = now
                SUPPRESSED.labels(dependency).inc()
                return False
            self._down[dependency] = _Outage(since=now, last_seen=now)
        OUTAGES.labels(dependency).inc()
        first = record.getMessage()
        if record.exc_info and record.exc_info[1] is not None:
            first = f"{first}: {record.exc_info[1]!r}"
        record.__dict__.update(
            {"dependency": dependency, "first_error": first[:500], "source_logger": record.name}
        )
        record.msg, record.args, record.exc_info, record.exc_text = (
            f"{dependency} unavailable",
            (),
            None,
            None,
        )
        return True

    def down(self) -> dict[str, float]:
        """The dependencies down now, with the seconds since their last failure line."""
        now = time.monotonic()
        with self._lock:
            return {d: now - o.last_seen for d, o in self._down.items()}

    def back(self, dependency: str) -> None:
        """``dependency`` answers again: log it once, with the outage's duration and what was held back."""
        with self._lock:
            outage = self._down.pop(dependency, None)
            if outage is not None:
                self._settling[dependency] = time.monotonic() + self._settle_s
        if outage is not None:
            log.warning(
                f"{dependency} back",
                extra={
                    "dependency": dependency,
                    "down_for_s": round(time.monotonic() - outage.since, 1),
                    "suppressed_lines": outage.suppressed,
                },
            )


#: the process's filter (one handler, one filter: ``configure_logging`` installs it)
OUTAGE_LOG = OutageLog()

#: a dependency's probe: ``"ok"`` when it answers (``shared.health`` has the database and broker ones)
Probe = Callable[[], Awaitable[str]]


class OutageWatch:
    """While a dependency is down (per :data:`OUTAGE_LOG`), ask it every ``interval_s``; once its probe
    answers ``"ok"`` and no failure line came for ``quiet_s``, log it back."""

    def __init__(
        self,
        probes: Mapping[str, Probe],
        *,
        outages: OutageLog = OUTAGE_LOG,
        interval_s: float = 1.0,
        quiet_s: float = 2.0,
        timeout_s: float = 2.0,
    ) -> None:
        self._probes = dict(probes)
        self._outages = outages
        self._interval_s = interval_s
        self._quiet_s = quiet_s
        self._timeout_s = timeout_s

    async def check(self) -> None:
        """One round: every down dependency whose probe answers and that has been quiet is back."""
        for dependency, quiet_for in self._outages.down().items():
            probe = self._probes.get(dependency)
            if probe is None or quiet_for < self._quiet_s:
                continue
            if await self._answers(probe):
                self._outages.back(dependency)

    async def _answers(self, probe: Probe) -> bool:
        try:
            async with asyncio.timeout(self._timeout_s):
                return await probe() == "ok"
        except Exception:  # still away: the outage was logged once already
            return False

    async def run(self) -> None:
        """Watch until cancelled."""
        while True:
            await asyncio.sleep(self._interval_s)
            await self.check()
