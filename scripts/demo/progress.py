"""What the operator sees while ``make demo`` runs: every step as a line, a live board of the lanes (on
a terminal), and the summary table at the end (rich)."""

from __future__ import annotations

import time
from dataclasses import dataclass
from types import TracebackType
from typing import Protocol

from rich.console import Console, RenderableType
from rich.live import Live
from rich.markup import escape
from rich.table import Table
from rich.text import Text

WAITING, RUNNING, DONE, FAILED = "waiting", "running", "done", "FAILED"
_STYLE = {WAITING: "dim", RUNNING: "yellow", DONE: "green", FAILED: "bold red"}


class Steps(Protocol):
    """Where one lane of the demo reports: a step it starts, and a note about what it saw."""

    def step(self, message: str) -> None: ...

    def note(self, message: str) -> None: ...


class PlainSteps:
    """Steps printed as ``==> step`` and indented notes (the single flow of the end-to-end tests)."""

    def step(self, message: str) -> None:
        print(f"==> {message}", flush=True)

    def note(self, message: str) -> None:
        print(f"    {message}", flush=True)


@dataclass
class Lane:
    """One lane of the board: a work order's path through the gate, or the V1 step."""

    title: str
    state: str = WAITING
    step: str = ""
    started: float | None = None
    finished: float | None = None

    def elapsed(self) -> str:
        if self.started is None:
            return ""
        return f"{(self.finished or time.monotonic()) - self.started:5.1f} s"


class LaneSteps:
    """The :class:`Steps` of one lane of a :class:`Board`."""

    def __init__(self, board: Board, key: str) -> None:
        self.board = board
        self.key = key

    def step(self, message: str) -> None:
        self.board.step(self.key, message)

    def note(self, message: str) -> None:
        self.board.note(self.key, message)


class Board:
    """The lanes of the demo; each step is printed as a line, and on a terminal a live board shows where
    every lane is (``live`` forces it on or off)."""

    def __init__(self, console: Console | None = None, *, live: bool | None = None) -> None:
        self.console = console or Console(soft_wrap=True)
        self.lanes: dict[str, Lane] = {}
        self._use_live = self.console.is_terminal if live is None else live
        self._live: Live | None = None

    def lane(self, key: str, title: str) -> LaneSteps:
        """Add a lane (shown as waiting until its first step) and its steps."""
        self.lanes[key] = Lane(title)
        return LaneSteps(self, key)

    def steps(self, key: str) -> LaneSteps:
        """The steps of lane ``key``."""
        return LaneSteps(self, key)

    def _line(self, key: str, text: str, style: str = "") -> None:
        title = self.lanes[key].title
        prefix = f"[bold cyan]{escape(title):<22}[/]"
        body = f"[{style}]{escape(text)}[/]" if style else escape(text)
        self.console.print(f"{prefix} {body}", soft_wrap=True, highlight=False)

    def step(self, key: str, message: str) -> None:
        lane = self.lanes[key]
        if lane.started is None:
            lane.started = time.monotonic()
        lane.state, lane.step = RUNNING, message
        self._line(key, f"==> {message}")
        self.refresh()

    def note(self, key: str, message: str) -> None:
        self._line(key, f"    {message}", "dim")

    def done(self, key: str, message: str) -> None:
        lane = self.lanes[key]
        lane.state, lane.step, lane.finished = DONE, message, time.monotonic()
        self._line(key, f"done: {message}", "green")
        self.refresh()

    def failed(self, key: str, error: BaseException) -> None:
        lane = self.lanes[key]
        lane.state, lane.finished = FAILED, time.monotonic()
        lane.step = f"{type(error).__name__}: {str(error)[:300]}"
        self._line(key, f"FAILED: {lane.step}", "bold red")
        self.refresh()

    def board(self) -> RenderableType:
        """The live board: one row per lane."""
        table = Table(title="make demo", title_justify="left", expand=True)
        table.add_column("lane", no_wrap=True)
        table.add_column("state", no_wrap=True)
        table.add_column("time", justify="right", no_wrap=True)
        table.add_column("step", overflow="ellipsis", no_wrap=True, ratio=1)
        for lane in self.lanes.values():
            state = Text(lane.state, style=_STYLE[lane.state])
            table.add_row(lane.title, state, lane.elapsed(), lane.step)
        return table

    def refresh(self) -> None:
        if self._live is not None:
            self._live.update(self.board(), refresh=True)

    def __enter__(self) -> Board:
        if self._use_live:
            self._live = Live(
                self.board(), console=self.console, refresh_per_second=4, get_renderable=self.board
            )
            self._live.__enter__()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._live is not None:
            self._live.__exit__(kind, error, tb)
            self._live = None
