"""Work-order API, sagas and projections through the gateway on the real stack (issue 5).

Evidence, billing and pack state of other services are either the real services' answers (billing
acceptance) or events published by the test on the real topics with high aggregate versions (see
``conftest.py``), so each test controls the projections of its own work order.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import httpx
import pytest

from devstack.launcher import StackInfo
from devstack.testing.data import VALUATION_CONTRACT_PATCH
from devstack.testing.data import WORK_ORDERS as WO
from devstack.testing.fixtures import OTHER_TENANT, TEST_TENANT, make_token
from devstack.testing.gateway import eventually, new_work_order_id
from shared.contracts.topics import BILLING_WORK_ORDER_BILLING, EVIDENCE_WORK_ORDER_EVIDENCE, FACTORY_PACK
from shared.stable_json import stable_sha256

pytestmark = pytest.mark.stack

HIGH = 1_000_000  # above any aggregate version the real producers reach in a test run


def photo(item_id: str, order: int | None, created_at: str, document_id: str | None = None) -> dict[str, Any]:
    """An evidence item as the evidence service serializes it (domain.md §1.6)."""
    return {
        "id": item_id,
        "evidence_type": "PHOTO",
        "doc_type": "OTHER",
        "classification": None,
        "sensitivity": None,
        "source": None,
        "document_id": document_id,
        "file_ref": f"demo://{item_id}.jpg",
        "captured_by_employee_id": None,
        "captured_at": None,
        "annexure_order": order,
        "tags": None,
        "created_at": created_at,
        "updated_at": created_at,
        "document": None,
    }


def evidence_state(work_order_id: str, items: list[dict[str, Any]], **extra: Any) -> dict[str, Any]:
    """An ``evidence_state`` payload without a profile (legacy readiness) unless ``profile`` is given."""
    return {
        "work_order_id": work_order_id,
        "evidence_version": extra.pop("evidence_version", 1),
        "items": items,
        "profile": extra.pop("profile", None),
        "field_evidence_links": extra.pop("field_evidence_links", []),
        "linked_field_keys": extra.pop("linked_field_keys", []),
        "ocr_jobs": extra.pop("ocr_jobs", []),
        "notes": extra.pop("notes", []),
        **extra,
    }


@pytest.fixture
async def other_tenant(stack: StackInfo) -> AsyncIterator[httpx.AsyncClient]:
    headers = {"authorization": f"Bearer {make_token(stack, tenant_id=OTHER_TENANT)}"}
    async with httpx.AsyncClient(base_url=stack.urls["gateway"], headers=headers, timeout=30) as client:
        yield client


async def status(
    client: httpx.AsyncClient, wo: str, target: str, note: str | None = None, **params: Any
) -> httpx.Response:
    body: dict[str, Any] = {"status": target}
    if note is not None:
        body["note"] = note
    return await client.post(f"{WO}/{wo}/status", json=body, params=params)


async def detail(client: httpx.AsyncClient, wo: str, **headers: str) -> dict[str, Any]:
    resp = await client.get(f"{WO}/{wo}", headers=headers)
    assert resp.status_code == 200, resp.text
    body: dict[str, Any] = resp.json()
    return body


async def count_rows(db: Callable[..., Awaitable[Any]], wo: str) -> tuple[int, int, int]:
    """Snapshots, rules runs and contract events of one work order (readiness_changed events may come
    from the evidence service's asynchronous answers, so they are not counted)."""
    wid = uuid.UUID(wo)
    return (
        await db("SELECT count(*) FROM workorders.contract_snapshots WHERE work_order_id = $1", wid),
        await db("SELECT count(*) FROM workorders.rules_runs WHERE work_order_id = $1", wid),
        await db(
            "SELECT count(*) FROM workorders.outbox WHERE key = $1 AND envelope->>'type' = 'contract_snapshotted'",
            wo,
        ),
    )


async def ready_work_order(gateway: httpx.AsyncClient, publish: Any) -> str:
    """A DATA_PENDING (accepted) work order whose current readiness has nothing missing."""
    wo = await new_work_order_id(gateway, bank_name=f"Ready Bank {uuid.uuid4().hex[:6]}")
    assert (await gateway.patch(f"{WO}/{wo}/contract", json=VALUATION_CONTRACT_PATCH)).status_code == 200
    items = [photo(str(uuid.uuid4()), i, f"2026-01-01T00:00:0{i}.000Z") for i in range(1, 7)]
    await publish(EVIDENCE_WORK_ORDER_EVIDENCE, "evidence_state", wo, HIGH, evidence_state(wo, items))

    async def _ready() -> bool:
        readiness = (await detail(gateway, wo))["readiness"]
        return not readiness["missing_evidence"] and not readiness["missing_fields"]

    await eventually(_ready, what="readiness without missing evidence")
    resp = await status(gateway, wo, "DATA_PENDING", "accepted for production")
    assert resp.status_code == 201, resp.text
    return wo


class TestCreateListSearch:
    async def test_create_is_a_draft_with_current_readiness_and_version_token(
        self, gateway: httpx.AsyncClient
    ) -> None:
        resp = await gateway.post(
            WO,
            json={
                "source_type": "EXTERNAL",
                "report_type": "VALUATION",
                "bank_name": "Canara Bank",
                "assignment_id": "bbbbbbbb-bbbb-bbbb-bbbb-bbbbbbbbbbbb",
                "source_ref_id": "cccccccc-cccc-cccc-cccc-cccccccccccc",
                "billing_external_key": "v1:partner:10",
            },
        )
        assert resp.status_code == 201, resp.text
        body = resp.json()
        wo = body["work_order"]
        assert resp.headers["x-zenops-version"] == f"workorders:work-order:{body['work_order_id']}:1"
        assert (wo["status"], wo["bank_type"], wo["value_slab"], wo["template_selector"]) == (
            "DRAFT",
            "OTHER",
            "UNKNOWN",
            "UNKNOWN",
        )
        assert wo["assignment_id"] == "bbbbbbbb-bbbb-bbbb-bbbb-bbbbbbbbbbbb"
        assert wo["source_ref_id"] == "cccccccc-cccc-cccc-cccc-cccccccccccc"
        assert wo["billing_external_key"] == "v1:partner:10"
        assert wo["billing"]["hooks"] == {}
        assert wo["billing"]["mode_cache"] is None
        seen = await detail(gateway, body["work_order_id"])
        assert seen["latest_snapshot"] is None
        assert seen["rules_runs"] == []
        assert seen["comments"] == []
        assert seen["readiness"]["missing_fields"]  # no address, land area or rate yet

    async def test_list_filters_search_by_bank_substring_or_exact_id_and_limit(
        self, gateway: httpx.AsyncClient
    ) -> None:
        tag = uuid.uuid4().hex[:8]
        first = await new_work_order_id(gateway, bank_name=f"Zeta Bank {tag}", bank_type="PSU_GENERIC")
        second = await new_work_order_id(gateway, bank_name=f"Zeta Bank {tag} North")
        resp = await gateway.get(WO, params={"search": f"zeta BANK {tag.upper()}"})
        assert resp.status_code == 200
        items = resp.json()["items"]
        assert [i["id"] for i in items] == [second, first]  # newest first
        item = items[0]
        assert item["readiness_score"] is not None
        assert 0 <= item["readiness_score"] <= 100
        assert item["readiness"]["completeness_score"] == item["readiness_score"]
        assert (item["latest_snapshot_version"], item["evidence_count"], item["comments_count"]) == (
            None,
            0,
            0,
        )
        by_id = (await gateway.get(WO, params={"search": first})).json()["items"]
        assert [i["id"] for i in by_id] == [first]
        filtered = (await gateway.get(WO, params={"search": tag, "bank_type": "PSU_GENERIC"})).json()["items"]
        assert [i["id"] for i in filtered] == [first]
        assert (await gateway.get(WO, params={"search": tag, "status": "CLOSED"})).json()["items"] == []
        limited = (await gateway.get(WO, params={"search": tag, "limit": 1})).json()["items"]
        assert len(limited) == 1

    async def test_non_uuid_search_text_matches_names_only_without_error(
        self, gateway: httpx.AsyncClient
    ) -> None:
        for text in ("not-a-uuid", "100%_sure'; --", "1111"):
            resp = await gateway.get(WO, params={"search": text})
            assert resp.status_code == 200, resp.text
            assert all(text.lower() in i["bank_name"].lower() for i in resp.json()["items"])

    async def test_bad_list_parameters_are_400(self, gateway: httpx.AsyncClient) -> None:
        for params in ({"limit": 0}, {"limit": 101}, {"status": "NOPE"}, {"limit": "x"}):
            resp = await gateway.get(WO, params=params)
            assert resp.status_code == 400, params
            assert resp.json()["code"] == "VALIDATION_FAILED"

    async def test_tokens_without_tenant_or_user_are_400(self, stack: StackInfo) -> None:
        body = {"source_type": "TENANT", "report_type": "VALUATION", "bank_name": "SBI"}
        for kwargs, code in (
            ({"tenant_id": None}, "TENANT_CONTEXT_REQUIRED"),
            ({"user_id": None}, "USER_CONTEXT_REQUIRED"),
        ):
            headers = {"authorization": f"Bearer {make_token(stack, **kwargs)}"}  # type: ignore[arg-type]  # None is the claim left out
            async with httpx.AsyncClient(base_url=stack.urls["gateway"], headers=headers) as client:
                resp = await client.post(WO, json=body)
            assert resp.status_code == 400
            assert resp.json()["code"] == code


class TestContractPatch:
    async def test_spn01_versions_rules_run_derived_values_and_stable_export(
        self, gateway: httpx.AsyncClient
    ) -> None:
        wo = await new_work_order_id(gateway)
        resp = await gateway.patch(f"{WO}/{wo}/contract", json=VALUATION_CONTRACT_PATCH)
        assert resp.status_code == 200, resp.text
        body = resp.json()
        assert (body["input_snapshot"]["version"], body["output_snapshot"]["version"]) == (1, 2)
        run = body["rules_run"]
        assert run["ruleset_version"] == "m5.4-v1"
        assert run["errors"] == []
        assert (run["input_snapshot"]["version"], run["output_snapshot"]["version"]) == (1, 2)
        derived = body["output_snapshot"]["derived_json"]
        assert derived["computed_values"]["FMV"] == 5000000
        assert derived["computed_values"]["realizable_value"] == 4750000
        assert derived["standardized"]["area"]["land_area_sqm"] == 92.9
        assert derived["standardized"]["rates"]["guideline_rate_per_sqm"] == 16145.85
        assert body["input_snapshot"]["readiness_json"]["completeness_score"] == 0
        assert body["input_snapshot"]["derived_json"] == {}
        assert body["output_snapshot"]["contract_json"]["audit"]["snapshot_version"] == 2
        token = resp.headers["x-zenops-version"]
        assert token.startswith(f"workorders:work-order:{wo}:")
        assert int(token.rsplit(":", 1)[1]) >= 2

        second = await gateway.patch(
            f"{WO}/{wo}/contract", json={"patch": {"party": {"borrower_name": "Asha"}}}
        )
        assert second.status_code == 200
        assert (second.json()["input_snapshot"]["version"], second.json()["output_snapshot"]["version"]) == (
            3,
            4,
        )
        seen = await detail(gateway, wo)
        assert seen["work_order"]["value_slab"] == "LT_5CR"
        assert seen["work_order"]["template_selector"] == "SBI_FORMAT_A"
        assert seen["latest_snapshot"]["version"] == 4
        assert [r["output_snapshot"]["version"] for r in seen["rules_runs"]] == [4, 2]

        first_export = await gateway.get(f"{WO}/{wo}/export")
        again = await gateway.get(f"{WO}/{wo}/export")
        assert first_export.status_code == 200
        bundle = first_export.json()["export_bundle"]
        assert bundle["snapshot_version"] == 4
        assert bundle["work_order_id"] == wo
        assert bundle["annexure_defaults"] == {"min_images_per_page": 2, "max_images_per_page": 4}
        assert first_export.json()["export_bundle_hash"] == again.json()["export_bundle_hash"]
        assert first_export.json()["export_bundle_hash"] == stable_sha256(bundle)
        v2 = await gateway.get(f"{WO}/{wo}/export", params={"snapshot_version": 2})
        assert v2.json()["export_bundle"]["snapshot_version"] == 2
        assert v2.json()["export_bundle"]["derived_json"]["computed_values"]["FMV"] == 5000000
        missing = await gateway.get(f"{WO}/{wo}/export", params={"snapshot_version": 99})
        assert missing.status_code == 404
        assert missing.json()["message"] == "repogen snapshot v99 not found"
        assert (await gateway.get(f"{WO}/{wo}/export", params={"snapshot_version": 0})).status_code == 400

    async def test_export_without_snapshot_is_404(self, gateway: httpx.AsyncClient) -> None:
        wo = await new_work_order_id(gateway)
        resp = await gateway.get(f"{WO}/{wo}/export")
        assert resp.status_code == 404
        assert resp.json()["message"] == "repogen snapshot not found for work order"

    async def test_spn01_manifest_follows_evidence_projection_order_and_legacy_readiness(
        self, gateway: httpx.AsyncClient, publish: Any
    ) -> None:
        wo = await new_work_order_id(gateway)
        b = photo(str(uuid.uuid4()), 2, "2026-01-01T00:00:00.000Z", document_id="doc-b")
        a = photo(str(uuid.uuid4()), 1, "2026-01-01T00:00:01.000Z", document_id="doc-a")
        await publish(EVIDENCE_WORK_ORDER_EVIDENCE, "evidence_state", wo, HIGH, evidence_state(wo, [b, a]))
        resp = await gateway.patch(
            f"{WO}/{wo}/contract",
            json=VALUATION_CONTRACT_PATCH,
            headers={"x-zenops-after": f"evidence:work-order-evidence:{wo}:{HIGH}"},
        )
        assert resp.status_code == 200
        # Legacy mode (no profile): 4 of 4 fields, 2 of 6 photos → 4/5.
        assert resp.json()["output_snapshot"]["readiness_json"]["completeness_score"] == 80
        assert resp.json()["readiness"]["missing_evidence"] == ["valuation_photos: need at least 6, found 2"]
        export = (await gateway.get(f"{WO}/{wo}/export")).json()
        manifest = export["export_bundle"]["evidence_manifest"]
        assert [m["document_id"] for m in manifest] == ["doc-a", "doc-b"]
        assert manifest[0]["annexure_hint"] is None
        assert manifest[0]["document"] is None
        seen = await detail(gateway, wo)
        assert [i["document_id"] for i in seen["evidence_items"]] == ["doc-a", "doc-b"]

    async def test_invalid_patch_is_400_with_paths_and_writes_nothing(
        self, gateway: httpx.AsyncClient, db: Any
    ) -> None:
        wo = await new_work_order_id(gateway)
        assert (await gateway.patch(f"{WO}/{wo}/contract", json=VALUATION_CONTRACT_PATCH)).status_code == 200
        before = await count_rows(db, wo)
        cases: list[tuple[Any, str]] = [
            ({"patch": {"property": {"land_area": {"value": -1}}}}, "patch.property.land_area.value"),
            ({"patch": {"party": {"bank_name": None}}}, "patch.party.bank_name"),
            (
                {"patch": {"valuation_inputs": {"depreciation_percent": 101}}},
                "patch.valuation_inputs.depreciation_percent",
            ),
            ({"patch": "nope"}, "patch"),
            ({}, "patch"),
        ]
        for body, path in cases:
            resp = await gateway.patch(f"{WO}/{wo}/contract", json=body)
            assert resp.status_code == 400, (body, resp.text)
            err = resp.json()
            assert err["code"] == "INVALID_CONTRACT_PATCH"
            assert path in [i["path"] for i in err["details"]["issues"]], err
        assert await count_rows(db, wo) == before

    async def test_unknown_or_malformed_work_order_ids_are_404(self, gateway: httpx.AsyncClient) -> None:
        for wo in (str(uuid.uuid4()), "not-a-uuid"):
            for resp in (
                await gateway.get(f"{WO}/{wo}"),
                await gateway.patch(f"{WO}/{wo}/contract", json=VALUATION_CONTRACT_PATCH),
                await status(gateway, wo, "EVIDENCE_PENDING"),
                await gateway.get(f"{WO}/{wo}/export"),
                await gateway.get(f"{WO}/{wo}/comments"),
                await gateway.post(f"{WO}/{wo}/comments", json={"comment_type": "NOTES", "body": "x"}),
            ):
                assert resp.status_code == 404, resp.text
                assert resp.json()["code"] == "WORK_ORDER_NOT_FOUND"


class TestStatusTransitions:
    async def test_spn03_transitions_outside_the_table_are_400(self, gateway: httpx.AsyncClient) -> None:
        wo = await new_work_order_id(gateway)
        for target in ("READY_FOR_RENDER", "CLOSED"):
            resp = await status(gateway, wo, target)
            assert resp.status_code == 400
            assert resp.json() == {
                "code": "INVALID_STATUS_TRANSITION",
                "message": f"invalid status transition DRAFT -> {target}",
                "details": {"from": "DRAFT", "to": target},
            }
        assert (await status(gateway, wo, "CANCELLED")).status_code == 201
        for target in ("DRAFT", "EVIDENCE_PENDING", "DATA_PENDING", "READY_FOR_RENDER", "CLOSED"):
            resp = await status(gateway, wo, target)
            assert resp.status_code == 400
            assert resp.json()["code"] == "INVALID_STATUS_TRANSITION"
        assert (await status(gateway, wo, "BOGUS")).status_code == 400

    async def test_spn04_status_comment_and_same_status_is_a_noop(
        self, gateway: httpx.AsyncClient, db: Any
    ) -> None:
        wo = await new_work_order_id(gateway)
        resp = await status(gateway, wo, "EVIDENCE_PENDING", "demo evidence collection")
        assert resp.status_code == 201
        assert resp.json()["work_order"]["status"] == "EVIDENCE_PENDING"
        # Other comments may be system notes of the evidence service; only status notes are ours here.
        notes = [c for c in resp.json()["comments"] if c["body"].startswith("Status changed")]
        assert [c["body"] for c in notes] == [
            "Status changed: DRAFT -> EVIDENCE_PENDING\ndemo evidence collection"
        ]
        assert notes[0]["comment_type"] == "NOTES"
        sql = "SELECT count(*) FROM workorders.outbox WHERE key = $1 AND envelope->>'type' = 'status_changed'"
        assert await db(sql, wo) == 1
        again = await status(gateway, wo, "EVIDENCE_PENDING", "again")
        assert again.status_code == 201
        assert [c["body"] for c in again.json()["comments"] if c["body"].startswith("Status changed")] == [
            notes[0]["body"]
        ]
        assert await db(sql, wo) == 1

    async def test_spn05_ready_for_render_without_snapshot_is_400(self, gateway: httpx.AsyncClient) -> None:
        wo = await new_work_order_id(gateway)
        assert (await status(gateway, wo, "DATA_PENDING")).status_code == 201
        resp = await status(gateway, wo, "READY_FOR_RENDER")
        assert resp.status_code == 400
        assert resp.json()["message"] == "READY_FOR_RENDER requires at least one computed contract snapshot"

    async def test_missing_evidence_blocks_ready_for_render_with_readiness_in_details(
        self, gateway: httpx.AsyncClient
    ) -> None:
        wo = await new_work_order_id(gateway)
        assert (await gateway.patch(f"{WO}/{wo}/contract", json=VALUATION_CONTRACT_PATCH)).status_code == 200
        assert (await status(gateway, wo, "DATA_PENDING")).status_code == 201
        resp = await status(gateway, wo, "READY_FOR_RENDER")
        assert resp.status_code == 400
        err = resp.json()
        assert err["code"] == "REPOGEN_READINESS_BLOCK"
        assert err["message"] == "READY_FOR_RENDER blocked by missing fields/evidence"
        assert err["details"]["readiness"]["missing_evidence"]
        assert (await detail(gateway, wo))["work_order"]["status"] == "DATA_PENDING"


class TestAcceptanceSaga:
    async def test_data_pending_is_accepted_by_billing_and_shows_the_billing_block(
        self, gateway: httpx.AsyncClient
    ) -> None:
        wo = await new_work_order_id(gateway)
        resp = await status(gateway, wo, "DATA_PENDING", "accepted into production")
        assert resp.status_code == 201, resp.text
        work_order = resp.json()["work_order"]
        assert work_order["status"] == "DATA_PENDING"
        assert work_order["acceptance"]["status"] == "ACCEPTED"
        billing = work_order["billing"]
        assert billing["acceptance"]["status"] == "ACCEPTED"
        assert billing["acceptance"]["request_message_id"] == work_order["acceptance"]["request_message_id"]
        assert billing["mode_cache"] in ("POSTPAID", "CREDIT")
        assert billing["account_id"]

    async def test_rejected_acceptance_reverts_with_a_note_and_answers_409(
        self, gateway: httpx.AsyncClient, db: Any
    ) -> None:
        # A named account that does not exist is never created implicitly: billing rejects it.
        wo = await new_work_order_id(
            gateway, billing_external_key=f"v1:partner:{uuid.uuid4().int % 10**9 + 10**9}"
        )
        assert (await status(gateway, wo, "EVIDENCE_PENDING")).status_code == 201
        resp = await status(gateway, wo, "DATA_PENDING", "accept please")
        assert resp.status_code == 409, resp.text
        err = resp.json()
        assert err["code"] == "ACCOUNT_NOT_ACTIVE"
        assert err["details"]["status"] == "EVIDENCE_PENDING"
        seen = await detail(gateway, wo)
        assert seen["work_order"]["status"] == "EVIDENCE_PENDING"
        assert seen["work_order"]["acceptance"]["status"] == "REJECTED"
        assert seen["comments"][0]["body"].startswith("Acceptance rejected by billing: ACCOUNT_NOT_ACTIVE")
        reverts = await db(
            "SELECT count(*) FROM workorders.outbox WHERE key = $1 AND envelope->>'type' = 'status_changed' "
            "AND (envelope->'payload'->>'revert_of_rejected_acceptance')::boolean",
            wo,
        )
        assert reverts == 1
        ready = await status(gateway, wo, "READY_FOR_RENDER")
        assert ready.status_code == 400
        assert ready.json()["code"] == "INVALID_STATUS_TRANSITION"

    async def test_wait_zero_answers_202_and_the_outcome_arrives_later(
        self, gateway: httpx.AsyncClient
    ) -> None:
        wo = await new_work_order_id(gateway)
        resp = await status(gateway, wo, "DATA_PENDING", wait=0)
        assert resp.status_code == 202, resp.text
        body = resp.json()
        assert body["status"] == "PENDING"
        assert body["work_order_id"] == wo
        assert body["poll_url"] == f"{WO}/{wo}"

        async def _accepted() -> bool:
            return bool((await detail(gateway, wo))["work_order"]["acceptance"]["status"] == "ACCEPTED")

        await eventually(_accepted, what="acceptance")


class TestRenderLockAndReopen:
    async def test_ready_for_render_freezes_the_bundle_locks_the_contract_and_reopen_unlocks(
        self, gateway: httpx.AsyncClient, publish: Any, db: Any
    ) -> None:
        wo = await ready_work_order(gateway, publish)
        resp = await status(gateway, wo, "READY_FOR_RENDER", "ready", wait=1000)
        assert resp.status_code == 201, resp.text
        body = resp.json()
        assert body["work_order"]["status"] == "READY_FOR_RENDER"
        assert "pack_link" in body
        assert body["pack_state"] in ("PENDING", "GENERATING", "GENERATED", "FAILED")
        if body["pack_link"] is None:
            assert body["pack_state"] in ("PENDING", "FAILED")
        export = (await gateway.get(f"{WO}/{wo}/export")).json()
        frozen_text = await db(
            "SELECT envelope->'payload'->>'export_bundle' FROM workorders.outbox "
            "WHERE key = $1 AND envelope->>'type' = 'ready_for_render'",
            wo,
        )
        frozen = json.loads(frozen_text)
        # issue 21: the snapshot's export stays as it was (decision 5); the frozen bundle adds the
        # readiness and checklist of READY_FOR_RENDER, which the report reads
        render_state = frozen.pop("render_state")
        assert frozen == export["export_bundle"]
        assert render_state["readiness"] == (await detail(gateway, wo))["readiness"]

        locked = await gateway.patch(f"{WO}/{wo}/contract", json=VALUATION_CONTRACT_PATCH)
        assert locked.status_code == 409
        assert locked.json()["code"] == "WORK_ORDER_LOCKED"

        no_note = await status(gateway, wo, "DATA_PENDING")
        assert no_note.status_code == 400
        assert no_note.json()["code"] == "REOPEN_NOTE_REQUIRED"
        reopened = await status(gateway, wo, "DATA_PENDING", "wrong land area")
        assert reopened.status_code == 201, reopened.text
        assert reopened.json()["work_order"]["status"] == "DATA_PENDING"
        assert reopened.json()["work_order"]["render_generation"] == 2
        events = await db(
            "SELECT string_agg(envelope->>'type', ',' ORDER BY id) FROM workorders.outbox WHERE key = $1", wo
        )
        assert events.endswith("status_changed,reopened")
        assert (await gateway.patch(f"{WO}/{wo}/contract", json=VALUATION_CONTRACT_PATCH)).status_code == 200
        again = await status(gateway, wo, "READY_FOR_RENDER", wait=0)
        assert again.status_code == 201
        generation = await db(
            "SELECT (envelope->'payload'->>'render_generation')::int FROM workorders.outbox "
            "WHERE key = $1 AND envelope->>'type' = 'ready_for_render' ORDER BY id DESC LIMIT 1",
            wo,
        )
        assert generation == 2

    async def test_pack_projection_gives_pack_link_and_failure_is_a_state(
        self, gateway: httpx.AsyncClient, publish: Any
    ) -> None:
        wo = await ready_work_order(gateway, publish)
        resp = await status(gateway, wo, "READY_FOR_RENDER", wait=0)
        assert resp.status_code == 201
        pack_id, job_id = str(uuid.uuid4()), str(uuid.uuid4())
        created = await publish(
            FACTORY_PACK,
            "pack_created",
            wo,
            HIGH,
            {
                "work_order_id": wo,
                "pack_id": pack_id,
                "pack_version": 7,
                "template_key": "SBI_UNDER_5CR_V1",
                "report_family": "valuation",
                "status": "generating",
                "job_id": job_id,
                "job_status": "queued",
                "export_bundle_hash": "h",
                "snapshot_version": 2,
                "artifacts": [],
            },
        )
        noop = await gateway.post(
            f"{WO}/{wo}/status",
            json={"status": "READY_FOR_RENDER"},
            headers={"x-zenops-after": f"factory:pack:{wo}:{created.aggregate_version}"},
        )
        assert noop.status_code == 201
        link = noop.json()["pack_link"]
        assert link["pack"] == link["pack"] | {
            "id": pack_id,
            "version": 7,
            "status": "generating",
            "template_key": "SBI_UNDER_5CR_V1",
        }
        assert link["generation_job"]["id"] == job_id
        assert link["generation_job"]["status"] == "queued"
        assert noop.json()["work_order"]["report_pack_id"] == pack_id
        await publish(
            FACTORY_PACK,
            "pack_failed",
            wo,
            HIGH + 1,
            {
                "work_order_id": wo,
                "pack_id": pack_id,
                "job_id": job_id,
                "code": "RENDER_FAILED",
                "reason": "boom",
            },
        )
        seen = await detail(gateway, wo, **{"x-zenops-after": f"factory:pack:{wo}:{HIGH + 1}"})
        assert seen["work_order"]["pack_state"] == "FAILED"
        assert seen["work_order"]["status"] == "READY_FOR_RENDER"


class TestProjections:
    async def test_billing_state_duplicates_and_stale_versions_change_nothing(
        self, gateway: httpx.AsyncClient, publish: Any, db: Any
    ) -> None:
        wo = await new_work_order_id(gateway)

        def state(hold: str) -> dict[str, Any]:
            return {
                "work_order_id": wo,
                "mode": "CREDIT",
                "account_id": "acct-1",
                "hold": {"id": hold, "status": "active", "amount": 1},
            }

        newer = await publish(
            BILLING_WORK_ORDER_BILLING, "work_order_billing", wo, HIGH + 2, state("hold-new")
        )
        await publish(BILLING_WORK_ORDER_BILLING, "work_order_billing", wo, HIGH + 1, state("hold-old"))
        await publish(
            BILLING_WORK_ORDER_BILLING,
            "work_order_billing",
            wo,
            HIGH + 2,
            state("hold-dup"),
            message_id=newer.message_id,
        )
        seen = await detail(gateway, wo, **{"x-zenops-after": f"billing:work-order-billing:{wo}:{HIGH + 2}"})
        assert seen["work_order"]["billing"]["reservation_id"] == "hold-new"
        assert seen["work_order"]["billing"]["mode_cache"] == "CREDIT"

        async def _all_seen() -> bool:
            n = await db(
                "SELECT count(*) FROM workorders.inbox WHERE consumer = 'workorders' AND topic = $1 "
                "AND message_id = ANY($2::uuid[])",
                BILLING_WORK_ORDER_BILLING,
                [uuid.UUID(newer.message_id)],
            )
            return bool(n == 1)

        await eventually(_all_seen, what="inbox row")
        await asyncio.sleep(1.0)  # the stale and the duplicate had time to arrive
        assert (await detail(gateway, wo))["work_order"]["billing"]["reservation_id"] == "hold-new"
        assert (
            await db(
                "SELECT source_version FROM workorders.billing_projection WHERE work_order_id = $1",
                uuid.UUID(wo),
            )
            == HIGH + 2
        )

    async def test_evidence_notes_become_comments_once_and_readiness_is_republished(
        self, gateway: httpx.AsyncClient, publish: Any, db: Any
    ) -> None:
        wo = await new_work_order_id(gateway)
        note = {
            "note_id": f"note-{uuid.uuid4()}",
            "body": "Evidence profile selected: p1",
            "created_at": "2026-01-01T00:00:00.000Z",
        }
        other = {
            "note_id": f"note-{uuid.uuid4()}",
            "body": "Field evidence links updated",
            "created_at": "2026-01-01T00:00:01.000Z",
        }
        items = [photo(str(uuid.uuid4()), None, "2026-01-01T00:00:00.000Z")]
        await publish(
            EVIDENCE_WORK_ORDER_EVIDENCE, "evidence_state", wo, HIGH, evidence_state(wo, items, notes=[note])
        )
        await publish(
            EVIDENCE_WORK_ORDER_EVIDENCE,
            "evidence_state",
            wo,
            HIGH + 1,
            evidence_state(
                wo, items, notes=[note, other], evidence_version=2, linked_field_keys=["party.bank_name"]
            ),
        )
        seen = await detail(
            gateway, wo, **{"x-zenops-after": f"evidence:work-order-evidence:{wo}:{HIGH + 1}"}
        )
        ours = [c for c in seen["comments"] if c["note_id"] in (note["note_id"], other["note_id"])]
        assert sorted(c["body"] for c in ours) == sorted([note["body"], other["body"]])
        assert all(c["comment_type"] == "NOTES" for c in ours)
        assert seen["evidence_version"] == 2
        assert len(seen["evidence_items"]) == 1
        assert "party.bank_name" not in seen["readiness"]["missing_field_evidence_links"]
        changed = await db(
            "SELECT envelope->'payload'->>'evidence_version' FROM workorders.outbox WHERE key = $1 "
            "AND envelope->>'type' = 'readiness_changed' ORDER BY id DESC LIMIT 1",
            wo,
        )
        assert changed == "2"


class TestCommentsAndTenancy:
    async def test_comments_are_listed_newest_first_and_blank_is_400(
        self, gateway: httpx.AsyncClient
    ) -> None:
        wo = await new_work_order_id(gateway)
        first = await gateway.post(
            f"{WO}/{wo}/comments", json={"comment_type": "JUSTIFICATION", "body": "one"}
        )
        assert first.status_code == 201
        assert set(first.json()) >= {"id", "comment_type", "body", "created_by_user_id", "created_at"}
        await gateway.post(f"{WO}/{wo}/comments", json={"comment_type": "ENCLOSURES", "body": "two"})
        listed = (await gateway.get(f"{WO}/{wo}/comments")).json()["items"]
        assert [c["body"] for c in listed] == ["two", "one"]
        for bad in (
            {"comment_type": "NOTES", "body": "  "},
            {"comment_type": "NOPE", "body": "x"},
            {"comment_type": "NOTES"},
        ):
            assert (await gateway.post(f"{WO}/{wo}/comments", json=bad)).status_code == 400
        assert len((await gateway.get(f"{WO}/{wo}/comments")).json()["items"]) == 2

    async def test_another_tenant_sees_nothing(
        self, gateway: httpx.AsyncClient, other_tenant: httpx.AsyncClient
    ) -> None:
        tag = uuid.uuid4().hex[:8]
        wo = await new_work_order_id(gateway, bank_name=f"Private Bank {tag}")
        assert (await gateway.patch(f"{WO}/{wo}/contract", json=VALUATION_CONTRACT_PATCH)).status_code == 200
        assert (await other_tenant.get(f"{WO}/{wo}")).status_code == 404
        assert (await other_tenant.get(f"{WO}/{wo}/export")).status_code == 404
        assert (await other_tenant.get(f"{WO}/{wo}/comments")).status_code == 404
        assert (
            await other_tenant.patch(f"{WO}/{wo}/contract", json=VALUATION_CONTRACT_PATCH)
        ).status_code == 404
        assert (await status(other_tenant, wo, "CANCELLED")).status_code == 404
        assert (await other_tenant.get(WO, params={"search": tag})).json()["items"] == []
        assert (await other_tenant.get(WO, params={"search": wo})).json()["items"] == []
        assert (await detail(gateway, wo))["work_order"]["org_id"] == TEST_TENANT
