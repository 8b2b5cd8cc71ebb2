"""Commands → effects of the evidence service, inside the caller's unit of work.

HTTP routes and Kafka subscribers call these. Every change of a work order's evidence (items,
profile, field links, OCR job state, annexure order) goes through :func:`publish_state`, which bumps the
per-work-order ``evidence_version`` and emits ONE ``evidence_state`` event carrying the whole state and
the system notes of that change.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Final

from evidence_service.domain.annexure import auto_order
from evidence_service.domain.errors import EvidenceDomainError
from evidence_service.domain.notes import (
    FieldLinkAction,
    SystemNote,
    field_link_line,
    field_links_updated_note,
    ocr_enqueued_note,
    profile_selected_note,
)
from evidence_service.domain.profiles import select_default
from evidence_service.ocr_engine import DEFAULT_LANGS, run_ocr
from evidence_service.repository import (
    EvidenceRepository,
    evidence_for_rules,
    iso,
    serialize_field_def,
    serialize_item,
    serialize_job,
    serialize_link,
    serialize_profile,
    serialize_profile_item,
)
from shared.blobstore import BlobStore
from shared.contracts.evidence import EvidenceState, OcrRequested, SelectedProfile
from shared.contracts.evidence import SystemNote as NoteContract
from shared.db.uow import UnitOfWork
from shared.domain.checklist import evaluate_checklist, suggest_for_missing_fields
from shared.domain.readiness import evaluate
from shared.errors import BadRequest, Conflict, NotFound
from shared.timestamps import utc_now_iso

LOCKED_STATUSES: Final = frozenset({"READY_FOR_RENDER", "CLOSED", "CANCELLED"})
"""Decision 29: from READY_FOR_RENDER on the evidence is frozen (terminal statuses included)."""

NOTE_NO_DOCUMENT: Final = "NO_DOCUMENT"
NOTE_DOCUMENT_BYTES_MISSING: Final = "DOCUMENT_BYTES_MISSING"


def work_order_not_found(work_order_id: object) -> NotFound:
    return NotFound(f"repogen work order {work_order_id} not found", code="WORK_ORDER_NOT_FOUND")


def ensure_unlocked(wo: Mapping[str, Any]) -> None:
    """409 ``WORK_ORDER_LOCKED`` once the work order reached READY_FOR_RENDER (decision 29)."""
    if wo["status"] in LOCKED_STATUSES:
        raise Conflict(
            f"work order {wo['work_order_id']} is {wo['status']}: evidence is locked",
            code="WORK_ORDER_LOCKED",
            details={"work_order_id": str(wo["work_order_id"]), "status": wo["status"]},
        )


def base_contract(wo: Mapping[str, Any]) -> dict[str, Any]:
    """The contract readiness is evaluated on: the latest snapshot's, else the §1.5 step 1 base."""
    contract = wo.get("latest_contract")
    if isinstance(contract, Mapping):
        return dict(contract)
    return {
        "meta": {"report_type": wo["report_type"], "bank_type": wo["bank_type"]},
        "party": {"bank_name": wo["bank_name"]},
        "property": {"floors": []},
        "annexures": {
            "items": [],
            "image_grouping_default": {"min_images_per_page": 2, "max_images_per_page": 4},
        },
    }


def format_rule_warnings(warnings: Sequence[Any]) -> list[str]:
    """Rule-run warnings as readiness reads them: ``"<CODE>: <message>"`` (domain.md §3.3)."""
    out: list[str] = []
    for warning in warnings:
        if isinstance(warning, Mapping):
            out.append(f"{warning.get('code')}: {warning.get('message')}")
        elif isinstance(warning, str):
            out.append(warning)
    return out


