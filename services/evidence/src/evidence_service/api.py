"""HTTP routes of the evidence service: request → command → handler → view (domain.md §1.6, §4, §9.1).

Documents: ``POST /v1/documents`` (multipart), ``GET /v1/documents`` (the tenant's, newest first: a bare
array as the original API answered), ``GET /v1/documents/:id``, ``GET …/:id/download``.
Work-order evidence under ``/v1/repogen/work-orders/:id``: ``evidence/link``, ``evidence`` (whole state),
``evidence-profiles``, ``evidence-profile``, ``evidence-checklist``, ``field-evidence-links``,
``ocr/enqueue``, ``ocr/jobs``, ``annexure/auto-order``. Writes answer
``x-zenops-version: evidence:work-order-evidence:<wo>:<evidence_version>`` and accept ``Idempotency-Key``.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Annotated, Any, Generic, Protocol, TypeVar
from urllib.parse import quote

from fastapi import APIRouter, Depends, File, Form, Query, Request, Response, UploadFile
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field, model_validator

from evidence_service import views
from evidence_service.domain.errors import (
    ContractSnapshotRequiredForFieldEvidenceLinks,
    DocumentBytesMissing,
    DocumentNotFound,
    DocumentsNotFound,
    DocumentTooLarge,
    EvidenceItemNotFound,
    EvidenceItemNotFoundForWorkOrder,
    EvidenceItemsNotFoundForWorkOrder,
    EvidenceProfileNotResolved,
    FieldEvidenceLinkConflict,
    FieldEvidenceLinkNotFound,
    InvalidEvidenceProfileForWorkOrder,
    ProfileIdOrUseDefaultRequired,
    SnapshotNotFoundForWorkOrder,
    UnsupportedDocumentType,
    WorkOrderLocked,
    WorkOrderNotFound,
)
from evidence_service.domain.uploads import (
    CLASSIFICATIONS,
    SENSITIVITIES,
    SOURCES,
    Classification,
    Sensitivity,
    Source,
)
from evidence_service.handlers import enqueue_ocr as ocr_queue
from evidence_service.handlers import link_evidence as linking
from evidence_service.handlers import list_documents as document_lists
from evidence_service.handlers import read_document as document_reads
from evidence_service.handlers import upload_document as uploads
from evidence_service.handlers.auto_order_annexure import AutoOrderAnnexure, auto_order_annexure
from evidence_service.handlers.list_field_links import ListFieldLinks, list_field_links
from evidence_service.handlers.list_profiles import ListProfiles, list_profiles
from evidence_service.handlers.project_work_order import ReadSourceVersion, read_source_version
from evidence_service.handlers.read_evidence import ReadEvidence, read_evidence
from evidence_service.handlers.select_profile import SelectProfile, select_profile
from evidence_service.handlers.upsert_field_links import FieldLinkChange, UpsertFieldLinks, upsert_field_links
from evidence_service.records import DocumentMetadata, ItemValues
from evidence_service.settings import SCHEMA, Settings
from shared.api import Caller, ContainerDep, errors
from shared.auth.principal import Principal
from shared.blobstore import BlobStore
from shared.consistency import (
    AFTER_HEADER,
    VERSION_HEADER,
    WORK_ORDERS,
    await_projections,
    parse_tokens,
    wait_until,
)
from shared.container import ServiceContainer, parse_uuid, require_tenant, require_user, version_token
from shared.db.uow import UnitOfWork
from shared.errors import IdempotencyKeyReused, ValidationFailed
from shared.idempotency import IdempotencyStore, StoredResponse
from shared.validation import MAX_LIST_ITEMS, Code, JsonObject, Key, StorableStr, Text, parse_json_text

# The metadata enums are part of this module's request models (a unit test keeps them equal to the domain's).
__all__ = ["Classification", "Sensitivity", "Source", "router"]

router = APIRouter(prefix="/v1")
WO = "/repogen/work-orders/{work_order_id}"

_IDEMPOTENCY = IdempotencyStore(SCHEMA)
MAX_ANNEXURE_ORDER = 100_000  # positions in one work order's annexure (an int4 column)
MAX_FILE_REF = 1000  # a file reference (a path or URL of the original system)
MAX_CAPTURE_CHARS = 64 * 1024  # the capture form field; its JSON is checked by parse_json_text
# The whole request may exceed the upload limit by this much (multipart framing and form fields).
MULTIPART_OVERHEAD = 64 * 1024
DOWNLOAD_TYPES = ("application/pdf", "image/jpeg", "image/png", "image/webp", "image/heic", "image/heif")


class EvidenceType(StrEnum):
    DOCUMENT = "DOCUMENT"
    PHOTO = "PHOTO"
    SCREENSHOT = "SCREENSHOT"
    GEO = "GEO"
    OTHER = "OTHER"


class DocType(StrEnum):
    SALE_DEED = "SALE_DEED"
    RTC = "RTC"
    EC = "EC"
    KHATA = "KHATA"
    TAX = "TAX"
    NA_ORDER = "NA_ORDER"
    PLAN = "PLAN"
    ID_PROOF = "ID_PROOF"
    BANK_LETTER = "BANK_LETTER"
    OTHER = "OTHER"


class EvidenceItemIn(BaseModel):
    """One item of ``POST …/evidence/link`` (domain.md §1.6)."""

    model_config = ConfigDict(extra="ignore")

    id: uuid.UUID | None = None
    evidence_type: EvidenceType
    doc_type: DocType | None = None
    classification: Classification | None = None
    sensitivity: Sensitivity | None = None
    source: Source | None = None
    document_id: uuid.UUID | None = None
    file_ref: Annotated[StorableStr, Field(max_length=MAX_FILE_REF)] | None = None
    captured_by_employee_id: uuid.UUID | None = None
    captured_at: datetime | None = None
    annexure_order: int | None = Field(default=None, ge=0, le=MAX_ANNEXURE_ORDER)
    tags: JsonObject | None = None

    def to_link(self) -> linking.ItemToLink:
        """The item as the command carries it (omitted fields become null)."""
        return linking.ItemToLink(
            self.id,
            # The enums are StrEnums: their members are the strings the columns store.
            ItemValues(**{**self.model_dump(exclude={"id"}), "captured_at": _utc(self.captured_at)}),
        )


class LinkEvidenceRequest(BaseModel):
    model_config = ConfigDict(extra="ignore")

    items: list[EvidenceItemIn] = Field(min_length=1, max_length=MAX_LIST_ITEMS)


class SelectProfileRequest(BaseModel):
    model_config = ConfigDict(extra="ignore")

    profile_id: uuid.UUID | None = None
    use_default: bool | None = None


class FieldLinkIn(BaseModel):
    model_config = ConfigDict(extra="ignore")

    id: uuid.UUID | None = None
    snapshot_id: uuid.UUID | None = None
    field_key: Key = Field(min_length=1)
    evidence_item_id: uuid.UUID
    confidence: float | None = Field(default=None, ge=0, le=1, allow_inf_nan=False)
    note: Text | None = None
    remove: bool | None = None

    @model_validator(mode="after")
    def _field_key_not_blank(self) -> FieldLinkIn:
        if not self.field_key.strip():
            raise ValueError("field_key must not be blank")
        return self

    def to_change(self) -> FieldLinkChange:
        """The line as the command carries it."""
        return FieldLinkChange(**{**self.model_dump(), "remove": bool(self.remove)})


class FieldLinksRequest(BaseModel):
    model_config = ConfigDict(extra="ignore")

    links: list[FieldLinkIn] = Field(min_length=1, max_length=MAX_LIST_ITEMS)


class EnqueueOcrRequest(BaseModel):
    model_config = ConfigDict(extra="ignore")

    evidence_item_id: Key = Field(min_length=1)


def staff_caller(principal: Caller) -> Principal:
    """Any staff JWT; the portal audience reaches no evidence (403 ``PORTAL_EVIDENCE_FORBIDDEN``; RLS
    denies it every evidence row too — decision "Hardening (issue 12): audience")."""
    principal.deny_portal("evidence")
    return principal


StaffCaller = Annotated[Principal, Depends(staff_caller)]


def _settings(c: ServiceContainer[Any]) -> Settings:
    settings: Settings = c.settings  # the container bootstrap.SERVICE built
    return settings


def _utc(value: datetime | None) -> datetime | None:
    if value is None:
        return None
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


# ------------------------------------------------------------------------------ work-order access


async def _await_work_order(
    request: Request, c: ServiceContainer[Any], principal: Principal, raw_id: str
) -> uuid.UUID:
    """The work-order id once our projection knows it (bounded wait), else ``WorkOrderNotFound``.

    Honours ``x-zenops-after`` tokens of the work-order service, then, for a work order we have not
    seen yet (a link right after creation races the ``created`` event), waits briefly for it. The
    not-found is answered 404 only when our consumer is caught up and no token of this work order is
    pending, else 503 ``NOT_YET_CONSISTENT`` (``shared.consistency.not_found_or_not_yet``); after a
    pending token of this work order the projection is looked at once more, not waited on again.
    """
    wo_id = parse_uuid(raw_id, not_found=WorkOrderNotFound(raw_id))
    timeout_s = _settings(c).work_order_wait_ms / 1000

    async def lookup(aggregate_id: str) -> int | None:
        async with c.tenant_uow(principal) as uow:
            return await read_source_version(uow, ReadSourceVersion(principal.tenant_id, aggregate_id))

    tokens = parse_tokens(request.headers.get(AFTER_HEADER))
    wait_s = timeout_s
    if tokens:
        pending = await await_projections(tokens, {("workorders", "work-order"): lookup}, timeout_s=timeout_s)
        if any(t.key == (WORK_ORDERS.service, WORK_ORDERS.aggregate, str(wo_id)) for t in pending):
            wait_s = 0.0  # waited on this very work order already: look once more, then answer

    async def known() -> bool | None:
        return True if await lookup(str(wo_id)) is not None else None

    if await wait_until(known, timeout_s=wait_s, interval_s=0.1) is None:
        raise WorkOrderNotFound(raw_id)
    return wo_id


def _version_header(work_order_id: str, version: int) -> dict[str, str]:
    return {VERSION_HEADER: version_token("evidence", "work-order-evidence", work_order_id, version)}


class _Versioned(Protocol):
    """A route body that names the work order and the evidence version it shows."""

    @property
    def work_order_id(self) -> str: ...

    @property
    def evidence_version(self) -> int: ...

    def model_dump(self, *, mode: str = "python") -> dict[str, Any]: ...


Command = TypeVar("Command")
Result = TypeVar("Result")
Answer = TypeVar("Answer", bound=_Versioned)


@dataclass(frozen=True)
class _UseCase(Generic[Command, Result, Answer]):
    """A route's use case: how to build its command, the handler, and the view of the result."""

    command: Callable[[str, uuid.UUID], Command]
    handler: Callable[[UnitOfWork, Command], Awaitable[Result]]
    view: Callable[[Result], Answer]

    async def __call__(self, uow: UnitOfWork, tenant: str, work_order_id: uuid.UUID) -> Answer:
        return self.view(await self.handler(uow, self.command(tenant, work_order_id)))


