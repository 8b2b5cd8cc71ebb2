"""SQLAlchemy Core tables of the ``workorders`` schema (the migration ``0001_initial`` creates them)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import BigInteger, Column, DateTime, ForeignKey, Integer, MetaData, Table, Text, func
from sqlalchemy.dialects.postgresql import JSONB, UUID

from workorders_service.settings import SCHEMA

metadata = MetaData(schema=SCHEMA)


def _tenant_columns() -> list[Column[object]]:
    return [Column("tenant_id", UUID(as_uuid=True), nullable=False)]


def _part_of_work_order(name: str, *columns: Column[Any], created_at: Any = None) -> Table:
    """A table of rows that belong to one work order: id, tenant, work order, ..., created_at."""
    return Table(
        name,
        metadata,
        Column("id", UUID(as_uuid=True), primary_key=True),
        *_tenant_columns(),
        Column("work_order_id", UUID(as_uuid=True), ForeignKey(f"{SCHEMA}.work_orders.id"), nullable=False),
        *columns,
        Column(
            "created_at",
            DateTime(timezone=True),
            nullable=False,
            server_default=func.now() if created_at is None else created_at,
        ),
    )


def _projection(name: str, *columns: Column[Any]) -> Table:
    """Another service's state of one work order, with the source version it reflects (architecture §2)."""
    return Table(
        name,
        metadata,
        Column("work_order_id", UUID(as_uuid=True), primary_key=True),
        *_tenant_columns(),
        *columns,
        Column("source_version", BigInteger, nullable=False),
        Column("updated_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    )


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

contract_snapshots = _part_of_work_order(
    "contract_snapshots",
    Column("version", Integer, nullable=False),
    Column("contract_json", JSONB, nullable=False),
    Column("derived_json", JSONB, nullable=False),
    Column("readiness_json", JSONB, nullable=False),
    Column("created_by_user_id", UUID(as_uuid=True)),
)

rules_runs = _part_of_work_order(
    "rules_runs",
    Column("input_snapshot_id", UUID(as_uuid=True), ForeignKey(contract_snapshots.c.id), nullable=False),
    Column("output_snapshot_id", UUID(as_uuid=True), ForeignKey(contract_snapshots.c.id), nullable=False),
    Column("ruleset_version", Text, nullable=False),
    Column("warnings", JSONB, nullable=False),
    Column("errors", JSONB, nullable=False),
)

comments = _part_of_work_order(
    "comments",
    Column("comment_type", Text, nullable=False),
    Column("body", Text, nullable=False),
    Column("note_id", Text),
    Column("created_by_user_id", UUID(as_uuid=True)),
    # clock time, so the notes of one transaction keep their order
    created_at=func.clock_timestamp(),
)

evidence_projection = _projection(
    "evidence_projection",
    Column("evidence_version", BigInteger, nullable=False),
    Column("items", JSONB, nullable=False),
    Column("profile", JSONB),
    Column("profile_requirements", JSONB, nullable=False),
    Column("linked_field_keys", JSONB, nullable=False),
    Column("field_evidence_links", JSONB, nullable=False),
    Column("ocr_jobs", JSONB, nullable=False),
    Column("checklist", JSONB, nullable=False),
)

billing_projection = _projection("billing_projection", Column("payload", JSONB, nullable=False))

pack_projection = _projection(
    "pack_projection",
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
)
