"""HTTP routes of the work-orders service (``/v1/repogen/work-orders…``): request → command → handler → view.

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
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse

from shared.api import Caller, ContainerDep, errors
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
from shared.errors import DomainError, IdempotencyKeyReused, ValidationFailed
from shared.idempotency import IdempotencyStore, StoredResponse
from shared.validation import (
    MAX_JSON_BYTES,
    SnapshotVersion,
    json_issue,
    require_json,
    uuid_or_none,
)
from workorders_service.domain.errors import (
    AcceptanceNotSettled,
    AcceptanceRejected,
    AcceptanceRejectedByBilling,
    InvalidContractPatch,
    InvalidStatusTransition,
    PortalSourceTypeForbidden,
    ReadinessBlocksReadyForRender,
    ReopenAfterReleaseForbidden,
    ReopenNoteRequired,
    SnapshotContractInvalid,
    SnapshotNotFound,
    SnapshotRequiredForReadyForRender,
    WorkOrderLocked,
    WorkOrderNotFound,
)
from workorders_service.domain.model import WorkOrder
from workorders_service.handlers.add_comment import AddComment, add_comment
from workorders_service.handlers.change_status import ChangeStatus, StatusResult, change_status
from workorders_service.handlers.check_render import CheckRender, check_render
from workorders_service.handlers.create_work_order import CreateWorkOrder, create_work_order
from workorders_service.handlers.export_work_order import ExportWorkOrder, export_work_order
from workorders_service.handlers.find_work_order import FindWorkOrder, find_work_order
from workorders_service.handlers.get_work_order import GetWorkOrder, WorkOrderDetail, get_work_order
from workorders_service.handlers.patch_contract import PatchContract, patch_contract
from workorders_service.handlers.read_projection_version import (
    ReadProjectionVersion,
    read_projection_version,
)
from workorders_service.handlers.search_work_orders import SearchWorkOrders, search_work_orders
from workorders_service.settings import SCHEMA
from workorders_service.views import (
    CommentList,
    CommentOut,
    CommentRequest,
    ContractPatchedOut,
    CreateWorkOrderRequest,
    SourceType,
    StatusChangedOut,
    StatusPendingOut,
    StatusRequest,
    WorkOrderCreatedOut,
    WorkOrderDetailOut,
    WorkOrderExportOut,
    WorkOrderFilters,
    WorkOrderList,
    comment_out,
    contract_patched_out,
    created_out,
    detail_out,
    export_out,
    json_body,
    list_item_out,
    status_pending_out,
    with_pack_link,
)

router = APIRouter(prefix="/v1/repogen", tags=["work-orders"])

DEFAULT_WAIT_MS = 5000
# A contract patch: the contract nests 5 levels plus a free checklist object (32); several texts of
# up to 10 000 characters each fit in 16 × the free-JSON size.
CONTRACT_MAX_DEPTH = 40
CONTRACT_MAX_BYTES = 16 * MAX_JSON_BYTES
MAX_WAIT_MS = 30000
IDEMPOTENCY_HEADER = "idempotency-key"
_idempotency = IdempotencyStore(SCHEMA)

PORTAL_CHANGE_FORBIDDEN = (403, "PORTAL_WORK_ORDER_CHANGE_FORBIDDEN")
# The contract patch is read by hand (bounded depth and size first), so its body is documented here.
_PATCH_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {
                "schema": {
                    "type": "object",
                    "properties": {
                        "patch": {"type": "object", "description": "A deep-partial contract"},
                        "ruleset_version": {"type": "string", "minLength": 1, "default": "m5.4-v1"},
                    },
                    "required": ["patch"],
                }
            }
        },
    }
}


def _wo_id(raw: str) -> uuid.UUID:
    return parse_uuid(raw, not_found=WorkOrderNotFound(raw))


def _ensure_visible(principal: Principal, wo: WorkOrder | None, wo_id: uuid.UUID) -> WorkOrder:
    """The audience rule RLS enforces too: the portal reaches only CHANNEL work orders its own user
    created; anything else is answered as not found (decision "Hardening (issue 12): audience")."""
    if wo is None or not principal.may_see_work_order(
        source_type=wo.source_type, created_by_user_id=wo.created_by_user_id
    ):
        raise WorkOrderNotFound(wo_id)
    return wo


def _require_text(field: str, value: str) -> None:
    """400 ``VALIDATION_FAILED`` for a text that is only white space (the database refuses it too)."""
    if not value.strip():
        raise ValidationFailed(
            f"{field}: must not be blank", details={"issues": [{"path": field, "message": "blank"}]}
        )


def _token(work_order_id: uuid.UUID | str, version: int) -> str:
    return version_token("workorders", "work-order", str(work_order_id), version)


def _wait_s(request: Request) -> float:
    return (
        wait_budget_ms(request.query_params.get("wait"), default_ms=DEFAULT_WAIT_MS, max_ms=MAX_WAIT_MS)
        / 1000
    )


def _now() -> float:
    return asyncio.get_running_loop().time()


async def _honour_after(
    c: ServiceContainer[Any], principal: Principal, request: Request, timeout_s: float
) -> None:
    """Wait (bounded) until the projections named by ``x-zenops-after`` reached their versions."""
    tokens = parse_tokens(request.headers.get(AFTER_HEADER))
    if not tokens:
        return

    def lookup(projection: str) -> Callable[[str], Awaitable[int | None]]:
        async def _get(aggregate_id: str) -> int | None:
            try:
                wo_id = uuid.UUID(aggregate_id)
            except ValueError:
                return None
            async with c.tenant_uow(principal) as uow:
                return await read_projection_version(uow, ReadProjectionVersion(projection, wo_id))

        return _get

    await await_projections(
        tokens,
        {
            ("evidence", "work-order-evidence"): lookup("evidence"),
            ("billing", "work-order-billing"): lookup("billing"),
            ("factory", "pack"): lookup("pack"),
        },
        timeout_s=timeout_s,
    )


async def _visible_detail(
    c: ServiceContainer[Any], principal: Principal, wo_id: uuid.UUID
) -> WorkOrderDetail:
    async with c.tenant_uow(principal) as uow:
        detail = await get_work_order(uow, GetWorkOrder(wo_id))
    _ensure_visible(principal, detail.projected.work_order, wo_id)
    return detail


async def _work_order(c: ServiceContainer[Any], principal: Principal, wo_id: uuid.UUID) -> WorkOrder | None:
    async with c.tenant_uow(principal) as uow:
        return await find_work_order(uow, FindWorkOrder(wo_id))


# --- create / list / detail -----------------------------------------------------------------------------


@router.post(
    "/work-orders",
    status_code=201,
    response_model=WorkOrderCreatedOut,
    responses=errors(ValidationFailed, PortalSourceTypeForbidden, IdempotencyKeyReused),
)
async def create_work_order_route(
    body: CreateWorkOrderRequest, request: Request, principal: Caller, c: ContainerDep
) -> JSONResponse:
    """Create a DRAFT work order (portal: CHANNEL only); idempotent under ``Idempotency-Key``."""
    tenant_id = require_tenant(principal)
    user_id = require_user(principal)
    if principal.is_portal and body.source_type != SourceType.CHANNEL:
        raise PortalSourceTypeForbidden(body.source_type.value)
    _require_text("bank_name", body.bank_name)
    params = body.model_dump(mode="json")
    # the body holds exactly what the creator decides; the caller adds tenant and creator
    command = CreateWorkOrder(
        tenant_id=uuid.UUID(tenant_id), created_by_user_id=uuid_or_none(user_id), **body.model_dump()
    )
    # a portal user's keys are its own: another user's key never replays their work order to it
    scope = f"create:{tenant_id}" + (f":portal:{user_id}" if principal.is_portal else "")
    async with c.tenant_uow(principal) as uow:

        async def create() -> StoredResponse:
            wo = await create_work_order(uow, command)
            return StoredResponse(201, json_body(created_out(wo)), {VERSION_HEADER: _token(wo.id, 1)})

        answer = await _idempotency.run_once(
            uow.session,
            scope=scope,
            key=request.headers.get(IDEMPOTENCY_HEADER),
            params=params,
            effect=create,
        )
        await uow.commit()
    return answer.to_response()


@router.get("/work-orders", response_model=WorkOrderList, responses=errors(ValidationFailed))
async def list_work_orders(
    request: Request, principal: Caller, c: ContainerDep, filters: Annotated[WorkOrderFilters, Query()]
) -> WorkOrderList:
    """The tenant's work orders, newest first (the portal sees only its own CHANNEL ones)."""
    await _honour_after(c, principal, request, _wait_s(request))
    query = SearchWorkOrders(**filters.model_dump())
    async with c.tenant_uow(principal) as uow:
        summaries = await search_work_orders(uow, query)
    # RLS already hides the others from the portal; never rely on one layer alone
    visible = [
        s
        for s in summaries
        if principal.may_see_work_order(
            source_type=s.projected.work_order.source_type,
            created_by_user_id=s.projected.work_order.created_by_user_id,
        )
    ]
    return WorkOrderList(items=[list_item_out(s) for s in visible])


