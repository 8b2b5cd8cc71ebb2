"""One work order through the factory, up to its rendered DOCX (seed 000's operator checklist, 1–4).

Mirrors the original demo scripts (domain.md §11) on the real stack: create a work order, patch the
contract, upload real documents and photos and link the evidence the SBI profile requires (documents,
photos, GPS, screenshots), link fields, run OCR, accept into production (DATA_PENDING: billing's
acceptance), READY_FOR_RENDER, wait for the generated pack and download its DOCX (SHA-256 checked).
The release through the billing gate is :mod:`scripts.demo.gates`; :func:`run_flow` is the single
POSTPAID flow with an override of the end-to-end tests.
"""

from __future__ import annotations

import asyncio
import hashlib
import io
import os
import time
from dataclasses import dataclass
from typing import Any

import httpx
from PIL import Image, ImageDraw, ImageFont

from devstack.testing import flows
from devstack.testing.data import (
    DEMO_CONTRACT_PATCH,
    SBI_DOCUMENT_TYPES,
    SBI_PHOTO_TAGS,
    SBI_WORK_ORDER,
    dev_login_body,
    pdf_bytes,
)
from scripts.demo.progress import PlainSteps, Steps

Body = dict[str, Any]
OVERRIDE_REASON = "Manual override for local demo run"


def poll_seconds() -> float:
    """How long to wait for OCR and the generated pack (``REPOGEN_POLL_SECONDS``, as the original)."""
    return float(os.environ.get("REPOGEN_POLL_SECONDS", "180"))


def png_bytes(label: str) -> bytes:
    """A real PNG photo showing ``label``."""
    img = Image.new("RGB", (640, 360), (236, 240, 244))
    draw = ImageDraw.Draw(img)
    font = ImageFont.load_default(size=36)
    draw.text((30, 150), label, fill=(20, 30, 40), font=font)
    out = io.BytesIO()
    img.save(out, format="PNG")
    return out.getvalue()


async def _upload_document(client: httpx.AsyncClient, doc_type: str) -> Body:
    text = (f"{doc_type.replace('_', ' ')} - Survey No 123/4 - Land area 1200 sq ft",)
    doc = await flows.upload_document(
        client,
        f"{doc_type.lower()}.pdf",
        pdf_bytes(text),
        "application/pdf",
        classification="legal",
        source="desktop_upload",
    )
    return {"evidence_type": "DOCUMENT", "doc_type": doc_type, "document_id": doc["id"]}


async def _upload_photo(client: httpx.AsyncClient, index: int, evidence_type: str, category: str) -> Body:
    name, data = f"{category}-{index}.png", png_bytes(f"{category} {index}")
    doc = await flows.upload_document(
        client, name, data, "image/png", classification="site_photo", source="mobile_camera"
    )
    tags = {"category": category}
    return {"evidence_type": evidence_type, "doc_type": "OTHER", "document_id": doc["id"], "tags": tags}


async def upload_evidence(client: httpx.AsyncClient) -> list[Body]:
    """Upload a real PDF per SBI document and a real PNG per tagged photo (at once); their evidence link
    items, in the order of the SBI profile."""
    documents = [_upload_document(client, doc_type) for doc_type in SBI_DOCUMENT_TYPES]
    photos = [
        _upload_photo(client, index, evidence_type, category)
        for index, (evidence_type, category) in enumerate(SBI_PHOTO_TAGS, start=1)
    ]
    return list(await asyncio.gather(*documents, *photos))


@dataclass
class Produced:
    """A work order with its rendered pack: what the operator checks before releasing it."""

    work_order_id: str
    derived: Body
    evidence: list[Body]
    readiness_after_links: Body
    ocr_job: Body
    accepted: Body
    ready: Body
    pack: Body
    artifacts: list[Body]
    docx: bytes
    docx_sha256: str

    @property
    def billing(self) -> Body:
        """The work order's billing summary at acceptance (mode, invoice, hold)."""
        billing: Body = self.accepted["work_order"]["billing"]
        return billing

    @property
    def fmv(self) -> Any:
        return self.derived["computed_values"]["FMV"]

    @property
    def readiness_score(self) -> Any:
        return self.readiness_after_links.get("completeness_score")


