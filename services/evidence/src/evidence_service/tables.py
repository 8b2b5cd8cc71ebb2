"""SQLAlchemy Core tables of the ``evidence`` schema (the shape of ``migrations/versions/0001_initial.py``).

The messaging tables (outbox, inbox, idempotency keys) belong to :mod:`shared` and are not listed.
JSONB columns store SQL NULL for ``None`` (``none_as_null``), as the hand-written SQL did.
"""

from __future__ import annotations

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

from evidence_service.settings import SCHEMA

metadata = MetaData(schema=SCHEMA)

_NOW = text("now()")


def _timestamps() -> list[Column[object]]:
    return [
        Column("created_at", DateTime(timezone=True), nullable=False, server_default=_NOW),
        Column("updated_at", DateTime(timezone=True), nullable=False, server_default=_NOW),
    ]


documents = Table(
    "documents",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("tenant_id", Uuid, nullable=False),
    Column("original_filename", Text, nullable=False),
    Column("content_type", Text, nullable=False),
    Column("declared_content_type", Text),
    Column("size_bytes", BigInteger, nullable=False),
    Column("sha256", Text, nullable=False),
    Column("storage_key", Text, nullable=False),
    Column("status", Text, nullable=False, server_default=text("'uploaded'")),
    Column("classification", Text),
    Column("sensitivity", Text),
    Column("source", Text),
    Column("captured_at", DateTime(timezone=True)),
    Column("captured_by_employee_id", Uuid),
    Column("capture_json", JSONB(none_as_null=True), nullable=False, server_default=text("'{}'::jsonb")),
    Column("created_by_user_id", Uuid),
    *_timestamps(),
    Column("deleted_at", DateTime(timezone=True)),
)

work_orders = Table(
    "work_orders",
    metadata,
    Column("work_order_id", Uuid, primary_key=True),
    Column("tenant_id", Uuid, nullable=False),
    Column("report_type", Text, nullable=False),
    Column("bank_type", Text, nullable=False, server_default=text("'OTHER'")),
    Column("bank_name", Text, nullable=False),
    Column("value_slab", Text, nullable=False, server_default=text("'UNKNOWN'")),
    Column("template_selector", Text, nullable=False, server_default=text("'UNKNOWN'")),
    Column("status", Text, nullable=False),
    Column("latest_contract", JSONB(none_as_null=True)),
    Column("latest_snapshot_id", Uuid),
    Column("latest_snapshot_version", Integer),
    Column("rule_warnings", JSONB(none_as_null=True), nullable=False, server_default=text("'[]'::jsonb")),
    Column("evidence_profile_id", Uuid),
    Column("profile_chosen_by", Text),
    Column("evidence_version", BigInteger, nullable=False, server_default=text("0")),
    Column("source_version", BigInteger, nullable=False),
    *_timestamps(),
)

work_order_snapshots = Table(
    "work_order_snapshots",
    metadata,
    Column("snapshot_id", Uuid, primary_key=True),
    Column("tenant_id", Uuid, nullable=False),
    Column("work_order_id", Uuid, ForeignKey(work_orders.c.work_order_id), nullable=False),
    Column("version", Integer, nullable=False),
    UniqueConstraint("work_order_id", "version"),
)

seeded_tenants = Table(
    "seeded_tenants",
    metadata,
    Column("tenant_id", Uuid, primary_key=True),
    Column("seed_version", Integer, nullable=False),
    Column("seeded_at", DateTime(timezone=True), nullable=False, server_default=_NOW),
)

field_defs = Table(
    "field_defs",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("tenant_id", Uuid, nullable=False),
    Column("field_key", Text, nullable=False),
    Column("label", Text, nullable=False),
    Column("data_type", Text, nullable=False),
    Column("required_by_default", Boolean, nullable=False, server_default=text("false")),
    Column("unit", Text),
    Column("metadata_json", JSONB(none_as_null=True), nullable=False, server_default=text("'{}'::jsonb")),
    *_timestamps(),
    UniqueConstraint("tenant_id", "field_key"),
)

evidence_profiles = Table(
    "evidence_profiles",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("tenant_id", Uuid, nullable=False),
    Column("report_type", Text, nullable=False),
    Column("bank_type", Text, nullable=False),
    Column("value_slab", Text, nullable=False),
    Column("name", Text, nullable=False),
    Column("is_default", Boolean, nullable=False, server_default=text("false")),
    Column("metadata_json", JSONB(none_as_null=True), nullable=False, server_default=text("'{}'::jsonb")),
    *_timestamps(),
    UniqueConstraint("tenant_id", "report_type", "bank_type", "value_slab", "name"),
)

evidence_profile_items = Table(
    "evidence_profile_items",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("tenant_id", Uuid, nullable=False),
    Column("profile_id", Uuid, ForeignKey(evidence_profiles.c.id), nullable=False),
    Column("evidence_type", Text, nullable=False),
    Column("doc_type", Text),
    Column("min_count", Integer, nullable=False, server_default=text("1")),
    Column("is_required", Boolean, nullable=False, server_default=text("true")),
    Column("tags_json", JSONB(none_as_null=True)),
    Column("order_hint", Integer),
    Column("label", Text),
    Column("field_key_hint", Text),
    Column("seed_position", Integer),
    *_timestamps(),
    UniqueConstraint("profile_id", "seed_position"),
)

evidence_items = Table(
    "evidence_items",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("tenant_id", Uuid, nullable=False),
    Column("work_order_id", Uuid, ForeignKey(work_orders.c.work_order_id), nullable=False),
    Column("evidence_type", Text, nullable=False),
    Column("doc_type", Text),
    Column("classification", Text),
    Column("sensitivity", Text),
    Column("source", Text),
    Column("document_id", Uuid),
    Column("file_ref", Text),
    Column("captured_by_employee_id", Uuid),
    Column("captured_at", DateTime(timezone=True)),
    Column("annexure_order", Integer),
    Column("tags", JSONB(none_as_null=True)),
    *_timestamps(),
)

field_evidence_links = Table(
    "field_evidence_links",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("tenant_id", Uuid, nullable=False),
    Column("work_order_id", Uuid, ForeignKey(work_orders.c.work_order_id), nullable=False),
    Column("field_key", Text, nullable=False),
    Column("evidence_item_id", Uuid, ForeignKey(evidence_items.c.id), nullable=False),
    Column("snapshot_id", Uuid),
    Column("snapshot_version", Integer),
    Column("confidence", Double),
    Column("note", Text),
    Column("created_by_user_id", Uuid),
    *_timestamps(),
    UniqueConstraint("work_order_id", "field_key", "evidence_item_id"),
)

ocr_jobs = Table(
    "ocr_jobs",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("tenant_id", Uuid, nullable=False),
    Column("work_order_id", Uuid, ForeignKey(work_orders.c.work_order_id), nullable=False),
    Column("evidence_item_id", Uuid, ForeignKey(evidence_items.c.id), nullable=False),
    Column("status", Text, nullable=False, server_default=text("'QUEUED'")),
    Column("requested_at", DateTime(timezone=True), nullable=False, server_default=_NOW),
    Column("finished_at", DateTime(timezone=True)),
    Column("result_json", JSONB(none_as_null=True)),
    Column("error", Text),
    Column("created_by_user_id", Uuid),
    Column("worker_trace", Text),
    *_timestamps(),
)