async def _write(
    request: Request,
    c: ServiceContainer[Any],
    principal: Principal,
    work_order_id: str,
    use_case: _UseCase[Command, Result, Answer],
    *,
    scope: str,
    body: BaseModel | None = None,
) -> JSONResponse:
    """Run a write in one tenant unit of work; 201 + version token; ``Idempotency-Key`` replays.

    The request ``body`` is what a replay under the same key must repeat.
    """
    params = body.model_dump(mode="json") if body is not None else {}
    wo_id = await _await_work_order(request, c, principal, work_order_id)
    tenant = require_tenant(principal)
    require_user(principal)
    async with c.tenant_uow(principal) as uow:

        async def effect() -> StoredResponse:
            answer = await use_case(uow, tenant, wo_id)
            headers = _version_header(answer.work_order_id, answer.evidence_version)
            return StoredResponse(201, answer.model_dump(mode="json"), headers)

        stored = await _IDEMPOTENCY.run_once(
            uow.session,
            scope=f"{tenant}:{scope}:{wo_id}",
            key=request.headers.get("idempotency-key"),
            params=params,
            effect=effect,
        )
        await uow.commit()
    return stored.to_response()


async def _read(
    request: Request,
    response: Response,
    c: ServiceContainer[Any],
    principal: Principal,
    work_order_id: str,
    use_case: _UseCase[Command, Result, Answer],
    *,
    commit: bool = False,
) -> Answer:
    """Answer a read in one tenant unit of work with the version token of the state it read."""
    wo_id = await _await_work_order(request, c, principal, work_order_id)
    tenant = require_tenant(principal)
    async with c.tenant_uow(principal) as uow:
        answer = await use_case(uow, tenant, wo_id)
        if commit:
            await uow.commit()
    response.headers.update(_version_header(answer.work_order_id, answer.evidence_version))
    return answer


