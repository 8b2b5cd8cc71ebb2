"""HTTP routes of the work-orders service (``/v1/repogen/work-orders…``): schema → handler → response.

Writes answer ``x-zenops-version: workorders:work-order:<id>:<version>``. Reads and the status gate honour
``x-zenops-after`` tokens of the evidence, billing and pack projections (bounded by the ``wait`` budget).
Status changes that start a saga wait for its outcome (architecture §4): settled → 201, rejected → 409,
not settled in time → 202 with a URL to poll.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Awaitable, Callable
from enum import StrEnum
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.encoders import jsonable_encoder
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, StringConstraints

from shared.api import Caller, ContainerDep
from shared.auth.principal import Principal
from shared.consistency import (
    AFTER_HEADER,
    VERSION_HEADER,
    await_projections,
    parse_tokens,
    wait_budget_ms,
    wait_until,
)
from shared.container import ServiceContainer, parse_uuid, require_tenant, require_user, version_token
from shared.errors import DomainError, ValidationFailed
from shared.idempotency import IdempotencyStore, StoredResponse
from shared.validation import (
    MAX_JSON_BYTES,
    Key,
    Name,
    SearchText,
    SnapshotVersion,
    Text,
    json_issue,
    require_json,
)
from workorders_service import handlers
from workorders_service.domain.errors import (
    AcceptanceRejectedByBilling,
    InvalidContractPatch,
    PortalSourceTypeForbidden,
    WorkOrderNotFound,
)
from workorders_service.repository import ProjectionRepository, WorkOrderRepository
from workorders_service.settings import SCHEMA
from workorders_service.views import clamp_score, iso, pack_link, serialize_work_order

router = APIRouter(prefix="/v1/repogen")

DEFAULT_WAIT_MS = 5000
# A contract patch: the contract nests 5 levels plus a free checklist object (32); several texts of
# up to 10 000 characters each fit in 16 × the free-JSON size.
CONTRACT_MAX_DEPTH = 40
CONTRACT_MAX_BYTES = 16 * MAX_JSON_BYTES
MAX_WAIT_MS = 30000
_idempotency = IdempotencyStore(SCHEMA)


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


class ValueSlab(StrEnum):
    LT_5CR = "LT_5CR"
    GT_5CR = "GT_5CR"
    UNKNOWN = "UNKNOWN"


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


class CreateWorkOrder(BaseModel):
    """Body of ``POST /work-orders`` (domain.md §1.8 + ``billing_external_key``)."""

    model_config = ConfigDict(extra="ignore")

    source_type: SourceType
    source_ref_id: uuid.UUID | None = None
    assignment_id: uuid.UUID | None = None
    report_type: ReportType
    bank_name: Annotated[Name, StringConstraints(min_length=1)]
    bank_type: BankType = BankType.OTHER
    billing_external_key: Key | None = None


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


def _wo_id(raw: str) -> uuid.UUID:
    return parse_uuid(raw, not_found=WorkOrderNotFound(raw))


def _visible(principal: Principal, work_order: dict[str, Any] | None) -> bool:
    """The audience rule RLS enforces too: the portal reaches only CHANNEL work orders its own user
    created; anything else is answered as not found (decision "Hardening (issue 12): audience")."""
    return work_order is not None and principal.may_see_work_order(
        source_type=work_order.get("source_type"), created_by_user_id=work_order.get("created_by_user_id")
    )


def _ensure_visible(principal: Principal, work_order: dict[str, Any] | None, wo_id: uuid.UUID) -> None:
    if not _visible(principal, work_order):
        raise WorkOrderNotFound(wo_id)


def _token(work_order_id: uuid.UUID | str, version: int) -> str:
    return version_token("workorders", "work-order", str(work_order_id), version)


def _wait_s(request: Request) -> float:
    return (
        wait_budget_ms(request.query_params.get("wait"), default_ms=DEFAULT_WAIT_MS, max_ms=MAX_WAIT_MS)
        / 1000
    )


IDEMPOTENCY_HEADER = "idempotency-key"


async def _honour_after(
    c: ServiceContainer[Any], principal: Principal, request: Request, timeout_s: float
) -> None:
    """Wait (bounded) until the projections named by ``x-zenops-after`` reached their versions."""
    tokens = parse_tokens(request.headers.get(AFTER_HEADER))
    if not tokens:
        return

    def lookup(table: str) -> Callable[[str], Awaitable[int | None]]:
        async def _get(aggregate_id: str) -> int | None:
            try:
                wo_id = uuid.UUID(aggregate_id)
            except ValueError:
                return None
            async with c.tenant_uow(principal) as uow:
                return await ProjectionRepository(uow.session).source_version(table, wo_id)

        return _get

    await await_projections(
        tokens,
        {
            ("evidence", "work-order-evidence"): lookup("evidence_projection"),
            ("billing", "work-order-billing"): lookup("billing_projection"),
            ("factory", "pack"): lookup("pack_projection"),
        },
        timeout_s=timeout_s,
    )


# --- create / list / detail -----------------------------------------------------------------------------


@router.post("/work-orders", status_code=201)
async def create_work_order(
    body: CreateWorkOrder, request: Request, principal: Caller, c: ContainerDep
) -> Any:
    tenant_id = require_tenant(principal)
    user_id = require_user(principal)
    if principal.is_portal and body.source_type != SourceType.CHANNEL:
        raise PortalSourceTypeForbidden(body.source_type.value)
    if not body.bank_name.strip():
        raise ValidationFailed(
            "bank_name: must not be blank", details={"issues": [{"path": "bank_name", "message": "blank"}]}
        )
    params = body.model_dump(mode="json")
    key = request.headers.get("idempotency-key")
    # a portal user's keys are its own: another user's key never replays their work order to it
    create_scope = f"create:{tenant_id}" + (f":portal:{user_id}" if principal.is_portal else "")
    async with c.tenant_uow(principal) as uow:

        async def create() -> StoredResponse:
            work_order = await handlers.create_work_order(
                uow, tenant_id=tenant_id, user_id=user_id, body=params
            )
            result = {"work_order_id": work_order["id"], "work_order": work_order}
            return StoredResponse(
                201, jsonable_encoder(result), {VERSION_HEADER: _token(work_order["id"], 1)}
            )

        answer = await _idempotency.run_once(
            uow.session, scope=create_scope, key=key, params=params, effect=create
        )
        await uow.commit()
    return answer.to_response()


@router.get("/work-orders")
async def list_work_orders(
    request: Request,
    principal: Caller,
    c: ContainerDep,
    status: WorkOrderStatus | None = None,
    report_type: ReportType | None = None,
    bank_type: BankType | None = None,
    template_selector: TemplateSelector | None = None,
    source_type: SourceType | None = None,
    search: SearchText | None = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 50,
) -> dict[str, Any]:
    await _honour_after(c, principal, request, _wait_s(request))
    async with c.tenant_uow(principal) as uow:
        rows = await WorkOrderRepository(uow.session).search(
            status=status.value if status else None,
            report_type=report_type.value if report_type else None,
            bank_type=bank_type.value if bank_type else None,
            template_selector=template_selector.value if template_selector else None,
            source_type=source_type.value if source_type else None,
            search=search.strip() if search and search.strip() else None,
            limit=limit,
        )
    items = []
    for row in rows:
        if not _visible(principal, row):
            continue  # RLS already hides these from the portal; never rely on one layer alone
        pack = (
            {
                "pack_id": row["p_pack_id"],
                "status": row["p_status"],
                "created_source_version": row["p_created"],
                "failed_source_version": row["p_failed"],
            }
            if row.get("p_pack_id") or row.get("p_failed")
            else None
        )
        item = serialize_work_order(row, billing_payload=row.get("billing_payload"), pack=pack)
        item |= {
            "readiness": row["current_readiness"],
            "readiness_score": clamp_score(row["current_readiness"]),
            "latest_snapshot_version": row["latest_snapshot_version"],
            "latest_snapshot_created_at": iso(row["latest_snapshot_created_at"]),
            "latest_derived_json": row["latest_derived_json"],
            "evidence_count": int(row["evidence_count"]),
            "comments_count": int(row["comments_count"]),
        }
        items.append(item)
    return {"items": items}


@router.get("/work-orders/{work_order_id}")
async def get_work_order(work_order_id: str, request: Request, principal: Caller, c: ContainerDep) -> Any:
    wo_id = _wo_id(work_order_id)
    await _honour_after(c, principal, request, _wait_s(request))
    async with c.tenant_uow(principal) as uow:
        detail = await handlers.work_order_detail(uow, wo_id)
    _ensure_visible(principal, detail.get("work_order"), wo_id)
    return detail


# --- contract -------------------------------------------------------------------------------------------------


@router.patch("/work-orders/{work_order_id}/contract")
async def patch_contract(work_order_id: str, request: Request, principal: Caller, c: ContainerDep) -> Any:
    principal.deny_portal("work_order_change")
    tenant_id = require_tenant(principal)
    user_id = require_user(principal)
    wo_id = _wo_id(work_order_id)
    raw = await request.body() or b"null"
    if len(raw) > CONTRACT_MAX_BYTES:
        raise json_issue("", f"JSON larger than {CONTRACT_MAX_BYTES} bytes", "json_too_large")
    try:
        body = json.loads(raw)
    except RecursionError:
        raise json_issue(
            "", f"JSON nested deeper than {CONTRACT_MAX_DEPTH} levels", "json_too_deep"
        ) from None
    except ValueError:
        raise InvalidContractPatch() from None
    # Depth, size and storable strings of the whole body, unknown keys included (they reach the
    # idempotency hash); the contract model then bounds every field it keeps.
    require_json(body, max_depth=CONTRACT_MAX_DEPTH, max_bytes=CONTRACT_MAX_BYTES)
    await _honour_after(c, principal, request, _wait_s(request))
    key = request.headers.get(IDEMPOTENCY_HEADER)
    # The work order is part of the scope, so one key may be used once per work order (architecture §5).
    scope = f"contract:{tenant_id}:{wo_id}"
    params = {"body": body}
    async with c.tenant_uow(principal) as uow:

        async def patch() -> StoredResponse:
            result = await handlers.patch_contract(uow, wo_id, user_id=user_id, body=body)
            headers = {VERSION_HEADER: _token(wo_id, result.pop("version"))}
            return StoredResponse(200, jsonable_encoder(result), headers)

        answer = await _idempotency.run_once(uow.session, scope=scope, key=key, params=params, effect=patch)
        await uow.commit()
    return answer.to_response()


# --- status ---------------------------------------------------------------------------------------------------


async def _detail(c: ServiceContainer[Any], principal: Principal, wo_id: uuid.UUID) -> dict[str, Any]:
    async with c.tenant_uow(principal) as uow:
        return await handlers.work_order_detail(uow, wo_id)


async def _row(c: ServiceContainer[Any], principal: Principal, wo_id: uuid.UUID) -> dict[str, Any] | None:
    async with c.tenant_uow(principal) as uow:
        return await WorkOrderRepository(uow.session).get(wo_id)


async def _pack(c: ServiceContainer[Any], principal: Principal, wo_id: uuid.UUID) -> dict[str, Any] | None:
    async with c.tenant_uow(principal) as uow:
        return await ProjectionRepository(uow.session).pack(wo_id)


async def _with_pack(c: ServiceContainer[Any], principal: Principal, wo_id: uuid.UUID) -> dict[str, Any]:
    detail = await _detail(c, principal, wo_id)
    row = await _row(c, principal, wo_id)
    assert row is not None
    detail["pack_link"] = pack_link(row, await _pack(c, principal, wo_id))
    detail["pack_state"] = detail["work_order"]["pack_state"]
    return detail


def _marker(result: handlers.StatusResult) -> dict[str, Any]:
    """What a status request did, kept under its idempotency key until its answer is settled."""
    return {
        "from_status": result.from_status,
        "to_status": result.to_status,
        "noop": result.noop,
        "version": result.version,
        "acceptance_request_id": result.acceptance_request_id,
    }


def _from_marker(wo_id: uuid.UUID, marker: dict[str, Any]) -> handlers.StatusResult:
    return handlers.StatusResult(
        wo_id,
        str(marker["from_status"]),
        str(marker["to_status"]),
        bool(marker["noop"]),
        int(marker["version"]),
        marker.get("acceptance_request_id"),
    )


Answer = tuple[int, dict[str, Any], dict[str, str]]


@router.post("/work-orders/{work_order_id}/status", status_code=201)
async def change_status(
    work_order_id: str, body: StatusRequest, request: Request, principal: Caller, c: ContainerDep
) -> Any:
    """Apply a status request and answer its settled outcome (or 202 while a saga is still running).

    With an ``Idempotency-Key`` (scope: tenant + route + work order) only settled answers are stored
    (201, 4xx rejections). While the answer is still pending the key holds a marker written in the same
    transaction as the change, so a retry waits for that change's outcome instead of applying it again.
    """
    principal.deny_portal("work_order_change")
    tenant_id = require_tenant(principal)
    require_user(principal)
    wo_id = _wo_id(work_order_id)
    budget_s = _wait_s(request)
    loop_start = _now()
    await _honour_after(c, principal, request, budget_s)
    target = body.status.value
    key = request.headers.get(IDEMPOTENCY_HEADER)
    params = body.model_dump(mode="json")
    scope = f"status:{tenant_id}:{wo_id}"
    pending_scope = f"status-pending:{tenant_id}:{wo_id}"
    if target == "READY_FOR_RENDER":
        # A DATA_PENDING request answered 202 may still be settling: give it the rest of the budget.
        async def _settled() -> bool | None:
            row = await _row(c, principal, wo_id)
            return None if row is not None and row["acceptance_status"] == "PENDING" else True

        await wait_until(_settled, timeout_s=max(0.0, budget_s - (_now() - loop_start)))
    result: handlers.StatusResult | None = None
    # Not run_once: the answer (201/409) is often settled only after the saga ran, in a later
    # transaction, so the key first holds a pending marker and the settled answer is saved below.
    async with c.tenant_uow(principal) as uow:
        if key:
            stored = await _idempotency.begin(uow.session, scope=scope, key=key, params=params)
            if stored is not None:
                return stored.to_response()
            marker = await _idempotency.begin(uow.session, scope=pending_scope, key=key, params=params)
            if marker is not None:
                result = _from_marker(wo_id, marker.body)
        if result is None:
            try:
                # A savepoint, so a rejection can be stored under the key while the change is undone.
                async with uow.session.begin_nested():
                    result = await handlers.change_status(
                        uow, wo_id, user_id=principal.user_id, target=target, note=body.note
                    )
            except DomainError as exc:
                if not key or exc.status >= 500:
                    raise
                error = exc.body()
                await _idempotency.save(
                    uow.session,
                    scope=scope,
                    key=key,
                    params=params,
                    status_code=exc.status,
                    body=error,
                )
                await uow.commit()
                return JSONResponse(error, status_code=exc.status)
            if key:
                await _idempotency.save(
                    uow.session,
                    scope=pending_scope,
                    key=key,
                    params=params,
                    status_code=202,
                    body=_marker(result),
                )
        await uow.commit()
    remaining = max(0.0, budget_s - (_now() - loop_start))
    status_code, content, headers = await _status_answer(c, principal, wo_id, target, result, remaining)
    if key and status_code != 202:
        async with c.tenant_uow(principal) as uow:
            stored = await _idempotency.begin(uow.session, scope=scope, key=key, params=params)
            if stored is not None:
                return stored.to_response()  # a concurrent retry settled it first: answer the same
            await _idempotency.save(
                uow.session,
                scope=scope,
                key=key,
                params=params,
                status_code=status_code,
                body=content,
                headers=headers,
            )
            await uow.commit()
    return JSONResponse(content, status_code=status_code, headers=headers)


async def _status_answer(
    c: ServiceContainer[Any],
    principal: Principal,
    wo_id: uuid.UUID,
    target: str,
    result: handlers.StatusResult,
    remaining: float,
) -> Answer:
    """The answer to an applied status request: 201, 409 (saga rejected) or 202 (not settled in time)."""
    if result.acceptance_request_id is not None:
        request_id = result.acceptance_request_id

        async def _outcome() -> dict[str, Any] | None:
            row = await _row(c, principal, wo_id)
            if row is None or str(row["acceptance_request_id"]) != request_id:
                return row
            return None if row["acceptance_status"] == "PENDING" else row

        row = await wait_until(_outcome, timeout_s=remaining)
        if row is None:
            current = await _row(c, principal, wo_id)
            version = int(current["version"]) if current else result.version
            return (
                202,
                {
                    "status": "PENDING",
                    "work_order_id": str(wo_id),
                    "acceptance": {"status": "PENDING", "request_message_id": request_id},
                    "poll_url": f"/v1/repogen/work-orders/{wo_id}",
                },
                {VERSION_HEADER: _token(wo_id, version)},
            )
        if row["acceptance_status"] == "REJECTED":
            code = row["acceptance_code"] or "ACCEPTANCE_REJECTED"
            details = dict(row["acceptance_details"] or {})
            details |= {"work_order_id": str(wo_id), "status": row["status"], "reverted": True}
            rejected = AcceptanceRejectedByBilling(
                row["acceptance_message"] or f"acceptance rejected by billing: {code}", details, code=code
            )
            return (
                409,
                rejected.body(),
                {VERSION_HEADER: _token(wo_id, int(row["version"]))},
            )
        detail = await _detail(c, principal, wo_id)
        return 201, detail, {VERSION_HEADER: _token(wo_id, int(row["version"]))}

    if target == "READY_FOR_RENDER":

        async def _pack_settled() -> bool | None:
            row = await _row(c, principal, wo_id)
            if row is None:
                return True
            state = serialize_work_order(row, pack=await _pack(c, principal, wo_id))["pack_state"]
            return None if state in ("PENDING", None) and row["status"] == "READY_FOR_RENDER" else True

        if not result.noop:
            await wait_until(_pack_settled, timeout_s=remaining)
        detail = await _with_pack(c, principal, wo_id)
        return 201, detail, {VERSION_HEADER: _token(wo_id, result.version)}

    detail = await _detail(c, principal, wo_id)
    return 201, detail, {VERSION_HEADER: _token(wo_id, result.version)}


def _now() -> float:
    return asyncio.get_running_loop().time()


# --- comments ---------------------------------------------------------------------------------------------------


@router.get("/work-orders/{work_order_id}/comments")
async def list_comments(work_order_id: str, request: Request, principal: Caller, c: ContainerDep) -> Any:
    wo_id = _wo_id(work_order_id)
    await _honour_after(c, principal, request, _wait_s(request))
    async with c.tenant_uow(principal) as uow:
        detail = await handlers.work_order_detail(uow, wo_id)
    _ensure_visible(principal, detail.get("work_order"), wo_id)
    return {"items": detail["comments"]}


@router.post("/work-orders/{work_order_id}/comments", status_code=201)
async def add_comment(
    work_order_id: str,
    body: CommentRequest,
    request: Request,
    principal: Caller,
    c: ContainerDep,
) -> Any:
    tenant_id = require_tenant(principal)
    require_user(principal)
    wo_id = _wo_id(work_order_id)
    if not body.body.strip():
        raise ValidationFailed(
            "body: must not be blank", details={"issues": [{"path": "body", "message": "blank"}]}
        )
    key = request.headers.get(IDEMPOTENCY_HEADER)
    scope = f"comments:{tenant_id}:{wo_id}"
    params = body.model_dump(mode="json")
    async with c.tenant_uow(principal) as uow:
        _ensure_visible(principal, await WorkOrderRepository(uow.session).get(wo_id), wo_id)

        async def add() -> StoredResponse:
            comment, version = await handlers.add_comment(
                uow, wo_id, user_id=principal.user_id, comment_type=body.comment_type.value, body=body.body
            )
            return StoredResponse(201, jsonable_encoder(comment), {VERSION_HEADER: _token(wo_id, version)})

        answer = await _idempotency.run_once(uow.session, scope=scope, key=key, params=params, effect=add)
        await uow.commit()
    return answer.to_response()


# --- export -----------------------------------------------------------------------------------------------------


@router.get("/work-orders/{work_order_id}/export")
async def export_work_order(
    work_order_id: str,
    request: Request,
    principal: Caller,
    c: ContainerDep,
    snapshot_version: Annotated[SnapshotVersion | None, Query()] = None,
) -> Any:
    principal.deny_portal("export")
    wo_id = _wo_id(work_order_id)
    await _honour_after(c, principal, request, _wait_s(request))
    async with c.tenant_uow(principal) as uow:
        return await handlers.export_work_order(uow, wo_id, snapshot_version)
