"""The supervisor process of one state dir: ``python -m devstack supervise`` (started by ``up``).

It holds ``<state>/.supervisor.lock`` for its lifetime (one per state dir), watches the registry's
processes the launcher asked for (``pids.json`` ``supervised``), restarts those that die under
:class:`devstack.supervisor.RestartPolicy`, publishes its view to ``<state>/supervisor.json`` for
``status``, and logs every restart and give-up to ``<state>/logs/supervisor.log`` (its stdout).
Ticks run only while the launcher lock is free, so ``up``/``restart``/``down`` never race it.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path

from devstack.launcher import (
    LAUNCHER_LOCK,
    ProcessRecord,
    _start_ticks,
    _State,
    _tail,
    registry,
    resolve_stack,
    spawn,
    try_lock,
    uptime_of,
)
from devstack.supervisor import Supervised, Supervisor, run

__all__ = ["LauncherTable", "main"]

_TAIL_LINES = 20
# A broker recovering its logs on a busy machine can take minutes; one that is given up on too
# early is killed half-started and counts as a crash.
_NODE_START_TIMEOUT = 300.0


def _log(message: str) -> None:
    print(f"{time.strftime('%Y-%m-%d %H:%M:%S')} {message}", flush=True)  # noqa: T201  the supervisor's stdout is its log file


class LauncherTable:
    """The real process table: ``pids.json`` records, detached children, node start-ups in threads."""

    def __init__(self, state: _State) -> None:
        self.state = state
        self.records: dict[str, ProcessRecord] = {}
        self.last_wanted: Mapping[str, int] = {}
        self._children: dict[str, subprocess.Popen[bytes]] = {}
        self._node_starts: dict[str, threading.Thread] = {}
        pid = os.getpid()
        self.me = ProcessRecord(
            "supervisor", pid, _start_ticks(pid) or 0, str(state.log_dir / "supervisor.log"), ["supervise"]
        )

    @contextlib.contextmanager
    def wanted(self) -> Iterator[Mapping[str, int] | None]:
        """The supervised names while the launcher lock is free; ``None`` (skip) while it is held."""
        with try_lock(self.state.dir / LAUNCHER_LOCK) as taken:
            if not taken or not self.state.pids_file.exists():
                yield None
                return
            if (self.state.pids().get("supervisor") or {}).get("pid") != os.getpid():
                # Whoever started us (or a stale record) aside: `status` and `down` must find us.
                self.state.record_supervisor(self.me)
            self.records = self.state.processes()
            self.last_wanted = self.state.supervised()
            yield self.last_wanted

    def alive(self, entry: Supervised) -> bool:
        """Process alive (a node: its pid alive, or its start-up still running)."""
        if entry.node is not None:
            starting = self._node_starts.get(entry.name)
            return (starting is not None and starting.is_alive()) or entry.node.pid() is not None
        record = self.records.get(entry.name)
        return record is not None and record.is_alive()

    def healthy(self, entry: Supervised) -> bool:
        """The entry's health check (a node: serving)."""
        if entry.node is not None:
            return entry.node.is_running()
        record = self.records.get(entry.name)
        uptime = uptime_of(record.pid if record else None)
        return uptime is not None and entry.health.ok(uptime)

    def start(self, entry: Supervised) -> None:
        """Spawn a command detached (we are its parent: exit codes are known), or start a node."""
        if entry.node is not None:
            thread = threading.Thread(target=self._start_node, args=(entry,), daemon=True)
            self._node_starts[entry.name] = thread
            thread.start()
            return
        record, proc = spawn(entry.name, entry.command, entry.env, entry.logs[0])
        self.state.record_process(record)
        self.records[entry.name] = record
        self._children[entry.name] = proc

    def _start_node(self, entry: Supervised) -> None:
        if entry.node is None:
            return
        try:
            entry.node.start(timeout=_NODE_START_TIMEOUT)
        except Exception as exc:
            _log(f"{entry.name}: start failed: {exc}")

    def exit_code(self, entry: Supervised) -> int | None:
        """Known for the processes this supervisor started (and reaps)."""
        proc = self._children.pop(entry.name, None)
        if proc is None:
            return None
        with contextlib.suppress(subprocess.TimeoutExpired):
            return proc.wait(timeout=1.0)
        return None

    def log_tail(self, entry: Supervised) -> str:
        """Last lines of its main log."""
        return _tail(entry.logs[0], _TAIL_LINES)

    def join_node_starts(self, timeout: float) -> None:
        """Let node start-ups in flight finish (so a half-started broker gets its pid file)."""
        for thread in self._node_starts.values():
            thread.join(timeout)


def main(state_dir: Path) -> int:
    """Run the supervisor of ``state_dir`` until SIGTERM; exits at once when one already runs."""
    state = _State(state_dir)
    with try_lock(state_dir / ".supervisor.lock") as taken:
        if not taken:
            _log(f"another supervisor watches {state_dir}; pid {os.getpid()} exits")
            return 0
        table = LauncherTable(state)
        cache: dict[tuple[tuple[str, int], ...], Sequence[Supervised]] = {}

        def entries() -> Sequence[Supervised]:
            # Rebuilt when the launcher changes what it wants (ports and services may be new).
            key = tuple(sorted(table.last_wanted.items()))
            if key not in cache:
                cache.clear()
                cache[key] = registry(resolve_stack(state_dir))
            return cache[key]

        supervisor = Supervisor(entries, table, time.monotonic, _log)
        _log(f"supervisor pid {os.getpid()} watches {state_dir}")
        run(supervisor, state.publish_supervisor_view)
        table.join_node_starts(5.0)
        _log("supervisor stopped (processes keep running; `make down` stops them)")
    return 0
