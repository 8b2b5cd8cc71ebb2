"""All SQL of the evidence service, one repository per aggregate. Repositories never commit.

Every query names the tenant explicitly even though row-level security already scopes the ``app``
role: consumers run as the ``system`` role, which sees every tenant. The tenant is an argument of each
method rather than state of the repository, because a consumer applies a batch of messages of
several tenants in one unit of work (one repository instance each). Results are frozen dataclasses of
the rows.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass, fields
from typing import Any, Final, TypeVar

from sqlalchemy import ColumnElement, Row, Select, Table, func, insert, select, text, update
from sqlalchemy.dialects.postgresql import insert as pg_insert

from evidence_service import tables as t
from evidence_service.domain.profiles import PROFILE_IDENTITY, SEED_FIELD_DEFS, SEED_PROFILES, ProfileSeed
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
from shared.db.uow import Repository, UnitOfWork

SEED_VERSION: Final = 1
"""Bump when the seeds of domain.md §4.2 change, so existing tenants get the missing rows."""

R = TypeVar("R")


def _record(cls: type[R], row: Row[Any]) -> R:
    return cls(**{f.name: row._mapping[f.name] for f in fields(cls)})  # type: ignore[arg-type]


def _as_dict(values: Any) -> dict[str, Any]:
    return {f.name: getattr(values, f.name) for f in fields(values)}


def _in_request_order(**values: Any) -> dict[str, Any]:
    # clock_timestamp(), not now(): rows written by one request keep their order in created_at.
    return {**values, "created_at": func.clock_timestamp(), "updated_at": func.clock_timestamp()}


class _Rows(Repository):
    async def _one(self, cls: type[R], query: Select[Any]) -> R | None:
        row = (await self.session.execute(query)).first()
        return None if row is None else _record(cls, row)

    async def _all(self, cls: type[R], query: Select[Any]) -> list[R]:
        return [_record(cls, row) for row in (await self.session.execute(query)).all()]

    async def _touch(self, table: Table, tenant_id: uuid.UUID, row_id: uuid.UUID, **values: Any) -> None:
        """Set ``values`` on the tenant's row ``row_id`` (``updated_at`` in request order too)."""
        await self.session.execute(
            update(table)
            .where(table.c.id == row_id, table.c.tenant_id == tenant_id)
            .values(**values, updated_at=func.clock_timestamp())
        )


# ---------------------------------------------------------------------------------------- documents


class DocumentRepository(_Rows):
    """Uploaded documents (deleted ones are invisible)."""

    def _visible(self, tenant_id: uuid.UUID) -> ColumnElement[bool]:
        return (t.documents.c.tenant_id == tenant_id) & t.documents.c.deleted_at.is_(None)

    async def add(self, tenant_id: uuid.UUID, document: NewDocument) -> Document:
        """Insert the metadata of an upload and return the stored row."""
        query = insert(t.documents).values(tenant_id=tenant_id, **_as_dict(document)).returning(t.documents)
        return _record(Document, (await self.session.execute(query)).one())

    async def get(self, tenant_id: uuid.UUID, document_id: uuid.UUID) -> Document | None:
        """The visible document with this id."""
        return await self._one(
            Document, select(t.documents).where(self._visible(tenant_id), t.documents.c.id == document_id)
        )

    async def by_ids(self, tenant_id: uuid.UUID, ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, Document]:
        """The visible documents among ``ids``."""
        wanted = list(set(ids))
        if not wanted:
            return {}
        rows = await self._all(
            Document, select(t.documents).where(self._visible(tenant_id), t.documents.c.id.in_(wanted))
        )
        return {row.id: row for row in rows}

    async def newest(
        self, tenant_id: uuid.UUID, *, limit: int, among: Iterable[uuid.UUID] | None = None
    ) -> list[Document]:
        """At most ``limit`` visible documents, newest first (``created_at``, then ``id``, descending);
        only those among ``among`` when given."""
        query = select(t.documents).where(self._visible(tenant_id))
        if among is not None:
            query = query.where(t.documents.c.id.in_(list(set(among))))
        order = (t.documents.c.created_at.desc(), t.documents.c.id.desc())
        return await self._all(Document, query.order_by(*order).limit(limit))


