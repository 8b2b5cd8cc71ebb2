"""In-memory fakes of the work-orders repositories for the fast handler tests (cosmicpython's fakes).

Each fake subclasses the real repository and overrides exactly the methods the handlers call, with the
semantics of its SQL (``repositories.py``): ``None`` for a missing row, the same orderings (newest first by
``created_at`` then id; snapshots by version), the database's defaults on insert (a DRAFT work order at
version 1), ``version`` bumped by one per event, the unique keys the schema enforces (one snapshot per
version, one note per ``note_id``) and projections that only move forward (a write with a source version
not above the stored one changes nothing). State is plain dicts the tests read directly.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, replace
from datetime import datetime
from typing import Any

from sqlalchemy import DefaultClause, Table

from devstack.testing.fakes import FakeClock
from shared.db.uow import Repository
from workorders_service.domain import model
from workorders_service.repositories import ProjectionRepository, WorkOrderRepository
from workorders_service.tables import work_orders

#: the tenant of the unit of work and of the stored rows unless a test says otherwise
TENANT = uuid.UUID("11111111-1111-4111-8111-111111111111")
USER = uuid.UUID("22222222-2222-4222-8222-222222222222")

#: a VALUATION work order of :data:`TENANT` by :data:`USER` for an SBI bank
NEW_WORK_ORDER = model.NewWorkOrder(
    tenant_id=TENANT,
    source_type="TENANT",
    source_ref_id=None,
    assignment_id=None,
    report_type="VALUATION",
    bank_name="State Bank of India",
    bank_type="SBI",
    billing_external_key=None,
    created_by_user_id=USER,
)


class UniqueViolation(Exception):
    """What Postgres raises for a row that breaks a unique key of the schema."""


class FakeProjections(ProjectionRepository):
    """``evidence_projection``, ``billing_projection`` and ``pack_projection`` keyed by work order."""

    def __init__(self) -> None:
        self.evidence_rows: dict[uuid.UUID, model.EvidenceProjection] = {}
        self.billing_rows: dict[uuid.UUID, model.BillingProjection] = {}
        self.pack_rows: dict[uuid.UUID, model.PackProjection] = {}
        self.tenants: dict[tuple[str, uuid.UUID], str] = {}
        """The ``tenant_id`` column of each row: ``(projection, work_order_id) -> tenant``."""

    def _rows(
        self, projection: str
    ) -> Mapping[uuid.UUID, model.EvidenceProjection | model.BillingProjection | model.PackProjection]:
        # the names of repositories.PROJECTIONS; any other is a KeyError there too
        rows: dict[
            str, Mapping[uuid.UUID, model.EvidenceProjection | model.BillingProjection | model.PackProjection]
        ]
        rows = {"evidence": self.evidence_rows, "billing": self.billing_rows, "pack": self.pack_rows}
        return rows[projection]

    async def evidence(self, work_order_id: uuid.UUID) -> model.EvidenceProjection | None:
        return self.evidence_rows.get(work_order_id)

    async def billing(self, work_order_id: uuid.UUID) -> model.BillingProjection | None:
        return self.billing_rows.get(work_order_id)

    async def pack(self, work_order_id: uuid.UUID) -> model.PackProjection | None:
        return self.pack_rows.get(work_order_id)

    async def source_version(self, projection: str, work_order_id: uuid.UUID) -> int | None:
        row = self._rows(projection).get(work_order_id)
        return None if row is None else row.source_version

    def _newer(self, projection: str, work_order_id: uuid.UUID, tenant_id: str, source_version: int) -> bool:
        """The upserts' ``WHERE stored.source_version < excluded.source_version`` (a new row always)."""
        stored = self._rows(projection).get(work_order_id)
        if stored is None:
            self.tenants[(projection, work_order_id)] = tenant_id
        return stored is None or stored.source_version < source_version

    async def upsert_evidence(
        self, work_order_id: uuid.UUID, tenant_id: str, evidence: model.EvidenceProjection
    ) -> None:
        if self._newer("evidence", work_order_id, tenant_id, evidence.source_version):
            self.evidence_rows[work_order_id] = evidence

    async def upsert_billing(
        self, *, work_order_id: uuid.UUID, tenant_id: str, payload: model.JsonObject, source_version: int
    ) -> None:
        if self._newer("billing", work_order_id, tenant_id, source_version):
            self.billing_rows[work_order_id] = model.BillingProjection(payload, source_version)

    async def upsert_pack(
        self, *, work_order_id: uuid.UUID, tenant_id: str, source_version: int, **values: object
    ) -> None:
        # insert an empty row at source version 0 when missing, then update it when the event is newer
        if self._newer("pack", work_order_id, tenant_id, source_version):
            stored = self.pack_rows.get(work_order_id) or model.PackProjection(source_version=0)
            self.pack_rows[work_order_id] = replace(stored, **values, source_version=source_version)  # type: ignore[arg-type]  # columns as **object, like a row


