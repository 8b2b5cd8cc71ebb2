"""In-memory fakes of the factory's repositories, for the fast handler tests (cosmicpython).

Each fake subclasses the real repository and overrides the methods holding the SQL the handlers reach,
with the semantics of that SQL (``repositories.py``): records in their wire form (UUIDs as strings,
ISO-8601 timestamps), ``None`` for a missing row, the same orderings, the same unique constraints (a
violation raises, as Postgres would) and the same column defaults as ``0001_initial.py``. Timestamps
come from a :class:`Clock` that advances with every write, like ``now()`` in successive transactions.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

from devstack.testing.fakes import FakeUnitOfWork
from factory_service import records
from factory_service.records import (
    ArtifactRecord,
    AuditRecord,
    BillingRecord,
    JobRecord,
    PackRecord,
    Record,
    ReleaseRecord,
    WorkOrderRecord,
)
from factory_service.repositories import (
    AuditLog,
    JobRepository,
    PackRepository,
    ReleaseRepository,
    WorkOrderRepository,
    jsonable,
)
from shared.blobstore import BlobStore
from shared.timestamps import iso_utc

R = TypeVar("R", bound=Record)


class Clock:
    """Wire-form timestamps, one millisecond later at every call."""

    def __init__(self) -> None:
        self._now = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)

    def now(self) -> str:
        self._now += timedelta(milliseconds=1)
        return iso_utc(self._now)


ARTIFACT_KINDS = frozenset({"docx", "debug_json", "evidence_pack", "qa_cover_sheet", "pdf"})
"""The kinds ``report_pack_artifacts_kind_check`` admits (migrations 0001, 0002)."""


class CheckViolation(Exception):
    """What Postgres raises for a row its CHECK constraint refuses."""


class UniqueViolation(Exception):
    """What Postgres raises for a duplicate in a unique index (a handler bug when a test meets it)."""


def _unique(rows: Iterable[Record], row: Mapping[str, Any], *columns: str) -> None:
    key = tuple(str(row[c]) for c in columns)
    if any(tuple(str(getattr(r, c)) for c in columns) == key for r in rows):
        raise UniqueViolation(f"duplicate {columns}: {key}")


def _record(model: type[R], row: Mapping[str, Any], **defaults: Any) -> R:
    """A new row in its wire form, as the repository's SELECT reads it back: the inserted values, the
    schema's ``defaults`` and NULL in every other column."""
    unset = dict.fromkeys(model.model_fields)
    return model.model_validate({**unset, **jsonable(defaults), **jsonable(dict(row))})


def _update(record: R, **changes: Any) -> R:
    return record.model_copy(update=jsonable(changes))


def _first(rows: Iterable[R]) -> R | None:
    return next(iter(rows), None)


class _Locks:
    """Advisory locks: one test thread, so a lock is only remembered (tests may check its name)."""

    locks: list[str]

    async def lock(self, name: str) -> None:
        self.locks.append(name)


# ------------------------------------------------------------------------------------ work orders

_WORK_ORDER_DEFAULTS: Mapping[str, Any] = {
    "report_type": "VALUATION",
    "bank_type": "OTHER",
    "bank_name": "",
    "value_slab": "UNKNOWN",
    "template_selector": "UNKNOWN",
    "status": "DRAFT",
    "render_generation": 0,
}
"""The non-null column defaults of ``factory.work_orders`` (every other column defaults to NULL)."""


