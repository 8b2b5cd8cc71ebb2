"""HTTP routes of the evidence service: schema → command → handler (domain.md §1.6, §4, §9.1).

Documents: ``POST /v1/documents`` (multipart), ``GET /v1/documents/:id``, ``GET …/:id/download``.
Work-order evidence under ``/v1/repogen/work-orders/:id``: ``evidence/link``, ``evidence`` (whole state),
``evidence-profiles``, ``evidence-profile``, ``evidence-checklist``, ``field-evidence-links``,
``ocr/enqueue``, ``ocr/jobs``, ``annexure/auto-order``. Writes answer
``x-zenops-version: evidence:work-order-evidence:<wo>:<evidence_version>`` and accept ``Idempotency-Key``.
"""

from __future__ import annotations

import asyncio
import hashlib
import io
import uuid
from collections.abc import Awaitable, Callable
from datetime import datetime
from enum import StrEnum
from typing import Annotated, Any, Literal
from urllib.parse import quote

from fastapi import APIRouter, Depends, File, Form, Request, UploadFile
from fastapi.responses import JSONResponse, Response
from PIL import Image, UnidentifiedImageError
from pydantic import BaseModel, ConfigDict, Field, model_validator

from evidence_service import handlers
from evidence_service.bootstrap import container
from evidence_service.domain.uploads import (
    CLASSIFICATIONS,
    SENSITIVITIES,
    SOURCES,
    safe_filename,
    sniff_content_type,
)
from evidence_service.repository import EvidenceRepository, serialize_document, source_version
from evidence_service.settings import SCHEMA, Settings
from shared.auth.principal import Principal
from shared.blobstore import BlobStore
from shared.consistency import AFTER_HEADER, VERSION_HEADER, await_projections, parse_tokens, wait_until
from shared.container import ServiceContainer, parse_uuid, require_tenant, require_user, version_token
from shared.db.uow import UnitOfWork
from shared.errors import BadRequest, NotFound, PayloadTooLarge, UnsupportedMediaType, ValidationFailed
from shared.idempotency import IdempotencyStore
from shared.validation import MAX_LIST_ITEMS, Code, JsonObject, Key, StorableStr, Text, parse_json_text

router = APIRouter(prefix="/v1")
WO = "/repogen/work-orders/{work_order_id}"

_IDEMPOTENCY = IdempotencyStore(SCHEMA)
MAX_ANNEXURE_ORDER = 100_000  # positions in one work order's annexure (an int4 column)
MAX_FILE_REF = 1000  # a file reference (a path or URL of the original system)
MAX_CAPTURE_CHARS = 64 * 1024  # the capture form field; its JSON is checked by parse_json_text


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


# domain.md §1.1 document metadata enums (lower-case); kept equal to domain.uploads by a unit test.
Classification = Literal[
    "bank_kyc", "site_photo", "approval_plan", "tax_receipt", "legal", "invoice", "other"
]
Sensitivity = Literal["public", "internal", "pii", "confidential"]
Source = Literal[
    "portal",
    "tenant",
    "internal",
    "mobile_camera",
    "mobile_gallery",
    "desktop_upload",
    "email_ingest",
    "portal_upload",
]


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


class LinkEvidence(BaseModel):
    model_config = ConfigDict(extra="ignore")

    items: list[EvidenceItemIn] = Field(min_length=1, max_length=MAX_LIST_ITEMS)


class SelectProfile(BaseModel):
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


class FieldLinks(BaseModel):
    model_config = ConfigDict(extra="ignore")

    links: list[FieldLinkIn] = Field(min_length=1, max_length=MAX_LIST_ITEMS)


class EnqueueOcr(BaseModel):
    model_config = ConfigDict(extra="ignore")

    evidence_item_id: Key = Field(min_length=1)


def _container() -> ServiceContainer[Any]:
    return container()


def _settings(c: ServiceContainer[Any]) -> Settings:
    settings = c.settings
    return settings if isinstance(settings, Settings) else Settings()


