"""The steps of the factory flow through the gateway, shared by ``make demo`` and the end-to-end tests.

Create a work order -> patch its contract -> upload and link evidence -> move it through its statuses
(billing acceptance, READY_FOR_RENDER) -> wait for the rendered pack -> release it through the billing
gate -> download the evidence pack. Each step is one small async function over an ``httpx.AsyncClient``
based at the gateway that returns the response body and raises :class:`FlowError` (an
``AssertionError``, so a test reports it as a failure) on any other status than the step expects.
"""

from __future__ import annotations

import hashlib
import io
import zipfile
from typing import Any, Protocol

import httpx

from devstack.testing.data import WORK_ORDERS, sbi_evidence_set
from devstack.testing.polling import eventually

Body = dict[str, Any]


class ControlClient(Protocol):
    """What the control-plane steps need of a client: an ``httpx.AsyncClient``, or a wrapper that retries
    (``make chaos``'s ``RetryingClient``)."""

    async def post(self, url: str, *, json: Any = None) -> httpx.Response: ...

    async def patch(self, url: str, *, json: Any = None) -> httpx.Response: ...


class FlowError(AssertionError):
    """A step got another answer than it expects: the request, the status and the start of the body."""


def expect(resp: httpx.Response, *codes: int) -> Body:
    """The JSON body of ``resp`` (``{}`` when empty) when its status is one of ``codes``."""
    if resp.status_code not in codes:
        raise FlowError(f"{resp.request.method} {resp.request.url} -> {resp.status_code}: {resp.text[:2000]}")
    body: Body = resp.json() if resp.content else {}
    return body


async def dev_login(client: httpx.AsyncClient, body: Body) -> str:
    """Log in through the dev-only ``POST /v1/auth/login``; ``client`` sends the token from now on."""
    token = str(expect(await client.post("/v1/auth/login", json=body), 200, 201)["access_token"])
    client.headers["authorization"] = f"Bearer {token}"
    return token


async def create_work_order(client: httpx.AsyncClient, work_order: Body) -> Body:
    """``POST /v1/repogen/work-orders``: the created work order (201)."""
    return expect(await client.post(WORK_ORDERS, json=work_order), 201)


async def patch_contract(client: httpx.AsyncClient, wo: str, body: Body) -> Body:
    """``PATCH …/contract`` with ``body`` (``{"patch": …, "ruleset_version": …}``): the new snapshot (200)."""
    return expect(await client.patch(f"{WORK_ORDERS}/{wo}/contract", json=body), 200)


async def upload_document(
    client: httpx.AsyncClient, filename: str, data: bytes, content_type: str, **form: str
) -> Body:
    """``POST /v1/documents`` of one file with the metadata ``form``: the stored document (201)."""
    files = {"file": (filename, data, content_type)}
    return expect(await client.post("/v1/documents", files=files, data=form), 201)


async def link_evidence(client: httpx.AsyncClient, wo: str, items: list[Body]) -> Body:
    """``POST …/evidence/link`` of ``items``: the evidence items and the readiness (201)."""
    return expect(await client.post(f"{WORK_ORDERS}/{wo}/evidence/link", json={"items": items}), 201)


async def credit_account(
    studio: ControlClient,
    *,
    tenant_id: str,
    external_key: str,
    display_name: str,
    credits: int,
    grant_key_prefix: str,
) -> str:
    """A CREDIT account through the control plane (``studio``): an external associate's account
    created under ``external_key``, ``credits`` granted (idempotency key ``<grant_key_prefix><account id>``)
    and its policy switched to credit; its id."""
    created = expect(
        await studio.post(
            "/v1/control/accounts",
            json={
                "tenant_id": tenant_id,
                "account_type": "external_associate",
                "display_name": display_name,
                "external_key": external_key,
            },
        ),
        201,
    )
    account_id = str(created["account_id"])
    expect(
        await studio.post(
            f"/v1/control/accounts/{account_id}/credits/grant",
            json={"amount": credits, "idempotency_key": f"{grant_key_prefix}{account_id}"},
        ),
        201,
    )
    expect(
        await studio.patch(f"/v1/control/accounts/{account_id}/policy", json={"billing_mode": "credit"}), 200
    )
    return account_id