@dataclass
class _WorkOrderParts:
    """The rows that belong to one work order (snapshots, rules runs, comments)."""

    snapshots: list[model.Snapshot] = field(default_factory=list)
    rules_runs: list[model.RulesRun] = field(default_factory=list)
    comments: list[model.Comment] = field(default_factory=list)


class FakeWorkOrders(WorkOrderRepository):
    """``work_orders`` with their snapshots, rules runs and comments; the list joins ``projections``."""

    def __init__(self, projections: FakeProjections, clock: FakeClock) -> None:
        self.rows: dict[uuid.UUID, model.WorkOrder] = {}
        self.parts: dict[uuid.UUID, _WorkOrderParts] = {}
        self._projections = projections
        self._clock = clock

    def _parts(self, work_order_id: uuid.UUID) -> _WorkOrderParts:
        return self.parts.setdefault(work_order_id, _WorkOrderParts())

    def add(self, **changes: object) -> model.WorkOrder:
        """Store :data:`NEW_WORK_ORDER` as created, with ``changes`` applied to any column."""
        wo = replace(self._inserted(NEW_WORK_ORDER, current_readiness=None), **changes)  # type: ignore[arg-type]  # any column, as **object
        self.rows[wo.id] = wo
        return wo

    def _inserted(
        self, new: model.NewWorkOrder, *, current_readiness: model.JsonObject | None
    ) -> model.WorkOrder:
        columns = _server_defaults(work_orders, self._clock())
        columns |= asdict(new) | {"id": uuid.uuid4(), "current_readiness": current_readiness}
        return model.WorkOrder(**columns)

    def add_snapshot(
        self,
        wo: model.WorkOrder,
        contract_json: model.JsonObject,
        *,
        version: int = 1,
        readiness_json: model.JsonObject | None = None,
    ) -> model.Snapshot:
        """Store a computed snapshot of ``wo`` (no derived values, empty or the given readiness)."""
        new = model.NewSnapshot(version, contract_json, {}, readiness_json or {}, None)
        return self._stored_snapshot(wo, new)

    def _stored_snapshot(self, wo: model.WorkOrder, new: model.NewSnapshot) -> model.Snapshot:
        snapshots = self._parts(wo.id).snapshots
        if any(s.version == new.version for s in snapshots):
            raise UniqueViolation(f"contract_snapshots (work_order_id, version) = ({wo.id}, {new.version})")
        stored = model.Snapshot(
            **asdict(new),
            id=uuid.uuid4(),
            tenant_id=wo.tenant_id,
            work_order_id=wo.id,
            created_at=self._clock(),
        )
        snapshots.append(stored)
        return stored

    async def insert(
        self, new: model.NewWorkOrder, *, current_readiness: model.JsonObject
    ) -> model.WorkOrder:
        fields = {name: getattr(new, name) for name in model.NewWorkOrder.__dataclass_fields__}
        wo = self._inserted(model.NewWorkOrder(**fields), current_readiness=current_readiness)
        self.rows[wo.id] = wo
        return wo

    async def get(self, work_order_id: uuid.UUID, *, for_update: bool = False) -> model.WorkOrder | None:  # noqa: ARG002  no row locks in memory
        return self.rows.get(work_order_id)

    async def update(self, work_order_id: uuid.UUID, **values: object) -> None:
        wo = self.rows.get(work_order_id)
        if wo is not None:
            self.rows[work_order_id] = replace(wo, **values, updated_at=self._clock())  # type: ignore[arg-type]  # columns as **object, like a row

    async def bump_version(self, work_order_id: uuid.UUID) -> int:
        wo = self.rows[work_order_id]  # scalar_one(): the row must exist
        self.rows[work_order_id] = replace(wo, version=wo.version + 1)
        return wo.version + 1

    async def search(self, criteria: model.WorkOrderSearch) -> list[model.WorkOrderSummary]:
        wanted = {
            "status": criteria.status,
            "report_type": criteria.report_type,
            "bank_type": criteria.bank_type,
            "template_selector": criteria.template_selector,
            "source_type": criteria.source_type,
        }
        found = [
            wo
            for wo in self.rows.values()
            if all(value is None or getattr(wo, name) == value for name, value in wanted.items())
            and _matches_search(wo, criteria.search)
        ]
        found.sort(key=lambda wo: (wo.created_at, wo.id), reverse=True)
        return [self._summary(wo) for wo in found[: criteria.limit]]

    def _summary(self, wo: model.WorkOrder) -> model.WorkOrderSummary:
        latest = max(self._parts(wo.id).snapshots, key=lambda s: s.version, default=None)
        evidence = self._projections.evidence_rows.get(wo.id)
        billing = self._projections.billing_rows.get(wo.id)
        pack = self._projections.pack_rows.get(wo.id)
        listed_pack = None
        if pack is not None and (pack.pack_id or pack.failed_source_version):
            # the list selects only these columns of the pack projection
            listed_pack = model.PackProjection(
                source_version=0,
                pack_id=pack.pack_id,
                status=pack.status,
                created_source_version=pack.created_source_version,
                failed_source_version=pack.failed_source_version,
            )
        return model.WorkOrderSummary(
            projected=model.ProjectedWorkOrder(wo, billing.payload if billing else None, listed_pack),
            latest_snapshot_version=latest.version if latest else None,
            latest_snapshot_created_at=latest.created_at if latest else None,
            latest_derived_json=latest.derived_json if latest else None,
            evidence_count=len(evidence.items) if evidence else 0,
            comments_count=len(self._parts(wo.id).comments),
        )

    async def latest_snapshot(self, work_order_id: uuid.UUID) -> model.Snapshot | None:
        return max(self._parts(work_order_id).snapshots, key=lambda s: s.version, default=None)

    async def snapshot_by_version(self, work_order_id: uuid.UUID, version: int) -> model.Snapshot | None:
        return next((s for s in self._parts(work_order_id).snapshots if s.version == version), None)

    async def insert_snapshot(self, wo: model.WorkOrder, new: model.NewSnapshot) -> model.Snapshot:
        return self._stored_snapshot(wo, new)

    async def insert_rules_run(self, wo: model.WorkOrder, run: model.NewRulesRun) -> None:
        parts = self._parts(wo.id)
        version_of = {s.id: s.version for s in parts.snapshots}  # the foreign keys: both must exist
        stored = model.RulesRun(
            **asdict(run),
            id=uuid.uuid4(),
            created_at=self._clock(),
            input_version=version_of[run.input_snapshot_id],
            output_version=version_of[run.output_snapshot_id],
        )
        parts.rules_runs.append(stored)

    async def rules_runs(self, work_order_id: uuid.UUID, *, limit: int = 10) -> list[model.RulesRun]:
        runs = sorted(
            self._parts(work_order_id).rules_runs,
            key=lambda r: (r.created_at, r.output_version),
            reverse=True,
        )
        return runs[:limit]

    async def insert_comment(
        self, wo: model.WorkOrder, *, comment_type: str, body: str, created_by_user_id: uuid.UUID | None
    ) -> model.Comment:
        comment = model.Comment(uuid.uuid4(), comment_type, body, None, created_by_user_id, self._clock())
        self._parts(wo.id).comments.append(comment)
        return comment

    async def insert_note(self, wo: model.WorkOrder, note: model.Note) -> bool:
        comments = self._parts(wo.id).comments
        if any(c.note_id == note.note_id for c in comments):
            return False
        created_at = note.created_at or self._clock()
        comments.append(
            model.Comment(uuid.uuid4(), "NOTES", note.body, note.note_id, note.created_by_user_id, created_at)
        )
        return True

    async def comments(self, work_order_id: uuid.UUID) -> list[model.Comment]:
        return sorted(self._parts(work_order_id).comments, key=lambda c: (c.created_at, c.id), reverse=True)