async def _read_detail(
    work_order_id: str, request: Request, principal: Principal, c: ServiceContainer[Any]
) -> WorkOrderDetail:
    """A visible work order's detail, after the projections named by ``x-zenops-after`` caught up."""
    wo_id = _wo_id(work_order_id)
    await _honour_after(c, principal, request, _wait_s(request))
    return await _visible_detail(c, principal, wo_id)


@router.get(
    "/work-orders/{work_order_id}", response_model=WorkOrderDetailOut, responses=errors(WorkOrderNotFound)
)
async def get_work_order_route(
    work_order_id: str, request: Request, principal: Caller, c: ContainerDep
) -> WorkOrderDetailOut:
    """The detail of one work order (domain.md §1.8)."""
    return detail_out(await _read_detail(work_order_id, request, principal, c))


# --- contract -------------------------------------------------------------------------------------------------


@router.patch(
    "/work-orders/{work_order_id}/contract",
    response_model=ContractPatchedOut,
    responses=errors(
        InvalidContractPatch,
        ValidationFailed,
        PORTAL_CHANGE_FORBIDDEN,
        WorkOrderNotFound,
        WorkOrderLocked,
        IdempotencyKeyReused,
    ),
    openapi_extra=_PATCH_BODY,
)
async def patch_contract_route(
    work_order_id: str, request: Request, principal: Caller, c: ContainerDep
) -> JSONResponse:
    """Merge a contract patch, snapshot it and run the rules; idempotent under ``Idempotency-Key``."""
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
    # The work order is part of the scope, so one key may be used once per work order (architecture §5).
    scope = f"contract:{tenant_id}:{wo_id}"
    async with c.tenant_uow(principal) as uow:

        async def patch() -> StoredResponse:
            result = await patch_contract(uow, PatchContract(wo_id, user_id, body))
            headers = {VERSION_HEADER: _token(wo_id, result.version)}
            return StoredResponse(200, json_body(contract_patched_out(result)), headers)

        answer = await _idempotency.run_once(
            uow.session,
            scope=scope,
            key=request.headers.get(IDEMPOTENCY_HEADER),
            params={"body": body},
            effect=patch,
        )
        await uow.commit()
    return answer.to_response()


