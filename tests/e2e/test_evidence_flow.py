"""The evidence flow (issue 6, M5.6) through the gateway on the real stack.

Uploads of every allowed type and the rejections, evidence linking with live readiness, profiles and
checklist, field-evidence links (EVI-01), real OCR through Kafka (EVI-02 adapted, EVI-03, EVI-04),
profile selection errors (EVI-05), annexure auto-order, the READY_FOR_RENDER lock, duplicates and
tenant isolation.

The work-order events evidence follows (``contract_snapshotted``, ``status_changed``) come from the
work-order service itself: the tests patch the contract and move the status through the gateway and
publish nothing.
"""

from __future__ import annotations

import hashlib
import io
import json
import uuid
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
from PIL import Image, ImageDraw, ImageFont

from devstack.launcher import StackInfo
from devstack.testing import flows
from devstack.testing.data import VALUATION_CONTRACT_PATCH, pdf_bytes
from devstack.testing.gateway import new_work_order_id
from devstack.testing.polling import eventually

pytestmark = pytest.mark.stack

_FONT = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf")


# ------------------------------------------------------------------------------------ file makers


def image_bytes(image_format: str, lines: tuple[str, ...] = ("ZenOps",)) -> bytes:
    """Black 44 px text on white, one line every 80 px, in ``image_format``."""
    font = ImageFont.truetype(str(_FONT), 44) if _FONT.exists() else ImageFont.load_default(size=44)
    image = Image.new("RGB", (1200, 80 + 80 * len(lines)), "white")
    text, spacing = "\n".join(lines), 80 - font.getbbox("Hg")[3]
    ImageDraw.Draw(image).multiline_text((40, 40), text, fill="black", font=font, spacing=spacing)
    with io.BytesIO() as buffer:
        image.save(buffer, format=image_format)
        return buffer.getvalue()


def heic_bytes() -> bytes:
    """A crafted HEIC start: an ``ftyp`` box with major brand ``heic`` (a full HEIC encoder is not
    available; the service sniffs the ISO-BMFF brand, which is what identifies the format)."""
    ftyp = b"ftyp" + b"heic" + b"\x00\x00\x00\x00" + b"mif1" + b"heic"
    return len(ftyp + b"\x00\x00\x00\x00").to_bytes(4, "big") + ftyp + b"\x00" * 64


# --------------------------------------------------------------------------------------- helpers


async def create_work_order(
    gateway: httpx.AsyncClient, bank_type: str = "SBI", report_type: str = "VALUATION"
) -> str:
    return await new_work_order_id(gateway, bank_type=bank_type, report_type=report_type)


async def upload(
    gateway: httpx.AsyncClient, data: bytes, filename: str, declared: str, **form: str
) -> httpx.Response:
    return await gateway.post("/v1/documents", files={"file": (filename, data, declared)}, data=form)


async def snapshot_contract(gateway: httpx.AsyncClient, wo_id: str) -> int:
    """Patch the contract through the gateway; returns the snapshot version evidence then knows."""
    await flows.patch_contract(gateway, wo_id, VALUATION_CONTRACT_PATCH)

    async def known() -> int | None:
        body = (await gateway.get(f"/v1/repogen/work-orders/{wo_id}/field-evidence-links")).json()
        version: int | None = body["latest_snapshot_version"]
        return version

    return int(await eventually(known, f"evidence to know the contract snapshot of {wo_id}", within_s=60))


async def outbox_payloads(stack: StackInfo, wo_id: str) -> list[dict[str, Any]]:
    conn = await asyncpg.connect(stack.admin_dsn)
    try:
        rows = await conn.fetch(
            "SELECT envelope::text FROM evidence.outbox WHERE key = $1 AND topic = 'evidence.work-order-evidence.v1' ORDER BY id",
            wo_id,
        )
    finally:
        await conn.close()
    return [json.loads(row[0]) for row in rows]


