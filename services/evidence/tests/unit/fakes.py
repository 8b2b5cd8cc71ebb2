"""In-memory fakes of the evidence repositories, for the fast handler tests (cosmicpython's fakes).

Each fake subclasses the real repository and overrides exactly the methods the handlers call, with
the semantics of its SQL: rows are scoped by tenant, missing rows are None, orderings and defaults are
the repository's, versions only grow. ``for_update`` reads are recorded in ``locked`` so a test can
tell that a handler held the work order's row lock.
"""

from __future__ import annotations

import dataclasses
import itertools
import uuid
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from typing import Any, Final, Generic, Protocol, TypeVar

from devstack.testing.data import OTHER_TENANT, TEST_TENANT
from evidence_service.domain.profiles import SEED_FIELD_DEFS, SEED_PROFILES, ProfileSeed
from evidence_service.records import (
    Document,
    EvidenceItem,
    FieldDef,
    FieldLink,
    ItemValues,
    LinkValues,
    NewDocument,
    NewOcrJob,
    NewWorkOrder,
    OcrJob,
    Profile,
    ProfileItem,
    SnapshotApplied,
    WorkOrder,
)
from evidence_service.repositories import (
    DocumentRepository,
    EvidenceItemRepository,
    FieldLinkRepository,
    OcrJobRepository,
    ProfileRepository,
    WorkOrderRepository,
)
from shared.db.uow import Repository

TENANT: Final = uuid.UUID(TEST_TENANT)
OTHER: Final = uuid.UUID(OTHER_TENANT)

_EPOCH: Final = datetime(2026, 1, 1, tzinfo=UTC)
_ticks = itertools.count()


def now() -> datetime:
    """A clock that moves on every call, like ``clock_timestamp()``: rows written later sort later."""
    return _EPOCH + timedelta(milliseconds=next(_ticks))


_NOW_COLUMNS: Final = frozenset({"created_at", "updated_at", "requested_at"})
R = TypeVar("R")


def _row(cls: type[R], **values: Any) -> R:
    """A new row of ``cls``: ``values``, the time columns at :func:`now`, every other column null."""
    stamp = now()
    columns = {f.name: stamp if f.name in _NOW_COLUMNS else None for f in dataclasses.fields(cls)}  # type: ignore[arg-type]  # R is any row dataclass
    return cls(**{**columns, **values})


def _touched(row: R, **values: Any) -> R:
    """``row`` with ``values`` set and ``updated_at`` moved on, as an UPDATE of the repository does."""
    return dataclasses.replace(row, **values, updated_at=now())  # type: ignore[type-var]  # R is any row dataclass


def _nulls_last(value: int | None) -> tuple[bool, int]:
    return (value is None, value or 0)


class _TenantRows(Generic[R]):
    """Rows keyed by (tenant, id): another tenant's id finds nothing, as the repositories' queries."""

    def __init__(self) -> None:
        self.rows: dict[tuple[uuid.UUID, uuid.UUID], R] = {}

    def of(self, tenant_id: uuid.UUID) -> list[R]:
        """The tenant's rows in the order they were written (for assertions)."""
        return [row for (tenant, _), row in self.rows.items() if tenant == tenant_id]

    def _change(self, tenant_id: uuid.UUID, row_id: uuid.UUID, **values: Any) -> None:
        found = self.rows.get((tenant_id, row_id))
        if found is not None:
            self.rows[(tenant_id, row_id)] = _touched(found, **values)


class _OfWorkOrder(Protocol):
    @property
    def work_order_id(self) -> uuid.UUID: ...


W = TypeVar("W", bound=_OfWorkOrder)