# ---------------------------------------------------------------------------- work-order projection


class WorkOrderRepository(_Rows):
    """The work-order projection and the snapshots announced for it."""

    def _this(self, tenant_id: uuid.UUID, work_order_id: uuid.UUID) -> ColumnElement[bool]:
        return (t.work_orders.c.work_order_id == work_order_id) & (t.work_orders.c.tenant_id == tenant_id)

    async def get(
        self, tenant_id: uuid.UUID, work_order_id: uuid.UUID, *, for_update: bool = False
    ) -> WorkOrder | None:
        """The projected work order (row-locked with ``for_update``)."""
        query = select(t.work_orders).where(self._this(tenant_id, work_order_id))
        return await self._one(WorkOrder, query.with_for_update() if for_update else query)

    async def add(self, work_order: NewWorkOrder) -> bool:
        """Project a created work order; False when it was projected before."""
        query = (
            pg_insert(t.work_orders)
            .values(**_as_dict(work_order))
            .on_conflict_do_nothing(index_elements=[t.work_orders.c.work_order_id])
            .returning(t.work_orders.c.work_order_id)
        )
        return (await self.session.execute(query)).first() is not None

    async def _set(self, tenant_id: uuid.UUID, work_order_id: uuid.UUID, **values: Any) -> None:
        await self.session.execute(
            update(t.work_orders)
            .where(self._this(tenant_id, work_order_id))
            .values(**values, updated_at=func.now())
        )

    async def set_profile(
        self, tenant_id: uuid.UUID, work_order_id: uuid.UUID, profile_id: uuid.UUID, chosen_by: str
    ) -> None:
        """Record the selected evidence profile and who chose it (``auto`` or ``operator``)."""
        await self._set(tenant_id, work_order_id, evidence_profile_id=profile_id, profile_chosen_by=chosen_by)

    async def set_status(self, tenant_id: uuid.UUID, work_order_id: uuid.UUID, status: str) -> None:
        """Follow a status change of the work order (decision 29 locks on it)."""
        await self._set(tenant_id, work_order_id, status=status)

    async def set_source_version(self, tenant_id: uuid.UUID, work_order_id: uuid.UUID, version: int) -> None:
        """The workorders version the projection now reflects."""
        await self._set(tenant_id, work_order_id, source_version=version)

    async def apply_snapshot(
        self, tenant_id: uuid.UUID, work_order_id: uuid.UUID, snapshot: SnapshotApplied
    ) -> None:
        """Take over a newer contract snapshot."""
        await self._set(tenant_id, work_order_id, **_as_dict(snapshot))

    async def bump_evidence_version(self, tenant_id: uuid.UUID, work_order_id: uuid.UUID) -> int:
        """The next ``evidence_version`` of the work order (the caller holds its row lock)."""
        query = (
            update(t.work_orders)
            .where(self._this(tenant_id, work_order_id))
            .values(evidence_version=t.work_orders.c.evidence_version + 1, updated_at=func.now())
            .returning(t.work_orders.c.evidence_version)
        )
        return int((await self.session.execute(query)).scalar_one())

    async def record_snapshot(
        self, tenant_id: uuid.UUID, work_order_id: uuid.UUID, snapshot_id: uuid.UUID, version: int
    ) -> None:
        """Remember a snapshot announced for the work order (validates snapshot ids of field links)."""
        await self.session.execute(
            pg_insert(t.work_order_snapshots)
            .values(
                snapshot_id=snapshot_id,
                tenant_id=tenant_id,
                work_order_id=work_order_id,
                version=version,
            )
            .on_conflict_do_nothing()
        )

    async def source_version(self, tenant_id: uuid.UUID, work_order_id: uuid.UUID) -> int | None:
        """The workorders version the projection of the work order reflects, None when not projected."""
        query = select(t.work_orders.c.source_version).where(self._this(tenant_id, work_order_id))
        value = (await self.session.execute(query)).scalar_one_or_none()
        return None if value is None else int(value)

    async def snapshot_version(
        self, tenant_id: uuid.UUID, work_order_id: uuid.UUID, snapshot_id: uuid.UUID
    ) -> int | None:
        """The version of a snapshot of this work order, None when it is not one of its snapshots."""
        s = t.work_order_snapshots
        query = select(s.c.version).where(
            s.c.snapshot_id == snapshot_id,
            s.c.work_order_id == work_order_id,
            s.c.tenant_id == tenant_id,
        )
        value = (await self.session.execute(query)).scalar_one_or_none()
        return None if value is None else int(value)


