"""SQLAlchemy Core tables of the ``evidence`` schema, column for column as ``migrations/versions/0001_initial.py``.

The messaging tables (outbox, inbox, idempotency keys) belong to :mod:`shared` and are not listed.
JSONB columns store SQL NULL for ``None`` (``none_as_null``), as the hand-written SQL did; checks and
indexes live in the migration only.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    DateTime,
    Double,
    ForeignKey,
    Integer,
    MetaData,
    Table,
    Text,
    UniqueConstraint,
    Uuid,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.types import TypeEngine

from evidence_service.settings import SCHEMA

metadata = MetaData(schema=SCHEMA)

_INSTANT = DateTime(timezone=True)
_JSON = JSONB(none_as_null=True)


def _required(
    type_: type[TypeEngine[Any]] | TypeEngine[Any], *names: str, default: str | None = None
) -> list[Column[Any]]:
    server_default = None if default is None else text(default)
    return [Column(name, type_, nullable=False, server_default=server_default) for name in names]


def _optional(type_: type[TypeEngine[Any]] | TypeEngine[Any], *names: str) -> list[Column[Any]]:
    return [Column(name, type_) for name in names]


def _keys() -> list[Column[Any]]:
    return [Column("id", Uuid, primary_key=True), Column("tenant_id", Uuid, nullable=False)]


def _of_work_order() -> Column[Any]:
    return Column("work_order_id", Uuid, ForeignKey("work_orders.work_order_id"), nullable=False)


def _timestamps() -> list[Column[Any]]:
    return _required(_INSTANT, "created_at", "updated_at", default="now()")


documents = Table(
    "documents",
    metadata,
    *_keys(),
    *_required(Text, "original_filename", "content_type"),
    *_optional(Text, "declared_content_type"),
    *_required(BigInteger, "size_bytes"),
    *_required(Text, "sha256", "storage_key"),
    *_required(Text, "status", default="'uploaded'"),
    *_optional(Text, "classification", "sensitivity", "source"),
    *_optional(_INSTANT, "captured_at"),
    *_optional(Uuid, "captured_by_employee_id"),
    *_required(_JSON, "capture_json", default="'{}'::jsonb"),
    *_optional(Uuid, "created_by_user_id"),
    *_timestamps(),
    *_optional(_INSTANT, "deleted_at"),
)

work_orders = Table(
    "work_orders",
    metadata,
    Column("work_order_id", Uuid, primary_key=True),
    *_required(Uuid, "tenant_id"),
    *_required(Text, "report_type"),
    *_required(Text, "bank_type", default="'OTHER'"),
    *_required(Text, "bank_name"),
    *_required(Text, "value_slab", "template_selector", default="'UNKNOWN'"),
    *_required(Text, "status"),
    *_optional(_JSON, "latest_contract"),
    *_optional(Uuid, "latest_snapshot_id"),
    *_optional(Integer, "latest_snapshot_version"),
    *_required(_JSON, "rule_warnings", default="'[]'::jsonb"),
    *_optional(Uuid, "evidence_profile_id"),
    *_optional(Text, "profile_chosen_by"),
    *_required(BigInteger, "evidence_version", default="0"),
    *_required(BigInteger, "source_version"),
    *_timestamps(),
)

work_order_snapshots = Table(
    "work_order_snapshots",
    metadata,
    Column("snapshot_id", Uuid, primary_key=True),
    *_required(Uuid, "tenant_id"),
    _of_work_order(),
    *_required(Integer, "version"),
    UniqueConstraint("work_order_id", "version"),
)

seeded_tenants = Table(
    "seeded_tenants",
    metadata,
    Column("tenant_id", Uuid, primary_key=True),
    *_required(Integer, "seed_version"),
    *_required(_INSTANT, "seeded_at", default="now()"),
)

field_defs = Table(
    "field_defs",
    metadata,
    *_keys(),
    *_required(Text, "field_key", "label", "data_type"),
    *_required(Boolean, "required_by_default", default="false"),
    *_optional(Text, "unit"),
    *_required(_JSON, "metadata_json", default="'{}'::jsonb"),
    *_timestamps(),
    UniqueConstraint("tenant_id", "field_key"),
)

evidence_profiles = Table(
    "evidence_profiles",
    metadata,
    *_keys(),
    *_required(Text, "report_type", "bank_type", "value_slab", "name"),
    *_required(Boolean, "is_default", default="false"),
    *_required(_JSON, "metadata_json", default="'{}'::jsonb"),
    *_timestamps(),
    UniqueConstraint("tenant_id", "report_type", "bank_type", "value_slab", "name"),
)

evidence_profile_items = Table(
    "evidence_profile_items",
    metadata,
    *_keys(),
    Column("profile_id", Uuid, ForeignKey(evidence_profiles.c.id), nullable=False),
    *_required(Text, "evidence_type"),
    *_optional(Text, "doc_type"),
    *_required(Integer, "min_count", default="1"),
    *_required(Boolean, "is_required", default="true"),
    *_optional(_JSON, "tags_json"),
    *_optional(Integer, "order_hint"),
    *_optional(Text, "label", "field_key_hint"),
    *_optional(Integer, "seed_position"),
    *_timestamps(),
    UniqueConstraint("profile_id", "seed_position"),
)

evidence_items = Table(
    "evidence_items",
    metadata,
    *_keys(),
    _of_work_order(),
    *_required(Text, "evidence_type"),
    *_optional(Text, "doc_type", "classification", "sensitivity", "source"),
    *_optional(Uuid, "document_id"),
    *_optional(Text, "file_ref"),
    *_optional(Uuid, "captured_by_employee_id"),
    *_optional(_INSTANT, "captured_at"),
    *_optional(Integer, "annexure_order"),
    *_optional(_JSON, "tags"),
    *_timestamps(),
)

field_evidence_links = Table(
    "field_evidence_links",
    metadata,
    *_keys(),
    _of_work_order(),
    *_required(Text, "field_key"),
    Column("evidence_item_id", Uuid, ForeignKey(evidence_items.c.id), nullable=False),
    *_optional(Uuid, "snapshot_id"),
    *_optional(Integer, "snapshot_version"),
    *_optional(Double, "confidence"),
    *_optional(Text, "note"),
    *_optional(Uuid, "created_by_user_id"),
    *_timestamps(),
    UniqueConstraint("work_order_id", "field_key", "evidence_item_id"),
)

ocr_jobs = Table(
    "ocr_jobs",
    metadata,
    *_keys(),
    _of_work_order(),
    Column("evidence_item_id", Uuid, ForeignKey(evidence_items.c.id), nullable=False),
    *_required(Text, "status", default="'QUEUED'"),
    *_required(_INSTANT, "requested_at", default="now()"),
    *_optional(_INSTANT, "finished_at"),
    *_optional(_JSON, "result_json"),
    *_optional(Text, "error"),
    *_optional(Uuid, "created_by_user_id"),
    *_optional(Text, "worker_trace"),
    *_timestamps(),
)