class _WorkOrderRows(_TenantRows[W]):
    """Rows of the tenant's work orders: an id of another work order finds nothing either."""

    def _find(self, tenant_id: uuid.UUID, work_order_id: uuid.UUID, row_id: uuid.UUID) -> W | None:
        found = self.rows.get((tenant_id, row_id))
        return found if found is not None and found.work_order_id == work_order_id else None

    def _of_work_order(self, tenant_id: uuid.UUID, work_order_id: uuid.UUID) -> list[W]:
        return [row for row in self.of(tenant_id) if row.work_order_id == work_order_id]


class FakeDocuments(_TenantRows[Document], DocumentRepository):
    """Uploaded documents (a deleted document never enters the fake: the SQL hides it)."""

    async def add(self, tenant_id: uuid.UUID, document: NewDocument) -> Document:
        stored = _row(Document, **dataclasses.asdict(document), tenant_id=tenant_id, status="uploaded")
        self.rows[(tenant_id, stored.id)] = stored
        return stored

    async def get(self, tenant_id: uuid.UUID, document_id: uuid.UUID) -> Document | None:
        return self.rows.get((tenant_id, document_id))

    async def by_ids(self, tenant_id: uuid.UUID, ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, Document]:
        found = (self.rows.get((tenant_id, document_id)) for document_id in set(ids))
        return {document.id: document for document in found if document is not None}

    async def newest(
        self, tenant_id: uuid.UUID, *, limit: int, among: Iterable[uuid.UUID] | None = None
    ) -> list[Document]:
        wanted = None if among is None else set(among)
        found = [d for d in self.of(tenant_id) if wanted is None or d.id in wanted]
        return sorted(found, key=lambda d: (d.created_at, d.id), reverse=True)[:limit]


class FakeWorkOrders(WorkOrderRepository):
    """The work-order projection and the snapshots announced for it."""

    def __init__(self) -> None:
        self.rows: dict[uuid.UUID, WorkOrder] = {}
        self.snapshots: dict[uuid.UUID, tuple[uuid.UUID, uuid.UUID, int]] = {}
        """snapshot id → (tenant, work order, version)."""
        self.locked: set[uuid.UUID] = set()

    @staticmethod
    def projected(work_order: NewWorkOrder) -> WorkOrder:
        """The row a ``created`` event projects (the column defaults for the rest)."""
        return _row(WorkOrder, **dataclasses.asdict(work_order), rule_warnings=[], evidence_version=0)

    def _mine(self, tenant_id: uuid.UUID, work_order_id: uuid.UUID) -> WorkOrder | None:
        found = self.rows.get(work_order_id)
        return found if found is not None and found.tenant_id == tenant_id else None

    def _update(self, tenant_id: uuid.UUID, work_order_id: uuid.UUID, **values: Any) -> None:
        found = self._mine(tenant_id, work_order_id)
        if found is not None:
            self.rows[work_order_id] = dataclasses.replace(found, **values)

    async def get(
        self, tenant_id: uuid.UUID, work_order_id: uuid.UUID, *, for_update: bool = False
    ) -> WorkOrder | None:
        found = self._mine(tenant_id, work_order_id)
        if found is not None and for_update:
            self.locked.add(work_order_id)
        return found

    async def add(self, work_order: NewWorkOrder) -> bool:
        if work_order.work_order_id in self.rows:
            return False
        self.rows[work_order.work_order_id] = self.projected(work_order)
        return True

    async def set_profile(
        self, tenant_id: uuid.UUID, work_order_id: uuid.UUID, profile_id: uuid.UUID, chosen_by: str
    ) -> None:
        self._update(tenant_id, work_order_id, evidence_profile_id=profile_id, profile_chosen_by=chosen_by)

    async def set_status(self, tenant_id: uuid.UUID, work_order_id: uuid.UUID, status: str) -> None:
        self._update(tenant_id, work_order_id, status=status)

    async def set_source_version(self, tenant_id: uuid.UUID, work_order_id: uuid.UUID, version: int) -> None:
        self._update(tenant_id, work_order_id, source_version=version)

    async def apply_snapshot(
        self, tenant_id: uuid.UUID, work_order_id: uuid.UUID, snapshot: SnapshotApplied
    ) -> None:
        self._update(tenant_id, work_order_id, **dataclasses.asdict(snapshot))

    async def bump_evidence_version(self, tenant_id: uuid.UUID, work_order_id: uuid.UUID) -> int:
        found = self._mine(tenant_id, work_order_id)
        if found is None:
            raise LookupError(f"no work order {work_order_id}")  # scalar_one() of an UPDATE that hit nothing
        self._update(tenant_id, work_order_id, evidence_version=found.evidence_version + 1)
        return found.evidence_version + 1

    async def record_snapshot(
        self, tenant_id: uuid.UUID, work_order_id: uuid.UUID, snapshot_id: uuid.UUID, version: int
    ) -> None:
        self.snapshots.setdefault(snapshot_id, (tenant_id, work_order_id, version))

    async def source_version(self, tenant_id: uuid.UUID, work_order_id: uuid.UUID) -> int | None:
        found = self._mine(tenant_id, work_order_id)
        return None if found is None else found.source_version

    async def snapshot_version(
        self, tenant_id: uuid.UUID, work_order_id: uuid.UUID, snapshot_id: uuid.UUID
    ) -> int | None:
        tenant, wo, version = self.snapshots.get(snapshot_id, (None, None, None))
        return version if (tenant, wo) == (tenant_id, work_order_id) else None


