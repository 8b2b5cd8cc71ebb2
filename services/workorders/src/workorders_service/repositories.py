"""All SQL of the work-orders service, one repository per aggregate (never commits: the unit of work does)."""

from __future__ import annotations

import contextlib
import dataclasses
import uuid
from typing import Any, TypeVar

from sqlalchemy import ColumnElement, Select, Table, and_, func, literal, or_, select, true, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.engine import RowMapping
from sqlalchemy.ext.asyncio import AsyncSession

from shared.db.uow import Repository
from workorders_service.domain import model
from workorders_service.tables import (
    billing_projection,
    comments,
    contract_snapshots,
    evidence_projection,
    pack_projection,
    rules_runs,
    work_orders,
)

R = TypeVar("R")

# the projection tables by the name of the service state they hold (x-zenops-after tokens)
PROJECTIONS: dict[str, Table] = {
    "evidence": evidence_projection,
    "billing": billing_projection,
    "pack": pack_projection,
}


def _record(cls: type[R], row: RowMapping) -> R:
    """A typed record from the columns of a row that are its fields."""
    names = [f.name for f in dataclasses.fields(cls)]  # type: ignore[arg-type]
    return cls(**{name: row[name] for name in names if name in row})


async def _insert_returning(session: AsyncSession, table: Table, cls: type[R], **values: object) -> R:
    """Insert one row and return it, as stored, as a typed record."""
    row = (await session.execute(insert(table).values(**values).returning(table))).mappings().one()
    return _record(cls, row)


def _newest_snapshot(work_order_id: uuid.UUID | ColumnElement[Any], *columns: Any) -> Select[Any]:
    """The newest snapshot of a work order (``columns`` of it, or the whole row); ``work_order_id`` may be
    a column of an outer query."""
    return (
        select(*(columns or (contract_snapshots,)))
        .where(contract_snapshots.c.work_order_id == work_order_id)
        .order_by(contract_snapshots.c.version.desc())
        .limit(1)
    )


def _new_row_of(wo: model.WorkOrder) -> dict[str, uuid.UUID]:
    """The key columns of a new row that belongs to ``wo``: a fresh id, its tenant and its work order."""
    return {"id": uuid.uuid4(), "tenant_id": wo.tenant_id, "work_order_id": wo.id}


