"""Typed rows of the factory schema: what the repositories return and what they insert.

A record is a row in its wire form (UUIDs as strings, timestamps as ISO-8601 UTC with milliseconds,
domain.md §0), so the views, the contracts and the evidence pack show the same values. The ``New*``
rows are what the handlers insert.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any, Protocol, TypedDict

from pydantic import BaseModel, ConfigDict

JsonObject = dict[str, Any]
"""A free-form JSON document (bundle, metadata, billing state)."""


class Record(BaseModel):
    """A row as the factory shows it (frozen: a read is a fact of its transaction)."""

    model_config = ConfigDict(frozen=True)


# ------------------------------------------------------------------------------------------ records


class WorkOrderRecord(Record):
    """The factory's projection of a work order."""

    work_order_id: str
    tenant_id: str
    assignment_id: str | None
    report_type: str
    bank_type: str
    bank_name: str
    value_slab: str
    template_selector: str
    status: str
    render_generation: int
    snapshot_version: int | None
    readiness_score: int | None
    export_bundle_json: JsonObject | None
    export_bundle_hash: str | None
    source_version: int
    created_at: str
    updated_at: str
    source_type: str | None
    created_by_user_id: str | None


class BillingRecord(Record):
    """The newest ``work_order_billing`` state factory saw, with the version it reflects."""

    state: JsonObject
    source_version: int


class PackFields(Record):
    """A report pack as the pack view shows it (without its tenant)."""

    id: str
    work_order_id: str
    assignment_id: str | None
    template_key: str
    report_family: str
    version: int
    render_generation: int
    snapshot_version: int
    status: str
    warnings: list[JsonObject]
    context_snapshot: JsonObject
    export_bundle_hash: str
    failure_code: str | None
    failure_reason: str | None
    created_by_user_id: str | None
    generated_at: str | None
    superseded_at: str | None
    created_at: str
    updated_at: str
    verification_code: str | None = None


class PackRecord(PackFields):
    tenant_id: str


class ArtifactFields(Record):
    """An artifact as the pack view shows it (without its pack and blob key)."""

    id: str
    kind: str
    filename: str
    storage_ref: str
    mime_type: str
    size_bytes: int
    checksum_sha256: str
    metadata_json: JsonObject
    created_at: str
    updated_at: str


class ArtifactRecord(ArtifactFields):
    report_pack_id: str
    blob_key: str


class JobFields(Record):
    """A generation job as the pack view shows it (without its tenant)."""

    id: str
    report_pack_id: str
    work_order_id: str
    assignment_id: str | None
    template_key: str
    report_family: str
    idempotency_key: str
    status: str
    attempts: int
    max_attempts: int
    error_code: str | None
    error_message: str | None
    worker_trace: str | None
    request_payload: JsonObject
    warnings: list[JsonObject]
    requested_by_user_id: str | None
    queued_at: str | None
    started_at: str | None
    finished_at: str | None
    created_at: str
    updated_at: str


class JobRecord(JobFields):
    tenant_id: str


class ReleaseRecord(Record):
    """A deliverables release (domain.md §6) as every reader sees it (``org_id`` is the tenant)."""

    id: str
    org_id: str
    work_order_id: str
    report_pack_id: str
    released_by_user_id: str | None
    released_at: str | None
    billing_mode_at_release: str | None
    billing_gate_result: str
    override_requested: bool
    override_reason: str | None
    idempotency_key: str
    error_code: str | None
    prior_release_id: str | None
    decision_id: str | None
    decision_hash: str | None
    metadata_json: JsonObject
    created_at: str
    updated_at: str


class AuditRecord(Record):
    """One audit row, as the evidence pack's ``audit_events.jsonl`` lists it."""

    id: int
    work_order_id: str
    report_pack_id: str | None
    entity_type: str
    entity_id: str
    action: str
    actor_user_id: str | None
    metadata_json: JsonObject
    created_at: str


class WorkOrderColumns(TypedDict, total=False):
    """The projected columns an event may set (each event sets the ones it knows)."""

    assignment_id: uuid.UUID | None
    report_type: str
    bank_type: str
    bank_name: str
    value_slab: str
    template_selector: str
    status: str
    render_generation: int
    snapshot_version: int
    readiness_score: int | None
    export_bundle: JsonObject
    export_bundle_hash: str
    source_type: str | None
    created_by_user_id: uuid.UUID | None


class NewPack(TypedDict):
    id: uuid.UUID
    tenant_id: uuid.UUID
    work_order_id: uuid.UUID
    assignment_id: uuid.UUID | None
    template_key: str
    report_family: str
    version: int
    render_generation: int
    snapshot_version: int
    status: str
    warnings: list[dict[str, str]]
    context_snapshot: JsonObject
    export_bundle: bytes
    export_bundle_hash: str
    failure_code: str | None
    failure_reason: str | None
    created_by_user_id: uuid.UUID | None
    verification_code: str | None


class NewArtifact(TypedDict):
    id: uuid.UUID
    tenant_id: uuid.UUID
    report_pack_id: uuid.UUID
    kind: str
    filename: str
    storage_ref: str
    blob_key: str
    mime_type: str
    size_bytes: int
    checksum_sha256: str
    metadata_json: JsonObject


class NewJob(TypedDict):
    """A queued generation job."""

    id: uuid.UUID
    tenant_id: uuid.UUID
    report_pack_id: uuid.UUID
    work_order_id: uuid.UUID
    assignment_id: uuid.UUID | None
    template_key: str
    report_family: str
    idempotency_key: str
    max_attempts: int
    request_payload: JsonObject
    warnings: list[dict[str, str]]
    requested_by_user_id: uuid.UUID | None


class NewRelease(TypedDict):
    id: uuid.UUID
    tenant_id: uuid.UUID
    work_order_id: uuid.UUID
    report_pack_id: uuid.UUID
    released_by_user_id: uuid.UUID | None
    idempotency_key: str
    override_requested: bool
    override_reason: str | None
    billing_mode_at_release: str | None
    billing_gate_result: str
    prior_release_id: uuid.UUID | None
    metadata_json: JsonObject
    released_at: None


class NewAuditRow(TypedDict):
    """One audit row: who did what to which entity, about which work order and pack."""

    tenant_id: uuid.UUID
    work_order_id: uuid.UUID
    report_pack_id: uuid.UUID | None
    entity_type: str
    entity_id: str
    action: str
    actor_user_id: uuid.UUID | None
    metadata_json: JsonObject


class GateOutcome(Protocol):
    """What a release records of billing's gate decision (billing's ``gate_decided`` event has it)."""

    @property
    def result(self) -> str: ...
    @property
    def mode(self) -> str | None: ...
    @property
    def error_code(self) -> str | None: ...
    @property
    def decision_id(self) -> str: ...
    @property
    def decision_hash(self) -> str: ...


@dataclass(frozen=True)
class AuditScope:
    """What an audit row is about: the tenant, the work order and (when there is one) the pack."""

    # Named as the audit table's columns: the scope is the subject part of an audit row.
    tenant_id: uuid.UUID
    work_order_id: uuid.UUID
    report_pack_id: uuid.UUID | None

    @classmethod
    def of_pack(cls, pack: PackRecord) -> AuditScope:
        return cls(uuid.UUID(pack.tenant_id), uuid.UUID(pack.work_order_id), uuid.UUID(pack.id))

    @classmethod
    def of_job(cls, job: JobRecord) -> AuditScope:
        return cls(uuid.UUID(job.tenant_id), uuid.UUID(job.work_order_id), uuid.UUID(job.report_pack_id))