def principal_of(request: Request, c: Annotated[ServiceContainer[Any], Depends(_container)]) -> Principal:
    """Any staff JWT; the portal audience reaches no evidence (403 ``PORTAL_EVIDENCE_FORBIDDEN``; RLS
    denies it every evidence row too — decision "Hardening (issue 12): audience")."""
    principal = c.auth.jwt(request)
    principal.deny_portal("evidence")
    return principal


Container = Annotated[ServiceContainer[Any], Depends(_container)]
Caller = Annotated[Principal, Depends(principal_of)]


# ------------------------------------------------------------------------------ work-order access


async def _await_work_order(
    request: Request, c: ServiceContainer[Any], principal: Principal, raw_id: str
) -> uuid.UUID:
    """The work-order id once our projection knows it (bounded wait), else 404.

    Honours ``x-zenops-after`` tokens of the work-order service, then, for a work order we have not
    seen yet (a link right after creation races the ``created`` event), waits briefly for it.
    """
    wo_id = parse_uuid(raw_id, not_found=handlers.work_order_not_found(raw_id))
    timeout_s = _settings(c).work_order_wait_ms / 1000

    async def lookup(aggregate_id: str) -> int | None:
        async with c.tenant_uow(principal) as uow:
            return await source_version(uow.session, aggregate_id)

    tokens = parse_tokens(request.headers.get(AFTER_HEADER))
    if tokens:
        await await_projections(tokens, {("workorders", "work-order"): lookup}, timeout_s=timeout_s)

    async def known() -> bool | None:
        return True if await lookup(str(wo_id)) is not None else None

    if await wait_until(known, timeout_s=timeout_s, interval_s=0.1) is None:
        raise handlers.work_order_not_found(raw_id)
    return wo_id


async def _locked_work_order(repo: EvidenceRepository, wo_id: uuid.UUID) -> dict[str, Any]:
    wo = await repo.work_order(wo_id, for_update=True)
    if wo is None:
        raise handlers.work_order_not_found(wo_id)
    return wo


def _version_header(work_order_id: str, version: int) -> dict[str, str]:
    return {VERSION_HEADER: version_token("evidence", "work-order-evidence", work_order_id, version)}


async def _write(
    request: Request,
    c: ServiceContainer[Any],
    principal: Principal,
    *,
    scope: str,
    params: dict[str, Any],
    work: Callable[[UnitOfWork, EvidenceRepository], Awaitable[tuple[dict[str, Any], str, int]]],
) -> JSONResponse:
    """Run a write in one tenant unit of work; 201 + version token; ``Idempotency-Key`` replays."""
    tenant = require_tenant(principal)
    require_user(principal)
    key = request.headers.get("idempotency-key")
    async with c.tenant_uow(principal) as uow:
        if key:
            stored = await _IDEMPOTENCY.begin(uow.session, scope=f"{tenant}:{scope}", key=key, params=params)
            if stored is not None:
                return JSONResponse(stored.body, status_code=stored.status_code, headers=stored.headers)
        body, wo_id, version = await work(uow, EvidenceRepository(uow.session, tenant))
        headers = _version_header(wo_id, version)
        if key:
            await _IDEMPOTENCY.save(
                uow.session,
                scope=f"{tenant}:{scope}",
                key=key,
                params=params,
                status_code=201,
                body=body,
                headers=headers,
            )
        await uow.commit()
    return JSONResponse(body, status_code=201, headers=headers)


async def _read(
    c: ServiceContainer[Any],
    principal: Principal,
    wo_id: uuid.UUID,
    build: Callable[[UnitOfWork, EvidenceRepository, dict[str, Any]], Awaitable[dict[str, Any]]],
    *,
    commit: bool = False,
) -> JSONResponse:
    tenant = require_tenant(principal)
    async with c.tenant_uow(principal) as uow:
        repo = EvidenceRepository(uow.session, tenant)
        wo = await (_locked_work_order(repo, wo_id) if commit else _plain_work_order(repo, wo_id))
        body = await build(uow, repo, wo)
        if commit:
            await uow.commit()
    return JSONResponse(body, headers=_version_header(str(wo_id), int(body.get("evidence_version", 0))))