def _server_defaults(table: Table, now: datetime) -> dict[str, Any]:
    """What the database stores in each column an insert leaves out: the column's literal server default
    (``'DRAFT'``, ``'1'``), ``now()`` for the timestamps, else NULL."""
    values: dict[str, Any] = {}
    for column in table.columns:
        default = column.server_default
        if not isinstance(default, DefaultClause):
            values[column.name] = None
        elif isinstance(default.arg, str):
            values[column.name] = column.type.python_type(default.arg)
        else:
            values[column.name] = now
    return values


def _matches_search(wo: model.WorkOrder, search: str | None) -> bool:
    """Decision 25 as the SQL reads it: a case-insensitive substring of the bank name, or the exact id."""
    if search is None:
        return True
    if search.lower() in wo.bank_name.lower():
        return True
    try:
        return wo.id == uuid.UUID(search.strip())
    except ValueError:
        return False


@dataclass
class FakeStore:
    """The work-orders fakes over one clock, for ``FakeUnitOfWork(*store.repositories(), ...)``."""

    clock: FakeClock
    projections: FakeProjections
    work_orders: FakeWorkOrders

    @classmethod
    def new(cls) -> FakeStore:
        """Empty repositories."""
        clock = FakeClock()
        projections = FakeProjections()
        return cls(clock, projections, FakeWorkOrders(projections, clock))

    def repositories(self) -> tuple[Repository, ...]:
        """The fakes, each registered under its real repository class."""
        return (self.work_orders, self.projections)


# --- data the handler tests share -------------------------------------------------------------------------

#: a STAGE_PROGRESS contract with every required field (readiness then only waits for photos)
STAGE_CONTRACT: model.JsonObject = {
    "party": {"bank_name": "Co-op Bank"},
    "property": {"address": "Plot 7, Ring Road"},
    "manual_fields": {"stage_notes": "slab cast"},
}


def photos(count: int) -> list[model.JsonObject]:
    """``count`` PHOTO evidence items (a STAGE_PROGRESS work order needs four)."""
    return [
        {"id": f"photo-{n}", "evidence_type": "PHOTO", "created_at": f"2026-02-0{n + 1}"}
        for n in range(count)
    ]
