"""In-memory fakes of the factory's repositories, for the fast handler tests (cosmicpython).

Each fake subclasses the real repository and overrides exactly the methods the handlers call, with the
semantics of the repository's SQL (``repositories.py``): records in their wire form (UUIDs as strings,
ISO-8601 timestamps), ``None`` for a missing row, the same orderings, the same unique constraints (a
violation raises, as Postgres would) and the same column defaults as ``0001_initial.py``. Timestamps
come from a :class:`Clock` that advances with every write, like ``now()`` in successive transactions.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Final, TypeVar

from devstack.testing import data
from devstack.testing.fakes import FakeUnitOfWork
from factory_service.domain.release import ReleaseRequest
from factory_service.handlers.gate_outcome import RecordGateOutcome, record_gate_outcome
from factory_service.handlers.generation_job import GenerationWorker, Renderer, RenderPack
from factory_service.handlers.projections import RenderReadyWorkOrder, render_ready_work_order
from factory_service.handlers.release_request import RequestRelease, request_release
from factory_service.records import (
    ArtifactRecord,
    AuditRecord,
    AuditScope,
    BillingRecord,
    GateOutcome,
    JobRecord,
    NewArtifact,
    NewJob,
    NewPack,
    NewRelease,
    PackRecord,
    Record,
    ReleaseRecord,
    WorkOrderColumns,
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
from factory_service.settings import Settings
from shared.blobstore import BlobStore
from shared.contracts.billing import GateDecided
from shared.contracts.workorders import ReadyForRender
from shared.stable_json import stable_sha256
from shared.timestamps import iso_utc

R = TypeVar("R", bound=Record)


class Clock:
    """Wire-form timestamps, one millisecond later at every call."""

    def __init__(self) -> None:
        self._now = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)

    def now(self) -> str:
        self._now += timedelta(milliseconds=1)
        return iso_utc(self._now)


class UniqueViolation(Exception):
    """What Postgres raises for a duplicate in a unique index (a handler bug when a test meets it)."""


def _unique(rows: Iterable[Record], row: Mapping[str, Any], *columns: str) -> None:
    key = tuple(str(row[c]) for c in columns)
    if any(tuple(str(getattr(r, c)) for c in columns) == key for r in rows):
        raise UniqueViolation(f"duplicate {columns}: {key}")


def _record(model: type[R], row: Mapping[str, Any], **columns: Any) -> R:
    """A new row in its wire form (what the repository's SELECT would read back)."""
    return model.model_validate({**jsonable(dict(row)), **columns})


def _update(record: R, **changes: Any) -> R:
    return record.model_copy(update=jsonable(changes))


def _first(records: Iterable[R]) -> R | None:
    return next(iter(records), None)


class _Locks:
    """Advisory locks: one test thread, so a lock is only remembered (tests may check its name)."""

    locks: list[str]

    async def lock(self, name: str) -> None:
        self.locks.append(name)


# ------------------------------------------------------------------------------------ work orders

_WORK_ORDER_DEFAULTS: Mapping[str, Any] = {
    "assignment_id": None,
    "report_type": "VALUATION",
    "bank_type": "OTHER",
    "bank_name": "",
    "value_slab": "UNKNOWN",
    "template_selector": "UNKNOWN",
    "status": "DRAFT",
    "render_generation": 0,
    "snapshot_version": None,
    "readiness_score": None,
    "export_bundle_json": None,
    "export_bundle_hash": None,
    "source_type": None,
    "created_by_user_id": None,
}
"""The column defaults of ``factory.work_orders``."""


class FakeWorkOrders(WorkOrderRepository):
    def __init__(self, clock: Clock) -> None:
        self.clock = clock
        self.rows: dict[str, WorkOrderRecord] = {}
        self.billing_rows: dict[str, BillingRecord] = {}

    async def upsert(
        self, work_order_id: str, tenant_id: str, fields: WorkOrderColumns, source_version: int
    ) -> None:
        key = str(uuid.UUID(work_order_id))
        current = self.rows.get(key)
        if current is not None and current.source_version >= source_version:
            return
        now = self.clock.now()
        columns = {"export_bundle_json" if k == "export_bundle" else k: v for k, v in fields.items()}
        if current is None:
            new = {"work_order_id": key, "tenant_id": tenant_id, **_WORK_ORDER_DEFAULTS, **columns}
            self.rows[key] = _record(
                WorkOrderRecord, new, source_version=source_version, created_at=now, updated_at=now
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
        self, work_order_id: str, tenant_id: str, state: Mapping[str, Any], source_version: int
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

    async def bump_state(self, work_order_id: uuid.UUID, tenant_id: uuid.UUID) -> int:
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

    async def get(self, pack_id: uuid.UUID, *, for_update: bool = False) -> PackRecord | None:
        return self.rows.get(str(pack_id))

    async def export_bundle(self, pack_id: uuid.UUID) -> bytes | None:
        return self.bundles.get(str(pack_id))

    async def next_version(self, work_order_id: uuid.UUID, template_key: str) -> int:
        versions = [p.version for p in self._of(work_order_id) if p.template_key == template_key]
        return max(versions, default=0) + 1

    async def add(self, row: NewPack) -> None:
        _unique(self.rows.values(), row, "work_order_id", "template_key", "version")
        if row["status"] != "superseded" and await self.live(row["work_order_id"]) is not None:
            raise UniqueViolation("report_packs_one_live_idx")
        columns = {k: v for k, v in row.items() if k != "export_bundle"}
        now = self.clock.now()
        pack = _record(
            PackRecord, columns, generated_at=None, superseded_at=None, created_at=now, updated_at=now
        )
        self.rows[pack.id] = pack
        self.bundles[pack.id] = row["export_bundle"]

    async def set_status(
        self,
        pack_id: uuid.UUID,
        status: str,
        *,
        failure_code: str | None = None,
        failure_reason: str | None = None,
    ) -> None:
        pack = self.rows.get(str(pack_id))
        if pack is None:
            return
        now = self.clock.now()
        changes: dict[str, Any] = {"status": status, "updated_at": now}
        if status in ("generated", "superseded"):
            changes[f"{status}_at"] = now
        if failure_code is not None:
            changes["failure_code"] = failure_code
        if failure_reason is not None:
            changes["failure_reason"] = failure_reason
        self.rows[pack.id] = _update(pack, **changes)

    async def add_artifact(self, row: NewArtifact) -> bool:
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

    async def add(self, row: NewJob) -> None:
        _unique(self.rows.values(), row, "tenant_id", "idempotency_key")
        _unique(self.rows.values(), row, "report_pack_id")
        now = self.clock.now()
        job = _record(
            JobRecord,
            row,
            status="queued",
            attempts=0,
            error_code=None,
            error_message=None,
            worker_trace=None,
            queued_at=now,
            started_at=None,
            finished_at=None,
            created_at=now,
            updated_at=now,
        )
        self.rows[job.id] = job

    async def by_key(self, tenant_id: uuid.UUID, key: str) -> JobRecord | None:
        return _first(
            j for j in self.rows.values() if j.tenant_id == str(tenant_id) and j.idempotency_key == key
        )

    async def of_pack(self, pack_id: uuid.UUID) -> JobRecord | None:
        return _first(j for j in self.rows.values() if j.report_pack_id == str(pack_id))

    async def get(self, job_id: uuid.UUID, *, for_update: bool = False) -> JobRecord | None:
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
        self,
        job_id: uuid.UUID,
        status: str,
        *,
        error_code: str | None = None,
        error_message: str | None = None,
        finished: bool = False,
    ) -> None:
        job = self.rows.get(str(job_id))
        if job is None:
            return
        now = self.clock.now()
        finished_at = now if finished else job.finished_at
        self.rows[job.id] = _update(
            job,
            status=status,
            error_code=error_code,
            error_message=error_message,
            updated_at=now,
            finished_at=finished_at,
        )


# --------------------------------------------------------------------------------------- releases


class FakeReleases(_Locks, ReleaseRepository):
    def __init__(self, clock: Clock) -> None:
        self.clock = clock
        self.locks = []
        self.rows: dict[str, ReleaseRecord] = {}

    def _oldest_first(self, keep: Callable[[ReleaseRecord], bool]) -> list[ReleaseRecord]:
        return sorted((r for r in self.rows.values() if keep(r)), key=lambda r: (r.created_at, r.id))

    async def by_key(self, tenant_id: uuid.UUID, key: str) -> ReleaseRecord | None:
        return _first(self._oldest_first(lambda r: r.org_id == str(tenant_id) and r.idempotency_key == key))

    async def get(self, release_id: uuid.UUID, *, for_update: bool = False) -> ReleaseRecord | None:
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

    async def add(self, row: NewRelease) -> ReleaseRecord:
        columns = {("org_id" if k == "tenant_id" else k): v for k, v in row.items()}
        _unique(self.rows.values(), columns, "org_id", "idempotency_key")
        now = self.clock.now()
        release = _record(
            ReleaseRecord,
            columns,
            error_code=None,
            decision_id=None,
            decision_hash=None,
            created_at=now,
            updated_at=now,
        )
        self.rows[release.id] = release
        return release

    async def decide(
        self, release_id: uuid.UUID, outcome: GateOutcome, metadata: Mapping[str, Any]
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

    async def gate_results(self, work_order_id: uuid.UUID) -> list[str]:
        return [r.billing_gate_result for r in self.rows.values() if r.work_order_id == str(work_order_id)]


# ------------------------------------------------------------------------------------------ audit


class FakeAuditLog(AuditLog):
    def __init__(self, clock: Clock) -> None:
        self.clock = clock
        self.rows: list[AuditRecord] = []

    async def record(
        self,
        scope: AuditScope,
        action: str,
        entity: tuple[str, str],
        metadata: Mapping[str, Any],
        actor_user_id: uuid.UUID | None = None,
    ) -> None:
        entity_type, entity_id = entity
        row = {
            "id": len(self.rows) + 1,
            "work_order_id": scope.work_order_id,
            "report_pack_id": scope.report_pack_id,
            "entity_type": entity_type,
            "entity_id": entity_id,
            "action": action,
            "actor_user_id": actor_user_id,
            "metadata_json": metadata,
        }
        self.rows.append(_record(AuditRecord, row, created_at=self.clock.now()))

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


@dataclass
class FactoryFakes:
    """Every repository of the factory in memory, sharing one clock; :meth:`uow` opens a transaction."""

    clock: Clock = field(default_factory=Clock)
    work_orders: FakeWorkOrders = field(init=False)
    packs: FakePacks = field(init=False)
    jobs: FakeJobs = field(init=False)
    releases: FakeReleases = field(init=False)
    audit: FakeAuditLog = field(init=False)
    blobs: FakeBlobStore = field(default_factory=FakeBlobStore)

    def __post_init__(self) -> None:
        self.work_orders = FakeWorkOrders(self.clock)
        self.packs = FakePacks(self.clock)
        self.jobs = FakeJobs(self.clock)
        self.releases = FakeReleases(self.clock)
        self.audit = FakeAuditLog(self.clock)

    def uow(self, tenant_id: str | None = None, *, aud: str | None = None) -> FakeUnitOfWork:
        """A unit of work over these fakes (state is shared by every unit of work of the test)."""
        repositories = (self.work_orders, self.packs, self.jobs, self.releases, self.audit)
        return FakeUnitOfWork(*repositories, tenant_id=tenant_id, aud=aud)


# ----------------------------------------------------------------- arranging state through handlers

TENANT: Final = uuid.UUID(data.TEST_TENANT)
ACTOR: Final = uuid.UUID(data.TEST_USER)
WORK_ORDER: Final = uuid.UUID(data.HASH_01_WORK_ORDER_ID)
"""The work order the HASH-01 bundle names."""

DOCX: Final = b"PK fake docx"


def ready_for_render(bundle: Mapping[str, Any] | None = None, **fields: Any) -> ReadyForRender:
    """workorders' ``ready_for_render`` of the HASH-01 bundle (an SBI < 5 Cr valuation)."""
    bundle = dict(bundle) if bundle is not None else data.hash01_bundle()
    event: dict[str, Any] = {
        "work_order_id": str(WORK_ORDER),
        "export_bundle": bundle,
        "export_bundle_hash": stable_sha256(bundle),
        "snapshot_version": 2,
        "template_selector": "SBI_FORMAT_A",
        "value_slab": "LT_5CR",
        "report_type": "VALUATION",
        "bank_type": "SBI",
        "actor_user_id": str(ACTOR),
        "readiness_score": 100,
    }
    return ReadyForRender.model_validate({**event, **fields})


async def render_ready(
    fakes: FactoryFakes,
    settings: Settings,
    event: ReadyForRender | None = None,
    *,
    source_version: int = 5,
    uow: FakeUnitOfWork | None = None,
) -> None:
    """The bridge: the work order becomes READY_FOR_RENDER and its pack is built (in ``uow`` when given,
    so the test reads what it published)."""
    command = RenderReadyWorkOrder(event or ready_for_render(), str(TENANT), source_version)
    await render_ready_work_order(uow or fakes.uow(), command, settings=settings, blobs=fakes.blobs)


def worker(fakes: FactoryFakes, settings: Settings, render: Renderer | None = None) -> GenerationWorker:
    """The generation worker over the fakes; ``render`` stands for the DOCX renderer (a fixed DOCX)."""

    def fixed_docx(bundle: Mapping[str, Any], **_facts: Any) -> bytes:
        return DOCX

    return GenerationWorker(fakes.uow, fakes.blobs, settings, render=render or fixed_docx)


Arrange = Callable[[FactoryFakes, Settings], Awaitable[object]]
"""A state to start from, built through the handlers (the arrange step of a parametrized test)."""


async def nothing(fakes: FactoryFakes, settings: Settings) -> None:
    """The factory has heard nothing of the work order."""


async def projected_only(fakes: FactoryFakes, settings: Settings) -> None:
    """The work order is projected as READY_FOR_RENDER but no pack was built."""
    await fakes.work_orders.upsert(str(WORK_ORDER), str(TENANT), {"status": "READY_FOR_RENDER"}, 1)


async def generated_pack(fakes: FactoryFakes, settings: Settings) -> PackRecord:
    """A work order whose live pack was built and rendered: the state a release needs."""
    await render_ready(fakes, settings)
    (job,) = fakes.jobs.rows.values()
    await worker(fakes, settings).render_pack(
        fakes.uow(), RenderPack(uuid.UUID(job.id), str(TENANT), "req-1")
    )
    pack = await fakes.packs.live(WORK_ORDER)
    if pack is None or pack.status != "generated":
        raise RuntimeError(f"the pack was not generated: {pack}")
    return pack


def release_request(key: str = "release-1", *, work_order_id: uuid.UUID = WORK_ORDER) -> RequestRelease:
    """An operator's release request without override."""
    return RequestRelease(TENANT, work_order_id, ACTOR, ReleaseRequest(key, False, None))


def gate_decided(release_id: str, result: str = "CREDIT_CONSUMED", **fields: Any) -> GateDecided:
    """billing's decision on a release."""
    decision: dict[str, Any] = {
        "decision_id": "decision-1",
        "release_id": release_id,
        "work_order_id": str(WORK_ORDER),
        "idempotency_key": "release-1",
        "mode": "CREDIT",
        "result": result,
        "ledger_entry_ids": ["ledger-1"],
        "decision_hash": "hash-1",
    }
    return GateDecided.model_validate({**decision, **fields})


async def released(fakes: FactoryFakes, settings: Settings, result: str = "CREDIT_CONSUMED") -> ReleaseRecord:
    """A generated pack released once with billing's ``result``."""
    await generated_pack(fakes, settings)
    started = await request_release(fakes.uow(str(TENANT)), release_request())
    await record_gate_outcome(fakes.uow(), RecordGateOutcome(gate_decided(started.release_id, result)))
    return fakes.releases.rows[started.release_id]