class WorkOrderRepository(Repository):
    """The work-order aggregate: work orders, their snapshots, rules runs and comments."""

    async def insert(
        self, new: model.NewWorkOrder, *, current_readiness: model.JsonObject
    ) -> model.WorkOrder:
        """Insert a DRAFT work order (version 1) under a new id and return it as stored."""
        decided = {f.name: getattr(new, f.name) for f in dataclasses.fields(model.NewWorkOrder)}
        return await _insert_returning(
            self.session,
            work_orders,
            model.WorkOrder,
            id=uuid.uuid4(),
            current_readiness=current_readiness,
            **decided,
        )

    async def get(self, work_order_id: uuid.UUID, *, for_update: bool = False) -> model.WorkOrder | None:
        """The work order (row-locked with ``for_update``), or ``None``."""
        query = select(work_orders).where(work_orders.c.id == work_order_id)
        if for_update:
            query = query.with_for_update()
        row = (await self.session.execute(query)).mappings().first()
        return _record(model.WorkOrder, row) if row else None

    async def update(self, work_order_id: uuid.UUID, **values: object) -> None:
        """Set columns and ``updated_at``."""
        await self.session.execute(
            update(work_orders)
            .where(work_orders.c.id == work_order_id)
            .values(**values, updated_at=func.now())
        )

    async def bump_version(self, work_order_id: uuid.UUID) -> int:
        """Next aggregate version: every event on ``workorders.work-order.v1`` takes one."""
        result = await self.session.execute(
            update(work_orders)
            .where(work_orders.c.id == work_order_id)
            .values(version=work_orders.c.version + 1)
            .returning(work_orders.c.version)
        )
        return int(result.scalar_one())

    async def search(self, criteria: model.WorkOrderSearch) -> list[model.WorkOrderSummary]:
        """Newest first, with the latest snapshot, evidence and comment counts and the projections."""
        w = work_orders
        latest = _newest_snapshot(
            w.c.id,
            contract_snapshots.c.version,
            contract_snapshots.c.created_at,
            contract_snapshots.c.derived_json,
        ).lateral("s")
        comment_count = (
            select(func.count()).select_from(comments).where(comments.c.work_order_id == w.c.id)
        ).scalar_subquery()
        e, b, p = evidence_projection, billing_projection, pack_projection
        query = (
            select(
                w,
                latest.c.version.label("latest_snapshot_version"),
                latest.c.created_at.label("latest_snapshot_created_at"),
                latest.c.derived_json.label("latest_derived_json"),
                func.coalesce(func.jsonb_array_length(e.c["items"]), 0).label("evidence_count"),
                comment_count.label("comments_count"),
                b.c.payload.label("billing_payload"),
                p.c.pack_id.label("p_pack_id"),
                p.c.status.label("p_status"),
                p.c.created_source_version.label("p_created"),
                p.c.failed_source_version.label("p_failed"),
            )
            .select_from(
                w.outerjoin(latest, true())
                .outerjoin(e, e.c.work_order_id == w.c.id)
                .outerjoin(b, b.c.work_order_id == w.c.id)
                .outerjoin(p, p.c.work_order_id == w.c.id)
            )
            .order_by(w.c.created_at.desc(), w.c.id.desc())
            .limit(criteria.limit)
        )
        for column, value in (
            (w.c.status, criteria.status),
            (w.c.report_type, criteria.report_type),
            (w.c.bank_type, criteria.bank_type),
            (w.c.template_selector, criteria.template_selector),
            (w.c.source_type, criteria.source_type),
        ):
            if value is not None:
                query = query.where(column == value)
        if search := criteria.search:
            # Decision 25: a substring of the bank name, or an exact id; non-uuid text only matches names.
            escaped = search.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
            clause: ColumnElement[bool] = w.c.bank_name.ilike(f"%{escaped}%", escape="\\")
            with contextlib.suppress(ValueError):
                clause = or_(clause, w.c.id == uuid.UUID(search.strip()))
            query = query.where(clause)
        summaries = []
        for row in (await self.session.execute(query)).mappings():
            pack = (
                model.PackProjection(
                    source_version=0,
                    pack_id=row["p_pack_id"],
                    status=row["p_status"],
                    created_source_version=row["p_created"],
                    failed_source_version=row["p_failed"],
                )
                if row["p_pack_id"] or row["p_failed"]
                else None
            )
            summaries.append(
                model.WorkOrderSummary(
                    projected=model.ProjectedWorkOrder(
                        _record(model.WorkOrder, row), row["billing_payload"], pack
                    ),
                    latest_snapshot_version=row["latest_snapshot_version"],
                    latest_snapshot_created_at=row["latest_snapshot_created_at"],
                    latest_derived_json=row["latest_derived_json"],
                    evidence_count=int(row["evidence_count"]),
                    comments_count=int(row["comments_count"]),
                )
            )
        return summaries

    # --- snapshots and rules runs ----------------------------------------------------------------------

    async def latest_snapshot(self, work_order_id: uuid.UUID) -> model.Snapshot | None:
        """The snapshot with the highest version, or ``None``."""
        return await self._snapshot(_newest_snapshot(work_order_id))

    async def snapshot_by_version(self, work_order_id: uuid.UUID, version: int) -> model.Snapshot | None:
        """The snapshot of that version, or ``None``."""
        return await self._snapshot(
            select(contract_snapshots).where(
                contract_snapshots.c.work_order_id == work_order_id, contract_snapshots.c.version == version
            )
        )

    async def _snapshot(self, query: Any) -> model.Snapshot | None:
        row = (await self.session.execute(query)).mappings().first()
        return _record(model.Snapshot, row) if row else None

    async def insert_snapshot(self, wo: model.WorkOrder, new: model.NewSnapshot) -> model.Snapshot:
        """Insert one snapshot of ``wo`` and return it as stored."""
        return await _insert_returning(
            self.session, contract_snapshots, model.Snapshot, **_new_row_of(wo), **dataclasses.asdict(new)
        )

    async def insert_rules_run(self, wo: model.WorkOrder, run: model.NewRulesRun) -> None:
        """Record one rules-engine run on ``wo``."""
        await self.session.execute(insert(rules_runs).values(**_new_row_of(wo), **dataclasses.asdict(run)))

    async def rules_runs(self, work_order_id: uuid.UUID, *, limit: int = 10) -> list[model.RulesRun]:
        """The newest runs first, each with its snapshots' versions."""
        i = contract_snapshots.alias("i")
        o = contract_snapshots.alias("o")
        r = rules_runs
        query = (
            select(
                r.c.id,
                r.c.ruleset_version,
                r.c.warnings,
                r.c.errors,
                r.c.created_at,
                r.c.input_snapshot_id,
                i.c.version.label("input_version"),
                r.c.output_snapshot_id,
                o.c.version.label("output_version"),
            )
            .join_from(r, i, i.c.id == r.c.input_snapshot_id)
            .join(o, o.c.id == r.c.output_snapshot_id)
            .where(r.c.work_order_id == work_order_id)
            .order_by(r.c.created_at.desc(), o.c.version.desc())
            .limit(limit)
        )
        return [_record(model.RulesRun, row) for row in (await self.session.execute(query)).mappings()]

    # --- comments -----------------------------------------------------------------------------------------

    async def insert_comment(
        self, wo: model.WorkOrder, *, comment_type: str, body: str, created_by_user_id: uuid.UUID | None
    ) -> model.Comment:
        """Insert one comment on ``wo`` and return it as stored."""
        return await _insert_returning(
            self.session,
            comments,
            model.Comment,
            **_new_row_of(wo),
            comment_type=comment_type,
            body=body,
            created_by_user_id=created_by_user_id,
        )

    async def insert_note(self, wo: model.WorkOrder, note: model.Note) -> bool:
        """Insert another service's system note (a NOTES comment) once: ``False`` when a note of that
        ``note_id`` is already on ``wo``."""
        values = {**_new_row_of(wo), "comment_type": "NOTES", **dataclasses.asdict(note)}
        if note.created_at is None:
            del values["created_at"]  # the column's default: the clock time of the insert
        inserted = await self.session.execute(
            insert(comments)
            .values(**values)
            .on_conflict_do_nothing(index_elements=[comments.c.work_order_id, comments.c.note_id])
            .returning(comments.c.id)
        )
        return inserted.first() is not None

    async def comments(self, work_order_id: uuid.UUID) -> list[model.Comment]:
        """Newest first."""
        query = (
            select(comments)
            .where(comments.c.work_order_id == work_order_id)
            .order_by(comments.c.created_at.desc(), comments.c.id.desc())
        )
        return [_record(model.Comment, row) for row in (await self.session.execute(query)).mappings()]