# ------------------------------------------------------------------------------------- documents


def _form_enum(name: str, value: str | None, allowed: frozenset[str]) -> str | None:
    if value is None or value == "":
        return None
    if value not in allowed:
        raise ValidationFailed(
            f"{name}: must be one of {', '.join(sorted(allowed))}",
            details={"issues": [{"path": name, "message": "invalid value", "type": "enum"}]},
        )
    return value


def _form_datetime(name: str, value: str | None) -> datetime | None:
    if value is None or value == "":
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise ValidationFailed(
            f"{name}: must be an ISO-8601 datetime",
            details={"issues": [{"path": name, "message": "invalid datetime", "type": "datetime"}]},
        ) from None
    return _utc(parsed)


def _form_uuid(name: str, value: str | None) -> uuid.UUID | None:
    if value is None or value == "":
        return None
    try:
        return uuid.UUID(value)
    except ValueError:
        raise ValidationFailed(
            f"{name}: must be a uuid",
            details={"issues": [{"path": name, "message": "invalid uuid", "type": "uuid"}]},
        ) from None


def _form_capture(value: str | None) -> dict[str, Any]:
    if value is None or value == "":
        return {}
    # Malformed, deeper than 32 levels (even past the recursion limit), over 64 KiB or holding NUL:
    # 400 VALIDATION_FAILED with the path "capture" (issue 12).
    parsed = parse_json_text(value, path="capture")
    if not isinstance(parsed, dict):
        raise ValidationFailed(
            "capture: must be a JSON object",
            details={"issues": [{"path": "capture", "message": "not a JSON object", "type": "json"}]},
        )
    return parsed


