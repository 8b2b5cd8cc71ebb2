"""HTTP routes of the factory service: schema → command → handler (domain.md §5.3, §6, §9.1)."""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Awaitable, Callable
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict

from factory_service.bootstrap import blobs, container, settings
from factory_service.domain.release import PENDING, downloads_unlocked, validate_release_request
from factory_service.domain.templates import ZIP_MIME_TYPE, evidence_pack_filename
from factory_service.handlers import (
    ReleaseStarted,
    audit_download,
    build_pack_zip,
    ensure_pack,
    evidence_pack_files,
    pack_view,
    releases_url,
    render_request_from_projection,
    request_release,
    work_order_not_found,
)
from factory_service.repository import FactoryRepository
from shared.auth.principal import Principal
from shared.consistency import AFTER_HEADER, await_projections, parse_tokens, wait_budget_ms, wait_until
from shared.container import ServiceContainer, parse_uuid, require_tenant, require_user, version_token
from shared.errors import BadRequest, Conflict, Forbidden, NotFound
from shared.validation import Key, Text

router = APIRouter(prefix="/v1/repogen")

PORTAL_AUDIENCE = "portal"


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


def _container() -> ServiceContainer[Any]:
    return container()


def principal_of(request: Request, c: Annotated[ServiceContainer[Any], Depends(_container)]) -> Principal:
    return c.auth.jwt(request)


Caller = Annotated[Principal, Depends(principal_of)]
Container = Annotated[ServiceContainer[Any], Depends(_container)]


def require_factory_operator(principal: Principal) -> None:
    """domain.md §10.2 with architecture §6: a denial is 403 (the original answered 400)."""
    if not principal.is_factory_operator(dev=settings().is_dev):
        raise Forbidden("factory operator role required", code="FACTORY_OPERATOR_ROLE_REQUIRED")


def _user_uuid(principal: Principal) -> uuid.UUID | None:
    try:
        return uuid.UUID(principal.user_id) if principal.user_id else None
    except ValueError:
        return None


async def _await_tokens(request: Request, c: ServiceContainer[Any], principal: Principal) -> None:
    """Read-your-writes: wait (bounded) until the projections reached the caller's tokens."""
    tokens = parse_tokens(request.headers.get(AFTER_HEADER))
    if not tokens:
        return

    def lookup(
        fetch: Callable[[FactoryRepository, str], Awaitable[int | None]],
    ) -> Callable[[str], Awaitable[int | None]]:
        async def _lookup(aggregate_id: str) -> int | None:
            try:
                uuid.UUID(aggregate_id)
            except ValueError:
                return None
            async with c.tenant_uow(principal) as uow:
                return await fetch(FactoryRepository(uow.session), aggregate_id)

        return _lookup

    await await_projections(
        tokens,
        {
            ("workorders", "work-order"): lookup(lambda r, i: r.work_order_version(i)),
            ("billing", "work-order-billing"): lookup(lambda r, i: r.billing_version(i)),
            ("factory", "pack"): lookup(lambda r, i: r.pack_state_version(i)),
        },
        timeout_s=settings().wait_default_ms / 1000,
    )


def _pack_token(response: Response, work_order_id: str, version: int | None) -> None:
    if version is not None:
        response.headers["x-zenops-version"] = version_token("factory", "pack", work_order_id, version)


# --------------------------------------------------------------------------------------- pack view


@router.get("/work-orders/{work_order_id}/pack")
async def get_pack(work_order_id: str, request: Request, principal: Caller, c: Container) -> dict[str, Any]:
    """The pack link view (§5.3) with ``billing_gate_status`` from the billing projection (FAC-10)."""
    principal.deny_portal("factory")
    wo_id = parse_uuid(work_order_id, not_found=work_order_not_found(work_order_id))
    await _await_tokens(request, c, principal)
    async with c.tenant_uow(principal) as uow:
        return await pack_view(FactoryRepository(uow.session), wo_id)


@router.get("/work-orders/{work_order_id}/releases")
async def list_releases(
    work_order_id: str, request: Request, principal: Caller, c: Container
) -> dict[str, Any]:
    """Release records of a work order, newest first (the poll URL of a pending release)."""
    principal.deny_portal("factory")
    wo_id = parse_uuid(work_order_id, not_found=work_order_not_found(work_order_id))
    await _await_tokens(request, c, principal)
    async with c.tenant_uow(principal) as uow:
        repo = FactoryRepository(uow.session)
        if await repo.get_work_order(wo_id) is None:
            raise work_order_not_found(work_order_id)
        return {"items": await repo.releases_of_work_order(wo_id)}


# ------------------------------------------------------------------------------------- create-pack


