"""The factory flow end to end through the gateway (``make demo``).

Mirrors the original demo scripts (domain.md §11) on the real stack: dev login, create a work order,
patch the contract, upload real documents and photos, link the evidence the SBI profile requires,
link fields, run OCR, accept into production (billing), READY_FOR_RENDER, wait for the DOCX, release
through the billing gate (override for an unpaid postpaid invoice), download the evidence pack and
verify its checksums.
"""

from __future__ import annotations

import hashlib
import io
import os
import sys
import time
import zipfile
from typing import Any

import httpx
from PIL import Image, ImageDraw, ImageFont

from devstack.launcher import resolve_stack
from devstack.testing.data import (
    SBI_DOCUMENT_TYPES,
    SBI_PHOTO_TAGS,
    SBI_WORK_ORDER,
    WORK_ORDERS,
    dev_login_body,
    pdf_bytes,
)


def step(message: str) -> None:
    print(f"==> {message}", flush=True)


def check(resp: httpx.Response, *codes: int) -> dict[str, Any]:
    if resp.status_code not in codes:
        raise SystemExit(
            f"{resp.request.method} {resp.request.url} -> {resp.status_code}: {resp.text[:2000]}"
        )
    body: dict[str, Any] = resp.json() if resp.content else {}
    return body


def png_bytes(label: str) -> bytes:
    img = Image.new("RGB", (640, 360), (236, 240, 244))
    draw = ImageDraw.Draw(img)
    font = ImageFont.load_default(size=36)
    draw.text((30, 150), label, fill=(20, 30, 40), font=font)
    out = io.BytesIO()
    img.save(out, format="PNG")
    return out.getvalue()


