"""The factory flow end to end through the gateway (``make demo``).

Mirrors the original demo scripts (domain.md §11) on the real stack: dev login, create a work order,
patch the contract, upload real documents and photos, link the evidence the SBI profile requires,
link fields, run OCR, accept into production (billing), READY_FOR_RENDER, wait for the DOCX, release
through the billing gate (override for an unpaid postpaid invoice), download the evidence pack and
verify its checksums.
"""

from __future__ import annotations

import asyncio
import io
import os
import sys
import time
from typing import Any

import httpx
from PIL import Image, ImageDraw, ImageFont

from devstack.launcher import resolve_stack
from devstack.testing import flows
from devstack.testing.data import (
    DEMO_CONTRACT_PATCH,
    SBI_DOCUMENT_TYPES,
    SBI_PHOTO_TAGS,
    SBI_WORK_ORDER,
    dev_login_body,
    pdf_bytes,
)


def step(message: str) -> None:
    print(f"==> {message}", flush=True)


def png_bytes(label: str) -> bytes:
    img = Image.new("RGB", (640, 360), (236, 240, 244))
    draw = ImageDraw.Draw(img)
    font = ImageFont.load_default(size=36)
    draw.text((30, 150), label, fill=(20, 30, 40), font=font)
    out = io.BytesIO()
    img.save(out, format="PNG")
    return out.getvalue()


async def upload_evidence(client: httpx.AsyncClient) -> list[dict[str, Any]]:
    """Upload a real PDF per SBI document and a real PNG per tagged photo; their evidence link items."""
    items: list[dict[str, Any]] = []
    for doc_type in SBI_DOCUMENT_TYPES:
        text = (f"{doc_type.replace('_', ' ')} - Survey No 123/4 - Land area 1200 sq ft",)
        doc = await flows.upload_document(
            client,
            f"{doc_type.lower()}.pdf",
            pdf_bytes(text),
            "application/pdf",
            classification="legal",
            source="desktop_upload",
        )
        items.append({"evidence_type": "DOCUMENT", "doc_type": doc_type, "document_id": doc["id"]})
    for index, (evidence_type, category) in enumerate(SBI_PHOTO_TAGS, start=1):
        name, data = f"{category}-{index}.png", png_bytes(f"{category} {index}")
        doc = await flows.upload_document(
            client, name, data, "image/png", classification="site_photo", source="mobile_camera"
        )
        tags = {"category": category}
        items.append(
            {"evidence_type": evidence_type, "doc_type": "OTHER", "document_id": doc["id"], "tags": tags}
        )
    return items