async def _plain_work_order(repo: EvidenceRepository, wo_id: uuid.UUID) -> dict[str, Any]:
    wo = await repo.work_order(wo_id)
    if wo is None:
        raise handlers.work_order_not_found(wo_id)
    return wo


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
    return handlers._utc(parsed)


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


def _verify_image(data: bytes) -> bool:
    """Decode the image header and structure (Pillow ``verify``): magic bytes alone are not enough."""
    try:
        with Image.open(io.BytesIO(data)) as image:
            image.verify()
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError, Image.DecompressionBombError):
        return False
    return True


async def _read_limited(upload: UploadFile, limit: int) -> bytes:
    chunks: list[bytes] = []
    size = 0
    while True:
        chunk = await upload.read(1024 * 1024)
        if not chunk:
            break
        size += len(chunk)
        if size > limit:
            raise PayloadTooLarge(
                f"document exceeds the upload limit of {limit} bytes",
                code="DOCUMENT_TOO_LARGE",
                details={"max_bytes": limit},
            )
        chunks.append(chunk)
    return b"".join(chunks)


@router.post("/documents", status_code=201)
async def upload_document(
    request: Request,
    principal: Caller,
    c: Container,
    file: Annotated[UploadFile, File()],
    classification: Annotated[Code | None, Form()] = None,
    sensitivity: Annotated[Code | None, Form()] = None,
    source: Annotated[Code | None, Form()] = None,
    captured_at: Annotated[Code | None, Form()] = None,
    captured_by_employee_id: Annotated[Code | None, Form()] = None,
    capture: Annotated[str | None, Form(max_length=MAX_CAPTURE_CHARS)] = None,
) -> JSONResponse:
    """Upload one document: type sniffed from its bytes, SHA-256 recorded, bytes in the blob store."""
    tenant = require_tenant(principal)
    user = require_user(principal)
    settings = _settings(c)
    limit = settings.max_upload_bytes
    declared_length = request.headers.get("content-length")
    if declared_length and declared_length.isdigit() and int(declared_length) > limit + 64 * 1024:
        # The whole request is far above the limit: refuse before reading it (multipart overhead allowed).
        raise PayloadTooLarge(
            f"document exceeds the upload limit of {limit} bytes",
            code="DOCUMENT_TOO_LARGE",
            details={"max_bytes": limit},
        )
    metadata = {
        "classification": _form_enum("classification", classification, CLASSIFICATIONS),
        "sensitivity": _form_enum("sensitivity", sensitivity, SENSITIVITIES),
        "source": _form_enum("source", source, SOURCES),
        "captured_at": _form_datetime("captured_at", captured_at),
        "captured_by_employee_id": _form_uuid("captured_by_employee_id", captured_by_employee_id),
        "capture_json": _form_capture(capture),
    }
    data = await _read_limited(file, limit)
    content_type = sniff_content_type(data)
    if content_type in {"image/jpeg", "image/png", "image/webp"} and not await asyncio.to_thread(
        _verify_image, data
    ):
        content_type = None
    if content_type is None:
        raise UnsupportedMediaType(
            "unsupported document type: PDF, JPEG, PNG, WebP or HEIC are accepted",
            code="UNSUPPORTED_DOCUMENT_TYPE",
            details={
                "declared_content_type": file.content_type,
                "allowed": ["application/pdf", "image/jpeg", "image/png", "image/webp", "image/heic"],
            },
        )
    blobs = BlobStore(settings.blob_dir)
    storage_key = await asyncio.to_thread(blobs.put, data)
    sha256 = hashlib.sha256(data).hexdigest()
    async with c.tenant_uow(principal) as uow:
        row = await EvidenceRepository(uow.session, tenant).insert_document(
            {
                "id": uuid.uuid4(),
                "original_filename": safe_filename(file.filename),
                "content_type": content_type,
                "declared_content_type": file.content_type,
                "size_bytes": len(data),
                "sha256": sha256,
                "storage_key": storage_key,
                "created_by_user_id": uuid.UUID(user) if handlers._is_uuid(user) else None,
                **metadata,
            }
        )
        await uow.commit()
    return JSONResponse(serialize_document(row), status_code=201)