# ---------------------------------------------------------------------------- profiles and field defs


def _items_count() -> Any:
    i = t.evidence_profile_items
    return (
        select(func.count())
        .select_from(i)
        .where(i.c.profile_id == t.evidence_profiles.c.id)
        .scalar_subquery()
    ).label("items_count")


class ProfileRepository(_Rows):
    """Evidence profiles, their items and the field definitions (seeded per tenant on first use)."""

    async def ensure_defaults(self, tenant_id: uuid.UUID) -> None:
        """Create the seeded field defs and profiles of domain.md §4.2 for this tenant, once.

        Idempotent and safe under concurrency: a transaction-scoped advisory lock per tenant serializes
        seeding, unique constraints + ON CONFLICT make every insert repeatable, and items are inserted
        only into a profile that has none.
        """
        marker = (
            await self.session.execute(
                select(t.seeded_tenants.c.seed_version).where(t.seeded_tenants.c.tenant_id == tenant_id)
            )
        ).scalar_one_or_none()
        if marker is not None and int(marker) >= SEED_VERSION:
            return
        await self.session.execute(
            text("SELECT pg_advisory_xact_lock(hashtextextended(:k, 0))"),
            {"k": f"{t.metadata.schema}|seed|{tenant_id}"},
        )
        for field in SEED_FIELD_DEFS:
            await self.session.execute(
                pg_insert(t.field_defs)
                .values(id=uuid.uuid4(), tenant_id=tenant_id, **_as_dict(field))
                .on_conflict_do_nothing(index_elements=["tenant_id", "field_key"])
            )
        for seed in SEED_PROFILES:
            await self._seed_profile(tenant_id, seed)
        await self.session.execute(
            pg_insert(t.seeded_tenants)
            .values(tenant_id=tenant_id, seed_version=SEED_VERSION)
            .on_conflict_do_update(
                index_elements=["tenant_id"], set_={"seed_version": SEED_VERSION, "seeded_at": func.now()}
            )
        )

    async def _seed_profile(self, tenant_id: uuid.UUID, seed: ProfileSeed) -> None:
        p = t.evidence_profiles
        identity = seed.identity()
        await self.session.execute(
            pg_insert(p)
            .values(
                id=uuid.uuid4(),
                tenant_id=tenant_id,
                is_default=seed.is_default,
                metadata_json=seed.metadata_json,
                **identity,
            )
            .on_conflict_do_nothing(index_elements=["tenant_id", *PROFILE_IDENTITY])
        )
        found = (
            await self.session.execute(
                select(p.c.id, _items_count()).where(
                    p.c.tenant_id == tenant_id, *(p.c[name] == value for name, value in identity.items())
                )
            )
        ).one()
        if int(found.items_count) > 0:
            return
        for position, item in enumerate(seed.items):
            columns = _as_dict(item)
            await self.session.execute(
                pg_insert(t.evidence_profile_items)
                .values(
                    _in_request_order(
                        id=uuid.uuid4(),
                        tenant_id=tenant_id,
                        profile_id=found.id,
                        seed_position=position,
                        **columns,
                    )
                )
                .on_conflict_do_nothing(index_elements=["profile_id", "seed_position"])
            )

    def _profiles(self, tenant_id: uuid.UUID) -> Select[Any]:
        return select(t.evidence_profiles, _items_count()).where(t.evidence_profiles.c.tenant_id == tenant_id)

    async def for_report_type(self, tenant_id: uuid.UUID, report_type: str | None = None) -> list[Profile]:
        """Profiles of the tenant (optionally of one report type): default first, then name."""
        p = t.evidence_profiles
        query = self._profiles(tenant_id).order_by(
            p.c.is_default.desc(), p.c.name.asc(), p.c.created_at.asc(), p.c.id.asc()
        )
        if report_type:
            query = query.where(p.c.report_type == report_type)
        return await self._all(Profile, query)

    async def get(self, tenant_id: uuid.UUID, profile_id: uuid.UUID) -> Profile | None:
        """The profile with this id."""
        return await self._one(
            Profile, self._profiles(tenant_id).where(t.evidence_profiles.c.id == profile_id)
        )

    async def items(self, tenant_id: uuid.UUID, profile_id: uuid.UUID) -> list[ProfileItem]:
        """The requirements of a profile by ``order_hint`` (missing hints last)."""
        i = t.evidence_profile_items
        query = (
            select(i)
            .where(i.c.profile_id == profile_id, i.c.tenant_id == tenant_id)
            .order_by(i.c.order_hint.asc().nulls_last(), i.c.id.asc())
        )
        return await self._all(ProfileItem, query)

    async def field_defs(self, tenant_id: uuid.UUID) -> list[FieldDef]:
        """Field definitions, the required ones first."""
        f = t.field_defs
        query = (
            select(f)
            .where(f.c.tenant_id == tenant_id)
            .order_by(f.c.required_by_default.desc(), f.c.field_key.asc())
        )
        return await self._all(FieldDef, query)


