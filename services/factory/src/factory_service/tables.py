"""SQLAlchemy Core tables of the ``factory`` schema, as ``migrations/versions/0001_initial.py`` creates them."""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    DateTime,
    Integer,
    LargeBinary,
    MetaData,
    Table,
    Text,
)
from sqlalchemy.dialects.postgresql import JSONB, UUID

from factory_service.settings import SCHEMA

metadata = MetaData(schema=SCHEMA)


def _timestamps() -> tuple[Column[object], Column[object]]:
    return (
        Column("created_at", DateTime(timezone=True), nullable=False),
        Column("updated_at", DateTime(timezone=True), nullable=False),
    )


# Projection of workorders.work-order.v1: what the bridge and the pack view need.
work_orders = Table(
    "work_orders",
    metadata,
    Column("work_order_id", UUID(as_uuid=True), primary_key=True),
    Column("tenant_id", UUID(as_uuid=True), nullable=False),
    Column("assignment_id", UUID(as_uuid=True)),
    Column("report_type", Text, nullable=False),
    Column("bank_type", Text, nullable=False),
    Column("bank_name", Text, nullable=False),
    Column("value_slab", Text, nullable=False),
    Column("template_selector", Text, nullable=False),
    Column("status", Text, nullable=False),
    Column("render_generation", Integer, nullable=False),
    Column("snapshot_version", Integer),
    Column("readiness_score", Integer),
    Column("export_bundle", JSONB),
    Column("export_bundle_hash", Text),
    Column("source_version", BigInteger, nullable=False),
    Column("source_type", Text),
    Column("created_by_user_id", UUID(as_uuid=True)),
    *_timestamps(),
)

# Projection of billing.work-order-billing.v1 (compacted): the WorkOrderBilling payload as sent.
work_order_billing = Table(
    "work_order_billing",
    metadata,
    Column("work_order_id", UUID(as_uuid=True), primary_key=True),
    Column("tenant_id", UUID(as_uuid=True), nullable=False),
    Column("state", JSONB, nullable=False),
    Column("source_version", BigInteger, nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)

# The aggregate version of everything factory publishes keyed by work order (pack + release topics).
pack_state_versions = Table(
    "pack_state_versions",
    metadata,
    Column("work_order_id", UUID(as_uuid=True), primary_key=True),
    Column("tenant_id", UUID(as_uuid=True), nullable=False),
    Column("version", BigInteger, nullable=False),
)

report_packs = Table(
    "report_packs",
    metadata,
    Column("id", UUID(as_uuid=True), primary_key=True),
    Column("tenant_id", UUID(as_uuid=True), nullable=False),
    Column("work_order_id", UUID(as_uuid=True), nullable=False),
    Column("assignment_id", UUID(as_uuid=True)),
    Column("template_key", Text, nullable=False),
    Column("report_family", Text, nullable=False),
    Column("version", Integer, nullable=False),
    Column("render_generation", Integer, nullable=False),
    Column("snapshot_version", Integer, nullable=False),
    Column("status", Text, nullable=False),
    Column("warnings", JSONB, nullable=False),
    Column("context_snapshot", JSONB, nullable=False),
    Column("export_bundle", LargeBinary, nullable=False),
    Column("export_bundle_hash", Text, nullable=False),
    Column("failure_code", Text),
    Column("failure_reason", Text),
    Column("created_by_user_id", UUID(as_uuid=True)),
    Column("generated_at", DateTime(timezone=True)),
    Column("superseded_at", DateTime(timezone=True)),
    *_timestamps(),
)

report_pack_artifacts = Table(
    "report_pack_artifacts",
    metadata,
    Column("id", UUID(as_uuid=True), primary_key=True),
    Column("tenant_id", UUID(as_uuid=True), nullable=False),
    Column("report_pack_id", UUID(as_uuid=True), nullable=False),
    Column("kind", Text, nullable=False),
    Column("filename", Text, nullable=False),
    Column("storage_ref", Text, nullable=False),
    Column("blob_key", Text, nullable=False),
    Column("mime_type", Text, nullable=False),
    Column("size_bytes", BigInteger, nullable=False),
    Column("checksum_sha256", Text, nullable=False),
    Column("metadata_json", JSONB, nullable=False),
    *_timestamps(),
)

report_generation_jobs = Table(
    "report_generation_jobs",
    metadata,
    Column("id", UUID(as_uuid=True), primary_key=True),
    Column("tenant_id", UUID(as_uuid=True), nullable=False),
    Column("report_pack_id", UUID(as_uuid=True), nullable=False),
    Column("work_order_id", UUID(as_uuid=True), nullable=False),
    Column("assignment_id", UUID(as_uuid=True)),
    Column("template_key", Text, nullable=False),
    Column("report_family", Text, nullable=False),
    Column("idempotency_key", Text, nullable=False),
    Column("status", Text, nullable=False),
    Column("attempts", Integer, nullable=False),
    Column("max_attempts", Integer, nullable=False),
    Column("error_code", Text),
    Column("error_message", Text),
    Column("worker_trace", Text),
    Column("request_payload", JSONB, nullable=False),
    Column("warnings", JSONB, nullable=False),
    Column("requested_by_user_id", UUID(as_uuid=True)),
    Column("queued_at", DateTime(timezone=True)),
    Column("started_at", DateTime(timezone=True)),
    Column("finished_at", DateTime(timezone=True)),
    *_timestamps(),
)

deliverable_releases = Table(
    "deliverable_releases",
    metadata,
    Column("id", UUID(as_uuid=True), primary_key=True),
    Column("tenant_id", UUID(as_uuid=True), nullable=False),
    Column("work_order_id", UUID(as_uuid=True), nullable=False),
    Column("report_pack_id", UUID(as_uuid=True), nullable=False),
    Column("released_by_user_id", UUID(as_uuid=True)),
    Column("idempotency_key", Text, nullable=False),
    Column("override_requested", Boolean, nullable=False),
    Column("override_reason", Text),
    Column("billing_mode_at_release", Text),
    Column("billing_gate_result", Text, nullable=False),
    Column("error_code", Text),
    Column("prior_release_id", UUID(as_uuid=True)),
    Column("decision_id", Text),
    Column("decision_hash", Text),
    Column("metadata_json", JSONB, nullable=False),
    Column("released_at", DateTime(timezone=True)),
    *_timestamps(),
)

report_audit_logs = Table(
    "report_audit_logs",
    metadata,
    Column("id", BigInteger, primary_key=True),
    Column("tenant_id", UUID(as_uuid=True), nullable=False),
    Column("work_order_id", UUID(as_uuid=True), nullable=False),
    Column("report_pack_id", UUID(as_uuid=True)),
    Column("entity_type", Text, nullable=False),
    Column("entity_id", Text, nullable=False),
    Column("action", Text, nullable=False),
    Column("actor_user_id", UUID(as_uuid=True)),
    Column("metadata_json", JSONB, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    # The id is the database's (BIGSERIAL): no RETURNING, which would need read access under RLS.
    implicit_returning=False,
)
