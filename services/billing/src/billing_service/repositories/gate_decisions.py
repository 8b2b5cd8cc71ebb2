"""Stored release-gate decisions: inputs, outcome and hash, one per release id."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime

from sqlalchemy import func, insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from billing_service.repositories._rows import from_row, is_uuid
from billing_service.tables import gate_decisions
from shared.db.uow import Repository
from shared.validation import JsonObject


@dataclass(frozen=True, slots=True)
class NewGateDecision:
    """A gate decision to store (inputs and outcome in their ``as_plain`` form)."""

    id: str
    tenant_id: str
    work_order_id: str
    release_id: str
    idempotency_key: str
    request_message_id: str
    account_id: str | None
    mode: str
    inputs: JsonObject
    outcome: JsonObject
    consume_error_code: str | None
    result: str
    blocked_reason: str | None
    error_code: str | None
    ledger_entry_ids: list[str]
    usage_event_id: str | None
    decision_hash: str
    billing_version: int


@dataclass(frozen=True, slots=True)
class GateDecisionRow:
    """What a replay needs of a stored decision."""

    id: str
    release_id: str
    work_order_id: str
    inputs: JsonObject
    outcome: JsonObject
    consume_error_code: str | None
    decision_hash: str
    decided_at: datetime


_ROW_COLUMNS = [gate_decisions.c[name] for name in GateDecisionRow.__dataclass_fields__]


class GateDecisionRepository(Repository):
    """Gate decisions (append-only). Never commits."""

    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def by_release(self, release_id: str) -> GateDecisionRow | None:
        """The stored decision of a release request."""
        query = select(*_ROW_COLUMNS).where(gate_decisions.c.release_id == release_id)
        row = (await self._session.execute(query)).mappings().first()
        return from_row(GateDecisionRow, row) if row else None

    async def get(self, decision_id: str) -> GateDecisionRow | None:
        """A stored decision by its id (or, failing that, by release id)."""
        if is_uuid(decision_id):
            query = select(*_ROW_COLUMNS).where(gate_decisions.c.id == decision_id)
            row = (await self._session.execute(query)).mappings().first()
            if row is not None:
                return from_row(GateDecisionRow, row)
        return await self.by_release(decision_id)

    async def for_work_order(self, work_order_id: str, *, limit: int = 100) -> list[GateDecisionRow]:
        """The stored decisions of a work order, oldest first."""
        if not is_uuid(work_order_id):
            return []
        query = (
            select(*_ROW_COLUMNS)
            .where(gate_decisions.c.work_order_id == work_order_id)
            .order_by(gate_decisions.c.decided_at, gate_decisions.c.id)
            .limit(limit)
        )
        rows = (await self._session.execute(query)).mappings().all()
        return [from_row(GateDecisionRow, row) for row in rows]

    async def add(self, decision: NewGateDecision) -> None:
        """Store a decision (release id is UNIQUE: a second decision for one release fails)."""
        await self._session.execute(insert(gate_decisions).values(**asdict(decision)))

    async def count_by_result(self) -> dict[str, int]:
        """How many decisions were stored per result (``/metrics``: gate outcomes)."""
        query = select(gate_decisions.c.result, func.count()).group_by(gate_decisions.c.result)
        return {str(result): int(n) for result, n in (await self._session.execute(query)).all()}