async def _read_limited(upload: UploadFile, limit: int) -> bytes:
    chunks: list[bytes] = []
    size = 0
    while True:
        chunk = await upload.read(1024 * 1024)
        if not chunk:
            break
        size += len(chunk)
        if size > limit:
            raise DocumentTooLarge(limit)
        chunks.append(chunk)
    return b"".join(chunks)


@router.post(
    "/documents",
    status_code=201,
    response_model=views.DocumentView,
    responses=errors(ValidationFailed, DocumentTooLarge, UnsupportedDocumentType),
)
async def upload_document(
    request: Request,
    principal: StaffCaller,
    c: ContainerDep,
    file: Annotated[UploadFile, File()],
    classification: Annotated[Code | None, Form()] = None,
    sensitivity: Annotated[Code | None, Form()] = None,
    source: Annotated[Code | None, Form()] = None,
    captured_at: Annotated[Code | None, Form()] = None,
    captured_by_employee_id: Annotated[Code | None, Form()] = None,
    capture: Annotated[str | None, Form(max_length=MAX_CAPTURE_CHARS)] = None,
) -> views.DocumentView:
    """Upload one document (multipart): type sniffed from its bytes, SHA-256 recorded, bytes stored."""
    tenant = require_tenant(principal)
    user = require_user(principal)
    settings = _settings(c)
    limit = settings.max_upload_bytes
    declared_length = request.headers.get("content-length")
    if declared_length and declared_length.isdigit() and int(declared_length) > limit + MULTIPART_OVERHEAD:
        raise DocumentTooLarge(limit)  # far above the limit: refused before reading it
    command = uploads.UploadDocument(
        tenant_id=tenant,
        user_id=user,
        metadata=DocumentMetadata(
            classification=_form_enum("classification", classification, CLASSIFICATIONS),
            sensitivity=_form_enum("sensitivity", sensitivity, SENSITIVITIES),
            source=_form_enum("source", source, SOURCES),
            captured_at=_form_datetime("captured_at", captured_at),
            captured_by_employee_id=_form_uuid("captured_by_employee_id", captured_by_employee_id),
            capture_json=_form_capture(capture),
        ),
        data=await _read_limited(file, limit),
        filename=file.filename,
        declared_content_type=file.content_type,
    )
    async with c.tenant_uow(principal) as uow:
        document = await uploads.upload_document(uow, command, blobs=BlobStore(settings.blob_dir))
        await uow.commit()
    return views.document_view(document)


