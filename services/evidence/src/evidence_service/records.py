"""Typed rows of the evidence schema: what repositories return and take (frozen dataclasses).

Handlers and views work with these, never with raw rows. ``New*`` and ``*Values`` are what a write
sets; the stored row extends them with what the database adds (tenant, status, timestamps).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, fields
from datetime import datetime
from typing import Any, Self, TypeVar

from evidence_service.domain.profiles import ItemSeed, ProfileColumns

V = TypeVar("V")


def project(cls: type[V], source: object, **overrides: object) -> V:
    """The ``cls`` part of ``source`` (a row or a contract naming the same fields), ``overrides`` on top."""
    values = {f.name: getattr(source, f.name) for f in fields(cls) if f.name not in overrides}  # type: ignore[arg-type]
    return cls(**values, **overrides)


@dataclass(frozen=True, slots=True)
class DocumentMetadata:
    """What the uploader says about a document (domain.md §1.1 enums, capture details)."""

    classification: str | None
    sensitivity: str | None
    source: str | None
    captured_at: datetime | None
    captured_by_employee_id: uuid.UUID | None
    capture_json: dict[str, Any]


@dataclass(frozen=True, slots=True)
class NewDocument(DocumentMetadata):
    """What an upload stores about a document."""

    id: uuid.UUID
    original_filename: str
    content_type: str
    declared_content_type: str | None
    size_bytes: int
    sha256: str
    storage_key: str
    created_by_user_id: uuid.UUID | None


@dataclass(frozen=True, slots=True)
class Document(NewDocument):
    """An uploaded document's metadata (the bytes are in the blob store under ``storage_key``)."""

    tenant_id: uuid.UUID
    status: str
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True, slots=True)
class NewWorkOrder:
    """A work order as its ``created`` event announces it (``tenant_id``: its org)."""

    work_order_id: uuid.UUID
    report_type: str
    bank_type: str
    bank_name: str
    value_slab: str
    template_selector: str
    status: str
    source_version: int
    tenant_id: uuid.UUID


@dataclass(frozen=True, slots=True)
class WorkOrder(NewWorkOrder):
    """The projection of one work order plus what evidence decided about it."""

    latest_contract: dict[str, Any] | None
    latest_snapshot_id: uuid.UUID | None
    latest_snapshot_version: int | None
    rule_warnings: list[str] | None
    evidence_profile_id: uuid.UUID | None
    profile_chosen_by: str | None
    evidence_version: int


@dataclass(frozen=True, slots=True)
class SnapshotApplied:
    """What a newer contract snapshot changes on the projection."""

    latest_contract: dict[str, Any]
    latest_snapshot_id: uuid.UUID
    latest_snapshot_version: int
    rule_warnings: list[str]
    value_slab: str
    template_selector: str
    bank_type: str


@dataclass(frozen=True, slots=True)
class Profile(ProfileColumns):
    """An evidence profile of a tenant with the number of its items."""

    id: uuid.UUID
    tenant_id: uuid.UUID
    created_at: datetime
    updated_at: datetime
    items_count: int


@dataclass(frozen=True, slots=True)
class ProfileItem(ItemSeed):
    """One requirement of an evidence profile (domain.md §4.4): a seeded item as stored."""

    id: uuid.UUID
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True, slots=True)
class FieldDef:
    """A contract field evidence can be linked to."""

    id: uuid.UUID
    field_key: str
    label: str
    data_type: str
    required_by_default: bool
    unit: str | None
    metadata_json: dict[str, Any] | None


class _Values:
    """The mutable columns of a row, to compare a stored row with a write (``XValues.of(row)``)."""

    __slots__ = ()

    @classmethod
    def of(cls, row: object) -> Self:
        """The mutable columns of ``row``."""
        return project(cls, row)


@dataclass(frozen=True, slots=True)
class ItemValues(_Values):
    """Every mutable column of an evidence item (domain.md §1.6: omitted fields become null)."""

    evidence_type: str
    doc_type: str | None
    classification: str | None
    sensitivity: str | None
    source: str | None
    document_id: uuid.UUID | None
    file_ref: str | None
    captured_by_employee_id: uuid.UUID | None
    captured_at: datetime | None
    annexure_order: int | None
    tags: dict[str, Any] | None


@dataclass(frozen=True, slots=True)
class EvidenceItem(ItemValues):
    """An evidence item of a work order (domain.md §1.6)."""

    id: uuid.UUID
    work_order_id: uuid.UUID
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True, slots=True)
class LinkValues(_Values):
    """Every mutable column of a field-evidence link (links made before snapshots have none)."""

    field_key: str
    evidence_item_id: uuid.UUID
    snapshot_id: uuid.UUID | None
    snapshot_version: int | None
    confidence: float | None
    note: str | None


@dataclass(frozen=True, slots=True)
class FieldLink(LinkValues):
    """A field-evidence link (domain.md §1.8) with the snapshot version it was made on (decision 6)."""

    id: uuid.UUID
    work_order_id: uuid.UUID
    created_by_user_id: uuid.UUID | None
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True, slots=True)
class NewOcrJob:
    """What queuing an OCR job stores (it starts QUEUED)."""

    id: uuid.UUID
    work_order_id: uuid.UUID
    evidence_item_id: uuid.UUID
    created_by_user_id: uuid.UUID | None


@dataclass(frozen=True, slots=True)
class OcrJob(NewOcrJob):
    """An OCR job (domain.md §4.8)."""

    tenant_id: uuid.UUID
    status: str
    requested_at: datetime
    finished_at: datetime | None
    result_json: dict[str, Any] | None
    error: str | None
    worker_trace: str | None
    created_at: datetime
    updated_at: datetime