async def produce(
    client: httpx.AsyncClient, steps: Steps, work_order: Body | None = None, *, within_s: float | None = None
) -> Produced:
    """Seed 000's checklist up to the rendered DOCX for one new work order (``work_order``: the create
    body, the SBI valuation of the original demo by default)."""
    within_s = poll_seconds() if within_s is None else within_s
    body = work_order or SBI_WORK_ORDER
    steps.step(f"create work order ({body['report_type']}, {body['bank_name']})")
    wo = (await flows.create_work_order(client, body))["work_order_id"]
    steps.note(f"work order {wo}")

    steps.step("patch the contract (rules engine m5.4-v1)")
    snapshot = (await flows.patch_contract(client, wo, DEMO_CONTRACT_PATCH))["output_snapshot"]
    derived = snapshot["derived_json"]
    values = derived["computed_values"]
    steps.note(
        f"snapshot v{snapshot['version']}: FMV {values['FMV']}, realizable {values['realizable_value']}, "
        f"distress {values['distress_value']}"
    )

    steps.step("upload documents, photos, GPS and screenshots; link them as evidence")
    linked = await flows.link_evidence(client, wo, await upload_evidence(client))
    evidence = linked["evidence_items"]
    steps.note(f"{len(evidence)} evidence items; readiness {linked['readiness']['completeness_score']}")

    steps.step("annexure auto-order and field-evidence links")
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
    readiness = fl["readiness"]
    steps.note(f"readiness {readiness['completeness_score']}, missing {readiness['missing_evidence']}")

    steps.step("OCR of the RTC extract")
    ocr = flows.expect(
        await client.post(
            f"/v1/repogen/work-orders/{wo}/ocr/enqueue", json={"evidence_item_id": by_doc["RTC"]}
        ),
        201,
    )
    job = await flows.finished_ocr_job(client, wo, ocr["ocr_job"]["id"], within_s=within_s)
    text = (job.get("result_json") or {}).get("extracted_text", "")
    steps.note(f"OCR {job['status']}: {text[:60]!r}")

    steps.step("EVIDENCE_PENDING -> DATA_PENDING (billing acceptance)")
    await flows.move(client, wo, "EVIDENCE_PENDING", "demo evidence collected")
    accepted = await flows.move(client, wo, "DATA_PENDING", "demo factory accepted")
    billing = accepted["work_order"]["billing"]
    steps.note(
        f"billing: mode {billing['mode_cache']}, invoice {billing['service_invoice_id']}, "
        f"hold {billing['reservation_id']}"
    )

    steps.step("READY_FOR_RENDER (pack and generation job)")
    ready = await flows.move(client, wo, "READY_FOR_RENDER", "demo ready for render")
    link = ready.get("pack_link") or {}
    steps.note(
        f"pack {(link.get('pack') or {}).get('id')}, job {(link.get('generation_job') or {}).get('status')}"
    )

    steps.step("wait for the generation job; download the DOCX")
    pack = await flows.generated_pack(client, wo, within_s=within_s)
    artifacts = (pack.get("pack") or {}).get("artifacts", [])
    docx_artifact = next(a for a in artifacts if a["kind"] == "docx")
    docx = await flows.download_artifact(client, docx_artifact)
    sha256 = str(docx_artifact.get("checksum_sha256"))
    if hashlib.sha256(docx).hexdigest() != sha256:
        raise flows.FlowError(f"DOCX of {wo}: its bytes do not match the SHA-256 the pack states")
    steps.note(f"artifacts {sorted(a['kind'] for a in artifacts)}; DOCX SHA-256 {sha256}")
    return Produced(
        work_order_id=wo,
        derived=derived,
        evidence=evidence,
        readiness_after_links=readiness,
        ocr_job=job,
        accepted=accepted,
        ready=ready,
        pack=pack,
        artifacts=artifacts,
        docx=docx,
        docx_sha256=sha256,
    )


async def run_flow(client: httpx.AsyncClient) -> dict[str, Any]:
    """The single POSTPAID flow with ``client`` (based at the gateway): dev login, the factory, a release
    with an override, the evidence pack verified; returns what it observed."""
    steps = PlainSteps()
    steps.step(f"dev login at {client.base_url}")
    await flows.dev_login(client, dev_login_body("super_admin", "repogen_factory"))
    made = await produce(client, steps)
    wo = made.work_order_id
    gate = made.pack.get("billing_gate_status") or {}
    steps.step("release deliverables through the billing gate")
    override = bool(gate.get("mode") == "POSTPAID" and not gate.get("service_invoice_is_paid"))
    released, trace_id = await flows.traced_release(
        client,
        wo,
        f"demo:repogen:release:{wo}:{int(time.time())}",
        override_reason=OVERRIDE_REASON if override else None,
    )
    steps.note(f"blocked={released['blocked']} gate={released['release']['billing_gate_result']}")
    steps.step("download the evidence pack and verify its checksums")
    archive, verified = await flows.verified_evidence_pack(client, wo)
    steps.note(f"{len(archive.namelist())} files, {verified} checksums verified")
    return {
        "work_order_id": wo,
        "derived": made.derived,
        "evidence_count": len(made.evidence),
        "readiness_after_links": made.readiness_after_links,
        "ocr_job": made.ocr_job,
        "accepted": made.accepted,
        "ready": made.ready,
        "pack": made.pack,
        "artifacts": made.artifacts,
        "release": released,
        "release_trace_id": trace_id,
        "evidence_pack_files": archive.namelist(),
        "checksums_verified": verified,
        "docx": made.docx,
        "docx_sha256": made.docx_sha256,
    }