class FakeWorkOrders(WorkOrderRepository):
    def __init__(self, clock: Clock) -> None:
        self.clock = clock
        self.rows: dict[str, WorkOrderRecord] = {}
        self.billing_rows: dict[str, BillingRecord] = {}

    async def upsert(
        self, work_order_id: str, tenant_id: str, fields: records.WorkOrderColumns, source_version: int
    ) -> None:
        key = str(uuid.UUID(work_order_id))
        current = self.rows.get(key)
        if current is not None and current.source_version >= source_version:
            return
        now = self.clock.now()
        columns = {"export_bundle_json" if k == "export_bundle" else k: v for k, v in fields.items()}
        if current is None:
            new = {"work_order_id": key, "tenant_id": tenant_id, "source_version": source_version, **columns}
            self.rows[key] = _record(
                WorkOrderRecord, new, **_WORK_ORDER_DEFAULTS, created_at=now, updated_at=now
            )
        else:
            self.rows[key] = _update(current, **columns, source_version=source_version, updated_at=now)

    async def note_version(self, work_order_id: str, source_version: int) -> None:
        current = self.rows.get(work_order_id)
        if current is not None and current.source_version < source_version:
            self.rows[work_order_id] = _update(
                current, source_version=source_version, updated_at=self.clock.now()
            )

    async def get(self, work_order_id: uuid.UUID) -> WorkOrderRecord | None:
        return self.rows.get(str(work_order_id))

    async def version(self, work_order_id: str) -> int | None:
        row = self.rows.get(str(uuid.UUID(work_order_id)))
        return row.source_version if row else None

    async def upsert_billing(
        self,
        work_order_id: str,
        tenant_id: str,  # noqa: ARG002  the real repository's signature; the fake's rows are keyed by work order
        state: Mapping[str, Any],
        source_version: int,
    ) -> None:
        key = str(uuid.UUID(work_order_id))
        current = self.billing_rows.get(key)
        if current is None or current.source_version < source_version:
            self.billing_rows[key] = _record(
                BillingRecord, {"state": state, "source_version": source_version}
            )

    async def billing(self, work_order_id: uuid.UUID) -> BillingRecord | None:
        return self.billing_rows.get(str(work_order_id))

    async def billing_version(self, work_order_id: str) -> int | None:
        row = self.billing_rows.get(str(uuid.UUID(work_order_id)))
        return row.source_version if row else None


# ------------------------------------------------------------------------------------------ packs


class FakePacks(_Locks, PackRepository):
    def __init__(self, clock: Clock) -> None:
        self.clock = clock
        self.locks = []
        self.rows: dict[str, PackRecord] = {}
        self.bundles: dict[str, bytes] = {}
        self.artifact_rows: dict[str, ArtifactRecord] = {}
        self.state_versions: dict[str, int] = {}

    async def bump_state(self, work_order_id: uuid.UUID, tenant_id: uuid.UUID) -> int:  # noqa: ARG002  the real signature; versions kept per work order
        key = str(work_order_id)
        self.state_versions[key] = self.state_versions.get(key, 0) + 1
        return self.state_versions[key]

    async def state_version(self, work_order_id: str) -> int | None:
        return self.state_versions.get(str(uuid.UUID(work_order_id)))

    def _of(self, work_order_id: uuid.UUID) -> list[PackRecord]:
        return [p for p in self.rows.values() if p.work_order_id == str(work_order_id)]

    async def for_generation(self, work_order_id: uuid.UUID, render_generation: int) -> PackRecord | None:
        return _first(p for p in self._of(work_order_id) if p.render_generation == render_generation)

    async def live(self, work_order_id: uuid.UUID) -> PackRecord | None:
        return _first(p for p in self._of(work_order_id) if p.status != "superseded")

    async def latest(self, work_order_id: uuid.UUID) -> PackRecord | None:
        def live_then_newest(p: PackRecord) -> tuple[bool, int, str]:
            return (p.status != "superseded", p.render_generation, p.created_at)

        return _first(sorted(self._of(work_order_id), key=live_then_newest, reverse=True))

    async def get(self, pack_id: uuid.UUID, *, for_update: bool = False) -> PackRecord | None:  # noqa: ARG002  no row locks in memory
        return self.rows.get(str(pack_id))

    async def by_verification_code(self, code: str) -> PackRecord | None:
        return _first(p for p in self.rows.values() if p.verification_code == code)

    async def export_bundle(self, pack_id: uuid.UUID) -> bytes | None:
        return self.bundles.get(str(pack_id))

    async def next_version(self, work_order_id: uuid.UUID, template_key: str) -> int:
        versions = [p.version for p in self._of(work_order_id) if p.template_key == template_key]
        return max(versions, default=0) + 1

    async def add(self, row: records.NewPack) -> None:
        _unique(self.rows.values(), row, "work_order_id", "template_key", "version")
        if row.get("verification_code") is not None:
            _unique(self.rows.values(), row, "verification_code")
        if row["status"] != "superseded" and await self.live(row["work_order_id"]) is not None:
            raise UniqueViolation("report_packs_one_live_idx")
        columns = {k: v for k, v in row.items() if k != "export_bundle"}
        now = self.clock.now()
        pack = _record(PackRecord, columns, created_at=now, updated_at=now)
        self.rows[pack.id] = pack
        self.bundles[pack.id] = row["export_bundle"]

    async def set_status(self, pack_id: uuid.UUID, status: str, **failure: str | None) -> None:
        pack = self.rows.get(str(pack_id))
        if pack is None:
            return
        now = self.clock.now()
        changes: dict[str, Any] = {"status": status, "updated_at": now}
        if status in ("generated", "superseded"):
            changes[f"{status}_at"] = now
        changes.update((column, value) for column, value in failure.items() if value is not None)
        self.rows[pack.id] = _update(pack, **changes)

    async def add_artifact(self, row: records.NewArtifact) -> bool:
        if row["kind"] not in ARTIFACT_KINDS:
            raise CheckViolation("report_pack_artifacts_kind_check")
        if any(
            a.report_pack_id == str(row["report_pack_id"]) and a.kind == row["kind"]
            for a in self.artifact_rows.values()
        ):
            return False
        now = self.clock.now()
        artifact = _record(ArtifactRecord, row, created_at=now, updated_at=now)
        self.artifact_rows[artifact.id] = artifact
        return True

    async def artifacts(self, pack_id: uuid.UUID) -> list[ArtifactRecord]:
        mine = [a for a in self.artifact_rows.values() if a.report_pack_id == str(pack_id)]
        return sorted(mine, key=lambda a: (a.created_at, a.kind))

    async def artifact(self, artifact_id: uuid.UUID) -> ArtifactRecord | None:
        return self.artifact_rows.get(str(artifact_id))


