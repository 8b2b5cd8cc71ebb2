"""The work-order page and its actions, in the order of the operator checklist (seed 000).

Every action is a POST (CSRF-checked) that calls the gateway and answers the page's body again
(``partials/wo_body.html``), so htmx swaps it in place; the notice of the action (or the gateway's
refusal, with its reason) shows in the section it belongs to. Without JavaScript the same forms post
normally and the full page comes back.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from dataclasses import dataclass
from typing import Any

from fastapi import APIRouter
from fastapi.responses import Response, StreamingResponse
from starlette.datastructures import UploadFile

from console_service import contract_form
from console_service.diff import diff
from console_service.gateway import WORK_ORDERS, GatewayError
from console_service.web import Ctx, CtxDep, PostCtx

router = APIRouter(prefix="/work-orders/{work_order_id}")

TRANSITIONS: dict[str, tuple[str, ...]] = {
    "DRAFT": ("EVIDENCE_PENDING", "DATA_PENDING", "CANCELLED"),
    "EVIDENCE_PENDING": ("DATA_PENDING", "CANCELLED"),
    "DATA_PENDING": ("READY_FOR_RENDER", "CANCELLED", "CLOSED"),
    "READY_FOR_RENDER": ("CLOSED", "CANCELLED"),
}
EVIDENCE_TYPES = ("DOCUMENT", "PHOTO", "SCREENSHOT", "GEO", "OTHER")
DOC_TYPES = ("SALE_DEED", "RTC", "EC", "KHATA", "TAX", "NA_ORDER", "PLAN", "ID_PROOF", "BANK_LETTER", "OTHER")
COMMENT_TYPES = ("NOTES", "JUSTIFICATION", "ENCLOSURES", "CHECKLIST")
PENDING_OCR = frozenset({"QUEUED", "RUNNING", "PROCESSING"})
PENDING_JOB = frozenset({"pending", "queued", "processing"})
MAX_FILES = 20
MAX_FILE_BYTES = 25 * 1024 * 1024
EVIDENCE_COLUMNS = (
    "evidence_type",
    "doc_type",
    "classification",
    "sensitivity",
    "source",
    "document_id",
    "file_ref",
    "captured_by_employee_id",
    "captured_at",
    "tags",
)


@dataclass(frozen=True)
class Notice:
    """The outcome of an action, shown in its section (``kind``: ``ok`` or ``error``)."""

    section: str
    kind: str
    text: str
    details: Any = None


def _uuid(value: str) -> str | None:
    try:
        return str(uuid.UUID(value))
    except ValueError:
        return None


async def _optional(call: Any) -> Any:
    try:
        return await call
    except GatewayError as exc:
        if exc.status in (401, 403):
            raise
        return None


PARTS = ("profiles", "pack", "ocr")


async def load(ctx: Ctx, wo: str, parts: tuple[str, ...] = PARTS) -> dict[str, Any]:
    """What the page shows (the detail plus ``parts``), read concurrently through the gateway; a
    self-refreshing fragment asks only for its own part."""
    base = f"{WORK_ORDERS}/{wo}"
    paths = {"profiles": f"{base}/evidence-profiles", "pack": f"{base}/pack", "ocr": f"{base}/ocr/jobs"}
    detail, *rest = await asyncio.gather(
        ctx.gateway.get(base), *(_optional(ctx.gateway.get(paths[part])) for part in parts)
    )
    answers = dict(zip(parts, rest, strict=True))
    return {"detail": detail, **{part: answers.get(part) or {} for part in PARTS}}


def view_values(
    wo: str,
    data: dict[str, Any],
    notice: Notice | None,
    form_errors: dict[str, str] | None = None,
    form_override: dict[str, str] | None = None,
) -> dict[str, Any]:
    """The template values of the page body."""
    detail = data["detail"]
    work_order = detail.get("work_order") or {}
    snapshot = detail.get("latest_snapshot") or {}
    contract = snapshot.get("contract_json")
    pack = data["pack"]
    job = pack.get("generation_job") or {}
    ocr_jobs = data["ocr"].get("items") or data["ocr"].get("ocr_jobs") or detail.get("ocr_jobs") or []
    evidence = detail.get("evidence_items") or []
    docs = {e["id"]: e for e in evidence}
    return {
        "wo_id": wo,
        "wo": work_order,
        "detail": detail,
        "snapshot": snapshot,
        "derived": (snapshot.get("derived_json") or {}),
        "readiness": detail.get("readiness") or {},
        "profiles": data["profiles"],
        "checklist": data["profiles"].get("checklist") or [],
        "field_defs": data["profiles"].get("field_defs") or [],
        "evidence": evidence,
        "evidence_by_id": docs,
        "annexure": sorted(
            evidence, key=lambda e: (e.get("annexure_order") is None, e.get("annexure_order") or 0)
        ),
        "ocr_jobs": ocr_jobs,
        "ocr_pending": any(j.get("status") in PENDING_OCR for j in ocr_jobs),
        "pack": pack,
        "job": job,
        "pack_pending": work_order.get("status") == "READY_FOR_RENDER"
        and (not job or job.get("status") in PENDING_JOB),
        "gate": pack.get("billing_gate_status") or {},
        "releases": pack.get("deliverable_releases") or [],
        "moves": TRANSITIONS.get(str(work_order.get("status")), ()),
        "notice": notice,
        "sections": contract_form.SECTIONS,
        "values": form_override if form_override is not None else contract_form.form_values(contract),
        "form_errors": form_errors or {},
        "versions": list(range(int(snapshot.get("version") or 0), 0, -1)),
        "evidence_types": EVIDENCE_TYPES,
        "doc_types": DOC_TYPES,
        "comment_types": COMMENT_TYPES,
        "release_key": str(uuid.uuid4()),
        "json": json,
    }


async def page(
    ctx: Ctx, wo: str, notice: Notice | None = None, *, status_code: int = 200, **extra: Any
) -> Response:
    """The page (full, or the body for htmx) after ``notice``."""
    viewer = ctx.require_viewer()
    if _uuid(wo) is None:
        return ctx.render("error.html", status_code=404, message="no such work order")
    try:
        data = await load(ctx, wo)
    except GatewayError as exc:
        if exc.status == 401:
            return ctx.redirect("/login")
        return ctx.render("error.html", status_code=exc.status, message=exc.message)
    values = view_values(wo, data, notice, **extra)
    values["can_release"] = viewer.can_release
    values["can_write"] = viewer.can_write
    template = "partials/wo_body.html" if ctx.request.headers.get("hx-request") else "workorder.html"
    return ctx.render(template, status_code=status_code, **values)


async def act(ctx: Ctx, wo: str, section: str, ok: str, call: Any) -> Response:
    """Run one gateway call and answer the page with its notice (422 with the refusal's reason)."""
    ctx.require_viewer()
    try:
        await call
    except GatewayError as exc:
        if exc.status == 401:
            return ctx.redirect("/login")
        return await page(ctx, wo, Notice(section, "error", exc.message, exc.details), status_code=422)
    return await page(ctx, wo, Notice(section, "ok", ok))


async def _form(ctx: Ctx) -> dict[str, str]:
    form = await ctx.request.form()
    return {k: v for k, v in form.items() if isinstance(v, str)}


@router.get("")
async def work_order_page(work_order_id: str, ctx: CtxDep) -> Response:
    """The work-order page."""
    return await page(ctx, work_order_id)


@router.get("/fragments/{name}")
async def fragment(work_order_id: str, name: str, ctx: CtxDep) -> Response:
    """One self-refreshing section (OCR, pack): polled every 2 s while work is pending."""
    if name not in {"ocr", "pack"}:
        return ctx.render("error.html", status_code=404, message="no such section")
    viewer = ctx.require_viewer()
    try:
        data = await load(ctx, work_order_id, (name,))
    except GatewayError as exc:
        return ctx.render("error.html", status_code=exc.status, message=exc.message)
    values = view_values(work_order_id, data, None)
    values["can_release"] = viewer.can_release
    values["can_write"] = viewer.can_write
    return ctx.render(f"partials/{name}.html", **values)


@router.post("/contract")
async def save_contract(work_order_id: str, ctx: PostCtx) -> Response:
    """Validate the form here, then ``PATCH …/contract``; the page shows the derived values after it."""
    form = await _form(ctx)
    patch, errors = contract_form.parse_form(form)
    if errors:
        notice = Notice("contract", "error", f"{len(errors)} field(s) need attention")
        return await page(ctx, work_order_id, notice, status_code=422, form_errors=errors, form_override=form)
    if not patch:
        return await page(ctx, work_order_id, Notice("contract", "error", "nothing to save"), status_code=422)
    body = {"patch": patch, "ruleset_version": "m5.4-v1"}
    call = ctx.gateway.patch(f"{WORK_ORDERS}/{work_order_id}/contract", body)
    return await act(ctx, work_order_id, "contract", "Contract saved: new snapshot computed", call)


@router.get("/diff")
async def snapshot_diff(work_order_id: str, ctx: CtxDep) -> Response:
    """The differences between two snapshot versions (``?a=&b=``) of the contract."""
    ctx.require_viewer()
    params = ctx.request.query_params
    try:
        a, b = int(params.get("a", "0")), int(params.get("b", "0"))
    except ValueError:
        a = b = 0
    if not (0 < a <= 10_000 and 0 < b <= 10_000) or _uuid(work_order_id) is None:
        return ctx.render(
            "partials/diff.html", status_code=422, error="choose two versions", changes=[], a=a, b=b
        )
    base = f"{WORK_ORDERS}/{work_order_id}/export"
    try:
        old, new = await asyncio.gather(
            ctx.gateway.get(base, {"snapshot_version": a}), ctx.gateway.get(base, {"snapshot_version": b})
        )
    except GatewayError as exc:
        return ctx.render("partials/diff.html", status_code=422, error=exc.message, changes=[], a=a, b=b)
    changes = diff(old["export_bundle"]["contract_json"], new["export_bundle"]["contract_json"])
    return ctx.render("partials/diff.html", error=None, changes=changes, a=a, b=b)


def _classification(evidence_type: str) -> str:
    return "legal" if evidence_type == "DOCUMENT" else "site_photo"


@router.post("/evidence")
async def upload_evidence(work_order_id: str, ctx: PostCtx) -> Response:
    """Upload the dropped files (``POST /v1/documents``) and link them as evidence of one kind."""
    ctx.require_viewer()
    form = await ctx.request.form()
    files = [f for f in form.getlist("files") if isinstance(f, UploadFile) and f.filename]
    evidence_type = str(form.get("evidence_type") or "")
    doc_type = str(form.get("doc_type") or "") or None
    category = str(form.get("category") or "").strip()[:50] or None
    problem = None
    if not files:
        problem = "choose or drop at least one file"
    elif len(files) > MAX_FILES:
        problem = f"at most {MAX_FILES} files at once"
    elif evidence_type not in EVIDENCE_TYPES or (doc_type is not None and doc_type not in DOC_TYPES):
        problem = "choose what the files are"
    if problem:
        return await page(ctx, work_order_id, Notice("evidence", "error", problem), status_code=422)
    items = []
    try:
        for upload in files:
            data = await upload.read(MAX_FILE_BYTES + 1)
            if len(data) > MAX_FILE_BYTES:
                raise GatewayError(413, "FILE_TOO_LARGE", f"{upload.filename} is over 25 MiB")
            doc = await ctx.gateway.upload(
                str(upload.filename)[:200],
                data,
                upload.content_type or "application/octet-stream",
                {"classification": _classification(evidence_type), "source": "desktop_upload"},
            )
            item: dict[str, Any] = {
                "evidence_type": evidence_type,
                "doc_type": doc_type or "OTHER",
                "document_id": doc["id"],
            }
            if category:
                item["tags"] = {"category": category}
            items.append(item)
    except GatewayError as exc:
        return await page(ctx, work_order_id, Notice("evidence", "error", exc.message), status_code=422)
    call = ctx.gateway.post(f"{WORK_ORDERS}/{work_order_id}/evidence/link", {"items": items})
    names = ", ".join(str(f.filename) for f in files)
    return await act(ctx, work_order_id, "evidence", f"Uploaded and linked: {names}", call)


@router.post("/links")
async def link_field(work_order_id: str, ctx: PostCtx) -> Response:
    """Link a contract field to the evidence that supports it."""
    form = await _form(ctx)
    field_key, item = form.get("field_key", "").strip()[:200], _uuid(form.get("evidence_item_id", ""))
    if not field_key or item is None:
        return await page(
            ctx,
            work_order_id,
            Notice("links", "error", "choose a field and an evidence item"),
            status_code=422,
        )
    body = {"links": [{"field_key": field_key, "evidence_item_id": item}]}
    call = ctx.gateway.post(f"{WORK_ORDERS}/{work_order_id}/field-evidence-links", body)
    return await act(ctx, work_order_id, "links", f"Linked {field_key}", call)


@router.post("/ocr")
async def run_ocr(work_order_id: str, ctx: PostCtx) -> Response:
    """Queue OCR of one evidence item; the OCR section refreshes itself until it is done."""
    item = _uuid((await _form(ctx)).get("evidence_item_id", ""))
    if item is None:
        return await page(
            ctx, work_order_id, Notice("ocr", "error", "choose an evidence item"), status_code=422
        )
    call = ctx.gateway.post(f"{WORK_ORDERS}/{work_order_id}/ocr/enqueue", {"evidence_item_id": item})
    return await act(ctx, work_order_id, "ocr", "OCR queued", call)


@router.post("/ocr/accept")
async def accept_suggestion(work_order_id: str, ctx: PostCtx) -> Response:
    """Accept an OCR suggestion: patch the contract field and link it to the evidence it came from."""
    form = await _form(ctx)
    field_key, item = form.get("field_key", "")[:200], _uuid(form.get("evidence_item_id", ""))
    try:
        value = json.loads(form.get("value", "null")[:2000])
    except ValueError:
        value = None
    patch = contract_form.patch_for_suggestion(field_key, value) if value is not None else None
    if patch is None or item is None:
        return await page(
            ctx,
            work_order_id,
            Notice("ocr", "error", "this suggestion is not a contract field"),
            status_code=422,
        )

    async def both() -> None:
        base = f"{WORK_ORDERS}/{work_order_id}"
        await ctx.gateway.patch(f"{base}/contract", {"patch": patch, "ruleset_version": "m5.4-v1"})
        await ctx.gateway.post(
            f"{base}/field-evidence-links", {"links": [{"field_key": field_key, "evidence_item_id": item}]}
        )

    return await act(ctx, work_order_id, "ocr", f"Accepted {field_key}", both())


@router.post("/annexure/auto")
async def annexure_auto(work_order_id: str, ctx: PostCtx) -> Response:
    """The server's annexure auto-order (§4.9)."""
    call = ctx.gateway.post(f"{WORK_ORDERS}/{work_order_id}/annexure/auto-order", {})
    return await act(ctx, work_order_id, "annexure", "Annexure ordered automatically", call)


@router.post("/annexure/order")
async def annexure_order(work_order_id: str, ctx: PostCtx) -> Response:
    """The order the operator dragged: every item re-sent with its position (link-upsert overwrites)."""
    ctx.require_viewer()
    form = await ctx.request.form()
    ids = [_uuid(str(v)) for v in form.getlist("order")][:500]
    try:
        detail = await ctx.gateway.get(f"{WORK_ORDERS}/{work_order_id}")
    except GatewayError as exc:
        return await page(ctx, work_order_id, Notice("annexure", "error", exc.message), status_code=422)
    by_id = {e["id"]: e for e in detail.get("evidence_items") or []}
    if not ids or None in ids or set(ids) != set(by_id):
        return await page(
            ctx,
            work_order_id,
            Notice("annexure", "error", "the order must name every item once"),
            status_code=422,
        )
    items = [
        {"id": i, **{k: by_id[i].get(k) for k in EVIDENCE_COLUMNS}, "annexure_order": n}
        for n, i in enumerate(ids, start=1)
        if i is not None
    ]
    call = ctx.gateway.post(f"{WORK_ORDERS}/{work_order_id}/evidence/link", {"items": items})
    return await act(ctx, work_order_id, "annexure", "Annexure order saved", call)


@router.post("/comments")
async def add_comment(work_order_id: str, ctx: PostCtx) -> Response:
    """A comment of a type."""
    form = await _form(ctx)
    kind, body = form.get("comment_type", ""), form.get("body", "").strip()
    if kind not in COMMENT_TYPES or not body or len(body) > 4000:
        return await page(
            ctx,
            work_order_id,
            Notice("comments", "error", "write a comment (at most 4000 characters)"),
            status_code=422,
        )
    call = ctx.gateway.post(f"{WORK_ORDERS}/{work_order_id}/comments", {"comment_type": kind, "body": body})
    return await act(ctx, work_order_id, "comments", "Comment added", call)


@router.post("/status")
async def move_status(work_order_id: str, ctx: PostCtx) -> Response:
    """A status move; a refusal shows its reason (readiness blocks list what is missing)."""
    form = await _form(ctx)
    status, note = form.get("status", ""), form.get("note", "").strip()[:1000]
    if status not in {s for moves in TRANSITIONS.values() for s in moves}:
        return await page(ctx, work_order_id, Notice("status", "error", "choose a status"), status_code=422)
    body = {"status": status, **({"note": note} if note else {})}
    call = ctx.gateway.post(f"{WORK_ORDERS}/{work_order_id}/status", body)
    return await act(ctx, work_order_id, "status", f"Moved to {status}", call)


@router.post("/release")
async def release(work_order_id: str, ctx: PostCtx) -> Response:
    """Release the deliverables through the billing gate (an override needs a reason)."""
    form = await _form(ctx)
    key = _uuid(form.get("idempotency_key", ""))
    override = form.get("override") == "on"
    reason = form.get("override_reason", "").strip()[:500]
    if key is None:
        return await page(
            ctx, work_order_id, Notice("release", "error", "reload the page and try again"), status_code=422
        )
    if override and not reason:
        return await page(
            ctx, work_order_id, Notice("release", "error", "an override needs a reason"), status_code=422
        )
    body: dict[str, Any] = {"idempotency_key": f"console:{key}"}
    if override:
        body |= {"override": True, "override_reason": reason}

    ctx.require_viewer()
    try:
        answer = await ctx.gateway.post(f"{WORK_ORDERS}/{work_order_id}/release-deliverables", body)
    except GatewayError as exc:
        return await page(
            ctx, work_order_id, Notice("release", "error", exc.message, exc.details), status_code=422
        )
    result = (answer.get("release") or {}).get("billing_gate_result", "")
    if answer.get("blocked"):
        reason_code = ((answer.get("release") or {}).get("metadata_json") or {}).get("blocked_reason")
        return await page(
            ctx,
            work_order_id,
            Notice("release", "error", f"Blocked by the billing gate: {reason_code}"),
            status_code=422,
        )
    return await page(ctx, work_order_id, Notice("release", "ok", f"Released ({result})"))


@router.get("/artifacts/{artifact_id}")
async def download(work_order_id: str, artifact_id: str, ctx: CtxDep) -> Response:
    """An artifact of the pack (the DOCX), streamed from the gateway."""
    ctx.require_viewer()
    if _uuid(artifact_id) is None or _uuid(work_order_id) is None:
        return ctx.render("error.html", status_code=404, message="no such artifact")
    stream = ctx.gateway.stream(f"/v1/repogen/artifacts/{artifact_id}/download")
    try:
        resp = await stream.__aenter__()
    except GatewayError as exc:
        return ctx.render("error.html", status_code=exc.status, message=exc.message)

    async def body() -> Any:
        try:
            async for chunk in resp.aiter_bytes():
                yield chunk
        finally:
            await stream.__aexit__(None, None, None)

    headers = {
        k: v
        for k, v in resp.headers.items()
        if k.lower() in {"content-disposition", "content-length", "x-checksum-sha256"}
    }
    media = resp.headers.get("content-type", "application/octet-stream")
    return StreamingResponse(body(), media_type=media, headers=headers)
