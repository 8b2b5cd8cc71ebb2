"""The factory on the real stack: bridge, worker, release gate, downloads (vectors G adapted to events).

Foreign events (workorders, billing) are published by the tests to the same contracts; everything the
factory does — consume, render, record, publish, serve — runs in its real processes.
"""

from __future__ import annotations

import hashlib
import io
import json
import uuid
import zipfile
from typing import Any

import docx
import pytest

from devstack.testing.fixtures import TEST_TENANT
from devstack.testing.gateway import eventually
from factory_service.handlers.generation_job import stamp_of
from factory_service.rendering.docx_renderer import render_report_docx
from shared.contracts.factory import GenerationRequested
from shared.contracts.topics import BILLING_GATE_OUTCOME, WORKORDERS_WORK_ORDER
from shared.stable_json import stable_dumps

pytestmark = pytest.mark.stack

OPERATOR = {"roles": ("repogen_factory",), "capabilities": ()}
PORTAL = {"aud": "portal", "roles": ("portal_user",), "capabilities": ()}


class TestPackBridge:
    async def test_fac_01_duplicate_ready_for_render_creates_pack_job_artifact_once(self, kit: Any) -> None:
        wo = str(uuid.uuid4())
        await kit.created(wo)
        first = await kit.ready(wo)
        await kit.resend(WORKORDERS_WORK_ORDER, first)  # redelivery: same message id
        event = kit.ready_event(wo)
        await kit.publish(event, key=wo, version=kit.next_version(wo))  # a newer message, same render
        pack = await kit.wait_generated(wo)

        packs = await kit.packs(wo)
        assert len(packs) == 1
        assert (pack["version"], pack["template_key"], pack["report_family"]) == (
            1,
            "SBI_UNDER_5CR_V1",
            "valuation",
        )
        context = json.loads(pack["context_snapshot"])
        assert context["source"] == "repogen_factory_bridge"
        assert context["snapshot_version"] == 2
        assert context["template_selector"] == "SBI_FORMAT_A"
        assert context["value_slab"] == "LT_5CR"
        assert bytes(pack["export_bundle"]) == stable_dumps(first.payload["export_bundle"]).encode()
        jobs = await kit.fetch(
            "SELECT * FROM factory.report_generation_jobs WHERE work_order_id = $1", uuid.UUID(wo)
        )
        assert len(jobs) == 1
        assert jobs[0]["idempotency_key"] == f"repogen_factory_generate:{wo}:v2"
        assert (jobs[0]["status"], jobs[0]["attempts"]) == ("completed", 1)

        artifacts = {
            r["kind"]: r
            for r in await kit.fetch(
                "SELECT * FROM factory.report_pack_artifacts WHERE report_pack_id = $1", pack["id"]
            )
        }
        assert set(artifacts) == {"debug_json", "docx", "pdf", "qa_cover_sheet"}
        debug = artifacts["debug_json"]
        bundle_hash = first.payload["export_bundle_hash"]
        assert debug["filename"] == "repogen-export-bundle-v2.json"
        assert debug["storage_ref"] == f"repogen://work-orders/{wo}/snapshots/2/export-bundle"
        assert debug["checksum_sha256"] == bundle_hash
        assert debug["size_bytes"] == len(stable_dumps(first.payload["export_bundle"]).encode())
        assert kit.blobs.get(debug["blob_key"]) == bytes(pack["export_bundle"])
        docx_row = artifacts["docx"]
        assert docx_row["filename"] == "SBI_UNDER_5CR_V1-v1.docx"  # WRK-01
        meta = json.loads(docx_row["metadata_json"])  # WRK-03
        assert meta["repogen_factory"] is True
        assert (meta["work_order_id"], meta["snapshot_version"]) == (wo, 2)
        assert (meta["template_selector"], meta["export_bundle_hash"]) == ("SBI_FORMAT_A", bundle_hash)
        actions = await kit.audit_actions(wo)
        assert actions == [
            "pack_created",
            "generation_requested",
            "generation_started",
            "generation_completed",
        ]

        types = await kit.outbox_types(wo)
        assert types == ["pack_created", "pack_generated"]
        generated = await kit.fetch(
            "SELECT envelope FROM factory.outbox WHERE key = $1 AND envelope->>'type' = 'pack_generated'", wo
        )
        payload = json.loads(generated[0]["envelope"])["payload"]
        assert {a["kind"]: a["checksum_sha256"] for a in payload["artifacts"]} == {
            "debug_json": bundle_hash,
            "docx": docx_row["checksum_sha256"],
            "pdf": artifacts["pdf"]["checksum_sha256"],
            "qa_cover_sheet": artifacts["qa_cover_sheet"]["checksum_sha256"],
        }

    async def test_bundle_not_matching_its_hash_is_a_recorded_pack_failure(self, kit: Any) -> None:
        wo = str(uuid.uuid4())
        await kit.created(wo)
        await kit.ready(wo, bad_hash=True)

        async def failed() -> list[str] | None:
            types = await kit.outbox_types(wo)
            return types if "pack_failed" in types else None

        assert await eventually(failed, "pack_failed in the outbox", within_s=60) == ["pack_failed"]
        packs = await kit.packs(wo)
        assert [(p["status"], p["failure_code"]) for p in packs] == [
            ("failed", "EXPORT_BUNDLE_HASH_MISMATCH")
        ]
        assert await kit.job(packs[0]["id"]) is None
        async with kit.client(**OPERATOR) as client:
            view = (await client.get(f"/v1/repogen/work-orders/{wo}/pack")).json()
            assert (view["pack_state"], view["pack"]["failure_code"]) == (
                "FAILED",
                "EXPORT_BUNDLE_HASH_MISMATCH",
            )
            # FAC-04: no completed generation → the release is refused and nothing is written.
            resp = await kit.release(client, wo, {"idempotency_key": kit.key("rel-1")})
        assert (resp.status_code, resp.json()["code"]) == (400, "PACK_GENERATION_NOT_COMPLETED")
        assert await kit.release_count(wo) == 0

    async def test_reopen_supersedes_and_the_next_render_builds_version_2(self, kit: Any) -> None:
        wo, _ = await kit.generated_work_order()
        await kit.reopened(wo, render_generation=2)
        await kit.ready(wo, render_generation=2)
        second = await kit.wait_generated(wo, version=2)
        packs = await kit.packs(wo)
        assert [(p["version"], p["status"]) for p in packs] == [(1, "superseded"), (2, "generated")]
        assert second["render_generation"] == 2
        job = await kit.job(second["id"])
        assert job is not None
        assert job["idempotency_key"] == f"repogen_factory_generate:{wo}:v2:g2"
        async with kit.client(**OPERATOR) as client:
            view = (await client.get(f"/v1/repogen/work-orders/{wo}/pack")).json()
        assert (view["pack"]["version"], view["pack"]["id"]) == (2, str(second["id"]))
        assert [a["filename"] for a in view["pack"]["artifacts"] if a["kind"] == "docx"] == [
            "SBI_UNDER_5CR_V1-v2.docx"
        ]


