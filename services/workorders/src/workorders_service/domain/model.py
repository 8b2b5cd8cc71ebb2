"""The state of a work order and of the projections it keeps of other services, as typed records.

Repositories return these (never rows or dicts); handlers and the read-model functions take them. JSON
columns that hold documents of the contract or of another service stay free-form JSON.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

#: a free-form JSON object (a contract, a readiness, another service's document)
JsonObject = dict[str, Any]


@dataclass(frozen=True)
class NewWorkOrder:
    """What the creation of a work order decides; the database derives the rest (slab, template, status)."""

    tenant_id: uuid.UUID
    source_type: str
    source_ref_id: uuid.UUID | None
    assignment_id: uuid.UUID | None
    report_type: str
    bank_name: str
    bank_type: str
    billing_external_key: str | None
    created_by_user_id: uuid.UUID | None


@dataclass(frozen=True)
class WorkOrder(NewWorkOrder):
    """One row of ``work_orders``: the aggregate as created and as it went on, its acceptance and render
    sagas."""

    id: uuid.UUID
    value_slab: str
    template_selector: str
    status: str
    report_pack_id: uuid.UUID | None
    evidence_profile_id: uuid.UUID | None
    current_readiness: JsonObject | None
    readiness_evidence_version: int
    acceptance_status: str | None
    acceptance_code: str | None
    acceptance_message: str | None
    acceptance_details: JsonObject | None
    acceptance_request_id: uuid.UUID | None
    acceptance_previous_status: str | None
    render_generation: int
    export_bundle: JsonObject | None
    export_bundle_hash: str | None
    ready_snapshot_version: int | None
    pack_baseline_version: int | None
    version: int
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True)
class NewSnapshot:
    """What a patch decides of one contract snapshot (input or output of a rules run)."""

    version: int
    contract_json: JsonObject
    derived_json: JsonObject
    readiness_json: JsonObject
    created_by_user_id: uuid.UUID | None


@dataclass(frozen=True)
class Snapshot(NewSnapshot):
    """One stored contract snapshot of a work order."""

    id: uuid.UUID
    tenant_id: uuid.UUID
    work_order_id: uuid.UUID
    created_at: datetime


@dataclass(frozen=True)
class NewRulesRun:
    """One rules-engine run: the snapshots it read and wrote, its ruleset and findings."""

    input_snapshot_id: uuid.UUID
    output_snapshot_id: uuid.UUID
    ruleset_version: str
    warnings: list[JsonObject]
    errors: list[JsonObject]


@dataclass(frozen=True)
class RulesRun(NewRulesRun):
    """One stored rules-engine run with the versions of its input and output snapshots."""

    id: uuid.UUID
    created_at: datetime
    input_version: int
    output_version: int


@dataclass(frozen=True)
class Comment:
    """An operator comment or a system note (``note_id`` set for notes of other services)."""

    id: uuid.UUID
    comment_type: str
    body: str
    note_id: str | None
    created_by_user_id: uuid.UUID | None
    created_at: datetime


@dataclass(frozen=True)
class Note:
    """A system note another service published for a work order's comments (stored once per
    ``note_id``; without ``created_at`` it takes the insert's clock time)."""

    note_id: str
    body: str
    created_by_user_id: uuid.UUID | None
    created_at: datetime | None


@dataclass(frozen=True)
class EvidenceProjection:
    """The evidence service's state of one work order (items and links are its documents)."""

    evidence_version: int = 0
    items: list[JsonObject] = field(default_factory=list)
    profile: JsonObject | None = None
    profile_requirements: list[JsonObject] = field(default_factory=list)
    linked_field_keys: list[str] = field(default_factory=list)
    field_evidence_links: list[JsonObject] = field(default_factory=list)
    ocr_jobs: list[JsonObject] = field(default_factory=list)
    checklist: list[Any] = field(default_factory=list)
    source_version: int = 0


@dataclass(frozen=True)
class BillingProjection:
    """Billing's state of one work order (its ``work_order_billing`` payload)."""

    payload: JsonObject
    source_version: int


@dataclass(frozen=True)
class PackProjection:
    """Factory's pack state of one work order, with the source versions of its last creation/failure."""

    source_version: int
    pack_id: uuid.UUID | str | None = None
    pack_version: int | None = None
    template_key: str | None = None
    report_family: str | None = None
    status: str | None = None
    job_id: uuid.UUID | str | None = None
    job_status: str | None = None
    attempts: int = 0
    artifacts: list[JsonObject] = field(default_factory=list)
    export_bundle_hash: str | None = None
    snapshot_version: int | None = None
    failure_code: str | None = None
    failure_reason: str | None = None
    releases: list[JsonObject] = field(default_factory=list)
    created_source_version: int | None = None
    failed_source_version: int | None = None


@dataclass(frozen=True)
class ProjectedWorkOrder:
    """A work order with what billing and factory told about it (every answer carrying a work order)."""

    work_order: WorkOrder
    billing_payload: JsonObject | None
    pack: PackProjection | None


@dataclass(frozen=True)
class WorkOrderSearch:
    """Criteria of the work-order list: filters (``None`` = any), a bank-name substring or exact id."""

    status: str | None = None
    report_type: str | None = None
    bank_type: str | None = None
    template_selector: str | None = None
    source_type: str | None = None
    search: str | None = None
    limit: int = 50


@dataclass(frozen=True)
class WorkOrderSummary:
    """A work order of the list with what the list shows of its snapshots, evidence and comments."""

    projected: ProjectedWorkOrder
    latest_snapshot_version: int | None
    latest_snapshot_created_at: datetime | None
    latest_derived_json: JsonObject | None
    evidence_count: int
    comments_count: int