def run_flow(client: httpx.Client) -> dict[str, Any]:
    """Run the whole flow with ``client`` (based at the gateway); returns what it observed."""
    step(f"dev login at {client.base_url}")
    token = check(
        client.post(
            "/v1/auth/login",
            json=dev_login_body("super_admin", "repogen_factory"),
        ),
        200,
        201,
    )["access_token"]
    client.headers["authorization"] = f"Bearer {token}"

    step("create work order (VALUATION, State Bank of India)")
    created = check(client.post(WORK_ORDERS, json=SBI_WORK_ORDER), 201)
    wo = created["work_order_id"]
    print(f"    work order {wo}")

    step("patch the contract (rules engine m5.4-v1)")
    patched = check(
        client.patch(
            f"/v1/repogen/work-orders/{wo}/contract",
            json={
                "patch": {
                    "party": {"borrower_name": "Demo Borrower", "owner_name": "Demo Owner"},
                    "property": {
                        "address": "Factory demo site",
                        "city": "Bengaluru",
                        "survey_no": "123/4",
                        "land_area": {"value": 1200, "unit": "sqft"},
                        "floors": [],
                    },
                    "valuation_inputs": {
                        "guideline_rate_per_sqm": 12000,
                        "market_rate_input": {"value": 1800, "unit": "sqft"},
                        "land_value": 2000000,
                        "building_value": 1500000,
                        "depreciation_percent": 10,
                    },
                    "manual_fields": {"justification_text": "Demo justification placeholder"},
                },
                "ruleset_version": "m5.4-v1",
            },
        ),
        200,
    )
    derived = patched["output_snapshot"]["derived_json"]
    print(f"    snapshot v{patched['output_snapshot']['version']}: {derived['computed_values']}")

    step("upload documents and photos, link them as evidence")
    items: list[dict[str, Any]] = []
    for doc_type in SBI_DOCUMENT_TYPES:
        doc = check(
            client.post(
                "/v1/documents",
                files={
                    "file": (
                        f"{doc_type.lower()}.pdf",
                        pdf_bytes(
                            (f"{doc_type.replace('_', ' ')} - Survey No 123/4 - Land area 1200 sq ft",)
                        ),
                        "application/pdf",
                    )
                },
                data={"classification": "legal", "source": "desktop_upload"},
            ),
            201,
        )
        items.append({"evidence_type": "DOCUMENT", "doc_type": doc_type, "document_id": doc["id"]})
    for index, (evidence_type, category) in enumerate(SBI_PHOTO_TAGS, start=1):
        doc = check(
            client.post(
                "/v1/documents",
                files={"file": (f"{category}-{index}.png", png_bytes(f"{category} {index}"), "image/png")},
                data={"classification": "site_photo", "source": "mobile_camera"},
            ),
            201,
        )
        items.append(
            {
                "evidence_type": evidence_type,
                "doc_type": "OTHER",
                "document_id": doc["id"],
                "tags": {"category": category},
            }
        )
    linked = check(client.post(f"/v1/repogen/work-orders/{wo}/evidence/link", json={"items": items}), 201)
    evidence = linked["evidence_items"]
    print(f"    {len(evidence)} evidence items; readiness {linked['readiness']['completeness_score']}")

    step("annexure auto-order, field-evidence links, OCR")
    check(client.post(f"/v1/repogen/work-orders/{wo}/annexure/auto-order", json={}), 200, 201)
    by_doc = {e["doc_type"]: e["id"] for e in evidence if e["evidence_type"] == "DOCUMENT"}
    links = [
        {"field_key": "party.bank_name", "evidence_item_id": by_doc["SALE_DEED"], "confidence": 0.9},
        {"field_key": "property.address", "evidence_item_id": by_doc["SALE_DEED"], "confidence": 0.9},
        {"field_key": "property.land_area", "evidence_item_id": by_doc["RTC"], "confidence": 0.85},
        {"field_key": "valuation_inputs.rate", "evidence_item_id": by_doc["TAX"], "confidence": 0.8},
    ]
    fl = check(client.post(f"/v1/repogen/work-orders/{wo}/field-evidence-links", json={"links": links}), 201)
    print(
        f"    readiness {fl['readiness']['completeness_score']}, missing {fl['readiness']['missing_evidence']}"
    )
    ocr = check(
        client.post(f"/v1/repogen/work-orders/{wo}/ocr/enqueue", json={"evidence_item_id": by_doc["RTC"]}),
        201,
    )
    job_id = ocr["ocr_job"]["id"]
    deadline = time.monotonic() + 60
    job: dict[str, Any] | None = None
    while time.monotonic() < deadline:
        detail = check(client.get(f"/v1/repogen/work-orders/{wo}"), 200)
        job = next((j for j in detail.get("ocr_jobs", []) if j["id"] == job_id), None)
        if job and job["status"] in {"DONE", "FAILED"}:
            text = (job.get("result_json") or {}).get("extracted_text", "")
            print(f"    OCR {job['status']}: {text[:60]!r}")
            break
        time.sleep(0.5)

    step("status: EVIDENCE_PENDING -> DATA_PENDING (billing acceptance) -> READY_FOR_RENDER")
    check(
        client.post(
            f"/v1/repogen/work-orders/{wo}/status",
            json={"status": "EVIDENCE_PENDING", "note": "demo evidence collected"},
        ),
        201,
    )
    accepted = check(
        client.post(
            f"/v1/repogen/work-orders/{wo}/status",
            json={"status": "DATA_PENDING", "note": "demo factory accepted"},
        ),
        201,
    )
    billing = accepted["work_order"]["billing"]
    print(
        f"    billing: mode {billing['mode_cache']}, invoice {billing['service_invoice_id']}, hold {billing['reservation_id']}"
    )
    ready = check(
        client.post(
            f"/v1/repogen/work-orders/{wo}/status",
            json={"status": "READY_FOR_RENDER", "note": "demo ready for render"},
        ),
        201,
    )
    link = ready.get("pack_link") or {}
    print(
        f"    pack {(link.get('pack') or {}).get('id')} v{(link.get('pack') or {}).get('version')}, job {(link.get('generation_job') or {}).get('status')}"
    )

    step("wait for the generation job")
    deadline = time.monotonic() + float(os.environ.get("REPOGEN_POLL_SECONDS", "90"))
    pack: dict[str, Any] = {}
    while time.monotonic() < deadline:
        pack = check(client.get(f"/v1/repogen/work-orders/{wo}/pack"), 200)
        status = ((pack.get("generation_job") or {}).get("status")) or ""
        if status == "completed":
            break
        if status in {"failed", "cancelled"}:
            raise SystemExit(f"generation {status}: {pack}")
        time.sleep(1)
    else:
        raise SystemExit(f"generation did not complete in time: {pack}")
    gate = pack.get("billing_gate_status") or {}
    artifacts = (pack.get("pack") or {}).get("artifacts", [])
    print(f"    artifacts: {[a['filename'] for a in artifacts]}")
    print(f"    billing gate: {gate}")

    step("release deliverables through the billing gate")
    override = bool(gate.get("mode") == "POSTPAID" and not gate.get("service_invoice_is_paid"))
    body: dict[str, Any] = {"idempotency_key": f"demo:repogen:release:{wo}:{int(time.time())}"}
    if override:
        body |= {"override": True, "override_reason": "Manual override for local demo run"}
    released = check(client.post(f"/v1/repogen/work-orders/{wo}/release-deliverables", json=body), 201)
    print(f"    blocked={released['blocked']} gate={released['release']['billing_gate_result']}")

    step("download the evidence pack and verify its checksums")
    resp = client.get(f"/v1/repogen/work-orders/{wo}/evidence-pack")
    if resp.status_code != 200:
        raise SystemExit(f"evidence pack: {resp.status_code} {resp.text[:500]}")
    archive = zipfile.ZipFile(io.BytesIO(resp.content))
    sums = archive.read("verification_checksums.txt").decode().splitlines()
    for line in sums:
        digest, name = line.split("  ", 1)
        assert hashlib.sha256(archive.read(name)).hexdigest() == digest, name
    print(f"    {len(archive.namelist())} files, {len(sums)} checksums verified")
    docx_artifact = next(a for a in artifacts if a["kind"] == "docx")
    docx = client.get(f"/v1/repogen/artifacts/{docx_artifact['id']}/download")
    if docx.status_code != 200:
        raise SystemExit(f"docx download: {docx.status_code} {docx.text[:500]}")
    step(f"done: work order {wo} released ({released['release']['billing_gate_result']})")
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
        "evidence_pack_files": archive.namelist(),
        "checksums_verified": len(sums),
        "docx": docx.content,
        "docx_sha256": docx_artifact.get("checksum_sha256"),
    }


def main() -> int:
    info = resolve_stack()
    base = os.environ.get("ZENOPS_GATEWAY_URL", info.urls.get("gateway", "http://127.0.0.1:8080"))
    with httpx.Client(base_url=base, timeout=60) as client:
        run_flow(client)
    return 0


if __name__ == "__main__":
    sys.exit(main())
