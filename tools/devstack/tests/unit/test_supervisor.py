"""The supervisor's restart policy on a fake clock and a fake process table: no processes, no stack."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from devstack.migrations import heads
from devstack.supervisor import (
    Alive,
    ProcState,
    RestartPolicy,
    Supervised,
    Supervisor,
    describe_exit,
)

POLICY = RestartPolicy()
ENTRY = Supervised(
    "billing-stream", "billing", logs=(Path("/nonexistent/billing-stream.log"),), command=("x",)
)


@dataclass
class FakeTable:
    """Processes as booleans; ``start`` makes one alive, ``die`` kills it with an exit code."""

    requests: dict[str, int] = field(default_factory=lambda: {ENTRY.name: 1})
    running: set[str] = field(default_factory=set)
    healthy_now: bool = True
    starts: list[float] = field(default_factory=list)
    codes: dict[str, int] = field(default_factory=dict)
    busy: bool = False
    clock: float = 0.0

    @contextlib.contextmanager
    def wanted(self) -> Iterator[Mapping[str, int] | None]:
        yield None if self.busy else dict(self.requests)

    def alive(self, entry: Supervised) -> bool:
        return entry.name in self.running

    def healthy(self, entry: Supervised) -> bool:  # noqa: ARG002  the process-table protocol's signature
        return self.healthy_now

    def start(self, entry: Supervised) -> None:
        self.running.add(entry.name)
        self.starts.append(self.clock)

    def exit_code(self, entry: Supervised) -> int | None:
        return self.codes.pop(entry.name, None)

    def log_tail(self, entry: Supervised) -> str:  # noqa: ARG002  the process-table protocol's signature
        return "last words"

    def die(self, code: int = -9) -> None:
        self.running.discard(ENTRY.name)
        self.codes[ENTRY.name] = code


@dataclass
class Harness:
    table: FakeTable
    supervisor: Supervisor
    logged: list[str]

    def state(self) -> ProcState:
        return self.supervisor.trackers[ENTRY.name].state

    def advance(self, seconds: float, step: float = 0.25) -> None:
        """Tick every ``step`` seconds of fake time."""
        end = self.table.clock + seconds
        while self.table.clock < end - 1e-9:
            self.table.clock = round(self.table.clock + step, 6)
            self.supervisor.tick()


@pytest.fixture
def h() -> Harness:
    table = FakeTable()
    logged: list[str] = []
    supervisor = Supervisor(lambda: (ENTRY,), table, lambda: table.clock, logged.append)
    supervisor.tick()  # a fresh request: started at once, no failure counted
    return Harness(table, supervisor, logged)


def test_a_fresh_request_starts_at_once_and_becomes_up_when_healthy(h: Harness) -> None:
    assert h.table.starts == [0.0]
    h.advance(0.25)
    assert h.state() is ProcState.UP
    assert h.supervisor.snapshot()[ENTRY.name] == {
        "state": "UP",
        "restarts": 0,
        "last_exit": "",
        "request": 1,
    }


def test_a_process_that_stays_unhealthy_stays_starting(h: Harness) -> None:
    h.table.healthy_now = False
    h.advance(5)
    assert h.state() is ProcState.STARTING
    assert h.table.starts == [0.0]


def test_a_killed_process_is_restarted_after_the_first_backoff_and_logged(h: Harness) -> None:
    h.advance(1)
    h.table.die(-9)
    h.advance(0.25)
    assert h.state() is ProcState.RESTARTING
    assert "died while up (killed by SIGKILL); restarting in 0.5s" in h.logged[0]
    assert "last words" in h.logged[0]
    h.advance(0.5)
    assert h.table.starts[-1] == pytest.approx(1.75)
    assert h.logged[-1] == "billing-stream: restart 1 (killed by SIGKILL)"
    h.advance(0.25)
    assert h.state() is ProcState.UP
    assert h.supervisor.snapshot()[ENTRY.name]["restarts"] == 1


def test_backoff_doubles_then_crash_loop_stops_restarting(h: Harness) -> None:
    h.advance(0.25)
    deaths: list[float] = []
    for _ in range(8):
        deaths.append(h.table.clock)
        h.table.die(3)
        h.advance(20)
    # Seen dead on the next tick (0.25 s), restarted after 0.5, 1, 2, 4, 8 s.
    delays = [round(start - death, 2) for start, death in zip(h.table.starts[1:], deaths, strict=False)]
    assert delays == [0.75, 1.25, 2.25, 4.25, 8.25]
    # Five restarts within two minutes: the sixth exit gives up.
    assert len(h.table.starts) == 1 + POLICY.max_restarts
    assert h.state() is ProcState.CRASH_LOOP
    assert "GIVING UP, CRASH_LOOP (exit code 3" in h.logged[-1]
    assert "make restart S=billing" in h.logged[-1]


def test_backoff_is_capped() -> None:
    assert [POLICY.backoff(n) for n in range(8)] == [0.5, 1, 2, 4, 8, 16, 30, 30]


def test_backoff_resets_after_a_minute_up(h: Harness) -> None:
    h.advance(0.25)
    for _ in range(3):  # backoff climbs to 2 s
        h.table.die()
        h.advance(5)
    h.advance(POLICY.reset_after)
    h.table.die()
    before = h.table.clock
    h.advance(2)
    assert h.table.starts[-1] - before == pytest.approx(0.75)  # 0.5 s backoff + tick granularity


def test_a_process_dying_once_a_minute_never_crash_loops(h: Harness) -> None:
    h.advance(0.25)
    for _ in range(POLICY.max_restarts + 3):
        h.table.die()
        h.advance(POLICY.reset_after + 5)
    assert h.state() is ProcState.UP
    assert len(h.table.starts) == POLICY.max_restarts + 4


def test_a_new_request_lifts_a_crash_loop_and_restarts_now(h: Harness) -> None:
    h.advance(0.25)
    for _ in range(POLICY.max_restarts + 1):
        h.table.die()
        h.advance(20)
    assert h.state() is ProcState.CRASH_LOOP
    starts = len(h.table.starts)
    h.table.requests[ENTRY.name] = 2  # `make up` or `make restart S=billing`
    h.advance(0.25)
    assert len(h.table.starts) == starts + 1
    assert h.supervisor.snapshot()[ENTRY.name]["restarts"] == 0


def test_no_tick_while_the_launcher_holds_its_lock(h: Harness) -> None:
    h.advance(0.25)
    h.table.busy = True  # e.g. `down` stopping processes on purpose
    h.table.die()
    h.advance(5)
    assert h.table.starts == [0.0]


def test_a_process_no_longer_wanted_is_forgotten_not_restarted(h: Harness) -> None:
    h.advance(0.25)
    h.table.requests.clear()
    h.table.die()
    h.advance(5)
    assert h.table.starts == [0.0]
    assert h.supervisor.snapshot() == {}


@pytest.mark.parametrize(
    ("code", "text"),
    [(None, "exit code unknown"), (-9, "killed by SIGKILL"), (2, "exit code 2"), (-99, "exit code -99")],
)
def test_exit_descriptions(code: int | None, text: str) -> None:
    assert describe_exit(code).startswith(text)


def test_alive_health_waits_for_its_grace() -> None:
    assert not Alive(1.0).ok(0.5)
    assert Alive(1.0).ok(1.0)


def test_heads_agree_with_alembic() -> None:
    from alembic.script import ScriptDirectory

    root = Path(__file__).resolve().parents[4]
    for folder in sorted(root.glob("services/*/migrations")):
        assert heads(folder) == frozenset(ScriptDirectory(str(folder)).get_heads()), folder


def test_heads_follow_a_chain_and_branches(tmp_path: Path) -> None:
    versions = tmp_path / "versions"
    versions.mkdir()
    (versions / "a.py").write_text('revision = "a"\ndown_revision = None\n')
    (versions / "b.py").write_text('revision: str = "b"\ndown_revision = "a"\n')
    (versions / "c.py").write_text('revision = "c"\ndown_revision = "a"\n')
    (versions / "m.py").write_text('revision = "m"\ndown_revision = ("b", "c")\n')
    assert heads(tmp_path) == {"m"}
    (versions / "m.py").unlink()
    assert heads(tmp_path) == {"b", "c"}