# ------------------------------------------------------------------------------------------- jobs


class FakeJobs(JobRepository):
    def __init__(self, clock: Clock) -> None:
        self.clock = clock
        self.rows: dict[str, JobRecord] = {}

    async def add(self, row: records.NewJob) -> None:
        _unique(self.rows.values(), row, "tenant_id", "idempotency_key")
        _unique(self.rows.values(), row, "report_pack_id")
        now = self.clock.now()
        job = _record(
            JobRecord, row, status="queued", attempts=0, queued_at=now, created_at=now, updated_at=now
        )
        self.rows[job.id] = job

    async def by_key(self, tenant_id: uuid.UUID, key: str) -> JobRecord | None:
        return _first(
            j for j in self.rows.values() if j.tenant_id == str(tenant_id) and j.idempotency_key == key
        )

    async def of_pack(self, pack_id: uuid.UUID) -> JobRecord | None:
        return _first(j for j in self.rows.values() if j.report_pack_id == str(pack_id))

    async def get(self, job_id: uuid.UUID, *, for_update: bool = False) -> JobRecord | None:  # noqa: ARG002  no row locks in memory
        return self.rows.get(str(job_id))

    async def start_attempt(self, job_id: uuid.UUID, worker_trace: str | None) -> None:
        job = self.rows[str(job_id)]
        now = self.clock.now()
        self.rows[job.id] = _update(
            job,
            status="processing",
            attempts=job.attempts + 1,
            started_at=job.started_at or now,
            worker_trace=worker_trace,
            error_code=None,
            error_message=None,
            updated_at=now,
        )

    async def set_status(
        self, job_id: uuid.UUID, status: str, *, finished: bool = False, **error: str | None
    ) -> None:
        job = self.rows.get(str(job_id))
        if job is None:
            return
        now = self.clock.now()
        # Both error columns are written: None clears them.
        errors = {"error_code": error.get("error_code"), "error_message": error.get("error_message")}
        finished_at = now if finished else job.finished_at
        self.rows[job.id] = _update(job, status=status, **errors, updated_at=now, finished_at=finished_at)


# --------------------------------------------------------------------------------------- releases