# --- status ---------------------------------------------------------------------------------------------------


def _marker(result: StatusResult) -> dict[str, object]:
    """What a status request did, kept under its idempotency key until its answer is settled."""
    return {
        "from_status": result.from_status,
        "to_status": result.to_status,
        "noop": result.noop,
        "version": result.version,
        "acceptance_request_id": result.acceptance_request_id,
    }


def _from_marker(wo_id: uuid.UUID, marker: dict[str, Any]) -> StatusResult:
    return StatusResult(
        wo_id,
        str(marker["from_status"]),
        str(marker["to_status"]),
        bool(marker["noop"]),
        int(marker["version"]),
        marker.get("acceptance_request_id"),
    )


@router.post(
    "/work-orders/{work_order_id}/status",
    status_code=201,
    response_model=StatusChangedOut,
    responses={
        202: {"model": StatusPendingOut, "description": "The saga has not settled within the wait budget"},
        **errors(
            InvalidStatusTransition,
            ReopenNoteRequired,
            SnapshotRequiredForReadyForRender,
            ReadinessBlocksReadyForRender,
            PORTAL_CHANGE_FORBIDDEN,
            WorkOrderNotFound,
            ReopenAfterReleaseForbidden,
            AcceptanceRejected,
            AcceptanceNotSettled,
            AcceptanceRejectedByBilling,
            SnapshotContractInvalid,
            IdempotencyKeyReused,
        ),
    },
)
async def change_status_route(
    work_order_id: str, body: StatusRequest, request: Request, principal: Caller, c: ContainerDep
) -> JSONResponse:
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
    command = ChangeStatus(wo_id, principal.user_id, body.status.value, body.note)
    key = request.headers.get(IDEMPOTENCY_HEADER)
    params = body.model_dump(mode="json")
    scope = f"status:{tenant_id}:{wo_id}"
    pending_scope = f"status-pending:{tenant_id}:{wo_id}"
    if command.target == "READY_FOR_RENDER":
        # A DATA_PENDING request answered 202 may still be settling: give it the rest of the budget.
        async def _settled() -> bool | None:
            wo = await _work_order(c, principal, wo_id)
            return None if wo is not None and wo.acceptance_status == "PENDING" else True

        await wait_until(_settled, timeout_s=max(0.0, budget_s - (_now() - loop_start)))
    result: StatusResult | None = None
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
                    result = await change_status(uow, command)
            except DomainError as exc:
                if not key or exc.status >= 500:
                    raise
                refusal = StoredResponse(exc.status, exc.body())
                await _idempotency.save(
                    uow.session,
                    scope=scope,
                    key=key,
                    params=params,
                    status_code=refusal.status_code,
                    body=refusal.body,
                )
                await uow.commit()
                return refusal.to_response()
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
    answer = await _status_answer(c, principal, command.target, result, remaining)
    if key and answer.status_code != 202:
        settled = answer

        async def _settled_answer() -> StoredResponse:
            return settled

        async with c.tenant_uow(principal) as uow:
            # a concurrent retry may have stored its settled answer first: then that one is the answer
            answer = await _idempotency.run_once(
                uow.session, scope=scope, key=key, params=params, effect=_settled_answer
            )
            await uow.commit()
    return answer.to_response()


