"""Wire shapes of the work-orders API: request bodies, response models and the functions that map the
handlers' typed results to them.

Documents of the contract (contract, derived values, readiness) and of other services (evidence items,
billing's acceptance/hold/invoice, pack artifacts and releases) are free-form JSON objects here.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum
from typing import Annotated, Any, TypeVar

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from shared.timestamps import iso_utc
from shared.validation import Key, Name, SearchText, Text
from workorders_service.domain.model import (
    Comment,
    JsonObject,
    ProjectedWorkOrder,
    RulesRun,
    Snapshot,
    WorkOrder,
    WorkOrderSummary,
)
from workorders_service.domain.readmodel import (
    clamp_score,
    newest_first,
    pack_link,
    sort_evidence,
    work_order_document,
)
from workorders_service.handlers.change_status import StatusResult
from workorders_service.handlers.export_work_order import WorkOrderExport
from workorders_service.handlers.get_work_order import WorkOrderDetail
from workorders_service.handlers.patch_contract import ContractPatched

OutT = TypeVar("OutT", bound=BaseModel)

# --- enums of the requests ------------------------------------------------------------------------------


class SourceType(StrEnum):
    TENANT = "TENANT"
    EXTERNAL = "EXTERNAL"
    CHANNEL = "CHANNEL"


class ReportType(StrEnum):
    VALUATION = "VALUATION"
    DPR = "DPR"
    REVALUATION = "REVALUATION"
    STAGE_PROGRESS = "STAGE_PROGRESS"


class BankType(StrEnum):
    SBI = "SBI"
    PSU_GENERIC = "PSU_GENERIC"
    COOP = "COOP"
    AGRI = "AGRI"
    OTHER = "OTHER"


class TemplateSelector(StrEnum):
    SBI_FORMAT_A = "SBI_FORMAT_A"
    BOI_PSU_GENERIC = "BOI_PSU_GENERIC"
    COOP_GENERIC = "COOP_GENERIC"
    AGRI_GENERIC = "AGRI_GENERIC"
    UNKNOWN = "UNKNOWN"


class WorkOrderStatus(StrEnum):
    DRAFT = "DRAFT"
    EVIDENCE_PENDING = "EVIDENCE_PENDING"
    DATA_PENDING = "DATA_PENDING"
    READY_FOR_RENDER = "READY_FOR_RENDER"
    CANCELLED = "CANCELLED"
    CLOSED = "CLOSED"


class CommentType(StrEnum):
    JUSTIFICATION = "JUSTIFICATION"
    ENCLOSURES = "ENCLOSURES"
    CHECKLIST = "CHECKLIST"
    NOTES = "NOTES"


# --- request bodies ---------------------------------------------------------------------------------------


class CreateWorkOrderRequest(BaseModel):
    """Body of ``POST /work-orders`` (domain.md §1.8 + ``billing_external_key``)."""

    model_config = ConfigDict(extra="ignore", title="CreateWorkOrder")

    source_type: SourceType
    source_ref_id: uuid.UUID | None = None
    assignment_id: uuid.UUID | None = None
    report_type: ReportType
    bank_name: Annotated[Name, StringConstraints(min_length=1)]
    bank_type: BankType = BankType.OTHER
    billing_external_key: Key | None = None


class WorkOrderFilters(BaseModel):
    """Query of ``GET /work-orders``: filters (absent = any), a bank-name substring or exact id, a limit."""

    status: WorkOrderStatus | None = None
    report_type: ReportType | None = None
    bank_type: BankType | None = None
    template_selector: TemplateSelector | None = None
    source_type: SourceType | None = None
    search: SearchText | None = None
    limit: Annotated[int, Field(ge=1, le=100)] = 50


class StatusRequest(BaseModel):
    """Body of ``POST /work-orders/:id/status``."""

    model_config = ConfigDict(extra="ignore")

    status: WorkOrderStatus
    note: Text | None = None


class CommentRequest(BaseModel):
    """Body of ``POST /work-orders/:id/comments``."""

    model_config = ConfigDict(extra="ignore")

    comment_type: CommentType
    body: Annotated[Text, StringConstraints(min_length=1)]


# --- responses ----------------------------------------------------------------------------------------------


class AcceptanceOut(BaseModel):
    """The acceptance saga's state on the work order."""

    status: str
    code: str | None
    message: str | None
    request_message_id: str | None


class BillingOut(BaseModel):
    """The ``billing`` block of domain.md §1.8 from billing's projection (its documents as they came)."""

    mode_cache: str | None
    account_id: str | None
    reservation_id: str | None
    service_invoice_id: str | None
    hooks: JsonObject
    external_key: str | None
    acceptance: JsonObject | None
    hold: JsonObject | None
    invoice: JsonObject | None
    last_gate: JsonObject | None