@router.get("/documents", response_model=list[views.DocumentListItem], responses=errors(ValidationFailed))
async def list_documents(
    principal: StaffCaller,
    c: ContainerDep,
    limit: Annotated[int, Query(ge=1, le=document_lists.MAX_LIMIT)] = document_lists.DEFAULT_LIMIT,
    work_order_id: Annotated[uuid.UUID | None, Query()] = None,
) -> list[views.DocumentListItem]:
    """The tenant's documents, newest first (``limit`` 1..200, default 50); with ``work_order_id`` only
    those linked as that work order's evidence (none for an unknown work order)."""
    command = document_lists.ListDocuments(uuid.UUID(require_tenant(principal)), limit, work_order_id)
    async with c.tenant_uow(principal) as uow:
        return views.document_list(await document_lists.list_documents(uow, command))


@router.get("/documents/{document_id}", response_model=views.DocumentView, responses=errors(DocumentNotFound))
async def get_document(document_id: str, principal: StaffCaller, c: ContainerDep) -> views.DocumentView:
    """Document metadata (tenant-scoped; deleted or foreign documents are 404)."""
    command = document_reads.GetDocument(require_tenant(principal), document_id)
    async with c.tenant_uow(principal) as uow:
        return views.document_view(await document_reads.get_document(uow, command))


_BINARY = {"schema": {"type": "string", "format": "binary"}}


@router.get(
    "/documents/{document_id}/download",
    response_class=Response,
    responses={
        200: {
            "description": "The document bytes as an attachment, with their sniffed content type",
            "content": dict.fromkeys(DOWNLOAD_TYPES, _BINARY),
        },
        **errors(DocumentNotFound, DocumentBytesMissing),
    },
)
async def download_document(document_id: str, principal: StaffCaller, c: ContainerDep) -> Response:
    """The document bytes with their sniffed content type, as an attachment."""
    command = document_reads.GetDocument(require_tenant(principal), document_id)
    async with c.tenant_uow(principal) as uow:
        found = await document_reads.download_document(uow, command, blobs=BlobStore(_settings(c).blob_dir))
    document = found.document
    ascii_name = document.original_filename.encode("ascii", "replace").decode().replace('"', "'")
    return Response(
        content=found.data,
        media_type=document.content_type,
        headers={
            "content-disposition": (
                f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(document.original_filename)}"
            ),
            "x-content-type-options": "nosniff",
            "etag": f'"{document.sha256}"',
        },
    )