async def _status_answer(
    c: ServiceContainer[Any], principal: Principal, target: str, result: StatusResult, remaining: float
) -> StoredResponse:
    """The answer to an applied status request: 201, 409 (saga rejected) or 202 (not settled in time)."""
    wo_id = result.work_order_id
    if result.acceptance_request_id is not None:
        request_id = result.acceptance_request_id

        async def _outcome() -> WorkOrder | None:
            wo = await _work_order(c, principal, wo_id)
            if wo is None or str(wo.acceptance_request_id) != request_id:
                return wo
            return None if wo.acceptance_status == "PENDING" else wo

        wo = await wait_until(_outcome, timeout_s=remaining)
        if wo is None:
            current = await _work_order(c, principal, wo_id)
            version = current.version if current else result.version
            pending = json_body(status_pending_out(result))
            return StoredResponse(202, pending, {VERSION_HEADER: _token(wo_id, version)})
        if wo.acceptance_status == "REJECTED":
            code = wo.acceptance_code or "ACCEPTANCE_REJECTED"
            details = dict(wo.acceptance_details or {})
            details |= {"work_order_id": str(wo_id), "status": wo.status, "reverted": True}
            rejected = AcceptanceRejectedByBilling(
                wo.acceptance_message or f"acceptance rejected by billing: {code}", details, code=code
            )
            return StoredResponse(409, rejected.body(), {VERSION_HEADER: _token(wo_id, wo.version)})
        detail = await _visible_detail(c, principal, wo_id)
        return StoredResponse(201, json_body(detail_out(detail)), {VERSION_HEADER: _token(wo_id, wo.version)})

    if target == "READY_FOR_RENDER":

        async def _pack_settled() -> bool | None:
            async with c.tenant_uow(principal) as uow:
                return await check_render(uow, CheckRender(wo_id)) or None

        if not result.noop:
            await wait_until(_pack_settled, timeout_s=remaining)
        detail = await _visible_detail(c, principal, wo_id)
        body = with_pack_link(detail).model_dump(mode="json")
        return StoredResponse(201, body, {VERSION_HEADER: _token(wo_id, result.version)})

    detail = await _visible_detail(c, principal, wo_id)
    return StoredResponse(201, json_body(detail_out(detail)), {VERSION_HEADER: _token(wo_id, result.version)})