class TestGenerationWorker:
    async def test_docx_opens_shows_values_and_matches_a_local_render(self, kit: Any) -> None:
        wo, pack = await kit.generated_work_order()
        async with kit.client(**OPERATOR) as client:
            view = (await client.get(f"/v1/repogen/work-orders/{wo}/pack")).json()
            artifact = next(a for a in view["pack"]["artifacts"] if a["kind"] == "docx")
            resp = await client.get(artifact["download_url"])
        assert resp.status_code == 200
        assert hashlib.sha256(resp.content).hexdigest() == artifact["checksum_sha256"]
        text = "\n".join(p.text for p in docx.Document(io.BytesIO(resp.content)).paragraphs)
        tables = "\n".join(
            c.text for t in docx.Document(io.BytesIO(resp.content)).tables for r in t.rows for c in r.cells
        )
        assert "₹ 35,00,000.00" in text + tables  # FMV
        assert "₹ 33,25,000.00" in text + tables  # realizable
        assert "₹ 28,00,000.00" in text + tables  # distress
        # Decision 24: this process renders the frozen bundle to the very bytes the worker stored.
        local = render_report_docx(
            json.loads(bytes(pack["export_bundle"])),
            template_key="SBI_UNDER_5CR_V1",
            export_bundle_hash=pack["export_bundle_hash"],
            pack_version=1,
            read_blob=kit.blobs.get,
            stamp=stamp_of(pack["verification_code"], json.loads(pack["context_snapshot"])),
        )
        assert hashlib.sha256(local).hexdigest() == artifact["checksum_sha256"]

    async def test_a_render_that_cannot_pass_fails_the_pack_at_its_first_attempt(self, kit: Any) -> None:
        # A bundle that is not JSON fails the same way every time: no retry (issue 14), the attempt
        # still counted (decision 23). Retries of transient errors: tests/unit/handlers/test_generation_job.py.
        wo = str(uuid.uuid4())
        pack_id, job_id = uuid.uuid4(), uuid.uuid4()
        conn_rows = await kit.fetch(
            "WITH p AS (INSERT INTO factory.report_packs (id, tenant_id, work_order_id, template_key, report_family, "
            "version, render_generation, snapshot_version, status, export_bundle, export_bundle_hash) VALUES "
            "($1, $3, $4, 'SBI_UNDER_5CR_V1', 'valuation', 1, 1, 1, 'generating', 'not json'::bytea, 'h') RETURNING id) "
            "INSERT INTO factory.report_generation_jobs (id, tenant_id, report_pack_id, work_order_id, template_key, "
            "report_family, idempotency_key, status, max_attempts) SELECT $2, $3, p.id, $4, 'SBI_UNDER_5CR_V1', "
            "'valuation', $5, 'queued', 3 FROM p RETURNING id",
            pack_id,
            job_id,
            uuid.UUID(TEST_TENANT),
            uuid.UUID(wo),
            f"test-broken-{job_id}",
        )
        assert len(conn_rows) == 1
        request = GenerationRequested(job_id=str(job_id), pack_id=str(pack_id), work_order_id=wo)
        envelope = await kit.publish(request, key=str(job_id), version=1)

        async def finished() -> dict[str, object] | None:
            job = await kit.job(pack_id)
            return dict(job) if job is not None and job["status"] == "failed" else None

        job = await eventually(finished, "the job to fail", within_s=60)
        assert job["attempts"] == 1
        assert job["error_code"] == "RENDER_FAILED"
        packs = await kit.packs(wo)
        assert packs[0]["status"] == "failed"
        assert await kit.outbox_types(wo) == ["pack_failed"]
        actions = await kit.audit_actions(wo)
        assert actions.count("generation_started") == 1
        assert actions.count("generation_attempt_failed") == 0
        assert actions[-1] == "generation_failed"
        # A redelivered request for a finished job changes nothing.
        await kit.resend(GenerationRequested.TOPIC, envelope)
        later = await kit.publish(request, key=str(job_id), version=1)
        await kit.wait_consumed(later.message_id)
        again = await kit.job(pack_id)
        assert again is not None
        assert again["attempts"] == 1