class FakeReleases(_Locks, ReleaseRepository):
    def __init__(self, clock: Clock) -> None:
        self.clock = clock
        self.locks = []
        self.rows: dict[str, ReleaseRecord] = {}
        #: release ids announced to the waiting requests (pg_notify, delivered at commit)
        self.announced: list[str] = []

    def _oldest_first(self, keep: Callable[[ReleaseRecord], bool]) -> list[ReleaseRecord]:
        return sorted((r for r in self.rows.values() if keep(r)), key=lambda r: (r.created_at, r.id))

    async def by_key(self, tenant_id: uuid.UUID, key: str) -> ReleaseRecord | None:
        return _first(self._oldest_first(lambda r: r.org_id == str(tenant_id) and r.idempotency_key == key))

    async def get(self, release_id: uuid.UUID, *, for_update: bool = False) -> ReleaseRecord | None:  # noqa: ARG002  no row locks in memory
        return self.rows.get(str(release_id))

    async def of_work_order(self, work_order_id: uuid.UUID) -> list[ReleaseRecord]:
        return self._oldest_first(lambda r: r.work_order_id == str(work_order_id))[::-1]

    async def of_pack(self, pack_id: uuid.UUID) -> list[ReleaseRecord]:
        return self._oldest_first(lambda r: r.report_pack_id == str(pack_id))

    async def first_in_state(
        self, work_order_id: uuid.UUID, pack_id: uuid.UUID, results: Sequence[str]
    ) -> ReleaseRecord | None:
        return _first(
            self._oldest_first(
                lambda r: (
                    r.work_order_id == str(work_order_id)
                    and r.report_pack_id == str(pack_id)
                    and r.prior_release_id is None
                    and r.billing_gate_result in results
                )
            )
        )

    async def add(self, row: records.NewRelease) -> ReleaseRecord:
        columns = {("org_id" if k == "tenant_id" else k): v for k, v in row.items()}
        _unique(self.rows.values(), columns, "org_id", "idempotency_key")
        now = self.clock.now()
        release = _record(ReleaseRecord, columns, created_at=now, updated_at=now)
        self.rows[release.id] = release
        return release

    async def decide(
        self, release_id: uuid.UUID, outcome: records.GateOutcome, metadata: Mapping[str, Any]
    ) -> ReleaseRecord | None:
        release = self.rows.get(str(release_id))
        if release is None or release.billing_gate_result != "PENDING":
            return None
        now = self.clock.now()
        decided = _update(
            release,
            billing_gate_result=outcome.result,
            billing_mode_at_release=outcome.mode or release.billing_mode_at_release,
            error_code=outcome.error_code,
            decision_id=outcome.decision_id,
            decision_hash=outcome.decision_hash,
            metadata_json={**release.metadata_json, **metadata},  # jsonb || jsonb: top-level keys
            released_at=now,
            updated_at=now,
        )
        self.rows[decided.id] = decided
        return decided

    async def announce_decided(self, release_id: uuid.UUID) -> None:
        self.announced.append(str(release_id))

    async def gate_results(self, work_order_id: uuid.UUID) -> list[str]:
        return [r.billing_gate_result for r in self.rows.values() if r.work_order_id == str(work_order_id)]


# ------------------------------------------------------------------------------------------ audit


class FakeAuditLog(AuditLog):
    def __init__(self, clock: Clock) -> None:
        self.clock = clock
        self.rows: list[AuditRecord] = []

    async def add(self, row: records.NewAuditRow) -> None:
        self.rows.append(_record(AuditRecord, row, id=len(self.rows) + 1, created_at=self.clock.now()))

    async def of_work_order(self, work_order_id: uuid.UUID) -> list[AuditRecord]:
        return [a for a in self.rows if a.work_order_id == str(work_order_id)]

    def actions(self) -> list[str]:
        """The audited actions, in order."""
        return [a.action for a in self.rows]


# ------------------------------------------------------------------------------------------ blobs


class FakeBlobStore(BlobStore):
    """The content-addressed store in a dict (same keys: the SHA-256 of the bytes)."""

    def __init__(self) -> None:
        self.blobs: dict[str, bytes] = {}

    def put(self, data: bytes) -> str:
        key = hashlib.sha256(data).hexdigest()
        self.blobs[key] = data
        return key

    def get(self, key: str) -> bytes | None:
        return self.blobs.get(key)


# ------------------------------------------------------------------------------------ the factory


class FactoryFakes:
    """Every repository of the factory in memory, sharing one clock; :meth:`uow` opens a transaction."""

    def __init__(self) -> None:
        self.clock = Clock()
        self.blobs = FakeBlobStore()
        self.work_orders = FakeWorkOrders(self.clock)
        self.packs = FakePacks(self.clock)
        self.jobs = FakeJobs(self.clock)
        self.releases = FakeReleases(self.clock)
        self.audit = FakeAuditLog(self.clock)

    def uow(self, tenant_id: str | None = None, *, aud: str | None = None) -> FakeUnitOfWork:
        """A unit of work over these fakes (state is shared by every unit of work of the test)."""
        repositories = (self.work_orders, self.packs, self.jobs, self.releases, self.audit)
        return FakeUnitOfWork(*repositories, tenant_id=tenant_id, aud=aud)