class FakeProfiles(ProfileRepository):
    """Evidence profiles, their items and the field definitions, seeded per tenant on first use."""

    def __init__(self) -> None:
        self.profiles: dict[uuid.UUID, Profile] = {}
        self.profile_items: dict[uuid.UUID, list[ProfileItem]] = {}
        self.defs: dict[uuid.UUID, dict[str, FieldDef]] = {}
        """tenant → field key → definition."""
        self.seeded: set[uuid.UUID] = set()

    def add_profile(self, tenant_id: uuid.UUID, seed: ProfileSeed) -> Profile:
        """Store a profile like the repository seeds it, with its items."""
        items = [_row(ProfileItem, id=uuid.uuid4(), **dataclasses.asdict(item)) for item in seed.items]
        profile = _row(
            Profile,
            **seed.identity(),
            id=uuid.uuid4(),
            tenant_id=tenant_id,
            is_default=seed.is_default,
            metadata_json=seed.metadata_json,
            items_count=len(items),
        )
        self.profiles[profile.id] = profile
        self.profile_items[profile.id] = items
        return profile

    async def ensure_defaults(self, tenant_id: uuid.UUID) -> None:
        if tenant_id in self.seeded:
            return
        defs = self.defs.setdefault(tenant_id, {})
        for field in SEED_FIELD_DEFS:
            defs.setdefault(field.field_key, FieldDef(id=uuid.uuid4(), **dataclasses.asdict(field)))
        taken = [
            (p.tenant_id, p.report_type, p.bank_type, p.value_slab, p.name) for p in self.profiles.values()
        ]
        for seed in SEED_PROFILES:
            if (tenant_id, *seed.identity().values()) not in taken:  # ON CONFLICT DO NOTHING
                self.add_profile(tenant_id, seed)
        self.seeded.add(tenant_id)

    async def for_report_type(self, tenant_id: uuid.UUID, report_type: str | None = None) -> list[Profile]:
        found = [
            p
            for p in self.profiles.values()
            if p.tenant_id == tenant_id and (not report_type or p.report_type == report_type)
        ]
        return sorted(found, key=lambda p: (not p.is_default, p.name, p.created_at, p.id))

    async def get(self, tenant_id: uuid.UUID, profile_id: uuid.UUID) -> Profile | None:
        found = self.profiles.get(profile_id)
        return found if found is not None and found.tenant_id == tenant_id else None

    async def items(self, tenant_id: uuid.UUID, profile_id: uuid.UUID) -> list[ProfileItem]:
        if await self.get(tenant_id, profile_id) is None:
            return []
        return sorted(self.profile_items[profile_id], key=lambda i: (_nulls_last(i.order_hint), i.id))

    async def field_defs(self, tenant_id: uuid.UUID) -> list[FieldDef]:
        found = self.defs.get(tenant_id, {}).values()
        return sorted(found, key=lambda f: (not f.required_by_default, f.field_key))