class TestReleaseValidation:
    async def test_fac_05_and_operator_rules_write_nothing(self, kit: Any) -> None:
        wo, _ = await kit.generated_work_order()
        async with kit.client(**OPERATOR) as client:
            blank = await kit.release(client, wo, {"idempotency_key": "   "})
            missing = await kit.release(client, wo, {})
            no_reason = await kit.release(client, wo, {"idempotency_key": "k", "override": True})
            unknown = await kit.release(client, str(uuid.uuid4()), {"idempotency_key": "k"})
        async with kit.client(roles=("valuer",), capabilities=()) as valuer:
            denied = await kit.release(valuer, wo, {"idempotency_key": "k"})
        async with kit.client(**PORTAL) as portal:
            portal_denied = await kit.release(portal, wo, {"idempotency_key": "k"})
        assert (blank.status_code, blank.json()["code"]) == (400, "IDEMPOTENCY_KEY_REQUIRED")
        assert (missing.status_code, missing.json()["code"]) == (400, "IDEMPOTENCY_KEY_REQUIRED")
        assert (no_reason.status_code, no_reason.json()["code"]) == (400, "OVERRIDE_REASON_REQUIRED")
        assert unknown.status_code == 404
        assert (denied.status_code, denied.json()["code"]) == (403, "FACTORY_OPERATOR_ROLE_REQUIRED")
        assert (portal_denied.status_code, portal_denied.json()["code"]) == (
            403,
            "FACTORY_OPERATOR_ROLE_REQUIRED",
        )
        assert await kit.release_count(wo) == 0
        assert "release_requested" not in await kit.outbox_types(wo)

    async def test_no_pack_is_report_pack_not_linked(self, kit: Any) -> None:
        wo = str(uuid.uuid4())
        await kit.created(wo)

        async def projected() -> bool | None:
            rows = await kit.fetch(
                "SELECT 1 FROM factory.work_orders WHERE work_order_id = $1", uuid.UUID(wo)
            )
            return True if rows else None

        await eventually(projected, "the work order projection", within_s=60)
        async with kit.client(**OPERATOR) as client:
            resp = await kit.release(client, wo, {"idempotency_key": "k"})
        assert (resp.status_code, resp.json()["code"]) == (400, "REPORT_PACK_NOT_LINKED")


