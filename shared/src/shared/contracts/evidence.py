"""``evidence.work-order-evidence.v1`` (key: work order id), ``evidence.ocr-jobs.v1`` (key: job id) and
``evidence.documents.v1`` (key: document id, compacted)."""

from __future__ import annotations

from typing import Any, Literal

from shared.contracts.base import Contract, Event
from shared.contracts.topics import EVIDENCE_DOCUMENTS, EVIDENCE_OCR_JOBS, EVIDENCE_WORK_ORDER_EVIDENCE


class SystemNote(Contract):
    """A system note for the work-order comments; ``note_id`` is stable so it is inserted once."""

    note_id: str
    body: str
    created_by_user_id: str | None = None
    created_at: str


class SelectedProfile(Contract):
    id: str
    name: str
    report_type: str
    bank_type: str
    value_slab: str
    chosen_by: Literal["auto", "operator"]
    items: list[dict[str, Any]]


class EvidenceState(Event, topic=EVIDENCE_WORK_ORDER_EVIDENCE, type="evidence_state"):
    """The whole (small) evidence state of one work order, re-published on every change."""

    work_order_id: str
    evidence_version: int
    items: list[dict[str, Any]]
    profile: SelectedProfile | None = None
    field_evidence_links: list[dict[str, Any]] = []
    linked_field_keys: list[str] = []
    ocr_jobs: list[dict[str, Any]] = []
    checklist: list[dict[str, Any]] = []
    annexure_order: dict[str, int] = {}
    notes: list[SystemNote] = []


class OcrRequested(Event, topic=EVIDENCE_OCR_JOBS, type="ocr_requested"):
    """An OCR job was queued (internal job queue of the evidence service)."""

    job_id: str
    work_order_id: str
    evidence_item_id: str
    document_id: str | None = None
    storage_key: str | None = None
    content_type: str | None = None
    requested_by_user_id: str | None = None


class DocumentUploaded(Event, topic=EVIDENCE_DOCUMENTS, type="document_uploaded"):
    """A document was uploaded through ``POST /v1/documents`` (metadata only; the bytes are in the blob
    store under ``storage_key``). Billing projects it to accept the document as a payment proof."""

    document_id: str
    storage_key: str
    sha256: str
    original_filename: str
    content_type: str
    size_bytes: int
    created_by_user_id: str | None = None
