"""All SQL of the factory service, one repository per aggregate. Never commits: the unit of work does.

Every read returns a typed record (``records.py``) in its wire form.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any, TypeVar

from pydantic import BaseModel
from sqlalchemy import ColumnElement, Insert, Select, Table, Update, func, literal, select, update
from sqlalchemy.dialects.postgresql import JSONB, insert

from factory_service.domain.release import RELEASE_DECIDED_CHANNEL
from factory_service.records import (
    ArtifactRecord,
    AuditRecord,
    AuditScope,
    BillingRecord,
    GateOutcome,
    JobRecord,
    JsonObject,
    NewArtifact,
    NewAuditRow,
    NewJob,
    NewPack,
    NewRelease,
    PackRecord,
    ReleaseRecord,
    WorkOrderColumns,
    WorkOrderRecord,
)
from factory_service.settings import SCHEMA
from factory_service.tables import (
    deliverable_releases,
    pack_state_versions,
    report_audit_logs,
    report_generation_jobs,
    report_pack_artifacts,
    report_packs,
    work_order_billing,
    work_orders,
)
from shared.db import uow
from shared.timestamps import iso_utc

R = TypeVar("R", bound=BaseModel)


# ---------------------------------------------------------------------------------------- plumbing


def _plain(row: Mapping[Any, Any]) -> JsonObject:  # a RowMapping: keys are the column labels
    out: JsonObject = {}
    for key, value in row.items():
        if isinstance(value, uuid.UUID):
            out[key] = str(value)
        elif isinstance(value, datetime):
            out[key] = iso_utc(value)
        else:
            out[key] = value
    return out


def jsonable(value: Any) -> Any:
    """``value`` as plain JSON (ids and timestamps as strings), the form a JSONB column stores."""
    return json.loads(json.dumps(value, default=str))


def _values(table: Table, row: Mapping[str, Any]) -> dict[str, Any]:
    """``row`` ready to write: the values of JSONB columns as plain JSON (see :func:`jsonable`)."""
    return {name: jsonable(v) if isinstance(table.c[name].type, JSONB) else v for name, v in row.items()}


def _columns(table: Table, model: type[BaseModel], **renamed: str) -> list[ColumnElement[Any]]:
    """The table's columns a record shows, in the record's order (``renamed``: field -> column)."""
    return [
        table.c[renamed.get(name, name)].label(name) if name in renamed else table.c[name]
        for name in model.model_fields
    ]


_SELECTS: dict[type[BaseModel], Select[Any]] = {
    WorkOrderRecord: select(*_columns(work_orders, WorkOrderRecord, export_bundle_json="export_bundle")),
    BillingRecord: select(*_columns(work_order_billing, BillingRecord)),
    PackRecord: select(*_columns(report_packs, PackRecord)),
    ArtifactRecord: select(*_columns(report_pack_artifacts, ArtifactRecord)),
    JobRecord: select(*_columns(report_generation_jobs, JobRecord)),
    ReleaseRecord: select(*_columns(deliverable_releases, ReleaseRecord, org_id="tenant_id")),
    AuditRecord: select(*_columns(report_audit_logs, AuditRecord)),
}
"""The one SELECT of each record type."""

Order = Sequence[ColumnElement[Any]]


class Repository(uow.Repository):
    """Queries over the factory schema, inside the caller's transaction."""

    async def _one(
        self, model: type[R], *where: ColumnElement[bool], order_by: Order = (), for_update: bool = False
    ) -> R | None:
        """The first ``model`` row matching ``where`` (in ``order_by``), locked when ``for_update``."""
        query = _SELECTS[model].where(*where).order_by(*order_by).limit(1)
        row = (
            (await self.session.execute(query.with_for_update() if for_update else query)).mappings().first()
        )
        return model.model_validate(_plain(row)) if row else None

    async def _all(self, model: type[R], *where: ColumnElement[bool], order_by: Order = ()) -> list[R]:
        rows = (
            (await self.session.execute(_SELECTS[model].where(*where).order_by(*order_by))).mappings().all()
        )
        return [model.model_validate(_plain(r)) for r in rows]

    async def _returning(self, model: type[R], statement: Insert | Update) -> list[R]:
        """The ``model`` rows an INSERT or UPDATE wrote, as that record's SELECT shows them."""
        query = statement.returning(*_SELECTS[model].selected_columns)
        rows = (await self.session.execute(query)).mappings().all()
        return [model.model_validate(_plain(r)) for r in rows]

    async def _scalar_int(self, query: Select[Any]) -> int | None:
        value = (await self.session.execute(query)).scalar_one_or_none()
        return int(value) if value is not None else None

    async def lock(self, name: str) -> None:
        """A transaction-scoped advisory lock that serializes decisions on one name."""
        await self.session.execute(
            select(func.pg_advisory_xact_lock(func.hashtextextended(f"{SCHEMA}|{name}", 0)))
        )