class WorkOrderOut(BaseModel):
    """The serialized work order (domain.md §1.8) plus our additive fields."""

    model_config = ConfigDict(title="WorkOrder")

    id: str
    org_id: str
    source_type: str
    source_ref_id: str | None
    assignment_id: str | None
    report_type: str
    bank_name: str
    bank_type: str
    value_slab: str
    template_selector: str
    status: str
    report_pack_id: str | None
    evidence_profile_id: str | None
    billing: BillingOut
    billing_external_key: str | None
    acceptance: AcceptanceOut | None
    render_generation: int
    pack_state: str | None
    version: int
    created_by_user_id: str | None
    created_at: str
    updated_at: str


class WorkOrderListItem(WorkOrderOut):
    """A work order of the list with its readiness, latest snapshot and counts."""

    model_config = ConfigDict(title="WorkOrderListItem")

    readiness: JsonObject | None
    readiness_score: int | None
    latest_snapshot_version: int | None
    latest_snapshot_created_at: str | None
    latest_derived_json: JsonObject | None
    evidence_count: int
    comments_count: int


class WorkOrderList(BaseModel):
    """``GET /work-orders``."""

    items: list[WorkOrderListItem]


class WorkOrderCreatedOut(BaseModel):
    """``POST /work-orders``."""

    model_config = ConfigDict(title="WorkOrderCreated")

    work_order_id: str
    work_order: WorkOrderOut


class SnapshotOut(BaseModel):
    """A contract snapshot with its derived values and readiness."""

    model_config = ConfigDict(title="ContractSnapshot")

    id: str
    version: int
    contract_json: JsonObject
    derived_json: JsonObject
    readiness_json: JsonObject
    created_by_user_id: str | None
    created_at: str


class SnapshotRef(BaseModel):
    """A snapshot by id and version."""

    id: str
    version: int


class RulesRunOut(BaseModel):
    """One rules-engine run."""

    model_config = ConfigDict(title="RulesRun")

    id: str
    ruleset_version: str
    warnings: list[JsonObject]
    errors: list[JsonObject]
    created_at: str
    input_snapshot: SnapshotRef
    output_snapshot: SnapshotRef


class CommentOut(BaseModel):
    """An operator comment or a system note (``note_id`` set for notes of other services)."""

    model_config = ConfigDict(title="Comment")

    id: str
    comment_type: str
    body: str
    created_by_user_id: str | None
    created_at: str
    note_id: str | None


class CommentList(BaseModel):
    """``GET /work-orders/:id/comments``, newest first."""

    items: list[CommentOut]


class WorkOrderDetailOut(BaseModel):
    """``GET /work-orders/:id`` (domain.md §1.8)."""

    model_config = ConfigDict(title="WorkOrderDetail")

    work_order: WorkOrderOut
    latest_snapshot: SnapshotOut | None
    readiness: JsonObject
    evidence_items: list[JsonObject]
    field_evidence_links: list[JsonObject]
    ocr_jobs: list[JsonObject]
    comments: list[CommentOut]
    rules_runs: list[RulesRunOut]
    evidence_version: int


class PackOut(BaseModel):
    """The pack of the current render."""

    id: str | None
    version: int | None
    status: str | None
    template_key: str | None
    report_family: str | None
    export_bundle_hash: str | None
    snapshot_version: int | None


class GenerationJobOut(BaseModel):
    """Factory's generation job of the pack."""

    id: str | None
    status: str | None
    attempts: int


class PackFailureOut(BaseModel):
    """Why the pack failed (decision 7)."""

    code: str | None
    reason: str | None


class PackLinkOut(BaseModel):
    """The current render's pack, its job, artifacts, releases and failure."""

    model_config = ConfigDict(title="PackLink")

    pack: PackOut
    generation_job: GenerationJobOut
    artifacts: list[JsonObject]
    releases: list[JsonObject]
    failure: PackFailureOut | None
    source_version: int


class StatusChangedOut(WorkOrderDetailOut):
    """201 of ``POST /work-orders/:id/status``: the detail; a READY_FOR_RENDER request adds the render's
    ``pack_link`` and ``pack_state``."""

    model_config = ConfigDict(title="StatusChanged")

    pack_link: PackLinkOut | None = None
    pack_state: str | None = None


class PendingAcceptanceOut(BaseModel):
    """The acceptance request still waiting for billing."""

    status: str
    request_message_id: str


class StatusPendingOut(BaseModel):
    """202 of ``POST /work-orders/:id/status``: the saga has not settled within the wait budget."""

    model_config = ConfigDict(title="StatusPending")

    status: str
    work_order_id: str
    acceptance: PendingAcceptanceOut
    poll_url: str


class ContractPatchedOut(BaseModel):
    """``PATCH /work-orders/:id/contract`` (domain.md §1.5 step 14)."""

    model_config = ConfigDict(title="ContractPatched")

    work_order_id: str
    input_snapshot: SnapshotOut
    output_snapshot: SnapshotOut
    readiness: JsonObject
    rules_run: RulesRunOut


class WorkOrderExportOut(BaseModel):
    """``GET /work-orders/:id/export`` (domain.md §1.9)."""

    model_config = ConfigDict(title="WorkOrderExport")

    work_order: WorkOrderOut
    snapshot: SnapshotOut
    export_bundle: JsonObject
    export_bundle_hash: str


# --- mapping ------------------------------------------------------------------------------------------------