async def move(client: httpx.AsyncClient, wo: str, status: str, note: str | None = None) -> Body:
    """``POST …/status`` to ``status`` (with ``note``): the work order after the move (201)."""
    body = {"status": status} if note is None else {"status": status, "note": note}
    return expect(await client.post(f"{WORK_ORDERS}/{wo}/status", json=body), 201)


async def ready_for_render(
    client: httpx.AsyncClient, wo: str, contract: Body, evidence: list[Body] | None = None
) -> Body:
    """A DRAFT work order to READY_FOR_RENDER: its contract, the evidence the SBI profile needs (or
    ``evidence``), then EVIDENCE_PENDING, DATA_PENDING (billing's acceptance) and READY_FOR_RENDER."""
    await patch_contract(client, wo, contract)
    await link_evidence(client, wo, sbi_evidence_set() if evidence is None else evidence)
    await move(client, wo, "EVIDENCE_PENDING")
    await move(client, wo, "DATA_PENDING")
    return await move(client, wo, "READY_FOR_RENDER")


async def finished_ocr_job(client: httpx.AsyncClient, wo: str, job_id: str, *, within_s: float) -> Body:
    """The OCR job ``job_id`` of the work order once it is DONE or FAILED."""

    async def finished() -> Body | None:
        jobs = expect(await client.get(f"{WORK_ORDERS}/{wo}/ocr/jobs"), 200)["items"]
        job: Body = next(j for j in jobs if j["id"] == job_id)
        return job if job["status"] in {"DONE", "FAILED"} else None

    return await eventually(finished, f"OCR job {job_id}", within_s=within_s, every_s=0.2)


async def generated_pack(client: httpx.AsyncClient, wo: str, *, within_s: float = 90.0) -> Body:
    """The pack view (``GET …/pack``) once its generation job completed; a failed or cancelled job fails."""

    async def completed() -> Body | None:
        resp = await client.get(f"{WORK_ORDERS}/{wo}/pack")
        if resp.status_code == 404:  # the factory has not seen the work order yet
            return None
        view = expect(resp, 200)
        status = (view.get("generation_job") or {}).get("status")
        if status in {"failed", "cancelled"}:
            raise FlowError(f"generation {status}: {view}")
        return view if status == "completed" else None

    return await eventually(completed, f"the generated pack of {wo}", within_s=within_s, every_s=0.5)


async def release(
    client: httpx.AsyncClient, wo: str, idempotency_key: str, *, override_reason: str | None = None
) -> Body:
    """``POST …/release-deliverables`` (an override when ``override_reason`` is given): the release (201)."""
    released, _ = await traced_release(client, wo, idempotency_key, override_reason=override_reason)
    return released


async def traced_release(
    client: httpx.AsyncClient, wo: str, idempotency_key: str, *, override_reason: str | None = None
) -> tuple[Body, str]:
    """:func:`release` and the trace id of the release request (its ``x-trace-id`` response header)."""
    body: Body = {"idempotency_key": idempotency_key}
    if override_reason is not None:
        body |= {"override": True, "override_reason": override_reason}
    response = await client.post(f"{WORK_ORDERS}/{wo}/release-deliverables", json=body)
    return expect(response, 201), response.headers.get("x-trace-id", "")


async def verified_evidence_pack(client: httpx.AsyncClient, wo: str) -> tuple[zipfile.ZipFile, int]:
    """The evidence pack of ``wo`` and how many of its files ``verification_checksums.txt`` verified."""
    archive = zipfile.ZipFile(io.BytesIO(await _download(client, f"{WORK_ORDERS}/{wo}/evidence-pack")))
    sums = archive.read("verification_checksums.txt").decode().splitlines()
    for line in sums:
        digest, name = line.split("  ", 1)
        if hashlib.sha256(archive.read(name)).hexdigest() != digest:
            raise FlowError(f"evidence pack of {wo}: checksum of {name} does not match")
    return archive, len(sums)


async def download_artifact(client: httpx.AsyncClient, artifact: Body) -> bytes:
    """The bytes of a pack artifact (``GET /v1/repogen/artifacts/{id}/download``)."""
    return await _download(client, f"/v1/repogen/artifacts/{artifact['id']}/download")


async def _download(client: httpx.AsyncClient, url: str) -> bytes:
    resp = await client.get(url)
    if resp.status_code != 200:
        raise FlowError(f"GET {url} -> {resp.status_code}: {resp.text[:500]}")
    return resp.content