def _document_not_found(raw_id: str) -> NotFound:
    return NotFound(f"document {raw_id} not found", code="DOCUMENT_NOT_FOUND")


async def _document(c: ServiceContainer[Any], principal: Principal, raw_id: str) -> dict[str, Any]:
    tenant = require_tenant(principal)
    doc_id = parse_uuid(raw_id, not_found=_document_not_found(raw_id))
    async with c.tenant_uow(principal) as uow:
        row = await EvidenceRepository(uow.session, tenant).get_document(doc_id)
    if row is None:
        raise _document_not_found(raw_id)
    return row


@router.get("/documents/{document_id}")
async def get_document(document_id: str, principal: Caller, c: Container) -> dict[str, Any]:
    """Document metadata (tenant-scoped; deleted or foreign documents are 404)."""
    return serialize_document(await _document(c, principal, document_id))


@router.get("/documents/{document_id}/download")
async def download_document(document_id: str, principal: Caller, c: Container) -> Response:
    """The document bytes with their sniffed content type, as an attachment."""
    row = await _document(c, principal, document_id)
    data = await asyncio.to_thread(BlobStore(_settings(c).blob_dir).get, row["storage_key"])
    if data is None:
        raise NotFound(f"document {document_id} has no stored bytes", code="DOCUMENT_BYTES_MISSING")
    filename = row["original_filename"]
    ascii_name = filename.encode("ascii", "replace").decode().replace('"', "'")
    return Response(
        content=data,
        media_type=row["content_type"],
        headers={
            "content-disposition": f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(filename)}",
            "x-content-type-options": "nosniff",
            "etag": f'"{row["sha256"]}"',
        },
    )


# ------------------------------------------------------------------------------- evidence items


@router.post(WO + "/evidence/link", status_code=201)
async def link_evidence(
    work_order_id: str, body: LinkEvidence, request: Request, principal: Caller, c: Container
) -> JSONResponse:
    """Create or overwrite evidence items (domain.md §1.6); answers live readiness."""
    wo_id = await _await_work_order(request, c, principal, work_order_id)
    items = [item.model_dump(mode="python") for item in body.items]

    async def work(uow: UnitOfWork, repo: EvidenceRepository) -> tuple[dict[str, Any], str, int]:
        wo = await _locked_work_order(repo, wo_id)
        view = await handlers.link_evidence(uow, repo, wo, items, principal.user_id)
        body_out = {
            "work_order_id": view.work_order_id,
            "readiness": view.readiness,
            "evidence_items": view.items,
            "evidence_version": view.evidence_version,
        }
        return body_out, view.work_order_id, view.evidence_version

    return await _write(
        request, c, principal, scope=f"evidence-link:{wo_id}", params=body.model_dump(mode="json"), work=work
    )


@router.get(WO + "/evidence")
async def get_evidence(work_order_id: str, request: Request, principal: Caller, c: Container) -> JSONResponse:
    """The whole evidence state of a work order (what the ``evidence_state`` event carries)."""
    wo_id = await _await_work_order(request, c, principal, work_order_id)

    async def build(uow: UnitOfWork, repo: EvidenceRepository, wo: dict[str, Any]) -> dict[str, Any]:
        view = await handlers.load_view(repo, wo)
        return {
            "work_order_id": view.work_order_id,
            "evidence_version": view.evidence_version,
            "status": wo["status"],
            "evidence_items": view.items,
            "selected_profile": view.selected_profile(),
            "selected_profile_chosen_by": wo["profile_chosen_by"],
            "checklist": view.checklist,
            "field_evidence_links": view.links,
            "linked_field_keys": view.linked_field_keys,
            "ocr_jobs": view.jobs,
            "annexure_order": view.annexure_order(),
            "readiness": view.readiness,
        }

    return await _read(c, principal, wo_id, build)