@dataclass
class EvidenceView:
    """Everything the API answers with and the event carries, computed from one read of the rows."""

    wo: dict[str, Any]
    items: list[dict[str, Any]]
    rule_items: list[dict[str, Any]]
    profile: dict[str, Any] | None
    profile_items: list[dict[str, Any]]
    links: list[dict[str, Any]]
    jobs: list[dict[str, Any]]
    checklist: list[dict[str, Any]]
    readiness: dict[str, Any]
    linked_field_keys: list[str] = field(default_factory=list)

    @property
    def work_order_id(self) -> str:
        return str(self.wo["work_order_id"])

    @property
    def evidence_version(self) -> int:
        return int(self.wo["evidence_version"])

    def suggestions(self) -> list[dict[str, Any]]:
        return suggest_for_missing_fields(self.readiness["missing_field_evidence_links"], self.checklist)

    def annexure_order(self) -> dict[str, int]:
        return {
            item["id"]: item["annexure_order"] for item in self.items if item["annexure_order"] is not None
        }

    def selected_profile(self) -> dict[str, Any] | None:
        if self.profile is None:
            return None
        return {**serialize_profile(self.profile), "items": self.profile_items}


async def load_view(repo: EvidenceRepository, wo: dict[str, Any]) -> EvidenceView:
    """Read the whole evidence state of one work order and derive checklist and readiness."""
    wo_id = wo["work_order_id"]
    rows = await repo.items(wo_id)
    documents = await repo.documents_by_ids(r["document_id"] for r in rows if r["document_id"] is not None)
    items = [
        serialize_item(r, documents.get(str(r["document_id"])) if r["document_id"] else None) for r in rows
    ]
    rule_items = evidence_for_rules(rows)
    profile = await repo.profile(wo["evidence_profile_id"]) if wo["evidence_profile_id"] else None
    profile_items = (
        [serialize_profile_item(r) for r in await repo.profile_items(profile["id"])] if profile else []
    )
    links = [serialize_link(r) for r in await repo.links(wo_id)]
    jobs = [serialize_job(r) for r in await repo.jobs(wo_id)]
    checklist = evaluate_checklist(profile_items, rule_items)
    linked = list(dict.fromkeys(link["field_key"] for link in links))
    readiness = evaluate(
        wo["report_type"],
        base_contract(wo),
        rule_items,
        format_rule_warnings(wo.get("rule_warnings") or []),
        evidence_profile_requirements=profile_items or None,
        field_evidence_linked_keys=linked,
    )
    return EvidenceView(
        wo, items, rule_items, profile, profile_items, links, jobs, checklist, readiness, linked
    )


def _note_contract(note: SystemNote, actor: str | None) -> NoteContract:
    # kind and comment_type are additive fields (contracts allow extras; readers ignore them).
    return NoteContract.model_validate(
        {
            "note_id": note.id,
            "body": note.body,
            "created_by_user_id": actor,
            "created_at": utc_now_iso(),
            "kind": note.kind.value,
            "comment_type": note.comment_type,
        }
    )


NoteFactory = Callable[[int], SystemNote | None]
"""Builds the note of a change from the evidence version the change gets (its stable discriminator)."""


async def publish_state(
    uow: UnitOfWork,
    repo: EvidenceRepository,
    work_order_id: uuid.UUID,
    *,
    notes: Sequence[NoteFactory] = (),
    actor: str | None = None,
) -> EvidenceView:
    """Bump ``evidence_version`` and emit one ``evidence_state`` with the whole state (architecture §3.1).

    The caller holds the work order's row lock (``FOR UPDATE``), so versions never interleave.
    """
    version = await repo.bump_evidence_version(work_order_id)
    wo = await repo.work_order(work_order_id)
    assert wo is not None
    view = await load_view(repo, wo)
    built = [n for n in (factory(version) for factory in notes) if n is not None]
    profile = view.profile
    state = EvidenceState(
        work_order_id=str(work_order_id),
        evidence_version=version,
        items=view.items,
        profile=(
            SelectedProfile(
                id=str(profile["id"]),
                name=profile["name"],
                report_type=profile["report_type"],
                bank_type=profile["bank_type"],
                value_slab=profile["value_slab"],
                chosen_by=wo["profile_chosen_by"] or "auto",
                items=view.profile_items,
            )
            if profile is not None
            else None
        ),
        field_evidence_links=view.links,
        linked_field_keys=view.linked_field_keys,
        ocr_jobs=view.jobs,
        checklist=view.checklist,
        annexure_order=view.annexure_order(),
        notes=[_note_contract(n, actor) for n in built],
    )
    # Additive: the readiness evidence computed with this state (workorders recomputes its own).
    state = EvidenceState.model_validate({**state.model_dump(), "readiness": view.readiness})
    await uow.emit(
        state, aggregate_id=str(work_order_id), aggregate_version=version, tenant_id=str(wo["tenant_id"])
    )
    return view