# ------------------------------------------------------------------------------- evidence items

_READ_EVIDENCE = _UseCase(ReadEvidence, read_evidence, views.work_order_evidence)
_READ_CHECKLIST = _UseCase(ReadEvidence, read_evidence, views.checklist)
_READ_OCR_JOBS = _UseCase(ReadEvidence, read_evidence, views.ocr_jobs)
_LIST_PROFILES = _UseCase(ListProfiles, list_profiles, views.profiles)
_LIST_FIELD_LINKS = _UseCase(ListFieldLinks, list_field_links, views.field_links)


@router.post(
    WO + "/evidence/link",
    status_code=201,
    response_model=views.EvidenceLinked,
    responses=errors(
        DocumentsNotFound, WorkOrderNotFound, EvidenceItemNotFound, WorkOrderLocked, IdempotencyKeyReused
    ),
)
async def link_evidence(
    work_order_id: str, body: LinkEvidenceRequest, request: Request, principal: StaffCaller, c: ContainerDep
) -> JSONResponse:
    """Create or overwrite evidence items (domain.md §1.6); answers live readiness."""
    items = [item.to_link() for item in body.items]
    use_case = _UseCase(
        lambda tenant, wo_id: linking.LinkEvidence(tenant, wo_id, items, principal.user_id),
        linking.link_evidence,
        views.evidence_linked,
    )
    return await _write(request, c, principal, work_order_id, use_case, scope="evidence-link", body=body)


@router.get(WO + "/evidence", response_model=views.WorkOrderEvidenceView, responses=errors(WorkOrderNotFound))
async def get_evidence(
    work_order_id: str, request: Request, response: Response, principal: StaffCaller, c: ContainerDep
) -> views.WorkOrderEvidenceView:
    """The whole evidence state of a work order (what the ``evidence_state`` event carries)."""
    return await _read(request, response, c, principal, work_order_id, _READ_EVIDENCE)


# ------------------------------------------------------------------------------------- profiles


@router.get(WO + "/evidence-profiles", response_model=views.ProfilesView, responses=errors(WorkOrderNotFound))
async def get_profiles(
    work_order_id: str, request: Request, response: Response, principal: StaffCaller, c: ContainerDep
) -> views.ProfilesView:
    """§4.4: profiles of the report type, the selected one with items, checklist, suggestions."""
    return await _read(request, response, c, principal, work_order_id, _LIST_PROFILES, commit=True)


@router.post(
    WO + "/evidence-profile",
    status_code=201,
    response_model=views.ProfilesView,
    responses=errors(
        ProfileIdOrUseDefaultRequired,
        EvidenceProfileNotResolved,
        InvalidEvidenceProfileForWorkOrder,
        WorkOrderNotFound,
        WorkOrderLocked,
        IdempotencyKeyReused,
    ),
)
async def post_profile(
    work_order_id: str, body: SelectProfileRequest, request: Request, principal: StaffCaller, c: ContainerDep
) -> JSONResponse:
    """§4.4: select a profile by id (kept) or re-run the default selection (follows the slab)."""
    if body.profile_id is None and body.use_default is not True:
        raise ProfileIdOrUseDefaultRequired()
    profile_id = None if body.use_default else body.profile_id  # None: re-run the default selection
    use_case = _UseCase(
        lambda tenant, wo_id: SelectProfile(tenant, wo_id, profile_id, principal.user_id),
        select_profile,
        views.profiles,
    )
    return await _write(request, c, principal, work_order_id, use_case, scope="evidence-profile", body=body)


@router.get(
    WO + "/evidence-checklist", response_model=views.ChecklistView, responses=errors(WorkOrderNotFound)
)
async def get_checklist(
    work_order_id: str, request: Request, response: Response, principal: StaffCaller, c: ContainerDep
) -> views.ChecklistView:
    """The checklist of the selected profile (§4.5) with suggestions for unlinked fields (§4.6)."""
    return await _read(request, response, c, principal, work_order_id, _READ_CHECKLIST)