# ------------------------------------------------------------------------------------- profiles


@router.get(WO + "/evidence-profiles")
async def get_profiles(work_order_id: str, request: Request, principal: Caller, c: Container) -> JSONResponse:
    """§4.4: profiles of the report type, the selected one with items, checklist, suggestions."""
    wo_id = await _await_work_order(request, c, principal, work_order_id)

    async def build(uow: UnitOfWork, repo: EvidenceRepository, wo: dict[str, Any]) -> dict[str, Any]:
        wo = await handlers.assign_default_if_missing(uow, repo, wo)
        return await handlers.profiles_payload(repo, await handlers.load_view(repo, wo))

    return await _read(c, principal, wo_id, build, commit=True)


@router.post(WO + "/evidence-profile", status_code=201)
async def post_profile(
    work_order_id: str, body: SelectProfile, request: Request, principal: Caller, c: Container
) -> JSONResponse:
    """§4.4: select a profile by id (kept) or re-run the default selection (follows the slab)."""
    if body.profile_id is None and body.use_default is not True:
        raise BadRequest(
            "profile_id or use_default=true is required", code="PROFILE_ID_OR_USE_DEFAULT_REQUIRED"
        )
    wo_id = await _await_work_order(request, c, principal, work_order_id)

    async def work(uow: UnitOfWork, repo: EvidenceRepository) -> tuple[dict[str, Any], str, int]:
        wo = await _locked_work_order(repo, wo_id)
        wo = await handlers.select_profile(
            uow,
            repo,
            wo,
            profile_id=body.profile_id,
            use_default=bool(body.use_default),
            actor=principal.user_id,
        )
        payload = await handlers.profiles_payload(repo, await handlers.load_view(repo, wo))
        return payload, str(wo_id), int(payload["evidence_version"])

    return await _write(
        request,
        c,
        principal,
        scope=f"evidence-profile:{wo_id}",
        params=body.model_dump(mode="json"),
        work=work,
    )


@router.get(WO + "/evidence-checklist")
async def get_checklist(
    work_order_id: str, request: Request, principal: Caller, c: Container
) -> JSONResponse:
    """The checklist of the selected profile (§4.5) with suggestions for unlinked fields (§4.6)."""
    wo_id = await _await_work_order(request, c, principal, work_order_id)

    async def build(uow: UnitOfWork, repo: EvidenceRepository, wo: dict[str, Any]) -> dict[str, Any]:
        view = await handlers.load_view(repo, wo)
        checklist = view.checklist
        required = [row for row in checklist if row["is_required"]]
        return {
            "work_order_id": view.work_order_id,
            "evidence_version": view.evidence_version,
            "selected_profile_id": str(view.profile["id"]) if view.profile else None,
            "selected_profile_name": view.profile["name"] if view.profile else None,
            "checklist": checklist,
            "summary": {
                "items": len(checklist),
                "required_items": len(required),
                "required_satisfied": sum(1 for row in required if row["satisfied"]),
                "complete": all(row["satisfied"] for row in required),
            },
            "suggested_evidence_for_missing_fields": view.suggestions(),
            "readiness": view.readiness,
        }

    return await _read(c, principal, wo_id, build)


# -------------------------------------------------------------------------- field-evidence links


@router.get(WO + "/field-evidence-links")
async def get_field_links(
    work_order_id: str, request: Request, principal: Caller, c: Container
) -> JSONResponse:
    """§4.7 GET (all links of the work order, decision 6)."""
    wo_id = await _await_work_order(request, c, principal, work_order_id)

    async def build(uow: UnitOfWork, repo: EvidenceRepository, wo: dict[str, Any]) -> dict[str, Any]:
        await repo.ensure_defaults()
        return await handlers.links_payload(repo, await handlers.load_view(repo, wo))

    return await _read(c, principal, wo_id, build, commit=True)