def _uuid_or_none(value: Any) -> uuid.UUID | None:
    if value is None or isinstance(value, uuid.UUID):
        return value
    return uuid.UUID(str(value))


def _utc(value: datetime | None) -> datetime | None:
    if value is None:
        return None
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


# ---------------------------------------------------------------------------------- evidence items

_ITEM_COLUMNS: Final = (
    "evidence_type",
    "doc_type",
    "classification",
    "sensitivity",
    "source",
    "document_id",
    "file_ref",
    "captured_by_employee_id",
    "captured_at",
    "annexure_order",
    "tags",
)


def _item_values(item: Mapping[str, Any]) -> dict[str, Any]:
    """Every mutable column of an item (domain.md §1.6: omitted fields become null)."""
    return {
        "evidence_type": item["evidence_type"],
        "doc_type": item.get("doc_type"),
        "classification": item.get("classification"),
        "sensitivity": item.get("sensitivity"),
        "source": item.get("source"),
        "document_id": _uuid_or_none(item.get("document_id")),
        "file_ref": item.get("file_ref"),
        "captured_by_employee_id": _uuid_or_none(item.get("captured_by_employee_id")),
        "captured_at": _utc(item.get("captured_at")),
        "annexure_order": item.get("annexure_order"),
        "tags": item.get("tags"),
    }


def _same_item(row: Mapping[str, Any], values: Mapping[str, Any]) -> bool:
    return all(row[column] == values[column] for column in _ITEM_COLUMNS)


async def link_evidence(
    uow: UnitOfWork,
    repo: EvidenceRepository,
    wo: dict[str, Any],
    items: Sequence[Mapping[str, Any]],
    actor: str | None,
) -> EvidenceView:
    """``POST …/evidence/link`` (domain.md §1.6): create or overwrite items, all or nothing."""
    ensure_unlocked(wo)
    wo_id = wo["work_order_id"]
    wanted_docs = list(dict.fromkeys(str(i["document_id"]) for i in items if i.get("document_id")))
    visible = await repo.documents_by_ids(uuid.UUID(d) for d in wanted_docs)
    missing_docs = [d for d in wanted_docs if d not in visible]
    if missing_docs:
        raise BadRequest(
            f"document(s) not found or not visible: {', '.join(missing_docs)}",
            code="DOCUMENTS_NOT_FOUND",
            details={"document_ids": missing_docs},
        )
    changed = False
    for item in items:
        values = _item_values(item)
        item_id = item.get("id")
        if item_id is not None:
            existing = await repo.item(wo_id, uuid.UUID(str(item_id)))
            if existing is None:
                raise NotFound(f"repogen evidence item {item_id} not found", code="EVIDENCE_ITEM_NOT_FOUND")
            # Re-sending an item unchanged (a retried request) changes nothing and emits nothing.
            if not _same_item(existing, values):
                await repo.update_item(existing["id"], values)
                changed = True
        else:
            await repo.insert_item(wo_id, {"id": uuid.uuid4(), **values})
            changed = True
    if changed:
        return await publish_state(uow, repo, wo_id, actor=actor)
    return await load_view(repo, wo)


# -------------------------------------------------------------------------------------- profiles