async def link(
    gateway: httpx.AsyncClient, wo_id: str, *items: dict[str, Any], **kwargs: Any
) -> httpx.Response:
    return await gateway.post(
        f"/v1/repogen/work-orders/{wo_id}/evidence/link", json={"items": list(items)}, **kwargs
    )


async def wait_job(gateway: httpx.AsyncClient, wo_id: str, job_id: str) -> dict[str, Any]:
    async def done() -> dict[str, Any] | None:
        jobs = (await gateway.get(f"/v1/repogen/work-orders/{wo_id}/ocr/jobs")).json()["items"]
        job = next(j for j in jobs if j["id"] == job_id)
        return job if job["status"] != "QUEUED" else None

    return await eventually(done, f"OCR job {job_id} to finish", within_s=120, every_s=0.2)


# ------------------------------------------------------------------------------------------ tests


class TestUploads:
    @pytest.mark.parametrize(
        ("make", "filename", "declared", "expected"),
        [
            (lambda: pdf_bytes(("SALE DEED",)), "deed.pdf", "application/pdf", "application/pdf"),
            (lambda: image_bytes("PNG"), "photo.png", "image/png", "image/png"),
            (lambda: image_bytes("JPEG"), "photo.jpg", "image/jpeg", "image/jpeg"),
            (lambda: image_bytes("WEBP"), "photo.webp", "image/webp", "image/webp"),
            (heic_bytes, "photo.heic", "image/heic", "image/heic"),
            # The declared type is only a claim: PNG bytes sent as PDF are stored as PNG.
            (lambda: image_bytes("PNG"), "lying.pdf", "application/pdf", "image/png"),
        ],
    )
    async def test_allowed_types_are_stored_and_downloadable(
        self, gateway: httpx.AsyncClient, make: Any, filename: str, declared: str, expected: str
    ) -> None:
        data = make()

        resp = await upload(
            gateway,
            data,
            filename,
            declared,
            classification="legal",
            sensitivity="pii",
            source="desktop_upload",
            captured_at="2026-02-24T10:00:00Z",
        )

        assert resp.status_code == 201, resp.text
        doc = resp.json()
        assert doc["content_type"] == expected
        assert doc["size_bytes"] == len(data)
        assert doc["sha256"] == doc["storage_key"] == hashlib.sha256(data).hexdigest()
        assert (doc["classification"], doc["sensitivity"], doc["source"]) == (
            "legal",
            "pii",
            "desktop_upload",
        )
        assert doc["captured_at"] == "2026-02-24T10:00:00.000Z"
        meta = await gateway.get(f"/v1/documents/{doc['id']}")
        assert meta.status_code == 200
        assert meta.json() == doc
        download = await gateway.get(f"/v1/documents/{doc['id']}/download")
        assert download.status_code == 200
        assert download.content == data
        assert download.headers["content-type"].startswith(expected)
        assert filename in download.headers["content-disposition"]

    @pytest.mark.parametrize(
        ("data", "declared"),
        [
            (b"just some text", "text/plain"),
            (b"\x89PNG\r\n\x1a\n this is not an image", "image/png"),
            (b"GIF89a" + b"\x00" * 32, "image/gif"),
        ],
    )
    async def test_other_types_are_415(self, gateway: httpx.AsyncClient, data: bytes, declared: str) -> None:
        resp = await upload(gateway, data, "x.bin", declared)

        assert resp.status_code == 415, resp.text
        assert resp.json()["code"] == "UNSUPPORTED_DOCUMENT_TYPE"

    async def test_above_limit_is_413(self, gateway: httpx.AsyncClient) -> None:
        data = b"%PDF-1.4\n" + b"0" * (25 * 1024 * 1024)

        resp = await upload(gateway, data, "big.pdf", "application/pdf")

        assert resp.status_code == 413, resp.text
        assert resp.json()["code"] == "DOCUMENT_TOO_LARGE"

    async def test_bad_metadata_is_400_and_stores_nothing(
        self, gateway: httpx.AsyncClient, stack: StackInfo
    ) -> None:
        conn = await asyncpg.connect(stack.admin_dsn)
        try:
            before = await conn.fetchval("SELECT count(*) FROM evidence.documents")
            resp = await upload(gateway, image_bytes("PNG"), "p.png", "image/png", classification="secret")
            after = await conn.fetchval("SELECT count(*) FROM evidence.documents")
        finally:
            await conn.close()
        assert resp.status_code == 400
        assert resp.json()["code"] == "VALIDATION_FAILED"
        assert after == before


