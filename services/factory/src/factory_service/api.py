"""HTTP routes of the factory service: request → command → handler → view (domain.md §5.3, §6, §9.1)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict

from factory_service.domain.errors import (
    ArtifactBlobMissing,
    ArtifactNotFound,
    DeliverableLockedUntilBillingSatisfied,
    FactoryOperatorRoleRequired,
    IdempotencyKeyAlreadyUsed,
    IdempotencyKeyRequired,
    OverrideReasonRequired,
    PackCreationRequiresReadyForRender,
    PackGenerationNotCompleted,
    ReleaseGateFailed,
    ReleaseInProgress,
    ReportPackNotFound,
    ReportPackNotLinked,
    SnapshotRequiredForPackCreation,
    WorkOrderNotFound,
)
from factory_service.domain.release import PENDING, RELEASE_DECIDED_CHANNEL, validate_release_request
from factory_service.domain.templates import DOCX_MIME_TYPE, JSON_MIME_TYPE, ZIP_MIME_TYPE
from factory_service.handlers.build_pack import CreatePack, create_pack
from factory_service.handlers.common import blob_store, releases_url
from factory_service.handlers.downloads import (
    Download,
    DownloadArtifact,
    DownloadEvidencePack,
    download_artifact,
    download_evidence_pack,
)
from factory_service.handlers.pack_queries import (
    GetPackLink,
    ListReleases,
    PackLink,
    ProjectionVersion,
    get_pack_link,
    get_release,
    list_releases,
    pack_link,
    projection_version,
)
from factory_service.handlers.release_request import ReleaseStarted, RequestRelease, request_release
from factory_service.records import ReleaseRecord
from factory_service.views import (
    PackCreationView,
    PackLinkView,
    ReleaseListView,
    ReleaseOutcomeView,
    ReleasePendingView,
    pack_link_view,
)
from shared.api import Caller, ContainerDep, errors
from shared.auth.principal import Principal
from shared.consistency import (
    AFTER_HEADER,
    VersionToken,
    await_projections,
    parse_tokens,
    wait_budget_ms,
    wait_until,
)
from shared.container import ServiceContainer, parse_uuid, require_tenant, require_user, version_token
from shared.validation import Key, Text, uuid_or_none

router = APIRouter(prefix="/v1/repogen")

#: ``release-deliverables?wait=``: the request wakes on the stream process's announcement of the outcome;
#: this poll (growing to the maximum) only covers an announcement lost while the listener reconnected
_RELEASE_FALLBACK_POLL_S = 0.25
_RELEASE_FALLBACK_POLL_MAX_S = 1.0


class ReleaseBody(BaseModel):
    """``{idempotency_key, override?, override_reason?}`` (domain.md §6); validated by the handler so
    that a missing or blank key answers ``IDEMPOTENCY_KEY_REQUIRED``."""

    model_config = ConfigDict(extra="ignore")

    idempotency_key: Key | None = None
    override: bool | None = False
    override_reason: Text | None = None


class CreatePackBody(BaseModel):
    model_config = ConfigDict(extra="ignore")

    idempotency_key: Key | None = None


def require_factory_operator(principal: Principal, c: ServiceContainer[Any]) -> None:
    """domain.md §10.2 with architecture §6: a denial is 403 (the original answered 400)."""
    if not principal.is_factory_operator(dev=c.settings.is_dev):
        raise FactoryOperatorRoleRequired


#: the projections read-your-writes tokens may name here, by (service, aggregate) of the token
_PROJECTIONS: dict[tuple[str, str], Literal["work-order", "work-order-billing", "pack"]] = {
    ("workorders", "work-order"): "work-order",
    ("billing", "work-order-billing"): "work-order-billing",
    ("factory", "pack"): "pack",
}


async def _await_tokens(request: Request, c: ServiceContainer[Any], principal: Principal) -> None:
    """Read-your-writes: wait (bounded) until the projections reached the caller's tokens."""
    tokens = parse_tokens(request.headers.get(AFTER_HEADER))
    if not tokens:
        return

    def lookup(projection: Any) -> Any:
        async def _lookup(aggregate_id: str) -> int | None:
            async with c.tenant_uow(principal) as uow:
                return await projection_version(uow, ProjectionVersion(projection, aggregate_id))

        return _lookup

    async def lookup_many(pending: Sequence[VersionToken]) -> dict[tuple[str, str, str], int | None]:
        # every pending token in one transaction (a client carries a token per work order it touched)
        async with c.tenant_uow(principal) as uow:
            return {
                t.key: await projection_version(
                    uow, ProjectionVersion(_PROJECTIONS[(t.service, t.aggregate)], t.aggregate_id)
                )
                for t in pending
            }

    await await_projections(
        tokens,
        {key: lookup(projection) for key, projection in _PROJECTIONS.items()},
        timeout_s=c.settings.wait_default_ms / 1000,
        lookup_many=lookup_many,
    )