async def choose_default(repo: EvidenceRepository, wo: Mapping[str, Any]) -> dict[str, Any] | None:
    """The default profile for the work order's current report type, bank and slab (decision 4)."""
    await repo.ensure_defaults()
    profiles = await repo.profiles(wo["report_type"])
    chosen = select_default(
        [{**p, "created_at": iso(p["created_at"]), "id": str(p["id"])} for p in profiles],
        wo["report_type"],
        wo["bank_type"],
        wo["value_slab"],
    )
    return None if chosen is None else dict(chosen)


def _profile_note(wo_id: uuid.UUID, profile_id: str) -> NoteFactory:
    return lambda version: profile_selected_note(str(wo_id), profile_id, f"evidence_version:{version}")


async def assign_default_if_missing(
    uow: UnitOfWork, repo: EvidenceRepository, wo: dict[str, Any]
) -> dict[str, Any]:
    """§4.4: reading the profiles of a work order without one assigns the default as a side effect."""
    if wo["evidence_profile_id"] is not None:
        await repo.ensure_defaults()
        return wo
    chosen = await choose_default(repo, wo)
    if chosen is None:
        return wo
    await repo.update_work_order(
        wo["work_order_id"], evidence_profile_id=uuid.UUID(chosen["id"]), profile_chosen_by="auto"
    )
    await publish_state(uow, repo, wo["work_order_id"])
    fresh = await repo.work_order(wo["work_order_id"])
    assert fresh is not None
    return fresh


async def select_profile(
    uow: UnitOfWork,
    repo: EvidenceRepository,
    wo: dict[str, Any],
    *,
    profile_id: uuid.UUID | None,
    use_default: bool,
    actor: str | None,
) -> dict[str, Any]:
    """``POST …/evidence-profile`` (§4.4). ``use_default`` keeps following the slab (chosen_by auto)."""
    ensure_unlocked(wo)
    await repo.ensure_defaults()
    if use_default:
        chosen = await choose_default(repo, wo)
        if chosen is None:
            raise BadRequest(
                f"no default evidence profile resolves for work order {wo['work_order_id']}",
                code="EVIDENCE_PROFILE_NOT_RESOLVED",
            )
        new_id, chosen_by = uuid.UUID(chosen["id"]), "auto"
    else:
        assert profile_id is not None
        profile = await repo.profile(profile_id)
        if profile is None or profile["report_type"] != wo["report_type"]:
            raise BadRequest(
                f"evidence profile {profile_id} is not valid for work order {wo['work_order_id']}",
                code="INVALID_EVIDENCE_PROFILE_FOR_WORK_ORDER",
                details={"profile_id": str(profile_id), "report_type": wo["report_type"]},
            )
        new_id, chosen_by = profile["id"], "operator"
    if wo["evidence_profile_id"] == new_id and wo["profile_chosen_by"] == chosen_by:
        return wo  # the same selection again changes nothing (no note, no event)
    await repo.update_work_order(wo["work_order_id"], evidence_profile_id=new_id, profile_chosen_by=chosen_by)
    await publish_state(
        uow, repo, wo["work_order_id"], notes=[_profile_note(wo["work_order_id"], str(new_id))], actor=actor
    )
    fresh = await repo.work_order(wo["work_order_id"])
    assert fresh is not None
    return fresh


async def profiles_payload(repo: EvidenceRepository, view: EvidenceView) -> dict[str, Any]:
    """The §4.4 GET payload."""
    profiles = await repo.profiles(view.wo["report_type"])
    return {
        "work_order_id": view.work_order_id,
        "selected_profile_id": str(view.profile["id"]) if view.profile else None,
        "selected_profile_chosen_by": view.wo["profile_chosen_by"],
        "selected_profile": view.selected_profile(),
        "profiles": [serialize_profile(p) for p in profiles],
        "checklist": view.checklist,
        "suggested_evidence_for_missing_fields": view.suggestions(),
        "field_defs": [serialize_field_def(f) for f in await repo.field_defs()],
        "readiness": view.readiness,
        "evidence_version": view.evidence_version,
    }