class TestEvidenceItems:
    async def test_link_orders_items_and_reports_readiness(self, gateway: httpx.AsyncClient) -> None:
        wo_id = await create_work_order(gateway)
        doc = (await upload(gateway, pdf_bytes(("SALE DEED",)), "deed.pdf", "application/pdf")).json()

        resp = await link(
            gateway,
            wo_id,
            {
                "evidence_type": "PHOTO",
                "file_ref": "demo://b.jpg",
                "annexure_order": 2,
                "tags": {"category": "exterior"},
            },
            {"evidence_type": "DOCUMENT", "doc_type": "SALE_DEED", "document_id": doc["id"]},
            {
                "evidence_type": "PHOTO",
                "file_ref": "demo://a.jpg",
                "annexure_order": 1,
                "tags": {"category": "exterior"},
            },
        )

        assert resp.status_code == 201, resp.text
        body = resp.json()
        assert (
            resp.headers["x-zenops-version"]
            == f"evidence:work-order-evidence:{wo_id}:{body['evidence_version']}"
        )
        assert [i["file_ref"] for i in body["evidence_items"]] == ["demo://a.jpg", "demo://b.jpg", None]
        sale = body["evidence_items"][2]
        assert sale["document"] == {
            "id": doc["id"],
            "original_filename": "deed.pdf",
            "content_type": "application/pdf",
            "size_bytes": doc["size_bytes"],
            "status": doc["status"],
            "classification": None,
            "source": None,
            "storage_key": doc["storage_key"],
        }
        readiness = body["readiness"]
        # SBI <5Cr profile (12 requirements): bank name satisfied; sale deed and exterior photos met.
        assert readiness["required_evidence_minimums"]["Sale Deed"] == 1
        assert "Sale Deed: need at least 1, found 0" not in readiness["missing_evidence"]
        assert "Exterior Photos: need at least 2, found 0" not in readiness["missing_evidence"]
        assert readiness["completeness_score"] == round(3 / 16 * 100)

        checklist = (await gateway.get(f"/v1/repogen/work-orders/{wo_id}/evidence-checklist")).json()
        rows = {row["label"]: row for row in checklist["checklist"]}
        assert rows["Exterior Photos"]["current_count"] == 2
        assert rows["Exterior Photos"]["satisfied"]
        assert rows["Sale Deed"]["matching_evidence_item_ids"] == [sale["id"]]
        assert checklist["summary"] == {
            "items": 12,
            "required_items": 12,
            "required_satisfied": 2,
            "complete": False,
        }

    async def test_update_by_id_overwrites_every_column_and_same_update_twice_changes_nothing(
        self, gateway: httpx.AsyncClient
    ) -> None:
        wo_id = await create_work_order(gateway)
        created = (
            await link(
                gateway,
                wo_id,
                {"evidence_type": "PHOTO", "source": "portal", "tags": {"category": "interior"}},
            )
        ).json()
        item_id = created["evidence_items"][0]["id"]

        first = await link(
            gateway, wo_id, {"id": item_id, "evidence_type": "GEO", "tags": {"category": "gps"}}
        )
        again = await link(
            gateway, wo_id, {"id": item_id, "evidence_type": "GEO", "tags": {"category": "gps"}}
        )

        assert first.status_code == again.status_code == 201
        item = first.json()["evidence_items"][0]
        assert (item["evidence_type"], item["source"], item["tags"]) == ("GEO", None, {"category": "gps"})
        assert first.json()["evidence_version"] == created["evidence_version"] + 1
        assert again.json()["evidence_version"] == first.json()["evidence_version"]

    async def test_idempotency_key_replays_the_link(self, gateway: httpx.AsyncClient) -> None:
        wo_id = await create_work_order(gateway)
        key = {"idempotency-key": f"link-{uuid.uuid4()}"}

        first = await link(gateway, wo_id, {"evidence_type": "PHOTO"}, headers=key)
        second = await link(gateway, wo_id, {"evidence_type": "PHOTO"}, headers=key)
        reused = await link(gateway, wo_id, {"evidence_type": "GEO"}, headers=key)

        assert first.status_code == second.status_code == 201
        assert second.json() == first.json()
        assert len(second.json()["evidence_items"]) == 1
        assert reused.status_code == 409
        assert reused.json()["code"] == "IDEMPOTENCY_KEY_REUSED"

    async def test_invisible_documents_and_unknown_items(
        self, gateway: httpx.AsyncClient, other_tenant: httpx.AsyncClient
    ) -> None:
        wo_id = await create_work_order(gateway)
        foreign = (await upload(other_tenant, image_bytes("PNG"), "p.png", "image/png")).json()
        ghost = str(uuid.uuid4())

        docs = await link(
            gateway,
            wo_id,
            {"evidence_type": "PHOTO", "document_id": foreign["id"]},
            {"evidence_type": "PHOTO", "document_id": ghost},
        )
        item = await link(gateway, wo_id, {"id": ghost, "evidence_type": "PHOTO"})

        assert docs.status_code == 400
        assert docs.json()["message"] == f"document(s) not found or not visible: {foreign['id']}, {ghost}"
        assert item.status_code == 404
        assert item.json()["message"] == f"repogen evidence item {ghost} not found"
        state = (await gateway.get(f"/v1/repogen/work-orders/{wo_id}/evidence")).json()
        assert state["evidence_items"] == []

    async def test_unknown_work_order_is_404(self, gateway: httpx.AsyncClient) -> None:
        ghost = str(uuid.uuid4())

        resp = await link(gateway, ghost, {"evidence_type": "PHOTO"})

        assert resp.status_code == 404
        assert resp.json()["message"] == f"repogen work order {ghost} not found"


