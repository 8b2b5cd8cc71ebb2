"""The record of scheduled passes (migration 0006) and the run lock that keeps one pass of a job at a
time across replicas."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, insert, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from billing_service.repositories._rows import from_row
from billing_service.tables import scheduler_runs
from shared.db.uow import Repository


@dataclass(frozen=True, slots=True)
class SchedulerRunRow:
    """One pass of a scheduled job: who ran it, when, how it ended and what it counted."""

    id: str
    job: str
    outcome: str
    replica: str
    started_at: datetime
    finished_at: datetime
    counts: dict[str, int]
    error: str | None


class SchedulerRunRepository(Repository):
    """Scheduled passes (append, read, prune) and the per-job run lock. Never commits."""

    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def try_lock(self, job: str) -> bool:
        """Take the job's run lock for this transaction (``pg_try_advisory_xact_lock``); False when another
        transaction (another replica's pass) holds it. A killed process's lock goes with its connection."""
        query = text("SELECT pg_try_advisory_xact_lock(hashtextextended(:k, 0))")
        return bool((await self._session.execute(query, {"k": f"billing.scheduler:{job}"})).scalar_one())

    async def add(self, run: SchedulerRunRow) -> None:
        """Store one pass."""
        await self._session.execute(insert(scheduler_runs).values(**asdict(run)))

    async def recent(self, *, job: str | None, limit: int) -> list[SchedulerRunRow]:
        """The newest passes first (of one job when given)."""
        query = select(scheduler_runs).order_by(scheduler_runs.c.started_at.desc(), scheduler_runs.c.id)
        if job is not None:
            query = query.where(scheduler_runs.c.job == job)
        rows = (await self._session.execute(query.limit(limit))).mappings().all()
        return [from_row(SchedulerRunRow, r) for r in rows]

    async def latest(self) -> list[SchedulerRunRow]:
        """The newest pass of each (job, outcome) (``/metrics``)."""
        query = (
            select(scheduler_runs)
            .distinct(scheduler_runs.c.job, scheduler_runs.c.outcome)
            .order_by(scheduler_runs.c.job, scheduler_runs.c.outcome, scheduler_runs.c.started_at.desc())
        )
        rows = (await self._session.execute(query)).mappings().all()
        return [from_row(SchedulerRunRow, r) for r in rows]

    async def count_by_job_outcome(self) -> dict[tuple[str, str], int]:
        """Stored passes per (job, outcome) (within the retention)."""
        query = select(scheduler_runs.c.job, scheduler_runs.c.outcome, func.count()).group_by(
            scheduler_runs.c.job, scheduler_runs.c.outcome
        )
        result: Any = await self._session.execute(query)
        return {(str(job), str(outcome)): int(n) for job, outcome, n in result.all()}

    async def prune(self, *, before: datetime) -> int:
        """Drop the passes that started before ``before`` (the retention); how many went."""
        result: Any = await self._session.execute(
            delete(scheduler_runs).where(scheduler_runs.c.started_at < before)
        )
        return int(result.rowcount or 0)