# --------------------------------------------------------------------------- field-evidence links


async def links_payload(repo: EvidenceRepository, view: EvidenceView) -> dict[str, Any]:
    """The §4.7 GET payload (links of every snapshot, decision 6) plus readiness."""
    wo = view.wo
    return {
        "work_order_id": view.work_order_id,
        "latest_snapshot_id": str(wo["latest_snapshot_id"]) if wo["latest_snapshot_id"] else None,
        "latest_snapshot_version": wo["latest_snapshot_version"],
        "field_defs": [serialize_field_def(f) for f in await repo.field_defs()],
        "links": view.links,
        "linked_field_keys": view.linked_field_keys,
        "readiness": view.readiness,
        "evidence_version": view.evidence_version,
    }


async def _target_snapshot(
    repo: EvidenceRepository, wo: Mapping[str, Any], snapshot_id: uuid.UUID | None
) -> tuple[uuid.UUID, int]:
    if snapshot_id is not None:
        version = await repo.snapshot_version(wo["work_order_id"], snapshot_id)
        if version is None:
            raise BadRequest(
                f"snapshot {snapshot_id} not found for work order", code="SNAPSHOT_NOT_FOUND_FOR_WORK_ORDER"
            )
        return snapshot_id, version
    if wo["latest_snapshot_id"] is None:
        raise BadRequest(
            "a contract snapshot is required before field evidence links can be made",
            code="CONTRACT_SNAPSHOT_REQUIRED_FOR_FIELD_EVIDENCE_LINKS",
        )
    return wo["latest_snapshot_id"], int(wo["latest_snapshot_version"])


async def upsert_field_links(
    uow: UnitOfWork,
    repo: EvidenceRepository,
    wo: dict[str, Any],
    links: Sequence[Mapping[str, Any]],
    actor: str | None,
) -> EvidenceView:
    """``POST …/field-evidence-links`` (§4.7 with decision 6); one note for all changed lines."""
    ensure_unlocked(wo)
    wo_id = wo["work_order_id"]
    wanted = list(dict.fromkeys(str(link["evidence_item_id"]) for link in links))
    own = {str(r["id"]) for r in await repo.items(wo_id)}
    missing = [e for e in wanted if e not in own]
    if missing:
        raise BadRequest(
            f"evidence item(s) not found for work order: {', '.join(missing)}",
            code="EVIDENCE_ITEMS_NOT_FOUND_FOR_WORK_ORDER",
            details={"evidence_item_ids": missing},
        )
    lines: list[str] = []
    user = _uuid_or_none(actor) if actor and _is_uuid(actor) else None
    for link in links:
        field_key = str(link["field_key"]).strip()
        evidence_id = uuid.UUID(str(link["evidence_item_id"]))
        link_id = _uuid_or_none(link.get("id"))
        if link.get("remove"):
            found = (
                await repo.link(wo_id, link_id)
                if link_id is not None
                else await repo.link_by_key(wo_id, field_key, evidence_id)
            )
            if found is not None:
                await repo.delete_link(found["id"])
                lines.append(
                    field_link_line(
                        FieldLinkAction.REMOVED,
                        found["field_key"],
                        str(found["evidence_item_id"]),
                        int(found["snapshot_version"] or 0),
                    )
                )
            continue
        snapshot_id, snapshot_version = await _target_snapshot(
            repo, wo, _uuid_or_none(link.get("snapshot_id"))
        )
        values = {
            "field_key": field_key,
            "evidence_item_id": evidence_id,
            "snapshot_id": snapshot_id,
            "snapshot_version": snapshot_version,
            "confidence": link.get("confidence"),
            "note": link.get("note"),
        }
        if link_id is not None:
            existing = await repo.link(wo_id, link_id)
            if existing is None:
                raise NotFound(
                    f"repogen field evidence link {link_id} not found", code="FIELD_EVIDENCE_LINK_NOT_FOUND"
                )
            clash = await repo.link_by_key(wo_id, field_key, evidence_id)
            if clash is not None and clash["id"] != existing["id"]:
                raise Conflict(
                    f"another link already ties {field_key} to evidence {evidence_id}",
                    code="FIELD_EVIDENCE_LINK_CONFLICT",
                    details={"link_id": str(clash["id"])},
                )
            action = FieldLinkAction.UPDATED
        else:
            existing = await repo.link_by_key(wo_id, field_key, evidence_id)
            action = FieldLinkAction.REFRESHED
        if existing is None:
            await repo.insert_link(wo_id, {"id": uuid.uuid4(), "created_by_user_id": user, **values})
            lines.append(
                field_link_line(FieldLinkAction.LINKED, field_key, str(evidence_id), snapshot_version)
            )
        elif any(existing[k] != v for k, v in values.items()):
            await repo.update_link(existing["id"], values)
            lines.append(field_link_line(action, field_key, str(evidence_id), snapshot_version))
        # An identical link again (a retried request) changes nothing: no line, no note, no event.
    if lines:
        note = lambda version: field_links_updated_note(str(wo_id), lines, f"evidence_version:{version}")  # noqa: E731
        return await publish_state(uow, repo, wo_id, notes=[note], actor=actor)
    return await load_view(repo, wo)