class ProjectionRepository(Repository):
    """Local read models of the evidence, billing and pack state (each with its source version)."""

    async def _one(self, table: Table, work_order_id: uuid.UUID) -> RowMapping | None:
        query = select(table).where(table.c.work_order_id == work_order_id)
        return (await self.session.execute(query)).mappings().first()

    async def evidence(self, work_order_id: uuid.UUID) -> model.EvidenceProjection | None:
        """The evidence projection, or ``None`` before evidence told anything."""
        row = await self._one(evidence_projection, work_order_id)
        return _record(model.EvidenceProjection, row) if row else None

    async def billing(self, work_order_id: uuid.UUID) -> model.BillingProjection | None:
        """The billing projection, or ``None``."""
        row = await self._one(billing_projection, work_order_id)
        return _record(model.BillingProjection, row) if row else None

    async def pack(self, work_order_id: uuid.UUID) -> model.PackProjection | None:
        """The pack projection, or ``None``."""
        row = await self._one(pack_projection, work_order_id)
        return _record(model.PackProjection, row) if row else None

    async def projected(self, wo: model.WorkOrder) -> model.ProjectedWorkOrder:
        """The work order with its billing payload and pack projection."""
        billing = await self.billing(wo.id)
        return model.ProjectedWorkOrder(wo, billing.payload if billing else None, await self.pack(wo.id))

    async def source_version(self, projection: str, work_order_id: uuid.UUID) -> int | None:
        """The source version a projection (``evidence``, ``billing``, ``pack``) reflects, or ``None``."""
        table = PROJECTIONS[projection]
        value = (
            await self.session.execute(
                select(table.c.source_version).where(table.c.work_order_id == work_order_id)
            )
        ).scalar_one_or_none()
        return None if value is None else int(value)

    async def upsert_evidence(
        self, work_order_id: uuid.UUID, tenant_id: str, evidence: model.EvidenceProjection
    ) -> None:
        """Store the evidence state unless a newer one is there already."""
        values = {"work_order_id": work_order_id, "tenant_id": tenant_id, **dataclasses.asdict(evidence)}
        statement = insert(evidence_projection).values(**values)
        excluded = statement.excluded
        await self.session.execute(
            statement.on_conflict_do_update(
                index_elements=[evidence_projection.c.work_order_id],
                set_={
                    **{name: excluded[name] for name in values if name not in ("work_order_id", "tenant_id")},
                    "updated_at": func.now(),
                },
                where=evidence_projection.c.source_version < excluded.source_version,
            )
        )

    async def upsert_billing(
        self, *, work_order_id: uuid.UUID, tenant_id: str, payload: model.JsonObject, source_version: int
    ) -> None:
        """Store billing's payload unless a newer one is there already."""
        statement = insert(billing_projection).values(
            work_order_id=work_order_id, tenant_id=tenant_id, payload=payload, source_version=source_version
        )
        await self.session.execute(
            statement.on_conflict_do_update(
                index_elements=[billing_projection.c.work_order_id],
                set_={
                    "payload": statement.excluded.payload,
                    "source_version": statement.excluded.source_version,
                    "updated_at": func.now(),
                },
                where=billing_projection.c.source_version < statement.excluded.source_version,
            )
        )

    async def upsert_pack(
        self, *, work_order_id: uuid.UUID, tenant_id: str, source_version: int, **values: object
    ) -> None:
        """Insert the row if missing, then set ``values`` when the event is newer than the row."""
        await self.session.execute(
            insert(pack_projection)
            .values(work_order_id=work_order_id, tenant_id=tenant_id, source_version=0)
            .on_conflict_do_nothing(index_elements=[pack_projection.c.work_order_id])
        )
        await self.session.execute(
            update(pack_projection)
            .where(
                and_(
                    pack_projection.c.work_order_id == work_order_id,
                    pack_projection.c.source_version < literal(source_version),
                )
            )
            .values(**values, source_version=source_version, updated_at=func.now())
        )
