"""Wire shapes of the evidence service: the response models and the functions mapping records to them.

The ``evidence_state`` event carries the same shapes as the API (items, links, jobs, checklist,
readiness), so handlers build its payload from these models too.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import TYPE_CHECKING, Any, Literal, Self

from pydantic import BaseModel, ConfigDict

from evidence_service.records import Document, EvidenceItem, FieldDef, OcrJob, Profile
from shared.timestamps import iso_utc

if TYPE_CHECKING:  # the handlers build their event payloads from these views
    from evidence_service.handlers.auto_order_annexure import AnnexureOrder
    from evidence_service.handlers.enqueue_ocr import OcrQueued
    from evidence_service.handlers.list_field_links import FieldLinksOverview
    from evidence_service.handlers.list_profiles import ProfilesOverview
    from evidence_service.handlers.state import WorkOrderEvidence


def _str(value: uuid.UUID | None) -> str | None:
    return None if value is None else str(value)


def _wire(value: object) -> object:
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, datetime):
        return iso_utc(value)
    return value


class _FromRecord(BaseModel):
    @classmethod
    def of(cls, record: object, **overrides: object) -> Self:
        """The view of the same-named attributes of ``record`` (uuids as text, instants as ISO-8601 UTC)."""
        values = {
            name: _wire(getattr(record, name))
            for name in cls.model_fields
            if name not in overrides and hasattr(record, name)
        }
        return cls.model_validate({**values, **overrides})


class _Strict(BaseModel):
    # Built from the dicts of shared.domain: an unknown key must fail loudly, never vanish.
    model_config = ConfigDict(extra="forbid")


# ---------------------------------------------------------------------------------------- documents


class DocumentView(_FromRecord):
    """The full document metadata (``POST /v1/documents``, ``GET /v1/documents/:id``)."""

    id: str
    original_filename: str
    content_type: str
    size_bytes: int
    sha256: str
    storage_key: str
    status: str
    classification: str | None
    sensitivity: str | None
    source: str | None
    captured_at: str | None
    captured_by_employee_id: str | None
    capture: dict[str, Any]
    created_by_user_id: str | None
    created_at: str
    updated_at: str


def document_view(document: Document) -> DocumentView:
    """The metadata of an uploaded document."""
    return DocumentView.of(document, capture=document.capture_json or {})


class DocumentListItem(_FromRecord):
    """One document of ``GET /v1/documents`` (the original API's list: a bare array of these)."""

    id: str
    original_filename: str
    classification: str | None
    source: str | None
    created_at: str


def document_list(documents: list[Document]) -> list[DocumentListItem]:
    """The list of documents, in the order given."""
    return [DocumentListItem.of(document) for document in documents]


class DocumentSummary(_FromRecord):
    """The ``document`` embedded in an evidence item (domain.md §1.6)."""

    id: str
    original_filename: str
    content_type: str
    size_bytes: int
    status: str
    classification: str | None
    source: str | None
    storage_key: str


# ------------------------------------------------------------------------------------ evidence items


class EvidenceItemView(_FromRecord):
    """An evidence item (domain.md §1.6)."""

    id: str
    evidence_type: str
    doc_type: str | None
    classification: str | None
    sensitivity: str | None
    source: str | None
    document_id: str | None
    file_ref: str | None
    captured_by_employee_id: str | None
    captured_at: str | None
    annexure_order: int | None
    tags: dict[str, Any] | None
    created_at: str
    updated_at: str
    document: DocumentSummary | None


def item_view(item: EvidenceItem, document: Document | None) -> EvidenceItemView:
    """An evidence item with the summary of its document (None when it has none or it is not visible)."""
    summary = None if document is None else DocumentSummary.of(document)
    return EvidenceItemView.of(item, document=summary)


class FieldLinkView(_FromRecord):
    """A field-evidence link (domain.md §1.8) plus the snapshot version it was made on (decision 6)."""

    id: str
    snapshot_id: str | None
    snapshot_version: int | None
    field_key: str
    evidence_item_id: str
    confidence: float | None
    note: str | None
    created_by_user_id: str | None
    created_at: str
    updated_at: str


class OcrJobView(_FromRecord):
    """An OCR job (domain.md §4.8); ``result_json`` is the engine's free-form result."""

    id: str
    org_id: str
    work_order_id: str
    evidence_item_id: str
    status: Literal["QUEUED", "DONE", "FAILED"]
    requested_at: str
    finished_at: str | None
    result_json: dict[str, Any] | None
    error: str | None
    created_by_user_id: str | None
    worker_trace: str | None
    created_at: str
    updated_at: str


def job_view(job: OcrJob) -> OcrJobView:
    """An OCR job."""
    return OcrJobView.of(job, org_id=str(job.tenant_id))


# ------------------------------------------------------------------------------------------ profiles


class ProfileItemView(_FromRecord):
    """An evidence-profile item (domain.md §4.4)."""

    id: str
    evidence_type: str
    doc_type: str | None
    min_count: int
    is_required: bool
    tags_json: dict[str, Any] | None
    order_hint: int | None
    label: str | None
    field_key_hint: str | None
    created_at: str
    updated_at: str


class ProfileView(_FromRecord):
    """An evidence profile without its items (domain.md §4.4)."""

    id: str
    org_id: str
    report_type: str
    bank_type: str
    value_slab: str
    name: str
    is_default: bool
    metadata_json: dict[str, Any]
    created_at: str
    updated_at: str
    items_count: int


class SelectedProfileView(ProfileView):
    """The selected evidence profile with its items."""

    items: list[ProfileItemView]


def profile_view(profile: Profile) -> ProfileView:
    """An evidence profile without its items."""
    return ProfileView.of(profile, org_id=str(profile.tenant_id), metadata_json=profile.metadata_json or {})


class FieldDefView(_FromRecord):
    """A contract field evidence can be linked to."""

    id: str
    field_key: str
    label: str
    data_type: str
    required_by_default: bool
    unit: str | None
    metadata_json: dict[str, Any]


def field_def_view(field: FieldDef) -> FieldDefView:
    """A field definition."""
    return FieldDefView.of(field, metadata_json=field.metadata_json or {})


# ----------------------------------------------------------------------- checklist and readiness


class ChecklistRow(_Strict):
    """One profile item evaluated against the evidence (§4.5, ``shared.domain.checklist``)."""

    id: str | None
    label: str
    evidence_type: str | None
    doc_type: str | None
    min_count: int | None
    is_required: bool
    tags_json: dict[str, Any] | None
    order_hint: int | None
    field_key_hint: str | None
    current_count: int
    missing_count: int
    satisfied: bool
    matching_evidence_item_ids: list[str]


class SuggestedItem(_Strict):
    """A checklist item that could back a field still lacking an evidence link."""

    profile_item_id: str | None
    label: str | None
    current_count: int | None
    min_count: int | None
    satisfied: bool | None
    is_required: bool | None


class Suggestion(_Strict):
    """The checklist items suggested for one field without an evidence link (§4.6)."""

    field_key: str
    suggested_items: list[SuggestedItem]


class Readiness(_Strict):
    """Readiness of the work order's evidence (domain.md §3, ``shared.domain.readiness``)."""

    completeness_score: int
    missing_fields: list[str]
    missing_evidence: list[str]
    missing_field_evidence_links: list[str]
    warnings: list[str]
    required_evidence_minimums: dict[str, int]


class ChecklistSummary(BaseModel):
    """Counts over the checklist."""

    items: int
    required_items: int
    required_satisfied: int
    complete: bool


# ------------------------------------------------------------------------------------- route bodies


class EvidenceLinked(BaseModel):
    """``POST …/evidence/link``."""

    work_order_id: str
    readiness: Readiness
    evidence_items: list[EvidenceItemView]
    evidence_version: int


class WorkOrderEvidenceView(BaseModel):
    """``GET …/evidence``: the whole evidence state (what the ``evidence_state`` event carries)."""

    work_order_id: str
    evidence_version: int
    status: str
    evidence_items: list[EvidenceItemView]
    selected_profile: SelectedProfileView | None
    selected_profile_chosen_by: Literal["auto", "operator"] | None
    checklist: list[ChecklistRow]
    field_evidence_links: list[FieldLinkView]
    linked_field_keys: list[str]
    ocr_jobs: list[OcrJobView]
    annexure_order: dict[str, int]
    readiness: Readiness


class ProfilesView(BaseModel):
    """``GET …/evidence-profiles`` and ``POST …/evidence-profile`` (§4.4)."""

    work_order_id: str
    selected_profile_id: str | None
    selected_profile_chosen_by: Literal["auto", "operator"] | None
    selected_profile: SelectedProfileView | None
    profiles: list[ProfileView]
    checklist: list[ChecklistRow]
    suggested_evidence_for_missing_fields: list[Suggestion]
    field_defs: list[FieldDefView]
    readiness: Readiness
    evidence_version: int


class ChecklistView(BaseModel):
    """``GET …/evidence-checklist`` (§4.5, §4.6)."""

    work_order_id: str
    evidence_version: int
    selected_profile_id: str | None
    selected_profile_name: str | None
    checklist: list[ChecklistRow]
    summary: ChecklistSummary
    suggested_evidence_for_missing_fields: list[Suggestion]
    readiness: Readiness


class FieldLinksView(BaseModel):
    """``GET``/``POST …/field-evidence-links`` (§4.7, links of every snapshot: decision 6)."""

    work_order_id: str
    latest_snapshot_id: str | None
    latest_snapshot_version: int | None
    field_defs: list[FieldDefView]
    links: list[FieldLinkView]
    linked_field_keys: list[str]
    readiness: Readiness
    evidence_version: int


class OcrEnqueued(BaseModel):
    """``POST …/ocr/enqueue`` (§4.8)."""

    work_order_id: str
    ocr_job: OcrJobView
    queue_enqueued: bool
    evidence_version: int


class OcrJobsView(BaseModel):
    """``GET …/ocr/jobs``: newest first."""

    work_order_id: str
    evidence_version: int
    items: list[OcrJobView]


class AnnexureOrdered(BaseModel):
    """``POST …/annexure/auto-order`` (§4.9)."""

    work_order_id: str
    annexure_order: dict[str, int]
    changed: bool
    evidence_items: list[EvidenceItemView]
    readiness: Readiness
    evidence_version: int


# ------------------------------------------------------------------------------- result → route body


def evidence_items(evidence: WorkOrderEvidence) -> list[EvidenceItemView]:
    """The items of the state with their documents."""
    return [item_view(item, evidence.document_of(item)) for item in evidence.items]


def selected_profile(evidence: WorkOrderEvidence) -> SelectedProfileView | None:
    """The selected profile with its items, if any."""
    if evidence.profile is None:
        return None
    items = [ProfileItemView.of(item) for item in evidence.profile_items]
    return SelectedProfileView(**profile_view(evidence.profile).model_dump(), items=items)


def _chosen_by(evidence: WorkOrderEvidence) -> Literal["auto", "operator"] | None:
    chosen_by = evidence.wo.profile_chosen_by
    return "operator" if chosen_by == "operator" else "auto" if chosen_by == "auto" else None


def evidence_linked(evidence: WorkOrderEvidence) -> EvidenceLinked:
    """The answer of ``POST …/evidence/link``."""
    return EvidenceLinked(
        work_order_id=evidence.work_order_id,
        readiness=evidence.readiness,
        evidence_items=evidence_items(evidence),
        evidence_version=evidence.evidence_version,
    )


def work_order_evidence(evidence: WorkOrderEvidence) -> WorkOrderEvidenceView:
    """The answer of ``GET …/evidence``."""
    return WorkOrderEvidenceView(
        work_order_id=evidence.work_order_id,
        evidence_version=evidence.evidence_version,
        status=evidence.wo.status,
        evidence_items=evidence_items(evidence),
        selected_profile=selected_profile(evidence),
        selected_profile_chosen_by=_chosen_by(evidence),
        checklist=evidence.checklist,
        field_evidence_links=[FieldLinkView.of(link) for link in evidence.links],
        linked_field_keys=evidence.linked_field_keys,
        ocr_jobs=[job_view(job) for job in evidence.jobs],
        annexure_order=evidence.annexure_order(),
        readiness=evidence.readiness,
    )


def _selected_profile_id(evidence: WorkOrderEvidence) -> str | None:
    return _str(evidence.profile.id) if evidence.profile else None


def profiles(overview: ProfilesOverview) -> ProfilesView:
    """The answer of ``GET …/evidence-profiles`` and ``POST …/evidence-profile``."""
    evidence = overview.evidence
    return ProfilesView(
        work_order_id=evidence.work_order_id,
        selected_profile_id=_selected_profile_id(evidence),
        selected_profile_chosen_by=_chosen_by(evidence),
        selected_profile=selected_profile(evidence),
        profiles=[profile_view(profile) for profile in overview.profiles],
        checklist=evidence.checklist,
        suggested_evidence_for_missing_fields=evidence.suggestions(),
        field_defs=[field_def_view(field) for field in overview.field_defs],
        readiness=evidence.readiness,
        evidence_version=evidence.evidence_version,
    )


def checklist(evidence: WorkOrderEvidence) -> ChecklistView:
    """The answer of ``GET …/evidence-checklist``."""
    rows = evidence.checklist
    required = [row for row in rows if row.is_required]
    return ChecklistView(
        work_order_id=evidence.work_order_id,
        evidence_version=evidence.evidence_version,
        selected_profile_id=_selected_profile_id(evidence),
        selected_profile_name=evidence.profile.name if evidence.profile else None,
        checklist=rows,
        summary=ChecklistSummary(
            items=len(rows),
            required_items=len(required),
            required_satisfied=sum(1 for row in required if row.satisfied),
            complete=all(row.satisfied for row in required),
        ),
        suggested_evidence_for_missing_fields=evidence.suggestions(),
        readiness=evidence.readiness,
    )


def field_links(overview: FieldLinksOverview) -> FieldLinksView:
    """The answer of ``GET``/``POST …/field-evidence-links``."""
    evidence = overview.evidence
    return FieldLinksView(
        work_order_id=evidence.work_order_id,
        latest_snapshot_id=_str(evidence.wo.latest_snapshot_id),
        latest_snapshot_version=evidence.wo.latest_snapshot_version,
        field_defs=[field_def_view(field) for field in overview.field_defs],
        links=[FieldLinkView.of(link) for link in evidence.links],
        linked_field_keys=evidence.linked_field_keys,
        readiness=evidence.readiness,
        evidence_version=evidence.evidence_version,
    )


def ocr_enqueued(queued: OcrQueued) -> OcrEnqueued:
    """The answer of ``POST …/ocr/enqueue``."""
    return OcrEnqueued(
        work_order_id=queued.evidence.work_order_id,
        ocr_job=job_view(queued.job),
        queue_enqueued=True,
        evidence_version=queued.evidence.evidence_version,
    )


def ocr_jobs(evidence: WorkOrderEvidence) -> OcrJobsView:
    """The answer of ``GET …/ocr/jobs``."""
    return OcrJobsView(
        work_order_id=evidence.work_order_id,
        evidence_version=evidence.evidence_version,
        items=[job_view(job) for job in evidence.jobs],
    )


def annexure_ordered(result: AnnexureOrder) -> AnnexureOrdered:
    """The answer of ``POST …/annexure/auto-order``."""
    evidence = result.evidence
    return AnnexureOrdered(
        work_order_id=evidence.work_order_id,
        annexure_order=result.order,
        changed=result.changed,
        evidence_items=evidence_items(evidence),
        readiness=evidence.readiness,
        evidence_version=evidence.evidence_version,
    )