@router.post("/work-orders/{work_order_id}/create-pack", status_code=201)
async def create_pack(
    work_order_id: str,
    request: Request,
    response: Response,
    principal: Caller,
    c: Container,
    body: CreatePackBody | None = None,
) -> dict[str, Any]:
    """Manual pack creation (§9.1): idempotent; re-creates a FAILED pack as the next version."""
    require_factory_operator(principal)  # denies the portal audience (domain.md §10.2)
    require_tenant(principal)
    require_user(principal)
    wo_id = parse_uuid(work_order_id, not_found=work_order_not_found(work_order_id))
    requested_key = ((body.idempotency_key if body else None) or "").strip() or None
    await _await_tokens(request, c, principal)
    async with c.tenant_uow(principal) as uow:
        repo = FactoryRepository(uow.session)
        wo = await repo.get_work_order(wo_id)
        if wo is None:
            raise work_order_not_found(work_order_id)
        if wo["status"] != "READY_FOR_RENDER":
            raise BadRequest(
                "pack creation requires READY_FOR_RENDER",
                code="PACK_CREATION_REQUIRES_READY_FOR_RENDER",
                details={"status": wo["status"]},
            )
        if not wo.get("export_bundle_json") or wo.get("snapshot_version") is None:
            raise BadRequest(
                "a snapshot is required for pack creation", code="SNAPSHOT_REQUIRED_FOR_PACK_CREATION"
            )
        result = await ensure_pack(
            uow,
            render_request_from_projection(wo),
            settings=settings(),
            blobs=blobs(),
            actor_user_id=_user_uuid(principal),
            requested_key=requested_key,
            retry_failed=True,
        )
        view = await pack_view(repo, wo_id)
        await uow.commit()
    _pack_token(response, work_order_id, result.pack_state_version or view["pack_state_version"])
    return {"idempotent": result.idempotent, "queue_enqueued": not result.idempotent, "pack_link": view}


# ---------------------------------------------------------------------------------------- release


@router.post("/work-orders/{work_order_id}/release-deliverables", status_code=201, response_model=None)
async def release_deliverables(
    work_order_id: str,
    body: ReleaseBody,
    request: Request,
    response: Response,
    principal: Caller,
    c: Container,
) -> dict[str, Any] | JSONResponse:
    """Release request (§6, architecture §4): factory records it, billing decides, the request waits.

    Settled → 201 ``{idempotent, blocked, pack_link, release}``; billing ERROR → 409 with its code;
    not settled within ``wait`` ms → 202 with the pending release and a poll URL.
    """
    require_factory_operator(principal)  # denies the portal audience (domain.md §10.2)
    tenant = require_tenant(principal)
    require_user(principal)
    wo_id = parse_uuid(work_order_id, not_found=work_order_not_found(work_order_id))
    release_request = validate_release_request(body.idempotency_key, body.override, body.override_reason)
    budget_ms = wait_budget_ms(
        request.query_params.get("wait"), default_ms=settings().wait_default_ms, max_ms=settings().wait_max_ms
    )
    await _await_tokens(request, c, principal)
    async with c.tenant_uow(principal) as uow:
        started = await request_release(
            uow,
            tenant_id=uuid.UUID(tenant),
            work_order_id=wo_id,
            actor_user_id=_user_uuid(principal),
            request=release_request,
        )
        await uow.commit()

    async def decided() -> dict[str, Any] | None:
        async with c.tenant_uow(principal) as read:
            release = await FactoryRepository(read.session).get_release(uuid.UUID(started.release_id))
        if release is None or release["billing_gate_result"] == PENDING:
            return None
        return release

    release = await wait_until(decided, timeout_s=budget_ms / 1000)
    async with c.tenant_uow(principal) as read:
        repo = FactoryRepository(read.session)
        view = await pack_view(repo, wo_id)
        if release is None:
            release = await repo.get_release(uuid.UUID(started.release_id))
    assert release is not None
    version = started.pack_state_version or view["pack_state_version"]
    return _release_response(work_order_id, started, release, view, response, version)


def _release_response(
    work_order_id: str,
    started: ReleaseStarted,
    release: dict[str, Any],
    view: dict[str, Any],
    response: Response,
    version: int | None,
) -> dict[str, Any] | JSONResponse:
    result = release["billing_gate_result"]
    headers = (
        {"x-zenops-version": version_token("factory", "pack", work_order_id, version)}
        if version is not None
        else {}
    )
    if result == "ERROR":
        code = release.get("error_code") or "RELEASE_GATE_ERROR"
        error = Conflict(
            f"billing could not release the deliverables: {code}",
            code=code,
            details={
                "release": release,
                "error_message": (release.get("metadata_json") or {}).get("error_message"),
            },
        )
        return JSONResponse(error.body(), status_code=409, headers=headers)
    body: dict[str, Any] = {
        "idempotent": started.idempotent,
        "blocked": result == "BLOCKED",
        "pack_link": view,
        "release": release,
    }
    if started.recorded_release_id:
        body["recorded_release_id"] = started.recorded_release_id
    if result == PENDING:
        body |= {"status": PENDING, "poll_url": releases_url(work_order_id)}
        return JSONResponse(body, status_code=202, headers=headers)
    response.headers.update(headers)
    return body