async def run_flow(client: httpx.AsyncClient) -> dict[str, Any]:
    """Run the whole flow with ``client`` (based at the gateway); returns what it observed."""
    step(f"dev login at {client.base_url}")
    await flows.dev_login(client, dev_login_body("super_admin", "repogen_factory"))

    step("create work order (VALUATION, State Bank of India)")
    wo = (await flows.create_work_order(client, SBI_WORK_ORDER))["work_order_id"]
    print(f"    work order {wo}")

    step("patch the contract (rules engine m5.4-v1)")
    snapshot = (await flows.patch_contract(client, wo, DEMO_CONTRACT_PATCH))["output_snapshot"]
    derived = snapshot["derived_json"]
    print(f"    snapshot v{snapshot['version']}: {derived['computed_values']}")

    step("upload documents and photos, link them as evidence")
    linked = await flows.link_evidence(client, wo, await upload_evidence(client))
    evidence = linked["evidence_items"]
    print(f"    {len(evidence)} evidence items; readiness {linked['readiness']['completeness_score']}")

    step("annexure auto-order, field-evidence links, OCR")
    flows.expect(await client.post(f"/v1/repogen/work-orders/{wo}/annexure/auto-order", json={}), 200, 201)
    by_doc = {e["doc_type"]: e["id"] for e in evidence if e["evidence_type"] == "DOCUMENT"}
    links = [
        {"field_key": "party.bank_name", "evidence_item_id": by_doc["SALE_DEED"], "confidence": 0.9},
        {"field_key": "property.address", "evidence_item_id": by_doc["SALE_DEED"], "confidence": 0.9},
        {"field_key": "property.land_area", "evidence_item_id": by_doc["RTC"], "confidence": 0.85},
        {"field_key": "valuation_inputs.rate", "evidence_item_id": by_doc["TAX"], "confidence": 0.8},
    ]
    fl = flows.expect(
        await client.post(f"/v1/repogen/work-orders/{wo}/field-evidence-links", json={"links": links}), 201
    )
    print(
        f"    readiness {fl['readiness']['completeness_score']}, missing {fl['readiness']['missing_evidence']}"
    )
    ocr = flows.expect(
        await client.post(
            f"/v1/repogen/work-orders/{wo}/ocr/enqueue", json={"evidence_item_id": by_doc["RTC"]}
        ),
        201,
    )
    job = await flows.finished_ocr_job(client, wo, ocr["ocr_job"]["id"], within_s=60)
    text = (job.get("result_json") or {}).get("extracted_text", "")
    print(f"    OCR {job['status']}: {text[:60]!r}")

    step("status: EVIDENCE_PENDING -> DATA_PENDING (billing acceptance) -> READY_FOR_RENDER")
    await flows.move(client, wo, "EVIDENCE_PENDING", "demo evidence collected")
    accepted = await flows.move(client, wo, "DATA_PENDING", "demo factory accepted")
    billing = accepted["work_order"]["billing"]
    print(
        f"    billing: mode {billing['mode_cache']}, invoice {billing['service_invoice_id']}, hold {billing['reservation_id']}"
    )
    ready = await flows.move(client, wo, "READY_FOR_RENDER", "demo ready for render")
    link = ready.get("pack_link") or {}
    print(
        f"    pack {(link.get('pack') or {}).get('id')} v{(link.get('pack') or {}).get('version')}, job {(link.get('generation_job') or {}).get('status')}"
    )

    step("wait for the generation job")
    pack = await flows.generated_pack(
        client, wo, within_s=float(os.environ.get("REPOGEN_POLL_SECONDS", "90"))
    )
    gate = pack.get("billing_gate_status") or {}
    artifacts = (pack.get("pack") or {}).get("artifacts", [])
    print(f"    artifacts: {[a['filename'] for a in artifacts]}")
    print(f"    billing gate: {gate}")

    step("release deliverables through the billing gate")
    override = bool(gate.get("mode") == "POSTPAID" and not gate.get("service_invoice_is_paid"))
    released, trace_id = await flows.traced_release(
        client,
        wo,
        f"demo:repogen:release:{wo}:{int(time.time())}",
        override_reason="Manual override for local demo run" if override else None,
    )
    print(f"    blocked={released['blocked']} gate={released['release']['billing_gate_result']}")
    print(f"    trace {trace_url(trace_id)}")

    step("download the evidence pack and verify its checksums")
    archive, verified = await flows.verified_evidence_pack(client, wo)
    print(f"    {len(archive.namelist())} files, {verified} checksums verified")
    docx_artifact = next(a for a in artifacts if a["kind"] == "docx")
    docx = await flows.download_artifact(client, docx_artifact)
    step(f"done: work order {wo} released ({released['release']['billing_gate_result']})")
    print(f"    the release's trace (gateway, workorders, factory, billing): {trace_url(trace_id)}")
    return {
        "work_order_id": wo,
        "derived": derived,
        "evidence_count": len(evidence),
        "readiness_after_links": fl["readiness"],
        "ocr_job": job,
        "accepted": accepted,
        "ready": ready,
        "pack": pack,
        "artifacts": artifacts,
        "release": released,
        "release_trace_id": trace_id,
        "evidence_pack_files": archive.namelist(),
        "checksums_verified": verified,
        "docx": docx,
        "docx_sha256": docx_artifact.get("checksum_sha256"),
    }


def trace_url(trace_id: str) -> str:
    """Where the release's trace opens: the embedded Zipkin's UI (``make up``), else just the id."""
    zipkin = os.environ.get("ZENOPS_ZIPKIN_URL") or resolve_stack().tracing.zipkin_url
    if not trace_id:
        return "(no x-trace-id header on the release response)"
    if not zipkin:
        return f"{trace_id} (tracing is off or goes to ZENOPS_OTLP_ENDPOINT: look it up there)"
    return f"{zipkin.rstrip('/')}/zipkin/traces/{trace_id}"


async def _main() -> None:
    info = resolve_stack()
    base = os.environ.get("ZENOPS_GATEWAY_URL", info.urls.get("gateway", "http://127.0.0.1:8080"))
    async with httpx.AsyncClient(base_url=base, timeout=60) as client:
        await run_flow(client)


def main() -> int:
    try:
        asyncio.run(_main())
    except flows.FlowError as error:
        raise SystemExit(str(error)) from None
    return 0


if __name__ == "__main__":
    sys.exit(main())