@router.post(WO + "/field-evidence-links", status_code=201)
async def post_field_links(
    work_order_id: str, body: FieldLinks, request: Request, principal: Caller, c: Container
) -> JSONResponse:
    """§4.7 POST: link / update / refresh / remove; one system note; readiness in the response."""
    wo_id = await _await_work_order(request, c, principal, work_order_id)
    links = [link.model_dump(mode="python") for link in body.links]

    async def work(uow: UnitOfWork, repo: EvidenceRepository) -> tuple[dict[str, Any], str, int]:
        wo = await _locked_work_order(repo, wo_id)
        await repo.ensure_defaults()
        view = await handlers.upsert_field_links(uow, repo, wo, links, principal.user_id)
        return await handlers.links_payload(repo, view), view.work_order_id, view.evidence_version

    return await _write(
        request, c, principal, scope=f"field-links:{wo_id}", params=body.model_dump(mode="json"), work=work
    )


# ------------------------------------------------------------------------------------------ OCR


@router.post(WO + "/ocr/enqueue", status_code=201)
async def enqueue_ocr(
    work_order_id: str, body: EnqueueOcr, request: Request, principal: Caller, c: Container
) -> JSONResponse:
    """§4.8 / decision 28: queue a real OCR job for one evidence item."""
    require_tenant(principal)
    wo_id = await _await_work_order(request, c, principal, work_order_id)

    async def work(uow: UnitOfWork, repo: EvidenceRepository) -> tuple[dict[str, Any], str, int]:
        wo = await _locked_work_order(repo, wo_id)
        job, view = await handlers.enqueue_ocr(
            uow, repo, wo, body.evidence_item_id.strip(), principal.user_id
        )
        payload = {
            "work_order_id": view.work_order_id,
            "ocr_job": job,
            "queue_enqueued": True,
            "evidence_version": view.evidence_version,
        }
        return payload, view.work_order_id, view.evidence_version

    return await _write(
        request, c, principal, scope=f"ocr:{wo_id}", params=body.model_dump(mode="json"), work=work
    )


@router.get(WO + "/ocr/jobs")
async def list_ocr_jobs(
    work_order_id: str, request: Request, principal: Caller, c: Container
) -> JSONResponse:
    """OCR jobs of the work order, newest first (domain.md §1.8 shape)."""
    wo_id = await _await_work_order(request, c, principal, work_order_id)

    async def build(uow: UnitOfWork, repo: EvidenceRepository, wo: dict[str, Any]) -> dict[str, Any]:
        view = await handlers.load_view(repo, wo)
        return {
            "work_order_id": view.work_order_id,
            "evidence_version": view.evidence_version,
            "items": view.jobs,
        }

    return await _read(c, principal, wo_id, build)


# ------------------------------------------------------------------------------------- annexure


@router.post(WO + "/annexure/auto-order", status_code=201)
async def annexure_auto_order(
    work_order_id: str, request: Request, principal: Caller, c: Container
) -> JSONResponse:
    """§4.9 auto-order, persisted server-side (only ``annexure_order`` changes)."""
    wo_id = await _await_work_order(request, c, principal, work_order_id)

    async def work(uow: UnitOfWork, repo: EvidenceRepository) -> tuple[dict[str, Any], str, int]:
        wo = await _locked_work_order(repo, wo_id)
        order, changed, view = await handlers.auto_order_annexure(uow, repo, wo, principal.user_id)
        payload = {
            "work_order_id": view.work_order_id,
            "annexure_order": order,
            "changed": changed,
            "evidence_items": view.items,
            "readiness": view.readiness,
            "evidence_version": view.evidence_version,
        }
        return payload, view.work_order_id, view.evidence_version

    return await _write(request, c, principal, scope=f"annexure:{wo_id}", params={}, work=work)