def _pack_headers(work_order_id: str, version: int | None) -> dict[str, str]:
    if version is None:
        return {}
    return {"x-zenops-version": version_token("factory", "pack", work_order_id, version)}


def _work_order_uuid(work_order_id: str) -> uuid.UUID:
    return parse_uuid(work_order_id, not_found=WorkOrderNotFound(work_order_id))


# --------------------------------------------------------------------------------------- pack view


@router.get(
    "/work-orders/{work_order_id}/pack", response_model=PackLinkView, responses=errors(WorkOrderNotFound)
)
async def get_pack(work_order_id: str, request: Request, principal: Caller, c: ContainerDep) -> PackLinkView:
    """The pack link view (§5.3) with ``billing_gate_status`` from the billing projection (FAC-10)."""
    principal.deny_portal("factory")
    wo_id = _work_order_uuid(work_order_id)
    await _await_tokens(request, c, principal)
    async with c.tenant_uow(principal) as uow:
        return pack_link_view(await get_pack_link(uow, GetPackLink(wo_id)))


@router.get(
    "/work-orders/{work_order_id}/releases",
    response_model=ReleaseListView,
    responses=errors(WorkOrderNotFound),
)
async def get_releases(
    work_order_id: str, request: Request, principal: Caller, c: ContainerDep
) -> ReleaseListView:
    """Release records of a work order, newest first (the poll URL of a pending release)."""
    principal.deny_portal("factory")
    wo_id = _work_order_uuid(work_order_id)
    await _await_tokens(request, c, principal)
    async with c.tenant_uow(principal) as uow:
        return ReleaseListView(items=await list_releases(uow, ListReleases(wo_id)))


# ------------------------------------------------------------------------------------- create-pack


@router.post(
    "/work-orders/{work_order_id}/create-pack",
    status_code=201,
    response_model=PackCreationView,
    responses=errors(
        FactoryOperatorRoleRequired,
        WorkOrderNotFound,
        PackCreationRequiresReadyForRender,
        SnapshotRequiredForPackCreation,
        IdempotencyKeyAlreadyUsed,
    ),
)
async def post_create_pack(
    work_order_id: str,
    request: Request,
    response: Response,
    principal: Caller,
    c: ContainerDep,
    body: CreatePackBody | None = None,
) -> PackCreationView:
    """Manual pack creation (§9.1): idempotent; re-creates a FAILED pack as the next version."""
    require_factory_operator(principal, c)  # denies the portal audience (domain.md §10.2)
    require_tenant(principal)
    require_user(principal)
    wo_id = _work_order_uuid(work_order_id)
    requested_key = ((body.idempotency_key if body else None) or "").strip() or None
    await _await_tokens(request, c, principal)
    async with c.tenant_uow(principal) as uow:
        created = await create_pack(
            uow,
            CreatePack(wo_id, uuid_or_none(principal.user_id), requested_key),
            settings=c.settings,
            blobs=blob_store(c.settings),
        )
    response.headers.update(_pack_headers(work_order_id, created.pack_state_version))
    return PackCreationView(
        idempotent=created.idempotent,
        queue_enqueued=not created.idempotent,
        pack_link=pack_link_view(created.pack_link),
    )