class TestReleaseThroughBilling:
    """The whole gate through the real billing decider: a work order billing has no invoice for."""

    async def test_blocked_then_override_unlocks_the_evidence_pack(self, kit: Any) -> None:
        wo, _ = await kit.generated_work_order()
        async with kit.client(**OPERATOR) as client:
            blocked = await kit.release(client, wo, {"idempotency_key": kit.key("release-blocked")})
            assert blocked.status_code == 201, blocked.text
            body = blocked.json()
            assert (body["idempotent"], body["blocked"]) == (False, True)
            assert body["release"]["billing_gate_result"] == "BLOCKED"
            assert body["release"]["metadata_json"]["blocked_reason"] == "service_invoice_missing"
            assert body["release"]["metadata_json"]["decision_id"]
            assert blocked.headers["x-zenops-version"].startswith(f"factory:pack:{wo}:")

            # Deliverables stay locked for portal while only a BLOCKED release exists.
            async with kit.client(**PORTAL) as portal:
                locked = await portal.get(f"/v1/repogen/work-orders/{wo}/evidence-pack")
            assert (locked.status_code, locked.json()["code"]) == (
                403,
                "DELIVERABLE_LOCKED_UNTIL_BILLING_SATISFIED",
            )

            reason = "Manual payment proof verified offline"
            override_body = {
                "idempotency_key": kit.key("release-override"),
                "override": True,
                "override_reason": f"  {reason} ",
            }
            override = await kit.release(client, wo, override_body)
            assert override.status_code == 201, override.text
            release = override.json()["release"]
            assert (override.json()["blocked"], release["billing_gate_result"]) == (False, "OVERRIDE")
            assert release["override_reason"] == reason
            assert release["metadata_json"]["blocked_reason"] == "service_invoice_missing_override"

            # A contradicting outcome for a decided release changes nothing.
            late = await kit.gate(wo, release, "BLOCKED", blocked_reason="invoice_unpaid")
            await kit.wait_consumed(late.message_id)
            view = (await client.get(f"/v1/repogen/work-orders/{wo}/pack")).json()
        assert [r["billing_gate_result"] for r in view["deliverable_releases"]] == ["OVERRIDE", "BLOCKED"]
        assert (await kit.outbox_types(wo)).count("release_recorded") == 2
        actions = await kit.audit_actions(wo)
        assert actions.count("deliverables_release_requested") == 2
        assert actions.count("deliverables_release_blocked") == 1
        assert actions.count("deliverables_released") == 1

        async with kit.client(**PORTAL) as portal:
            first = await portal.get(f"/v1/repogen/work-orders/{wo}/evidence-pack")
            second = await portal.get(f"/v1/repogen/work-orders/{wo}/evidence-pack")
        assert first.status_code == 200, first.text
        assert first.content == second.content  # reproducible, though each download is audited
        entries = zipfile.ZipFile(io.BytesIO(first.content))
        assert {
            "export_bundle.json",
            "SBI_UNDER_5CR_V1-v1.docx",
            "SBI_UNDER_5CR_V1-v1.pdf",
            "evidence_manifest.json",
            "releases.json",
            "audit_events.jsonl",
            "verification_checksums.txt",
        } == set(entries.namelist())
        for line in entries.read("verification_checksums.txt").decode().splitlines():
            digest, name = line.split("  ", 1)
            assert hashlib.sha256(entries.read(name)).hexdigest() == digest
        assert [r["billing_gate_result"] for r in json.loads(entries.read("releases.json"))] == [
            "BLOCKED",
            "OVERRIDE",
        ]
        downloads = await kit.fetch(
            "SELECT count(*) AS n FROM factory.report_audit_logs WHERE work_order_id = $1 "
            "AND action = 'evidence_pack_downloaded'",
            uuid.UUID(wo),
        )
        assert downloads[0]["n"] == 2

    async def test_wait_zero_answers_202_with_a_poll_url(self, kit: Any) -> None:
        wo, _ = await kit.generated_work_order()
        async with kit.client(**OPERATOR) as client:
            resp = await kit.release(client, wo, {"idempotency_key": kit.key("rel-slow")}, wait=0)
            assert resp.status_code == 202, resp.text
            body = resp.json()
            assert (body["status"], body["release"]["billing_gate_result"]) == ("PENDING", "PENDING")
            assert body["poll_url"] == f"/v1/repogen/work-orders/{wo}/releases"
            polled = await client.get(body["poll_url"])
        assert polled.status_code == 200
        assert [r["id"] for r in polled.json()["items"]] == [body["release"]["id"]]
        envelope = await kit.fetch(
            "SELECT envelope FROM factory.outbox WHERE key = $1 AND envelope->>'type' = 'release_requested'",
            wo,
        )
        assert len(envelope) == 1
        payload = json.loads(envelope[0]["envelope"])["payload"]
        assert (payload["release_id"], payload["idempotency_key"]) == (
            body["release"]["id"],
            kit.key("rel-slow"),
        )
        assert (payload["override"], payload["job_status"]) == (False, "completed")


