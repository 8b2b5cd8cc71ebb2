"""The in-memory record of scheduled passes, with the run lock's semantics: ``held_elsewhere`` names the
jobs whose lock another replica holds (``try_lock`` answers False for them)."""

from __future__ import annotations

import builtins
from datetime import datetime

from billing_service.repositories.scheduler_runs import SchedulerRunRepository, SchedulerRunRow


class FakeSchedulerRuns(SchedulerRunRepository):
    """Passes in a list (insertion order); newest first by ``started_at`` then id, as the SQL orders."""

    def __init__(self) -> None:
        self.runs: builtins.list[SchedulerRunRow] = []
        self.held_elsewhere: set[str] = set()
        self.locks_taken: builtins.list[str] = []

    async def try_lock(self, job: str) -> bool:
        if job in self.held_elsewhere:
            return False
        self.locks_taken.append(job)
        return True

    async def add(self, run: SchedulerRunRow) -> None:
        if any(r.id == run.id for r in self.runs):
            raise AssertionError(f"duplicate scheduler run id {run.id}")
        self.runs.append(run)

    def _newest_first(self) -> builtins.list[SchedulerRunRow]:
        ordered = sorted(self.runs, key=lambda r: r.id)
        return sorted(ordered, key=lambda r: r.started_at, reverse=True)

    async def recent(self, *, job: str | None, limit: int) -> builtins.list[SchedulerRunRow]:
        return [r for r in self._newest_first() if job is None or r.job == job][:limit]

    async def latest(self) -> builtins.list[SchedulerRunRow]:
        seen: dict[tuple[str, str], SchedulerRunRow] = {}
        for r in self._newest_first():
            seen.setdefault((r.job, r.outcome), r)
        return [seen[k] for k in sorted(seen)]

    async def count_by_job_outcome(self) -> dict[tuple[str, str], int]:
        counts: dict[tuple[str, str], int] = {}
        for r in self.runs:
            counts[(r.job, r.outcome)] = counts.get((r.job, r.outcome), 0) + 1
        return counts

    async def prune(self, *, before: datetime) -> int:
        kept = [r for r in self.runs if r.started_at >= before]
        gone = len(self.runs) - len(kept)
        self.runs = kept
        return gone
