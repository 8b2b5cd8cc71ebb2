"""Billing's row per work order: the reference it follows and its billing state (sagas, gate)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, fields
from datetime import datetime
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from billing_service.repositories._rows import from_row, is_uuid
from billing_service.tables import work_orders
from shared.db.uow import Repository
from shared.validation import JsonObject


@dataclass(frozen=True, slots=True)
class WorkOrderReference:
    """What billing keeps of a work order it follows (never its billing state)."""

    work_order_id: str
    tenant_id: str
    billing_external_key: str | None
    report_type: str
    bank_name: str
    assignment_id: str | None
    status: str
    source_version: int

    @classmethod
    def unknown(cls, work_order_id: str, tenant_id: str) -> WorkOrderReference:
        """A stub for a work order billing never heard of: status and report type ``UNKNOWN``, version 0
        (so the first real event refreshes it)."""
        return cls(
            work_order_id,
            tenant_id,
            billing_external_key=None,
            report_type="UNKNOWN",
            bank_name="",
            assignment_id=None,
            status="UNKNOWN",
            source_version=0,
        )


@dataclass(frozen=True, slots=True)
class WorkOrderRow(WorkOrderReference):
    """The billing row of one work order: the reference and billing's state of it."""

    acceptance_status: str | None
    acceptance_code: str | None
    acceptance_message: str | None
    acceptance_details: JsonObject
    acceptance_request_message_id: str | None
    acceptance_decided_at: datetime | None
    accepted_at: datetime | None
    mode: str | None
    account_id: str | None
    external_key: str | None
    hold_id: str | None
    invoice_id: str | None
    planned_consumption_logged: bool
    has_successful_release: bool
    last_gate: JsonObject | None
    billing_version: int


#: the columns an acceptance decision writes
ACCEPTANCE_COLUMNS = [
    "acceptance_status",
    "acceptance_code",
    "acceptance_message",
    "acceptance_details",
    "acceptance_request_message_id",
    "acceptance_decided_at",
    "accepted_at",
    "mode",
    "account_id",
    "external_key",
    "hold_id",
    "invoice_id",
]

_ROW_COLUMNS = [work_orders.c[f.name] for f in fields(WorkOrderRow)]