# ----------------------------------------------------------------------------------- evidence items


class EvidenceItemRepository(_Rows):
    """Evidence items of the work orders."""

    async def of_work_order(self, tenant_id: uuid.UUID, work_order_id: uuid.UUID) -> list[EvidenceItem]:
        """Evidence items of a work order in the order of domain.md §1.6."""
        e = t.evidence_items
        query = (
            select(e)
            .where(e.c.work_order_id == work_order_id, e.c.tenant_id == tenant_id)
            .order_by(e.c.annexure_order.asc().nulls_last(), e.c.created_at.asc(), e.c.id.asc())
        )
        return await self._all(EvidenceItem, query)

    async def get(
        self, tenant_id: uuid.UUID, work_order_id: uuid.UUID, item_id: uuid.UUID
    ) -> EvidenceItem | None:
        """The item of the work order with this id."""
        e = t.evidence_items
        query = select(e).where(
            e.c.id == item_id, e.c.work_order_id == work_order_id, e.c.tenant_id == tenant_id
        )
        return await self._one(EvidenceItem, query)

    async def add(
        self, tenant_id: uuid.UUID, work_order_id: uuid.UUID, item_id: uuid.UUID, values: ItemValues
    ) -> None:
        """Insert an item (the items of one request keep their order)."""
        row = _in_request_order(
            id=item_id, tenant_id=tenant_id, work_order_id=work_order_id, **_as_dict(values)
        )
        await self.session.execute(insert(t.evidence_items).values(row))

    async def overwrite(self, tenant_id: uuid.UUID, item_id: uuid.UUID, values: ItemValues) -> None:
        """Overwrite every mutable column of an item."""
        await self._touch(t.evidence_items, tenant_id, item_id, **_as_dict(values))

    async def set_annexure_order(self, tenant_id: uuid.UUID, item_id: uuid.UUID, order: int) -> None:
        """Move an item in the annexure (nothing else changes)."""
        await self._touch(t.evidence_items, tenant_id, item_id, annexure_order=order)


# ----------------------------------------------------------------------------- field-evidence links