class FakeItems(_WorkOrderRows[EvidenceItem], EvidenceItemRepository):
    """Evidence items."""

    async def of_work_order(self, tenant_id: uuid.UUID, work_order_id: uuid.UUID) -> list[EvidenceItem]:
        return sorted(
            self._of_work_order(tenant_id, work_order_id),
            key=lambda i: (_nulls_last(i.annexure_order), i.created_at, i.id),
        )

    async def get(
        self, tenant_id: uuid.UUID, work_order_id: uuid.UUID, item_id: uuid.UUID
    ) -> EvidenceItem | None:
        return self._find(tenant_id, work_order_id, item_id)

    async def add(
        self, tenant_id: uuid.UUID, work_order_id: uuid.UUID, item_id: uuid.UUID, values: ItemValues
    ) -> None:
        item = _row(EvidenceItem, **dataclasses.asdict(values), id=item_id, work_order_id=work_order_id)
        self.rows[(tenant_id, item_id)] = item

    async def overwrite(self, tenant_id: uuid.UUID, item_id: uuid.UUID, values: ItemValues) -> None:
        self._change(tenant_id, item_id, **dataclasses.asdict(values))

    async def set_annexure_order(self, tenant_id: uuid.UUID, item_id: uuid.UUID, order: int) -> None:
        self._change(tenant_id, item_id, annexure_order=order)


class FakeLinks(_WorkOrderRows[FieldLink], FieldLinkRepository):
    """Field-evidence links."""

    async def of_work_order(self, tenant_id: uuid.UUID, work_order_id: uuid.UUID) -> list[FieldLink]:
        return sorted(
            self._of_work_order(tenant_id, work_order_id),
            key=lambda link: (link.created_at, link.id),
            reverse=True,
        )

    async def get(
        self, tenant_id: uuid.UUID, work_order_id: uuid.UUID, link_id: uuid.UUID
    ) -> FieldLink | None:
        return self._find(tenant_id, work_order_id, link_id)

    async def by_key(
        self, tenant_id: uuid.UUID, work_order_id: uuid.UUID, field_key: str, evidence_item_id: uuid.UUID
    ) -> FieldLink | None:
        for link in await self.of_work_order(tenant_id, work_order_id):
            if (link.field_key, link.evidence_item_id) == (field_key, evidence_item_id):
                return link
        return None

    async def add(
        self,
        tenant_id: uuid.UUID,
        work_order_id: uuid.UUID,
        link_id: uuid.UUID,
        values: LinkValues,
        user_id: uuid.UUID | None,
    ) -> None:
        if await self.by_key(tenant_id, work_order_id, values.field_key, values.evidence_item_id):
            raise ValueError("unique (work_order_id, field_key, evidence_item_id) violated")
        self.rows[(tenant_id, link_id)] = _row(
            FieldLink,
            **dataclasses.asdict(values),
            id=link_id,
            work_order_id=work_order_id,
            created_by_user_id=user_id,
        )

    async def overwrite(self, tenant_id: uuid.UUID, link_id: uuid.UUID, values: LinkValues) -> None:
        self._change(tenant_id, link_id, **dataclasses.asdict(values))

    async def remove(self, tenant_id: uuid.UUID, link_id: uuid.UUID) -> None:
        self.rows.pop((tenant_id, link_id), None)