class WorkOrderRepository(Repository):
    """Billing's work-order rows. Every billing change bumps ``billing_version``. Never commits."""

    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def upsert(self, ref: WorkOrderReference) -> None:
        """Insert the work order reference or refresh its descriptive fields (only forward in version)."""
        statement = pg_insert(work_orders).values(
            work_order_id=ref.work_order_id,
            tenant_id=ref.tenant_id,
            billing_external_key=ref.billing_external_key,
            report_type=ref.report_type,
            bank_name=ref.bank_name,
            assignment_id=ref.assignment_id,
            status=ref.status,
            source_version=ref.source_version,
        )
        excluded = statement.excluded
        await self._session.execute(
            statement.on_conflict_do_update(
                index_elements=["work_order_id"],
                set_={
                    "billing_external_key": excluded.billing_external_key,
                    "report_type": excluded.report_type,
                    "bank_name": excluded.bank_name,
                    "assignment_id": func.coalesce(excluded.assignment_id, work_orders.c.assignment_id),
                    "status": excluded.status,
                    "source_version": excluded.source_version,
                    "updated_at": func.now(),
                },
                where=work_orders.c.source_version < excluded.source_version,
            )
        )

    async def set_status(self, work_order_id: str, status: str, source_version: int) -> None:
        """Follow the work order's status (only forward in source version)."""
        await self._forward(work_order_id, source_version, status=status)

    async def note_version(self, work_order_id: str, source_version: int) -> None:
        """Record that a workorders envelope of ``source_version`` was applied (read-your-writes tokens)."""
        if is_uuid(work_order_id):
            await self._forward(work_order_id, source_version)

    async def _forward(self, work_order_id: str, source_version: int, **values: str) -> None:
        t = work_orders.c
        await self._session.execute(
            update(work_orders)
            .where(t.work_order_id == work_order_id, t.source_version < source_version)
            .values(source_version=source_version, updated_at=func.now(), **values)
        )

    async def source_version(self, work_order_id: str) -> int | None:
        """The highest workorders version billing applied for a work order (None: not seen yet)."""
        if not is_uuid(work_order_id):
            return None
        query = select(work_orders.c.source_version).where(work_orders.c.work_order_id == work_order_id)
        value = (await self._session.execute(query)).scalar_one_or_none()
        return None if value is None else int(value)

    async def get(self, work_order_id: str, *, lock: bool = False) -> WorkOrderRow | None:
        """The billing row of one work order (``lock``: FOR UPDATE, serializing its saga steps)."""
        if not is_uuid(work_order_id):
            return None
        query = select(*_ROW_COLUMNS).where(work_orders.c.work_order_id == work_order_id)
        if lock:
            query = query.with_for_update()
        row = (await self._session.execute(query)).mappings().first()
        return from_row(WorkOrderRow, row) if row else None

    async def require(self, work_order_id: str, *, lock: bool = False) -> WorkOrderRow:
        """The row of a work order billing has written in this transaction (:meth:`get` that must find it).

        Raises :class:`LookupError` when the row is missing: a handler bug, not a caller's mistake.
        """
        row = await self.get(work_order_id, lock=lock)
        if row is None:
            raise LookupError(f"billing has no row for work order {work_order_id!r}")
        return row

    async def record_acceptance(self, decided: WorkOrderRow) -> int:
        """Write the acceptance fields of ``decided`` (the row with the decision applied); the new version."""
        values = {name: getattr(decided, name) for name in ACCEPTANCE_COLUMNS}
        return await self._bump(decided.work_order_id, **values)

    async def mark_planned_consumption_logged(self, work_order_id: str) -> int:
        """The planned-consumption usage event was stored; the new billing version."""
        return await self._bump(work_order_id, planned_consumption_logged=True)

    async def record_gate(
        self, work_order_id: str, last_gate: JsonObject, *, has_successful_release: bool
    ) -> int:
        """The latest release-gate decision; the new billing version."""
        return await self._bump(
            work_order_id, last_gate=last_gate, has_successful_release=has_successful_release
        )

    async def touch(self, work_order_id: str) -> int:
        """A change billing's view shows (hold, invoice) without a field of its own; the new version."""
        return await self._bump(work_order_id)

    async def _bump(self, work_order_id: str, **values: Any) -> int:
        t = work_orders.c
        version: int = (
            await self._session.execute(
                update(work_orders)
                .where(t.work_order_id == work_order_id)
                .values(billing_version=t.billing_version + 1, updated_at=func.now(), **values)
                .returning(t.billing_version)
            )
        ).scalar_one()
        return version

    async def count_accepted_in_window(
        self, account_id: str, start: datetime, end: datetime, *, excluding: str
    ) -> int:
        """Work orders of the account accepted in ``[start, end)``, other than ``excluding`` (decision 32)."""
        t = work_orders.c
        query = select(func.count()).where(
            t.account_id == account_id,
            t.acceptance_status == "ACCEPTED",
            t.accepted_at >= start,
            t.accepted_at < end,
            t.work_order_id != excluding,
        )
        count: int = (await self._session.execute(query)).scalar_one()
        return count

    async def statuses(self, work_order_ids: Sequence[str]) -> dict[str, str]:
        """Billing's last known status of each known work order (unknown ids are absent)."""
        ids = [i for i in work_order_ids if is_uuid(i)]
        if not ids:
            return {}
        t = work_orders.c
        rows = await self._session.execute(select(t.work_order_id, t.status).where(t.work_order_id.in_(ids)))
        return {str(r[0]): str(r[1]) for r in rows}