class FieldLinkRepository(_Rows):
    """Field-evidence links of the work orders."""

    def _of(self, tenant_id: uuid.UUID, work_order_id: uuid.UUID) -> Select[Any]:
        f = t.field_evidence_links
        return select(f).where(f.c.work_order_id == work_order_id, f.c.tenant_id == tenant_id)

    async def of_work_order(self, tenant_id: uuid.UUID, work_order_id: uuid.UUID) -> list[FieldLink]:
        """All links of the work order, newest first (decision 6: they survive new snapshots)."""
        f = t.field_evidence_links
        return await self._all(
            FieldLink, self._of(tenant_id, work_order_id).order_by(f.c.created_at.desc(), f.c.id.desc())
        )

    async def get(
        self, tenant_id: uuid.UUID, work_order_id: uuid.UUID, link_id: uuid.UUID
    ) -> FieldLink | None:
        """The link of the work order with this id."""
        return await self._one(
            FieldLink, self._of(tenant_id, work_order_id).where(t.field_evidence_links.c.id == link_id)
        )

    async def by_key(
        self, tenant_id: uuid.UUID, work_order_id: uuid.UUID, field_key: str, evidence_item_id: uuid.UUID
    ) -> FieldLink | None:
        """The link tying ``field_key`` to the evidence item, if any."""
        f = t.field_evidence_links
        query = self._of(tenant_id, work_order_id).where(
            f.c.field_key == field_key, f.c.evidence_item_id == evidence_item_id
        )
        return await self._one(FieldLink, query)

    async def add(
        self,
        tenant_id: uuid.UUID,
        work_order_id: uuid.UUID,
        link_id: uuid.UUID,
        values: LinkValues,
        user_id: uuid.UUID | None,
    ) -> None:
        """Insert a link (the links of one request keep their order)."""
        row = _in_request_order(
            id=link_id,
            tenant_id=tenant_id,
            work_order_id=work_order_id,
            created_by_user_id=user_id,
            **_as_dict(values),
        )
        await self.session.execute(insert(t.field_evidence_links).values(row))

    async def overwrite(self, tenant_id: uuid.UUID, link_id: uuid.UUID, values: LinkValues) -> None:
        """Overwrite every mutable column of a link."""
        await self._touch(t.field_evidence_links, tenant_id, link_id, **_as_dict(values))

    async def remove(self, tenant_id: uuid.UUID, link_id: uuid.UUID) -> None:
        """Delete a link."""
        f = t.field_evidence_links
        await self.session.execute(f.delete().where(f.c.id == link_id, f.c.tenant_id == tenant_id))


# ----------------------------------------------------------------------------------------- OCR jobs


class OcrJobRepository(_Rows):
    """OCR jobs of the work orders."""

    async def add(self, tenant_id: uuid.UUID, job: NewOcrJob) -> OcrJob:
        """Queue a job (status QUEUED) and return it."""
        query = (
            insert(t.ocr_jobs)
            .values(tenant_id=tenant_id, status="QUEUED", **_as_dict(job))
            .returning(t.ocr_jobs)
        )
        return _record(OcrJob, (await self.session.execute(query)).one())

    async def get(
        self, tenant_id: uuid.UUID, job_id: uuid.UUID, *, for_update: bool = False
    ) -> OcrJob | None:
        """The job with this id (row-locked with ``for_update``)."""
        j = t.ocr_jobs
        query = select(j).where(j.c.id == job_id, j.c.tenant_id == tenant_id)
        return await self._one(OcrJob, query.with_for_update() if for_update else query)

    async def of_work_order(self, tenant_id: uuid.UUID, work_order_id: uuid.UUID) -> list[OcrJob]:
        """OCR jobs of a work order, newest first (domain.md §1.8)."""
        j = t.ocr_jobs
        query = (
            select(j)
            .where(j.c.work_order_id == work_order_id, j.c.tenant_id == tenant_id)
            .order_by(j.c.created_at.desc(), j.c.id.desc())
        )
        return await self._all(OcrJob, query)

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
        """Record the outcome of a job."""
        j = t.ocr_jobs
        await self.session.execute(
            update(j)
            .where(j.c.id == job_id, j.c.tenant_id == tenant_id)
            .values(
                status=status,
                finished_at=func.now(),
                result_json=result,
                error=error,
                worker_trace=trace,
                updated_at=func.now(),
            )
        )


@dataclass(frozen=True)
class Repositories:
    """Every repository of the service in one unit of work (what the work-order use cases work with)."""

    documents: DocumentRepository
    work_orders: WorkOrderRepository
    profiles: ProfileRepository
    items: EvidenceItemRepository
    links: FieldLinkRepository
    jobs: OcrJobRepository

    @classmethod
    def of(cls, uow: UnitOfWork) -> Repositories:
        """The unit of work's instance of each repository."""
        return cls(
            uow.repo(DocumentRepository),
            uow.repo(WorkOrderRepository),
            uow.repo(ProfileRepository),
            uow.repo(EvidenceItemRepository),
            uow.repo(FieldLinkRepository),
            uow.repo(OcrJobRepository),
        )