def _is_uuid(value: str) -> bool:
    try:
        uuid.UUID(value)
    except ValueError:
        return False
    return True


# ----------------------------------------------------------------------------------------- OCR


async def enqueue_ocr(
    uow: UnitOfWork, repo: EvidenceRepository, wo: dict[str, Any], evidence_item_id: str, actor: str | None
) -> tuple[dict[str, Any], EvidenceView]:
    """``POST …/ocr/enqueue`` (§4.8, decision 28): a QUEUED job, its ``ocr_requested`` event, a note."""
    wo_id = wo["work_order_id"]
    item = await repo.item(wo_id, uuid.UUID(evidence_item_id)) if _is_uuid(evidence_item_id) else None
    if item is None:
        raise BadRequest(
            f"evidence item {evidence_item_id} not found for work order {wo_id}",
            code="EVIDENCE_ITEM_NOT_FOUND_FOR_WORK_ORDER",
        )
    document = await repo.get_document(item["document_id"]) if item["document_id"] else None
    job_id = uuid.uuid4()
    user = uuid.UUID(actor) if actor and _is_uuid(actor) else None
    job = await repo.insert_job(
        {"id": job_id, "tenant": repo.tenant_id, "wo": wo_id, "ev": item["id"], "user": user, "trace": None}
    )
    await uow.emit(
        OcrRequested(
            job_id=str(job_id),
            work_order_id=str(wo_id),
            evidence_item_id=str(item["id"]),
            document_id=str(document["id"]) if document else None,
            storage_key=document["storage_key"] if document else None,
            content_type=document["content_type"] if document else None,
            requested_by_user_id=actor,
        ),
        aggregate_id=str(job_id),
        aggregate_version=1,
        tenant_id=str(repo.tenant_id),
    )
    note = ocr_enqueued_note(
        str(wo_id), str(job_id), str(item["id"]), item["evidence_type"], item["doc_type"]
    )
    view = await publish_state(uow, repo, wo_id, notes=[lambda _version: note], actor=actor)
    return serialize_job(job), view


@dataclass(frozen=True)
class OcrOutcome:
    status: str
    result: dict[str, Any] | None
    error: str | None


