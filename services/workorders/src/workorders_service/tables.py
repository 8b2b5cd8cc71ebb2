"""SQLAlchemy Core tables of the ``workorders`` schema (the migration ``0001_initial`` creates them)."""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, DateTime, ForeignKey, Integer, MetaData, Table, Text, func
from sqlalchemy.dialects.postgresql import JSONB, UUID

from workorders_service.settings import SCHEMA

metadata = MetaData(schema=SCHEMA)


def _tenant_columns() -> list[Column[object]]:
    return [Column("tenant_id", UUID(as_uuid=True), nullable=False)]


work_orders = Table(
    "work_orders",
    metadata,
    Column("id", UUID(as_uuid=True), primary_key=True),
    *_tenant_columns(),
    Column("source_type", Text, nullable=False),
    Column("source_ref_id", UUID(as_uuid=True)),
    Column("assignment_id", UUID(as_uuid=True)),
    Column("report_type", Text, nullable=False),
    Column("bank_name", Text, nullable=False),
    Column("bank_type", Text, nullable=False, server_default="OTHER"),
    Column("value_slab", Text, nullable=False, server_default="UNKNOWN"),
    Column("template_selector", Text, nullable=False, server_default="UNKNOWN"),
    Column("status", Text, nullable=False, server_default="DRAFT"),
    Column("billing_external_key", Text),
    Column("report_pack_id", UUID(as_uuid=True)),
    Column("evidence_profile_id", UUID(as_uuid=True)),
    Column("current_readiness", JSONB(none_as_null=True)),
    Column("readiness_evidence_version", BigInteger, nullable=False, server_default="0"),
    Column("acceptance_status", Text),
    Column("acceptance_code", Text),
    Column("acceptance_message", Text),
    Column("acceptance_details", JSONB(none_as_null=True)),
    Column("acceptance_request_id", UUID(as_uuid=True)),
    Column("acceptance_previous_status", Text),
    Column("render_generation", Integer, nullable=False, server_default="1"),
    Column("export_bundle", JSONB(none_as_null=True)),
    Column("export_bundle_hash", Text),
    Column("ready_snapshot_version", Integer),
    Column("pack_baseline_version", BigInteger),
    Column("version", BigInteger, nullable=False, server_default="1"),
    Column("created_by_user_id", UUID(as_uuid=True)),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("updated_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
)

contract_snapshots = Table(
    "contract_snapshots",
    metadata,
    Column("id", UUID(as_uuid=True), primary_key=True),
    *_tenant_columns(),
    Column("work_order_id", UUID(as_uuid=True), ForeignKey(work_orders.c.id), nullable=False),
    Column("version", Integer, nullable=False),
    Column("contract_json", JSONB, nullable=False),
    Column("derived_json", JSONB, nullable=False),
    Column("readiness_json", JSONB, nullable=False),
    Column("created_by_user_id", UUID(as_uuid=True)),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
)

rules_runs = Table(
    "rules_runs",
    metadata,
    Column("id", UUID(as_uuid=True), primary_key=True),
    *_tenant_columns(),
    Column("work_order_id", UUID(as_uuid=True), ForeignKey(work_orders.c.id), nullable=False),
    Column("input_snapshot_id", UUID(as_uuid=True), ForeignKey(contract_snapshots.c.id), nullable=False),
    Column("output_snapshot_id", UUID(as_uuid=True), ForeignKey(contract_snapshots.c.id), nullable=False),
    Column("ruleset_version", Text, nullable=False),
    Column("warnings", JSONB, nullable=False),
    Column("errors", JSONB, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
)

comments = Table(
    "comments",
    metadata,
    Column("id", UUID(as_uuid=True), primary_key=True),
    *_tenant_columns(),
    Column("work_order_id", UUID(as_uuid=True), ForeignKey(work_orders.c.id), nullable=False),
    Column("comment_type", Text, nullable=False),
    Column("body", Text, nullable=False),
    Column("note_id", Text),
    Column("created_by_user_id", UUID(as_uuid=True)),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.clock_timestamp()),
)

evidence_projection = Table(
    "evidence_projection",
    metadata,
    Column("work_order_id", UUID(as_uuid=True), primary_key=True),
    *_tenant_columns(),
    Column("evidence_version", BigInteger, nullable=False),
    Column("items", JSONB, nullable=False),
    Column("profile", JSONB),
    Column("profile_requirements", JSONB, nullable=False),
    Column("linked_field_keys", JSONB, nullable=False),
    Column("field_evidence_links", JSONB, nullable=False),
    Column("ocr_jobs", JSONB, nullable=False),
    Column("checklist", JSONB, nullable=False),
    Column("source_version", BigInteger, nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
)

billing_projection = Table(
    "billing_projection",
    metadata,
    Column("work_order_id", UUID(as_uuid=True), primary_key=True),
    *_tenant_columns(),
    Column("payload", JSONB, nullable=False),
    Column("source_version", BigInteger, nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
)

pack_projection = Table(
    "pack_projection",
    metadata,
    Column("work_order_id", UUID(as_uuid=True), primary_key=True),
    *_tenant_columns(),
    Column("pack_id", UUID(as_uuid=True)),
    Column("pack_version", Integer),
    Column("template_key", Text),
    Column("report_family", Text),
    Column("status", Text),
    Column("job_id", UUID(as_uuid=True)),
    Column("job_status", Text),
    Column("attempts", Integer, nullable=False, server_default="0"),
    Column("artifacts", JSONB, nullable=False, server_default="[]"),
    Column("export_bundle_hash", Text),
    Column("snapshot_version", Integer),
    Column("failure_code", Text),
    Column("failure_reason", Text),
    Column("releases", JSONB, nullable=False, server_default="[]"),
    Column("created_source_version", BigInteger),
    Column("failed_source_version", BigInteger),
    Column("source_version", BigInteger, nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
)