class TestTenantIsolation:
    async def test_other_tenant_sees_no_documents_or_evidence(
        self, gateway: httpx.AsyncClient, other_tenant: httpx.AsyncClient
    ) -> None:
        wo_id = await create_work_order(gateway)
        doc = (await upload(gateway, image_bytes("PNG"), "p.png", "image/png")).json()
        assert (
            await link(gateway, wo_id, {"evidence_type": "PHOTO", "document_id": doc["id"]})
        ).status_code == 201

        assert (await other_tenant.get(f"/v1/documents/{doc['id']}")).status_code == 404
        assert (await other_tenant.get(f"/v1/documents/{doc['id']}/download")).status_code == 404
        assert (await other_tenant.get(f"/v1/repogen/work-orders/{wo_id}/evidence")).status_code == 404
        assert (await link(other_tenant, wo_id, {"evidence_type": "PHOTO"})).status_code == 404
        assert (
            len((await gateway.get(f"/v1/repogen/work-orders/{wo_id}/evidence")).json()["evidence_items"])
            == 1
        )


class TestProfiles:
    async def test_default_profile_and_catalogue(self, gateway: httpx.AsyncClient) -> None:
        wo_id = await create_work_order(gateway, bank_type="SBI")

        body = (await gateway.get(f"/v1/repogen/work-orders/{wo_id}/evidence-profiles")).json()

        assert body["selected_profile"]["name"] == "Valuation SBI <5Cr Baseline"
        assert len(body["selected_profile"]["items"]) == 12
        assert [p["name"] for p in body["profiles"]] == sorted(p["name"] for p in body["profiles"])
        assert {p["report_type"] for p in body["profiles"]} == {"VALUATION"}
        assert len(body["field_defs"]) == 15
        assert body["field_defs"][0]["required_by_default"]
        assert len(body["checklist"]) == 12
        # Only party.bank_name is satisfied-but-unlinked, and no SBI profile item hints it (§4.6 quirk).
        assert body["readiness"]["missing_field_evidence_links"] == ["party.bank_name"]
        assert body["suggested_evidence_for_missing_fields"] == []

    async def test_evi05_and_invalid_profile(self, gateway: httpx.AsyncClient) -> None:
        wo_id = await create_work_order(gateway)
        dpr = await create_work_order(gateway, bank_type="OTHER", report_type="DPR")
        dpr_profile = (await gateway.get(f"/v1/repogen/work-orders/{dpr}/evidence-profiles")).json()[
            "selected_profile_id"
        ]

        neither = await gateway.post(
            f"/v1/repogen/work-orders/{wo_id}/evidence-profile", json={"use_default": False}
        )
        wrong = await gateway.post(
            f"/v1/repogen/work-orders/{wo_id}/evidence-profile", json={"profile_id": dpr_profile}
        )

        assert neither.status_code == 400
        assert neither.json()["message"] == "profile_id or use_default=true is required"
        assert wrong.status_code == 400
        assert wrong.json()["code"] == "INVALID_EVIDENCE_PROFILE_FOR_WORK_ORDER"

    async def test_operator_choice_writes_a_note_and_is_kept_when_the_slab_is_known(
        self, gateway: httpx.AsyncClient, stack: StackInfo
    ) -> None:
        wo_id = await create_work_order(gateway, bank_type="SBI")
        profiles = (await gateway.get(f"/v1/repogen/work-orders/{wo_id}/evidence-profiles")).json()[
            "profiles"
        ]
        coop = next(p for p in profiles if p["name"] == "Valuation Co-op Baseline")

        chosen = await gateway.post(
            f"/v1/repogen/work-orders/{wo_id}/evidence-profile", json={"profile_id": coop["id"]}
        )
        again = await gateway.post(
            f"/v1/repogen/work-orders/{wo_id}/evidence-profile", json={"profile_id": coop["id"]}
        )
        await snapshot_contract(gateway, wo_id)

        assert chosen.status_code == 201, chosen.text
        assert chosen.json()["selected_profile_id"] == coop["id"]
        assert chosen.json()["selected_profile_chosen_by"] == "operator"
        assert again.json()["evidence_version"] == chosen.json()["evidence_version"]
        after = (await gateway.get(f"/v1/repogen/work-orders/{wo_id}/evidence-profiles")).json()
        assert after["selected_profile_id"] == coop["id"]
        notes = [n for p in await outbox_payloads(stack, wo_id) for n in p["payload"]["notes"]]
        assert [n["body"] for n in notes] == [f"Evidence profile selected: {coop['id']}"]

    async def test_automatic_choice_follows_the_slab(self, gateway: httpx.AsyncClient) -> None:
        wo_id = await create_work_order(gateway, bank_type="OTHER")
        at_creation = (await gateway.get(f"/v1/repogen/work-orders/{wo_id}/evidence-profiles")).json()

        await snapshot_contract(gateway, wo_id)

        async def rechosen() -> dict[str, Any] | None:
            body = (await gateway.get(f"/v1/repogen/work-orders/{wo_id}/evidence-profiles")).json()
            return (
                body if body["selected_profile"]["name"] != at_creation["selected_profile"]["name"] else None
            )

        body = await eventually(rechosen, "the profile to follow the slab", within_s=30, every_s=0.2)
        # Decision 4: bank OTHER never gets Agri/Co-op; at LT_5CR the generic SBI <5Cr baseline fits best.
        assert at_creation["selected_profile"]["name"] == "Valuation PSU >5Cr Baseline"
        assert body["selected_profile"]["name"] == "Valuation SBI <5Cr Baseline"
        assert body["selected_profile_chosen_by"] == "auto"