# -------------------------------------------------------------------------- field-evidence links


@router.get(
    WO + "/field-evidence-links", response_model=views.FieldLinksView, responses=errors(WorkOrderNotFound)
)
async def get_field_links(
    work_order_id: str, request: Request, response: Response, principal: StaffCaller, c: ContainerDep
) -> views.FieldLinksView:
    """§4.7 GET (all links of the work order, decision 6)."""
    return await _read(request, response, c, principal, work_order_id, _LIST_FIELD_LINKS, commit=True)


@router.post(
    WO + "/field-evidence-links",
    status_code=201,
    response_model=views.FieldLinksView,
    responses=errors(
        EvidenceItemsNotFoundForWorkOrder,
        SnapshotNotFoundForWorkOrder,
        ContractSnapshotRequiredForFieldEvidenceLinks,
        WorkOrderNotFound,
        FieldEvidenceLinkNotFound,
        WorkOrderLocked,
        FieldEvidenceLinkConflict,
        IdempotencyKeyReused,
    ),
)
async def post_field_links(
    work_order_id: str, body: FieldLinksRequest, request: Request, principal: StaffCaller, c: ContainerDep
) -> JSONResponse:
    """§4.7 POST: link / update / refresh / remove; one system note; readiness in the response."""
    changes = [link.to_change() for link in body.links]
    use_case = _UseCase(
        lambda tenant, wo_id: UpsertFieldLinks(tenant, wo_id, changes, principal.user_id),
        upsert_field_links,
        views.field_links,
    )
    return await _write(request, c, principal, work_order_id, use_case, scope="field-links", body=body)


# ------------------------------------------------------------------------------------------ OCR


@router.post(
    WO + "/ocr/enqueue",
    status_code=201,
    response_model=views.OcrEnqueued,
    responses=errors(EvidenceItemNotFoundForWorkOrder, WorkOrderNotFound, IdempotencyKeyReused),
)
async def enqueue_ocr(
    work_order_id: str, body: EnqueueOcrRequest, request: Request, principal: StaffCaller, c: ContainerDep
) -> JSONResponse:
    """§4.8 / decision 28: queue a real OCR job for one evidence item."""
    require_tenant(principal)
    item_id = body.evidence_item_id.strip()
    use_case = _UseCase(
        lambda tenant, wo_id: ocr_queue.EnqueueOcr(tenant, wo_id, item_id, principal.user_id),
        ocr_queue.enqueue_ocr,
        views.ocr_enqueued,
    )
    return await _write(request, c, principal, work_order_id, use_case, scope="ocr", body=body)


@router.get(WO + "/ocr/jobs", response_model=views.OcrJobsView, responses=errors(WorkOrderNotFound))
async def list_ocr_jobs(
    work_order_id: str, request: Request, response: Response, principal: StaffCaller, c: ContainerDep
) -> views.OcrJobsView:
    """OCR jobs of the work order, newest first (domain.md §1.8 shape)."""
    return await _read(request, response, c, principal, work_order_id, _READ_OCR_JOBS)


# ------------------------------------------------------------------------------------- annexure


@router.post(
    WO + "/annexure/auto-order",
    status_code=201,
    response_model=views.AnnexureOrdered,
    responses=errors(WorkOrderNotFound, WorkOrderLocked, IdempotencyKeyReused),
)
async def annexure_auto_order(
    work_order_id: str, request: Request, principal: StaffCaller, c: ContainerDep
) -> JSONResponse:
    """§4.9 auto-order, persisted server-side (only ``annexure_order`` changes)."""
    use_case = _UseCase(
        lambda tenant, wo_id: AutoOrderAnnexure(tenant, wo_id, principal.user_id),
        auto_order_annexure,
        views.annexure_ordered,
    )
    return await _write(request, c, principal, work_order_id, use_case, scope="annexure")