# ---------------------------------------------------------------------------------------- release


@router.post(
    "/work-orders/{work_order_id}/release-deliverables",
    status_code=201,
    response_model=ReleaseOutcomeView,
    responses={
        202: {"model": ReleasePendingView, "description": "Billing has not decided within `wait` ms"},
        **errors(
            FactoryOperatorRoleRequired,
            WorkOrderNotFound,
            IdempotencyKeyRequired,
            OverrideReasonRequired,
            ReportPackNotLinked,
            PackGenerationNotCompleted,
            ReleaseInProgress,
            IdempotencyKeyAlreadyUsed,
            (400, "INVALID_WAIT"),
            (409, f"{ReleaseGateFailed.code} and billing's error codes"),
        ),
    },
)
async def release_deliverables(
    work_order_id: str,
    body: ReleaseBody,
    request: Request,
    principal: Caller,
    c: ContainerDep,
    wait: Annotated[
        str | None, Query(description="How long (ms) to wait for billing's decision; 0 answers 202 at once")
    ] = None,
) -> JSONResponse:
    """Release request (§6, architecture §4): factory records it, billing decides, the request waits.

    Settled → 201 ``{idempotent, blocked, pack_link, release}``; billing ERROR → 409 with its code;
    not settled within ``wait`` ms → 202 with the pending release and a poll URL.
    """
    require_factory_operator(principal, c)  # denies the portal audience (domain.md §10.2)
    tenant = require_tenant(principal)
    require_user(principal)
    wo_id = _work_order_uuid(work_order_id)
    release_request = validate_release_request(body.idempotency_key, body.override, body.override_reason)
    budget_ms = wait_budget_ms(wait, default_ms=c.settings.wait_default_ms, max_ms=c.settings.wait_max_ms)
    await _await_tokens(request, c, principal)
    async with c.tenant_uow(principal) as uow:
        started = await request_release(
            uow, RequestRelease(uuid.UUID(tenant), wo_id, uuid_or_none(principal.user_id), release_request)
        )
    release_id = uuid.UUID(started.release_id)

    async def read_back(*, settled_only: bool) -> tuple[ReleaseRecord, PackLink] | None:
        # the release and the pack link in one read (the answer needs both)
        async with c.tenant_uow(principal) as read:
            release = await get_release(read, release_id)
            if release is None:
                # This request recorded and committed the release, and releases are never deleted.
                raise LookupError(f"release {release_id} recorded by this request cannot be read back")
            if settled_only and release.billing_gate_result == PENDING:
                return None
            return release, await pack_link(read, wo_id)

    answer: tuple[ReleaseRecord, PackLink] | None = None
    if budget_ms > 0:
        # The stream process announces each outcome it stores (RELEASE_DECIDED_CHANNEL): the request
        # wakes on it and reads the release back; the slow poll is only the fallback
        # (shared.db.notifications). A release this request has just recorded is PENDING: wait first.
        recorded_now = not started.idempotent
        async with c.notifications(RELEASE_DECIDED_CHANNEL).watch(str(release_id)) as decided:
            answer = await wait_until(
                lambda: read_back(settled_only=True),
                timeout_s=budget_ms / 1000,
                interval_s=_RELEASE_FALLBACK_POLL_S,
                max_interval_s=_RELEASE_FALLBACK_POLL_MAX_S,
                wake=decided,
                pause_first=recorded_now,
            )
    answer = answer or await read_back(settled_only=False)  # not settled in time: 202, still pending
    if answer is None:
        raise LookupError(f"release {release_id} cannot be read back")  # read_back raised already
    release, link = answer
    return _release_response(work_order_id, started, release, pack_link_view(link))