class TestFieldLinks:
    async def test_evi01_link_note_and_readiness(self, gateway: httpx.AsyncClient, stack: StackInfo) -> None:
        wo_id = await create_work_order(gateway)
        evidence_id = (
            await link(gateway, wo_id, {"evidence_type": "DOCUMENT", "doc_type": "SALE_DEED"})
        ).json()["evidence_items"][0]["id"]
        no_snapshot = await gateway.post(
            f"/v1/repogen/work-orders/{wo_id}/field-evidence-links",
            json={"links": [{"field_key": "property.address", "evidence_item_id": evidence_id}]},
        )
        version = await snapshot_contract(gateway, wo_id)
        body = {
            "links": [
                {
                    "field_key": "property.address",
                    "evidence_item_id": evidence_id,
                    "confidence": 0.9,
                    "note": "Manual operator link",
                }
            ]
        }

        first = await gateway.post(f"/v1/repogen/work-orders/{wo_id}/field-evidence-links", json=body)
        second = await gateway.post(f"/v1/repogen/work-orders/{wo_id}/field-evidence-links", json=body)

        assert no_snapshot.status_code == 400
        assert no_snapshot.json()["code"] == "CONTRACT_SNAPSHOT_REQUIRED_FOR_FIELD_EVIDENCE_LINKS"
        assert first.status_code == 201, first.text
        out = first.json()
        assert len(out["links"]) == 1
        assert (out["links"][0]["field_key"], out["links"][0]["evidence_item_id"]) == (
            "property.address",
            evidence_id,
        )
        assert out["links"][0]["snapshot_version"] == version
        assert "property.address" not in out["readiness"]["missing_field_evidence_links"]
        assert second.json()["evidence_version"] == out["evidence_version"]  # identical link: nothing changes
        notes = [n for p in await outbox_payloads(stack, wo_id) for n in p["payload"]["notes"]]
        assert [n["body"] for n in notes] == [
            f"Field evidence links updated:\n- Linked property.address <- {evidence_id} (snapshot v{version})"
        ]

    async def test_foreign_evidence_and_removal(self, gateway: httpx.AsyncClient) -> None:
        wo_id = await create_work_order(gateway)
        other_wo = await create_work_order(gateway)
        own = (await link(gateway, wo_id, {"evidence_type": "PHOTO"})).json()["evidence_items"][0]["id"]
        foreign = (await link(gateway, other_wo, {"evidence_type": "PHOTO"})).json()["evidence_items"][0][
            "id"
        ]
        await snapshot_contract(gateway, wo_id)
        url = f"/v1/repogen/work-orders/{wo_id}/field-evidence-links"

        bad = await gateway.post(
            url, json={"links": [{"field_key": "property.address", "evidence_item_id": foreign}]}
        )
        await gateway.post(url, json={"links": [{"field_key": "property.address", "evidence_item_id": own}]})
        removed = await gateway.post(
            url, json={"links": [{"field_key": "property.address", "evidence_item_id": own, "remove": True}]}
        )

        assert bad.status_code == 400
        assert bad.json()["message"] == f"evidence item(s) not found for work order: {foreign}"
        assert removed.status_code == 201
        assert removed.json()["links"] == []
        assert "property.address" in removed.json()["readiness"]["missing_field_evidence_links"]