def _as_uuid(value: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(value)
    except ValueError:
        return None


# ------------------------------------------------------------------------------------ work orders


class WorkOrderRepository(Repository):
    """The projections of workorders' work orders and of billing's per-work-order state."""

    async def upsert(
        self, work_order_id: str, tenant_id: str, fields: WorkOrderColumns, source_version: int
    ) -> None:
        """Insert the projection row or update the given columns; older versions never overwrite."""
        await self._upsert_newer(work_orders, work_order_id, tenant_id, source_version, dict(fields))

    async def note_version(self, work_order_id: str, source_version: int) -> None:
        """Record that a workorders envelope of ``source_version`` was applied, whatever its type, so
        an ``x-zenops-after`` token naming it is reached (issue 12: ``readiness_changed``, which factory
        has no handler for, used to leave every later read of the client waiting 5 s)."""
        wo = _as_uuid(work_order_id)
        if wo is None:
            return
        await self.session.execute(
            update(work_orders)
            .where(work_orders.c.work_order_id == wo, work_orders.c.source_version < source_version)
            .values(source_version=source_version, updated_at=func.now())
        )

    async def get(self, work_order_id: uuid.UUID) -> WorkOrderRecord | None:
        return await self._one(WorkOrderRecord, work_orders.c.work_order_id == work_order_id)

    async def tenant_of(self, work_order_id: str) -> str | None:
        """The tenant of a projected work order (envelopes without a tenant name only the work order)."""
        wo = await self.get(uuid.UUID(work_order_id))
        return wo.tenant_id if wo else None

    async def version(self, work_order_id: str) -> int | None:
        return await self._scalar_int(
            select(work_orders.c.source_version).where(
                work_orders.c.work_order_id == uuid.UUID(work_order_id)
            )
        )

    async def upsert_billing(
        self, work_order_id: str, tenant_id: str, state: Mapping[str, Any], source_version: int
    ) -> None:
        columns = {"state": dict(state)}
        await self._upsert_newer(work_order_billing, work_order_id, tenant_id, source_version, columns)

    async def _upsert_newer(
        self, table: Table, work_order_id: str, tenant_id: str, source_version: int, columns: dict[str, Any]
    ) -> None:
        """Insert a projection row or update ``columns``; an older ``source_version`` never overwrites."""
        statement = insert(table).values(
            work_order_id=uuid.UUID(work_order_id),
            tenant_id=uuid.UUID(tenant_id),
            source_version=source_version,
            **_values(table, columns),
        )
        await self.session.execute(
            statement.on_conflict_do_update(
                index_elements=[table.c.work_order_id],
                set_={
                    "source_version": statement.excluded.source_version,
                    "updated_at": func.now(),
                    **{name: statement.excluded[name] for name in columns},
                },
                where=table.c.source_version < statement.excluded.source_version,
            )
        )

    async def billing(self, work_order_id: uuid.UUID) -> BillingRecord | None:
        return await self._one(BillingRecord, work_order_billing.c.work_order_id == work_order_id)

    async def billing_version(self, work_order_id: str) -> int | None:
        return await self._scalar_int(
            select(work_order_billing.c.source_version).where(
                work_order_billing.c.work_order_id == uuid.UUID(work_order_id)
            )
        )


# ------------------------------------------------------------------------------------------ packs


class PackRepository(Repository):
    """Report packs, their artifacts and the pack-state version published per work order."""

    async def bump_state(self, work_order_id: uuid.UUID, tenant_id: uuid.UUID) -> int:
        """The next aggregate version of what factory publishes about ``work_order_id``."""
        statement = insert(pack_state_versions).values(
            work_order_id=work_order_id, tenant_id=tenant_id, version=1
        )
        version = (
            await self.session.execute(
                statement.on_conflict_do_update(
                    index_elements=[pack_state_versions.c.work_order_id],
                    set_={"version": pack_state_versions.c.version + 1},
                ).returning(pack_state_versions.c.version)
            )
        ).scalar_one()
        return int(version)

    async def state_version(self, work_order_id: str) -> int | None:
        return await self._scalar_int(
            select(pack_state_versions.c.version).where(
                pack_state_versions.c.work_order_id == uuid.UUID(work_order_id)
            )
        )

    async def for_generation(self, work_order_id: uuid.UUID, render_generation: int) -> PackRecord | None:
        packs = report_packs.c
        return await self._one(
            PackRecord, packs.work_order_id == work_order_id, packs.render_generation == render_generation
        )

    async def live(self, work_order_id: uuid.UUID) -> PackRecord | None:
        """The pack linked to the work order now (not superseded), if any."""
        packs = report_packs.c
        return await self._one(PackRecord, packs.work_order_id == work_order_id, packs.status != "superseded")

    async def latest(self, work_order_id: uuid.UUID) -> PackRecord | None:
        """The live pack, else the newest superseded one (the pack view shows history after a reopen)."""
        packs = report_packs.c
        newest = (
            (packs.status != "superseded").desc(),
            packs.render_generation.desc(),
            packs.created_at.desc(),
        )
        return await self._one(PackRecord, packs.work_order_id == work_order_id, order_by=newest)

    async def get(self, pack_id: uuid.UUID, *, for_update: bool = False) -> PackRecord | None:
        return await self._one(PackRecord, report_packs.c.id == pack_id, for_update=for_update)

    async def by_verification_code(self, code: str) -> PackRecord | None:
        """The pack printed with ``code`` (canonical form), in any tenant: the public verify route runs
        as the system role; the code is unique across tenants."""
        return await self._one(PackRecord, report_packs.c.verification_code == code)

    async def export_bundle(self, pack_id: uuid.UUID) -> bytes | None:
        """The frozen export-bundle bytes of a pack (decision 24)."""
        value = (
            await self.session.execute(
                select(report_packs.c.export_bundle).where(report_packs.c.id == pack_id)
            )
        ).scalar_one_or_none()
        return bytes(value) if value is not None else None

    async def next_version(self, work_order_id: uuid.UUID, template_key: str) -> int:
        """Versions count per work order + template key (decision 27)."""
        current = await self._scalar_int(
            select(func.coalesce(func.max(report_packs.c.version), 0)).where(
                report_packs.c.work_order_id == work_order_id, report_packs.c.template_key == template_key
            )
        )
        return (current or 0) + 1

    async def add(self, row: NewPack) -> None:
        await self.session.execute(insert(report_packs).values(**_values(report_packs, row)))

    async def set_status(
        self,
        pack_id: uuid.UUID,
        status: str,
        *,
        failure_code: str | None = None,
        failure_reason: str | None = None,
    ) -> None:
        values: dict[str, Any] = {"status": status, "updated_at": func.now()}
        if status == "generated":
            values["generated_at"] = func.now()
        if status == "superseded":
            values["superseded_at"] = func.now()
        if failure_code is not None:
            values["failure_code"] = failure_code
        if failure_reason is not None:
            values["failure_reason"] = failure_reason
        await self.session.execute(update(report_packs).where(report_packs.c.id == pack_id).values(**values))

    async def add_artifact(self, row: NewArtifact) -> bool:
        """Insert unless the pack already has an artifact of that kind; True when inserted."""
        inserted = await self.session.execute(
            insert(report_pack_artifacts)
            .values(**_values(report_pack_artifacts, row))
            .on_conflict_do_nothing(
                index_elements=[report_pack_artifacts.c.report_pack_id, report_pack_artifacts.c.kind]
            )
            .returning(literal(1))
        )
        return inserted.first() is not None

    async def artifacts(self, pack_id: uuid.UUID) -> list[ArtifactRecord]:
        artifacts = report_pack_artifacts.c
        order = (artifacts.created_at, artifacts.kind)
        return await self._all(ArtifactRecord, artifacts.report_pack_id == pack_id, order_by=order)

    async def artifact(self, artifact_id: uuid.UUID) -> ArtifactRecord | None:
        return await self._one(ArtifactRecord, report_pack_artifacts.c.id == artifact_id)


# ------------------------------------------------------------------------------------------- jobs


class JobRepository(Repository):
    """Generation jobs (domain.md §5.4): one per pack."""

    async def add(self, row: NewJob) -> None:
        values = _values(report_generation_jobs, row)
        await self.session.execute(
            insert(report_generation_jobs).values(**values, status="queued", queued_at=func.now())
        )

    async def by_key(self, tenant_id: uuid.UUID, key: str) -> JobRecord | None:
        jobs = report_generation_jobs.c
        return await self._one(JobRecord, jobs.tenant_id == tenant_id, jobs.idempotency_key == key)

    async def of_pack(self, pack_id: uuid.UUID) -> JobRecord | None:
        return await self._one(JobRecord, report_generation_jobs.c.report_pack_id == pack_id)

    async def get(self, job_id: uuid.UUID, *, for_update: bool = False) -> JobRecord | None:
        return await self._one(JobRecord, report_generation_jobs.c.id == job_id, for_update=for_update)

    async def start_attempt(self, job_id: uuid.UUID, worker_trace: str | None) -> None:
        """processing, attempts + 1, first start time, error cleared (domain.md §5.4)."""
        jobs = report_generation_jobs
        await self.session.execute(
            update(jobs)
            .where(jobs.c.id == job_id)
            .values(
                status="processing",
                attempts=jobs.c.attempts + 1,
                started_at=func.coalesce(jobs.c.started_at, func.now()),
                worker_trace=worker_trace,
                error_code=None,
                error_message=None,
                updated_at=func.now(),
            )
        )

    async def set_status(
        self,
        job_id: uuid.UUID,
        status: str,
        *,
        error_code: str | None = None,
        error_message: str | None = None,
        finished: bool = False,
    ) -> None:
        values: dict[str, Any] = {
            "status": status,
            "error_code": error_code,
            "error_message": error_message,
            "updated_at": func.now(),
        }
        if finished:
            values["finished_at"] = func.now()
        await self.session.execute(
            update(report_generation_jobs).where(report_generation_jobs.c.id == job_id).values(**values)
        )


# --------------------------------------------------------------------------------------- releases


class ReleaseRepository(Repository):
    """Deliverables releases (domain.md §6; decision 8)."""

    async def by_key(self, tenant_id: uuid.UUID, key: str) -> ReleaseRecord | None:
        releases = deliverable_releases.c
        return await self._one(
            ReleaseRecord, releases.tenant_id == tenant_id, releases.idempotency_key == key
        )

    async def get(self, release_id: uuid.UUID, *, for_update: bool = False) -> ReleaseRecord | None:
        return await self._one(ReleaseRecord, deliverable_releases.c.id == release_id, for_update=for_update)

    async def of_work_order(self, work_order_id: uuid.UUID) -> list[ReleaseRecord]:
        """Newest first (domain.md §5.3)."""
        releases = deliverable_releases.c
        newest_first = (releases.created_at.desc(), releases.id.desc())
        return await self._all(ReleaseRecord, releases.work_order_id == work_order_id, order_by=newest_first)

    async def of_pack(self, pack_id: uuid.UUID) -> list[ReleaseRecord]:
        """Oldest first: the order of the evidence pack's ``releases.json``."""
        releases = deliverable_releases.c
        oldest_first = (releases.created_at, releases.id)
        return await self._all(ReleaseRecord, releases.report_pack_id == pack_id, order_by=oldest_first)

    async def first_in_state(
        self, work_order_id: uuid.UUID, pack_id: uuid.UUID, results: Sequence[str]
    ) -> ReleaseRecord | None:
        """The oldest original (not a link to a prior success) release of the pack in ``results``."""
        releases = deliverable_releases.c
        return await self._one(
            ReleaseRecord,
            releases.work_order_id == work_order_id,
            releases.report_pack_id == pack_id,
            releases.prior_release_id.is_(None),
            releases.billing_gate_result.in_(list(results)),
            order_by=(releases.created_at, releases.id),
        )

    async def add(self, row: NewRelease) -> ReleaseRecord:
        """Insert a release; returns it as every reader sees it."""
        statement = insert(deliverable_releases).values(**_values(deliverable_releases, row))
        (added,) = await self._returning(ReleaseRecord, statement)
        return added

    async def decide(
        self, release_id: uuid.UUID, outcome: GateOutcome, metadata: Mapping[str, Any]
    ) -> ReleaseRecord | None:
        """Record billing's outcome on a PENDING release and return it; ``None`` when the release is not
        PENDING (a duplicate outcome changes nothing)."""
        releases = deliverable_releases
        decided = await self._returning(
            ReleaseRecord,
            update(releases)
            .where(releases.c.id == release_id, releases.c.billing_gate_result == "PENDING")
            .values(
                billing_gate_result=outcome.result,
                billing_mode_at_release=func.coalesce(outcome.mode, releases.c.billing_mode_at_release),
                error_code=outcome.error_code,
                decision_id=outcome.decision_id,
                decision_hash=outcome.decision_hash,
                metadata_json=releases.c.metadata_json.op("||")(literal(jsonable(dict(metadata)), JSONB)),
                released_at=func.now(),
                updated_at=func.now(),
            ),
        )
        return decided[0] if decided else None

    async def announce_decided(self, release_id: uuid.UUID) -> None:
        """Wake the requests waiting for this release's outcome when the transaction commits
        (``pg_notify`` on :data:`RELEASE_DECIDED_CHANNEL`; a rolled-back transaction notifies no one)."""
        await self.session.execute(select(func.pg_notify(RELEASE_DECIDED_CHANNEL, str(release_id))))

    async def gate_results(self, work_order_id: uuid.UUID) -> list[str]:
        rows = await self.session.execute(
            select(deliverable_releases.c.billing_gate_result).where(
                deliverable_releases.c.work_order_id == work_order_id
            )
        )
        return [str(r[0]) for r in rows]


# ------------------------------------------------------------------------------------------ audit


class AuditLog(Repository):
    """The append-only audit log of packs, jobs, releases and downloads."""

    async def record(
        self,
        scope: AuditScope,
        action: str,
        entity: tuple[str, str],
        metadata: Mapping[str, Any],
        actor_user_id: uuid.UUID | None = None,
    ) -> None:
        """Append one audit row: ``action`` by ``actor_user_id`` on ``entity`` (type, id) in ``scope``."""
        entity_type, entity_id = entity
        row: NewAuditRow = {
            "tenant_id": scope.tenant_id,
            "work_order_id": scope.work_order_id,
            "report_pack_id": scope.report_pack_id,
            "entity_type": entity_type,
            "entity_id": entity_id,
            "action": action,
            "actor_user_id": actor_user_id,
            "metadata_json": dict(metadata),
        }
        await self.add(row)

    async def add(self, row: NewAuditRow) -> None:
        """Insert one audit row; the table is append-only for the service roles."""
        await self.session.execute(insert(report_audit_logs).values(**_values(report_audit_logs, row)))

    async def of_work_order(self, work_order_id: uuid.UUID) -> list[AuditRecord]:
        audit = report_audit_logs.c
        return await self._all(AuditRecord, audit.work_order_id == work_order_id, order_by=(audit.id,))
