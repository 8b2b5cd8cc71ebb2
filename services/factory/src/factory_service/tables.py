"""SQLAlchemy Core tables of the ``factory`` schema, as ``migrations/versions/0001_initial.py`` creates them."""

from __future__ import annotations

from typing import Any

from sqlalchemy import BigInteger, Boolean, Column, DateTime, Integer, LargeBinary, MetaData, Table, Text
from sqlalchemy.dialects.postgresql import JSONB, UUID
from sqlalchemy.types import TypeEngine

from factory_service.settings import SCHEMA

metadata = MetaData(schema=SCHEMA)

_UUID = UUID(as_uuid=True)
_TIMESTAMP = DateTime(timezone=True)


def _columns(
    kind: TypeEngine[Any] | type[TypeEngine[Any]], *names: str, nullable: bool = False
) -> list[Column[Any]]:
    """Columns of one type; NOT NULL unless ``nullable``."""
    return [Column(name, kind, nullable=nullable) for name in names]


def _keys(primary: str = "id") -> list[Column[Any]]:
    """The primary key and the tenant every row carries (RLS)."""
    return [Column(primary, _UUID, primary_key=True), Column("tenant_id", _UUID, nullable=False)]


def _timestamps() -> list[Column[Any]]:
    return _columns(_TIMESTAMP, "created_at", "updated_at")


# Projection of workorders.work-order.v1: what the bridge and the pack view need.
work_orders = Table(
    "work_orders",
    metadata,
    *_keys("work_order_id"),
    *_columns(_UUID, "assignment_id", "created_by_user_id", nullable=True),
    *_columns(Text, "report_type", "bank_type", "bank_name", "value_slab", "template_selector", "status"),
    *_columns(Integer, "render_generation"),
    *_columns(Integer, "snapshot_version", "readiness_score", nullable=True),
    Column("export_bundle", JSONB),
    *_columns(Text, "export_bundle_hash", "source_type", nullable=True),
    *_columns(BigInteger, "source_version"),
    *_timestamps(),
)

# Projection of billing.work-order-billing.v1 (compacted): the WorkOrderBilling payload as sent.
work_order_billing = Table(
    "work_order_billing",
    metadata,
    *_keys("work_order_id"),
    *_columns(JSONB, "state"),
    *_columns(BigInteger, "source_version"),
    *_columns(_TIMESTAMP, "updated_at"),
)

# The aggregate version of everything factory publishes keyed by work order (pack + release topics).
pack_state_versions = Table(
    "pack_state_versions", metadata, *_keys("work_order_id"), *_columns(BigInteger, "version")
)

report_packs = Table(
    "report_packs",
    metadata,
    *_keys(),
    *_columns(_UUID, "work_order_id"),
    *_columns(_UUID, "assignment_id", "created_by_user_id", nullable=True),
    *_columns(Text, "template_key", "report_family", "status", "export_bundle_hash"),
    *_columns(Integer, "version", "render_generation", "snapshot_version"),
    *_columns(JSONB, "warnings", "context_snapshot"),
    *_columns(LargeBinary, "export_bundle"),
    *_columns(Text, "failure_code", "failure_reason", nullable=True),
    *_columns(_TIMESTAMP, "generated_at", "superseded_at", nullable=True),
    *_timestamps(),
    # 0002: the public verification code (issue 21), unique across tenants where set
    Column("verification_code", Text, nullable=True),
)

report_pack_artifacts = Table(
    "report_pack_artifacts",
    metadata,
    *_keys(),
    *_columns(_UUID, "report_pack_id"),
    *_columns(Text, "kind", "filename", "storage_ref", "blob_key", "mime_type", "checksum_sha256"),
    *_columns(BigInteger, "size_bytes"),
    *_columns(JSONB, "metadata_json"),
    *_timestamps(),
)

report_generation_jobs = Table(
    "report_generation_jobs",
    metadata,
    *_keys(),
    *_columns(_UUID, "report_pack_id", "work_order_id"),
    *_columns(_UUID, "assignment_id", "requested_by_user_id", nullable=True),
    *_columns(Text, "template_key", "report_family", "idempotency_key", "status"),
    *_columns(Integer, "attempts", "max_attempts"),
    *_columns(Text, "error_code", "error_message", "worker_trace", nullable=True),
    *_columns(JSONB, "request_payload", "warnings"),
    *_columns(_TIMESTAMP, "queued_at", "started_at", "finished_at", nullable=True),
    *_timestamps(),
)

deliverable_releases = Table(
    "deliverable_releases",
    metadata,
    *_keys(),
    *_columns(_UUID, "work_order_id", "report_pack_id"),
    *_columns(_UUID, "released_by_user_id", "prior_release_id", nullable=True),
    *_columns(Text, "idempotency_key", "billing_gate_result"),
    *_columns(Boolean, "override_requested"),
    *_columns(Text, "override_reason", "billing_mode_at_release", "error_code", nullable=True),
    *_columns(Text, "decision_id", "decision_hash", nullable=True),
    *_columns(JSONB, "metadata_json"),
    *_columns(_TIMESTAMP, "released_at", nullable=True),
    *_timestamps(),
)

report_audit_logs = Table(
    "report_audit_logs",
    metadata,
    Column("id", BigInteger, primary_key=True),
    *_columns(_UUID, "tenant_id", "work_order_id"),
    *_columns(_UUID, "report_pack_id", "actor_user_id", nullable=True),
    *_columns(Text, "entity_type", "entity_id", "action"),
    *_columns(JSONB, "metadata_json"),
    *_columns(_TIMESTAMP, "created_at"),
    # The id is the database's (BIGSERIAL): no RETURNING, which would need read access under RLS.
    implicit_returning=False,
)