async def _read_document(
    repo: EvidenceRepository,
    job: Mapping[str, Any],
    blobs: BlobStore,
    timeout_s: int,
    langs: str,
    request_id: str | None,
) -> OcrOutcome:
    base = {"request_id": request_id, "job_id": str(job["id"]), "placeholder": False}
    item = await repo.item(job["work_order_id"], job["evidence_item_id"])
    document = (
        await repo.get_document(item["document_id"]) if item is not None and item["document_id"] else None
    )
    if document is None:
        # Decision 28: nothing to read is a finished job with an empty result, not a failure.
        empty: dict[str, Any] = {
            "extracted_text": "",
            "detected_fields": [],
            "engine": None,
            "engine_version": None,
            "confidence": 0.0,
            "page_count": 0,
            "content_type": None,
            "note": NOTE_NO_DOCUMENT,
            "details": {},
        }
        return OcrOutcome("DONE", {**empty, **base, "processed_at": utc_now_iso()}, None)
    data = await asyncio.to_thread(blobs.get, document["storage_key"])
    if data is None:
        return OcrOutcome(
            "FAILED",
            {
                **base,
                "document_id": str(document["id"]),
                "note": NOTE_DOCUMENT_BYTES_MISSING,
                "processed_at": utc_now_iso(),
            },
            NOTE_DOCUMENT_BYTES_MISSING,
        )
    try:
        result = await asyncio.to_thread(
            run_ocr, data, document["content_type"], timeout_seconds=timeout_s, langs=langs
        )
    except EvidenceDomainError as exc:
        return OcrOutcome(
            "FAILED",
            {
                **base,
                "document_id": str(document["id"]),
                "error": exc.to_dict(),
                "processed_at": utc_now_iso(),
            },
            exc.code,
        )
    return OcrOutcome(
        "DONE",
        {
            **result.to_result_json(),
            **base,
            "document_id": str(document["id"]),
            "processed_at": utc_now_iso(),
        },
        None,
    )


async def process_ocr_job(
    uow: UnitOfWork,
    event: OcrRequested,
    tenant_id: str,
    *,
    blobs: BlobStore,
    timeout_s: int,
    langs: str = DEFAULT_LANGS,
    request_id: str | None,
) -> bool:
    """Run one OCR job (decision 28). Idempotent: a job already DONE or FAILED is left alone (EVI-03).

    The engine runs in a worker thread while no row lock is held; the work order is locked only to
    record the outcome and publish the new evidence state. Returns True when the job was processed now.
    """
    repo = EvidenceRepository(uow.session, tenant_id)
    job_id = uuid.UUID(event.job_id)
    job = await repo.job(job_id)
    if (
        job is None
        or str(job["work_order_id"]) != event.work_order_id
        or str(job["evidence_item_id"]) != event.evidence_item_id
    ):
        # The job row is written in the same transaction as this event, so this is a real error: retry/DLQ.
        raise LookupError(f"OCR job {event.job_id} does not match work order / evidence of the request")
    if job["status"] != "QUEUED":
        return False
    outcome = await _read_document(repo, job, blobs, timeout_s, langs, request_id)
    wo = await repo.work_order(job["work_order_id"], for_update=True)
    locked_job = await repo.job(job_id, for_update=True)
    if wo is None or locked_job is None or locked_job["status"] != "QUEUED":
        return False
    await repo.finish_job(
        job_id, status=outcome.status, result=outcome.result, error=outcome.error, trace=request_id
    )
    await publish_state(uow, repo, job["work_order_id"])
    return True


# ------------------------------------------------------------------------------------- annexure


async def auto_order_annexure(
    uow: UnitOfWork, repo: EvidenceRepository, wo: dict[str, Any], actor: str | None
) -> tuple[dict[str, int], bool, EvidenceView]:
    """§4.9 auto-order, persisted: only ``annexure_order`` changes (the original UI wiped other columns)."""
    ensure_unlocked(wo)
    rows = await repo.items(wo["work_order_id"])
    order = auto_order(evidence_for_rules(rows))
    changed = False
    for row in rows:
        new = order[str(row["id"])]
        if row["annexure_order"] != new:
            await repo.set_annexure_order(row["id"], new)
            changed = True
    if changed:
        view = await publish_state(uow, repo, wo["work_order_id"], actor=actor)
    else:
        view = await load_view(repo, wo)
    return order, changed, view