class TestGateOutcomes:
    """Every gate result recorded from ``gate_decided``. The PENDING release is written directly so that
    billing's real decider never sees it and the test alone decides the outcome."""

    @pytest.mark.parametrize(
        ("result", "gate", "blocked"),
        [
            ("PAID", {"mode": "POSTPAID"}, False),
            ("CREDIT_CONSUMED", {"mode": "CREDIT", "ledger_entry_ids": ["ledger-1"]}, False),
            ("OVERRIDE", {"mode": "CREDIT", "blocked_reason": "credit_reservation_missing_override"}, False),
            ("BLOCKED", {"mode": "CREDIT", "blocked_reason": "credit_reservation_missing"}, True),
            ("BLOCKED", {"mode": "POSTPAID", "blocked_reason": "invoice_unpaid"}, True),
        ],
    )
    async def test_outcome_is_recorded_and_replayed(
        self, kit: Any, result: str, gate: dict[str, Any], blocked: bool
    ) -> None:
        wo, pack = await kit.generated_work_order()
        await kit.billing(
            wo, mode=gate["mode"], account_id="acct-1", hold={"id": "resv-1", "status": "active", "amount": 1}
        )
        key = f"rel-{uuid.uuid4()}"
        pending = await kit.pending_release(wo, pack["id"], key)
        outcome = await kit.gate(wo, pending, result, **gate)
        decided = await kit.wait_decided(pending["id"])
        assert (decided["billing_gate_result"], decided["billing_mode_at_release"]) == (result, gate["mode"])
        meta = json.loads(decided["metadata_json"])
        assert meta["blocked_reason"] == gate.get("blocked_reason")
        assert meta["credit_consume_ledger_id"] == (gate.get("ledger_entry_ids") or [None])[0]
        await kit.resend(BILLING_GATE_OUTCOME, outcome)  # a redelivered outcome
        async with kit.client(**OPERATOR) as client:
            replay = await kit.release(client, wo, {"idempotency_key": key})
        assert replay.status_code == 201, replay.text
        assert (replay.json()["idempotent"], replay.json()["blocked"]) == (True, blocked)
        assert replay.json()["release"]["billing_gate_result"] == result
        assert (await kit.outbox_types(wo)).count("release_recorded") == 1

    async def test_error_outcome_is_409_with_the_code(self, kit: Any) -> None:
        wo, pack = await kit.generated_work_order()
        pending = await kit.pending_release(wo, pack["id"], kit.key("rel-error"))
        await kit.gate(wo, pending, "ERROR", mode="CREDIT", error_code="RESERVATION_ALREADY_RELEASED")
        decided = await kit.wait_decided(pending["id"])
        assert (decided["billing_gate_result"], decided["error_code"]) == (
            "ERROR",
            "RESERVATION_ALREADY_RELEASED",
        )
        async with kit.client(**OPERATOR) as client:
            replay = await kit.release(client, wo, {"idempotency_key": kit.key("rel-error")})
        assert (replay.status_code, replay.json()["code"]) == (409, "RESERVATION_ALREADY_RELEASED")
        assert replay.json()["details"]["release"]["billing_gate_result"] == "ERROR"
        actions = await kit.audit_actions(wo)
        assert actions[-1] == "deliverables_release_failed"

    async def test_decision_8_key_scope_and_prior_success(self, kit: Any) -> None:
        wo, pack = await kit.generated_work_order()
        pending = await kit.pending_release(wo, pack["id"], kit.key("release-credit-1"))
        await kit.gate(wo, pending, "CREDIT_CONSUMED", mode="CREDIT", ledger_entry_ids=["ledger-1"])
        await kit.wait_decided(pending["id"])
        other_wo, _ = await kit.generated_work_order()
        async with kit.client(**OPERATOR) as client:
            again = await kit.release(client, wo, {"idempotency_key": kit.key("release-credit-1")})
            newer = await kit.release(client, wo, {"idempotency_key": kit.key("release-credit-2")})
            newer_again = await kit.release(client, wo, {"idempotency_key": kit.key("release-credit-2")})
            reused = await kit.release(client, other_wo, {"idempotency_key": kit.key("release-credit-1")})
        assert again.status_code == 201
        assert (again.json()["idempotent"], again.json()["release"]["id"]) == (True, pending["id"])
        assert newer.status_code == 201
        assert (newer.json()["idempotent"], newer.json()["release"]["id"]) == (True, pending["id"])
        assert newer.json()["release"]["billing_gate_result"] == "CREDIT_CONSUMED"
        assert newer_again.json()["release"]["id"] == pending["id"]
        assert newer_again.json()["recorded_release_id"] == newer.json()["recorded_release_id"]
        assert (reused.status_code, reused.json()["code"]) == (409, "IDEMPOTENCY_KEY_REUSED")
        rows = await kit.fetch(
            "SELECT id::text, idempotency_key, prior_release_id::text FROM factory.deliverable_releases "
            "WHERE work_order_id = $1 ORDER BY created_at",
            uuid.UUID(wo),
        )
        assert [(r["idempotency_key"], r["prior_release_id"]) for r in rows] == [
            (kit.key("release-credit-1"), None),
            (kit.key("release-credit-2"), pending["id"]),
        ]
        assert rows[1]["id"] == newer.json()["recorded_release_id"]
        assert "release_requested" not in await kit.outbox_types(wo)  # billing is never asked again
        assert await kit.release_count(other_wo) == 0

    async def test_a_pending_release_makes_a_new_key_wait(self, kit: Any) -> None:
        wo, pack = await kit.generated_work_order()
        pending = await kit.pending_release(wo, pack["id"], kit.key("rel-first"))
        async with kit.client(**OPERATOR) as client:
            busy = await kit.release(client, wo, {"idempotency_key": kit.key("rel-second")})
        assert (busy.status_code, busy.json()["code"]) == (409, "RELEASE_IN_PROGRESS")
        assert busy.json()["details"]["release_id"] == pending["id"]
        assert await kit.release_count(wo) == 1