class TestOcr:
    async def test_image_text_is_found_through_kafka(self, gateway: httpx.AsyncClient) -> None:
        wo_id = await create_work_order(gateway)
        data = image_bytes("PNG", ("Survey No 123/4", "Land area 1200 sq ft"))
        doc = (await upload(gateway, data, "rtc.png", "image/png")).json()
        item = (
            await link(
                gateway, wo_id, {"evidence_type": "DOCUMENT", "doc_type": "RTC", "document_id": doc["id"]}
            )
        ).json()["evidence_items"][0]

        resp = await gateway.post(
            f"/v1/repogen/work-orders/{wo_id}/ocr/enqueue", json={"evidence_item_id": item["id"]}
        )

        assert resp.status_code == 201, resp.text
        assert resp.json()["queue_enqueued"] is True
        assert resp.json()["ocr_job"]["status"] == "QUEUED"
        job = await wait_job(gateway, wo_id, resp.json()["ocr_job"]["id"])
        assert job["status"] == "DONE", job
        result = job["result_json"]
        assert "Survey No 123/4" in result["extracted_text"]
        assert result["engine"] == "tesseract"
        assert result["engine_version"]
        assert 0 < result["confidence"] <= 1
        assert {"field_key": "property.survey_no", "value": "123/4"}.items() <= next(
            f for f in result["detected_fields"] if f["field_key"] == "property.survey_no"
        ).items()
        assert job["worker_trace"]

    async def test_no_document_is_done_with_note(self, gateway: httpx.AsyncClient) -> None:
        wo_id = await create_work_order(gateway)
        item = (await link(gateway, wo_id, {"evidence_type": "PHOTO", "file_ref": "demo://p.jpg"})).json()[
            "evidence_items"
        ][0]

        resp = await gateway.post(
            f"/v1/repogen/work-orders/{wo_id}/ocr/enqueue", json={"evidence_item_id": item["id"]}
        )
        job = await wait_job(gateway, wo_id, resp.json()["ocr_job"]["id"])

        assert job["status"] == "DONE"
        assert job["result_json"]["note"] == "NO_DOCUMENT"
        assert job["result_json"]["extracted_text"] == ""

    async def test_evi04_evidence_of_another_work_order(self, gateway: httpx.AsyncClient) -> None:
        wo_id = await create_work_order(gateway)
        other = await create_work_order(gateway)
        foreign = (await link(gateway, other, {"evidence_type": "PHOTO"})).json()["evidence_items"][0]["id"]

        resp = await gateway.post(
            f"/v1/repogen/work-orders/{wo_id}/ocr/enqueue", json={"evidence_item_id": foreign}
        )

        assert resp.status_code == 400
        assert resp.json()["code"] == "EVIDENCE_ITEM_NOT_FOUND_FOR_WORK_ORDER"