def _wire_value(value: object) -> object:
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, datetime):
        return iso_utc(value)
    return value


def _on_the_wire(out: type[OutT], record: object, **values: object) -> OutT:
    """``out`` from the fields of ``record`` it names (ids as strings, instants as ISO-8601 UTC with
    milliseconds); ``values`` give the fields the record does not hold as they are."""
    named = {name: _wire_value(getattr(record, name)) for name in out.model_fields if name not in values}
    return out(**named, **values)


def _document(projected: ProjectedWorkOrder) -> JsonObject:
    return work_order_document(
        projected.work_order, billing_payload=projected.billing_payload, pack=projected.pack
    )


def work_order_out(projected: ProjectedWorkOrder) -> WorkOrderOut:
    """The serialized work order with its billing block and pack state."""
    return WorkOrderOut.model_validate(_document(projected))


def snapshot_out(snapshot: Snapshot) -> SnapshotOut:
    """One snapshot on the wire."""
    return _on_the_wire(SnapshotOut, snapshot)


def rules_run_out(run: RulesRun) -> RulesRunOut:
    """One rules run on the wire."""
    return _on_the_wire(
        RulesRunOut,
        run,
        input_snapshot=SnapshotRef(id=str(run.input_snapshot_id), version=run.input_version),
        output_snapshot=SnapshotRef(id=str(run.output_snapshot_id), version=run.output_version),
    )


def comment_out(comment: Comment) -> CommentOut:
    """One comment on the wire."""
    return _on_the_wire(CommentOut, comment)


def created_out(wo: WorkOrder) -> WorkOrderCreatedOut:
    """The answer to a create."""
    projected = ProjectedWorkOrder(wo, billing_payload=None, pack=None)
    return WorkOrderCreatedOut(work_order_id=str(wo.id), work_order=work_order_out(projected))


def list_item_out(summary: WorkOrderSummary) -> WorkOrderListItem:
    """One work order of the list."""
    readiness = summary.projected.work_order.current_readiness
    document = _document(summary.projected)
    created = summary.latest_snapshot_created_at
    return WorkOrderListItem.model_validate(
        document
        | {
            "readiness": readiness,
            "readiness_score": clamp_score(readiness),
            "latest_snapshot_version": summary.latest_snapshot_version,
            "latest_snapshot_created_at": iso_utc(created) if created is not None else None,
            "latest_derived_json": summary.latest_derived_json,
            "evidence_count": summary.evidence_count,
            "comments_count": summary.comments_count,
        }
    )


def detail_out(detail: WorkOrderDetail) -> WorkOrderDetailOut:
    """The detail view of domain.md §1.8."""
    evidence = detail.evidence
    return WorkOrderDetailOut(
        work_order=work_order_out(detail.projected),
        latest_snapshot=snapshot_out(detail.latest_snapshot) if detail.latest_snapshot else None,
        readiness=detail.readiness,
        evidence_items=sort_evidence(evidence.items or []),
        field_evidence_links=newest_first(evidence.field_evidence_links or []),
        ocr_jobs=newest_first(evidence.ocr_jobs or []),
        comments=[comment_out(c) for c in detail.comments],
        rules_runs=[rules_run_out(r) for r in detail.rules_runs],
        evidence_version=evidence.evidence_version,
    )


def with_pack_link(detail: WorkOrderDetail) -> StatusChangedOut:
    """The detail of a READY_FOR_RENDER answer with the render's pack link and state."""
    out = detail_out(detail)
    link = pack_link(detail.projected.work_order.pack_baseline_version, detail.projected.pack)
    return StatusChangedOut(
        **dict(out),
        pack_link=PackLinkOut.model_validate(link) if link is not None else None,
        pack_state=out.work_order.pack_state,
    )


def contract_patched_out(result: ContractPatched) -> ContractPatchedOut:
    """The answer to a contract patch."""
    return ContractPatchedOut(
        work_order_id=str(result.work_order_id),
        input_snapshot=snapshot_out(result.input_snapshot),
        output_snapshot=snapshot_out(result.output_snapshot),
        readiness=result.readiness,
        rules_run=rules_run_out(result.rules_run),
    )


def export_out(result: WorkOrderExport) -> WorkOrderExportOut:
    """The export of one snapshot."""
    return WorkOrderExportOut(
        work_order=work_order_out(result.projected),
        snapshot=snapshot_out(result.export.snapshot),
        export_bundle=result.export.bundle,
        export_bundle_hash=result.export.bundle_hash,
    )


def status_pending_out(result: StatusResult) -> StatusPendingOut:
    """202 while the acceptance saga runs."""
    request_id = result.acceptance_request_id or ""
    return StatusPendingOut(
        status="PENDING",
        work_order_id=str(result.work_order_id),
        acceptance=PendingAcceptanceOut(status="PENDING", request_message_id=request_id),
        poll_url=f"/v1/repogen/work-orders/{result.work_order_id}",
    )


def json_body(model: BaseModel) -> Any:
    """The JSON body of a response model (what an idempotency key stores and replays)."""
    return model.model_dump(mode="json")