class TestPackView:
    async def test_fac_10_billing_gate_status_and_create_pack_is_idempotent(
        self, kit: Any, fac10_gate_status: dict[str, Any]
    ) -> None:
        wo, pack = await kit.generated_work_order()
        await kit.billing(
            wo, mode="CREDIT", account_id="acct-1", hold={"id": "resv-1", "status": "active", "amount": 1}
        )
        async with kit.client(**OPERATOR) as client:

            async def projected() -> dict[str, Any] | None:
                view = (await client.get(f"/v1/repogen/work-orders/{wo}/pack")).json()
                return view if view["billing_gate_status"]["mode"] == "CREDIT" else None

            view = await eventually(projected, "the CREDIT billing projection", within_s=60)
            created = await client.post(f"/v1/repogen/work-orders/{wo}/create-pack", json={})
        gate = {k: v for k, v in view["billing_gate_status"].items() if k != "source_version"}
        assert gate == fac10_gate_status
        assert (view["work_order_status"], view["readiness_score"]) == ("READY_FOR_RENDER", 100)
        assert view["generation_job"]["status"] == "completed"
        assert created.status_code == 201, created.text
        assert (created.json()["idempotent"], created.json()["queue_enqueued"]) == (True, False)
        assert created.json()["pack_link"]["pack"]["id"] == str(pack["id"])
        assert len(await kit.packs(wo)) == 1

    async def test_operator_preview_is_allowed_and_portal_is_locked_before_release(self, kit: Any) -> None:
        wo, _ = await kit.generated_work_order()
        async with kit.client(**OPERATOR) as client:
            view = (await client.get(f"/v1/repogen/work-orders/{wo}/pack")).json()
            url = next(a["download_url"] for a in view["pack"]["artifacts"] if a["kind"] == "docx")
            preview = await client.get(url)
        async with kit.client(**PORTAL) as portal:
            locked = await portal.get(url)
        assert preview.status_code == 200
        assert (locked.status_code, locked.json()["code"]) == (
            403,
            "DELIVERABLE_LOCKED_UNTIL_BILLING_SATISFIED",
        )
        audit = await kit.fetch(
            "SELECT metadata_json FROM factory.report_audit_logs WHERE work_order_id = $1 AND action = 'artifact_downloaded'",
            uuid.UUID(wo),
        )
        assert [json.loads(a["metadata_json"])["preview"] for a in audit] == [True]