class TestAnnexureAndLock:
    async def test_auto_order_then_lock(self, gateway: httpx.AsyncClient) -> None:
        wo_id = await create_work_order(gateway)
        await link(
            gateway,
            wo_id,
            {"evidence_type": "DOCUMENT", "doc_type": "SALE_DEED"},
            {"evidence_type": "SCREENSHOT", "tags": {"category": "route_map"}},
            {"evidence_type": "PHOTO", "tags": {"category": "exterior"}},
        )

        ordered = await gateway.post(f"/v1/repogen/work-orders/{wo_id}/annexure/auto-order")
        repeat = await gateway.post(f"/v1/repogen/work-orders/{wo_id}/annexure/auto-order")

        assert ordered.status_code == 201, ordered.text
        items = ordered.json()["evidence_items"]
        assert [(i["evidence_type"], i["annexure_order"]) for i in items] == [
            ("PHOTO", 1),
            ("SCREENSHOT", 2),
            ("DOCUMENT", 3),
        ]
        assert ordered.json()["changed"] is True
        assert repeat.json()["changed"] is False
        assert repeat.json()["evidence_version"] == ordered.json()["evidence_version"]

        # READY_FOR_RENDER through the work-order service: contract, the rest of the SBI evidence, statuses.
        await flows.ready_for_render(gateway, wo_id, VALUATION_CONTRACT_PATCH)

        async def locked() -> httpx.Response | None:
            resp = await link(gateway, wo_id, {"evidence_type": "PHOTO"})
            return resp if resp.status_code == 409 else None

        resp = await eventually(locked, "evidence to lock the work order", within_s=30, every_s=0.2)
        assert resp.json()["code"] == "WORK_ORDER_LOCKED"
        assert (await gateway.post(f"/v1/repogen/work-orders/{wo_id}/annexure/auto-order")).status_code == 409