# --- comments ---------------------------------------------------------------------------------------------------


@router.get(
    "/work-orders/{work_order_id}/comments", response_model=CommentList, responses=errors(WorkOrderNotFound)
)
async def list_comments(
    work_order_id: str, request: Request, principal: Caller, c: ContainerDep
) -> CommentList:
    """The work order's comments and system notes, newest first."""
    detail = await _read_detail(work_order_id, request, principal, c)
    return CommentList(items=[comment_out(comment) for comment in detail.comments])


@router.post(
    "/work-orders/{work_order_id}/comments",
    status_code=201,
    response_model=CommentOut,
    responses=errors(ValidationFailed, WorkOrderNotFound, IdempotencyKeyReused),
)
async def add_comment_route(
    work_order_id: str, body: CommentRequest, request: Request, principal: Caller, c: ContainerDep
) -> JSONResponse:
    """Add an operator comment; idempotent under ``Idempotency-Key``."""
    tenant_id = require_tenant(principal)
    require_user(principal)
    wo_id = _wo_id(work_order_id)
    _require_text("body", body.body)
    command = AddComment(wo_id, principal.user_id, body.comment_type.value, body.body)
    async with c.tenant_uow(principal) as uow:
        _ensure_visible(principal, await find_work_order(uow, FindWorkOrder(wo_id)), wo_id)

        async def add() -> StoredResponse:
            added = await add_comment(uow, command)
            headers = {VERSION_HEADER: _token(wo_id, added.work_order_version)}
            return StoredResponse(201, json_body(comment_out(added.comment)), headers)

        answer = await _idempotency.run_once(
            uow.session,
            scope=f"comments:{tenant_id}:{wo_id}",
            key=request.headers.get(IDEMPOTENCY_HEADER),
            params=body.model_dump(mode="json"),
            effect=add,
        )
        await uow.commit()
    return answer.to_response()


# --- export -----------------------------------------------------------------------------------------------------


@router.get(
    "/work-orders/{work_order_id}/export",
    response_model=WorkOrderExportOut,
    responses=errors(
        (403, "PORTAL_EXPORT_FORBIDDEN"), WorkOrderNotFound, SnapshotNotFound, SnapshotContractInvalid
    ),
)
async def export_work_order_route(
    work_order_id: str,
    request: Request,
    principal: Caller,
    c: ContainerDep,
    snapshot_version: Annotated[SnapshotVersion | None, Query()] = None,
) -> WorkOrderExportOut:
    """The export bundle of a snapshot (the latest by default) with the current evidence (domain.md §1.9)."""
    principal.deny_portal("export")
    wo_id = _wo_id(work_order_id)
    await _honour_after(c, principal, request, _wait_s(request))
    async with c.tenant_uow(principal) as uow:
        return export_out(await export_work_order(uow, ExportWorkOrder(wo_id, snapshot_version)))