def _release_response(
    work_order_id: str, started: ReleaseStarted, release: ReleaseRecord, link: PackLinkView
) -> JSONResponse:
    result = release.billing_gate_result
    headers = _pack_headers(work_order_id, started.pack_state_version or link.pack_state_version)
    if result == "ERROR":
        error = ReleaseGateFailed(
            f"billing could not release the deliverables: {release.error_code or ReleaseGateFailed.code}",
            details={
                "release": release.model_dump(),
                "error_message": release.metadata_json.get("error_message"),
            },
            code=release.error_code or ReleaseGateFailed.code,
        )
        return JSONResponse(error.body(), status_code=error.status, headers=headers)
    fields: dict[str, Any] = {
        "idempotent": started.idempotent,
        "blocked": result == "BLOCKED",
        "pack_link": link,
        "release": release,
        "recorded_release_id": started.recorded_release_id,
    }
    view: ReleaseOutcomeView
    if result == PENDING:
        view, status = ReleasePendingView(**fields, status=PENDING, poll_url=releases_url(work_order_id)), 202
    else:
        view, status = ReleaseOutcomeView(**fields), 201
    body = view.model_dump(mode="json")
    if started.recorded_release_id is None:
        del body["recorded_release_id"]
    return JSONResponse(body, status_code=status, headers=headers)


# --------------------------------------------------------------------------------------- downloads

_BINARY = {"schema": {"type": "string", "format": "binary"}}


def _download_response(download: Download) -> Response:
    return Response(
        content=download.content,
        media_type=download.media_type,
        headers={
            "content-disposition": f'attachment; filename="{download.filename}"',
            "x-checksum-sha256": download.checksum_sha256,
        },
    )


@router.get(
    "/artifacts/{artifact_id}/download",
    response_class=Response,
    responses={
        200: {
            "description": "The artifact's bytes: the rendered DOCX, or the frozen export bundle (debug_json)",
            "content": {DOCX_MIME_TYPE: _BINARY, JSON_MIME_TYPE: {"schema": {"type": "object"}}},
        },
        **errors(ArtifactNotFound, DeliverableLockedUntilBillingSatisfied, ArtifactBlobMissing),
    },
)
async def get_artifact_download(artifact_id: str, principal: Caller, c: ContainerDep) -> Response:
    """Artifact bytes from the blob store; locked for portal until a successful release; audited."""
    art_id = parse_uuid(artifact_id, not_found=ArtifactNotFound(artifact_id))
    command = DownloadArtifact(art_id, principal, uuid_or_none(principal.user_id))
    async with c.tenant_uow(principal) as uow:
        download = await download_artifact(uow, command, blobs=blob_store(c.settings))
    return _download_response(download)


@router.get(
    "/work-orders/{work_order_id}/evidence-pack",
    response_class=Response,
    responses={
        200: {
            "description": "The reproducible evidence ZIP of the live pack",
            "content": {ZIP_MIME_TYPE: _BINARY},
        },
        **errors(
            WorkOrderNotFound,
            ReportPackNotLinked,
            DeliverableLockedUntilBillingSatisfied,
            PackGenerationNotCompleted,
            ReportPackNotFound,
            ArtifactBlobMissing,
        ),
    },
)
async def get_evidence_pack(
    work_order_id: str, request: Request, principal: Caller, c: ContainerDep
) -> Response:
    """The reproducible evidence ZIP of the live pack (seed 004; architecture §6 lock + audit)."""
    wo_id = _work_order_uuid(work_order_id)
    await _await_tokens(request, c, principal)
    command = DownloadEvidencePack(wo_id, principal, uuid_or_none(principal.user_id))
    async with c.tenant_uow(principal) as uow:
        download = await download_evidence_pack(uow, command, blobs=blob_store(c.settings))
    return _download_response(download)