class FakeJobs(_WorkOrderRows[OcrJob], OcrJobRepository):
    """OCR jobs."""

    def __init__(self) -> None:
        super().__init__()
        self.locked: set[uuid.UUID] = set()

    async def add(self, tenant_id: uuid.UUID, job: NewOcrJob) -> OcrJob:
        stored = _row(OcrJob, **dataclasses.asdict(job), tenant_id=tenant_id, status="QUEUED")
        self.rows[(tenant_id, stored.id)] = stored
        return stored

    async def get(
        self, tenant_id: uuid.UUID, job_id: uuid.UUID, *, for_update: bool = False
    ) -> OcrJob | None:
        found = self.rows.get((tenant_id, job_id))
        if found is not None and for_update:
            self.locked.add(job_id)
        return found

    async def of_work_order(self, tenant_id: uuid.UUID, work_order_id: uuid.UUID) -> list[OcrJob]:
        return sorted(
            self._of_work_order(tenant_id, work_order_id), key=lambda j: (j.created_at, j.id), reverse=True
        )

    async def finish(
        self,
        tenant_id: uuid.UUID,
        job_id: uuid.UUID,
        *,
        status: str,
        result: dict[str, Any] | None,
        error: str | None,
        trace: str | None,
    ) -> None:
        outcome = {"status": status, "result_json": result, "error": error, "worker_trace": trace}
        self._change(tenant_id, job_id, **outcome, finished_at=now())


_NEW_WORK_ORDER: Final = NewWorkOrder(
    uuid.UUID(int=0),
    "VALUATION",
    "SBI",
    "State Bank of India",
    "LT_5CR",
    "UNKNOWN",
    "DATA_PENDING",
    1,
    TENANT,
)


@dataclasses.dataclass
class Fakes:
    """One fake of every repository, and builders of the rows a test starts from."""

    documents: FakeDocuments = dataclasses.field(default_factory=FakeDocuments)
    work_orders: FakeWorkOrders = dataclasses.field(default_factory=FakeWorkOrders)
    profiles: FakeProfiles = dataclasses.field(default_factory=FakeProfiles)
    items: FakeItems = dataclasses.field(default_factory=FakeItems)
    links: FakeLinks = dataclasses.field(default_factory=FakeLinks)
    jobs: FakeJobs = dataclasses.field(default_factory=FakeJobs)

    def all(self) -> tuple[Repository, ...]:
        """Every fake, for ``FakeUnitOfWork(*fakes.all())``."""
        return tuple(getattr(self, f.name) for f in dataclasses.fields(self))

    def work_order(self, tenant_id: uuid.UUID, **values: Any) -> WorkOrder:
        """A projected VALUATION work order of an SBI branch (``values`` override any column)."""
        created = dataclasses.replace(_NEW_WORK_ORDER, work_order_id=uuid.uuid4(), tenant_id=tenant_id)
        wo = dataclasses.replace(self.work_orders.projected(created), **values)
        self.work_orders.rows[wo.work_order_id] = wo
        return wo

    def item(self, wo: WorkOrder, evidence_type: str = "PHOTO", **values: Any) -> EvidenceItem:
        """An evidence item of ``wo`` (``values``: its other columns; omitted ones are null)."""
        item = _row(
            EvidenceItem,
            evidence_type=evidence_type,
            id=uuid.uuid4(),
            work_order_id=wo.work_order_id,
            **values,
        )
        self.items.rows[(wo.tenant_id, item.id)] = item
        return item

    def document(self, tenant_id: uuid.UUID, **values: Any) -> Document:
        """A stored PDF document of ``tenant_id`` (``values`` override any column)."""
        pdf = {"original_filename": "deed.pdf", "content_type": "application/pdf", "size_bytes": 4}
        stored = {"sha256": "0" * 64, "storage_key": "blobs/deed", "capture_json": {}, "status": "uploaded"}
        document = _row(Document, id=uuid.uuid4(), tenant_id=tenant_id, **{**pdf, **stored, **values})
        self.documents.rows[(tenant_id, document.id)] = document
        return document