# --------------------------------------------------------------------------------------- downloads


async def _visible(repo: FactoryRepository, principal: Principal, work_order_id: uuid.UUID) -> bool:
    """The work order is one the caller's audience may reach (the portal: its own CHANNEL ones; RLS
    enforces the same rule, this keeps the answer a 404 rather than relying on it alone)."""
    wo = await repo.get_work_order(work_order_id)
    return wo is not None and principal.may_see_work_order(
        source_type=wo.get("source_type"), created_by_user_id=wo.get("created_by_user_id")
    )


async def _unlocked_for(
    repo: FactoryRepository, principal: Principal, work_order_id: uuid.UUID
) -> tuple[bool, bool]:
    """(allowed, preview): external audiences wait for a successful release; operators preview."""
    released = downloads_unlocked(await repo.gate_results(work_order_id))
    if principal.aud == PORTAL_AUDIENCE and not released:
        return False, False
    return True, not released


def _locked() -> Forbidden:
    return Forbidden(
        "deliverables are locked until billing is satisfied",
        code="DELIVERABLE_LOCKED_UNTIL_BILLING_SATISFIED",
    )


@router.get("/artifacts/{artifact_id}/download", response_model=None)
async def download_artifact(artifact_id: str, principal: Caller, c: Container) -> Response:
    """Artifact bytes from the blob store; locked for portal until a successful release; audited."""
    not_found = NotFound(f"artifact {artifact_id} not found", code="ARTIFACT_NOT_FOUND")
    art_id = parse_uuid(artifact_id, not_found=not_found)
    async with c.tenant_uow(principal) as uow:
        repo = FactoryRepository(uow.session)
        artifact = await repo.get_artifact(art_id)
        if artifact is None:
            raise not_found
        pack = await repo.get_pack(uuid.UUID(str(artifact["report_pack_id"])))
        if pack is None or not await _visible(repo, principal, uuid.UUID(str(pack["work_order_id"]))):
            raise not_found
        allowed, preview = await _unlocked_for(repo, principal, uuid.UUID(str(pack["work_order_id"])))
        if not allowed:
            raise _locked()
        data = blobs().get(str(artifact["blob_key"]))
        if data is None:
            raise Conflict("artifact bytes are missing from the blob store", code="ARTIFACT_BLOB_MISSING")
        await audit_download(
            uow,
            pack=pack,
            action="artifact_downloaded",
            entity_type="report_pack_artifact",
            entity_id=str(art_id),
            actor_user_id=_user_uuid(principal),
            metadata={
                "aud": principal.aud,
                "preview": preview,
                "kind": artifact["kind"],
                "sha256": artifact["checksum_sha256"],
            },
        )
        await uow.commit()
    return Response(
        content=data,
        media_type=str(artifact["mime_type"]),
        headers={
            "content-disposition": f'attachment; filename="{artifact["filename"]}"',
            "x-checksum-sha256": str(artifact["checksum_sha256"]),
        },
    )


@router.get("/work-orders/{work_order_id}/evidence-pack", response_model=None)
async def download_evidence_pack(
    work_order_id: str, request: Request, principal: Caller, c: Container
) -> Response:
    """The reproducible evidence ZIP of the live pack (seed 004; architecture §6 lock + audit)."""
    wo_id = parse_uuid(work_order_id, not_found=work_order_not_found(work_order_id))
    await _await_tokens(request, c, principal)
    async with c.tenant_uow(principal) as uow:
        repo = FactoryRepository(uow.session)
        if not await _visible(repo, principal, wo_id):
            raise work_order_not_found(work_order_id)
        pack = await repo.live_pack(wo_id)
        if pack is None:
            raise BadRequest("no report pack is linked to this work order", code="REPORT_PACK_NOT_LINKED")
        allowed, preview = await _unlocked_for(repo, principal, wo_id)
        if not allowed:
            raise _locked()
        if pack["status"] != "generated":
            raise BadRequest(
                "report generation has not completed",
                code="PACK_GENERATION_NOT_COMPLETED",
                details={"pack_status": pack["status"]},
            )
        data = build_pack_zip(await evidence_pack_files(repo, pack, blobs()))
        filename = evidence_pack_filename(str(pack["template_key"]), int(pack["version"]))
        digest = hashlib.sha256(data).hexdigest()
        await audit_download(
            uow,
            pack=pack,
            action="evidence_pack_downloaded",
            entity_type="report_pack",
            entity_id=str(pack["id"]),
            actor_user_id=_user_uuid(principal),
            metadata={"aud": principal.aud, "preview": preview, "sha256": digest, "filename": filename},
        )
        await uow.commit()
    return Response(
        content=data,
        media_type=ZIP_MIME_TYPE,
        headers={"content-disposition": f'attachment; filename="{filename}"', "x-checksum-sha256": digest},
    )
