"""Unit tests of the pure read-model helpers (``workorders_service.domain.readmodel``)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import pytest

from devstack.testing.data import hash01_bundle
from shared.stable_json import stable_sha256
from workorders_service.domain.contract import ContractValidationError, default_contract
from workorders_service.domain.model import EvidenceProjection, PackProjection, Snapshot
from workorders_service.domain.readmodel import (
    billing_block,
    build_export_bundle,
    clamp_score,
    compute_readiness,
    export_bundle_hash,
    has_successful_release,
    iso,
    newest_first,
    pack_link,
    pack_state,
    sort_evidence,
)


def item(item_id: str, order: int | None, created_at: str, **extra: Any) -> dict[str, Any]:
    return {
        "id": item_id,
        "evidence_type": "PHOTO",
        "annexure_order": order,
        "created_at": created_at,
        **extra,
    }


def sbi_valuation_readiness(
    *,
    bank_name: str = "SBI",
    latest_contract: dict[str, Any] | None = None,
    rule_warnings: Sequence[str] = (),
    evidence: EvidenceProjection | None = None,
) -> dict[str, Any]:
    """The current readiness of an SBI valuation from these inputs."""
    return compute_readiness(
        report_type="VALUATION",
        bank_type="SBI",
        bank_name=bank_name,
        latest_contract=latest_contract,
        rule_warnings=rule_warnings,
        evidence=evidence,
    )


class TestEvidenceOrdering:
    def test_annexure_order_ascending_nulls_last_then_created_at_then_id(self) -> None:
        items = [
            item("e", None, "2026-01-01T00:00:00.000Z"),
            item("d", 2, "2026-01-01T00:00:00.000Z"),
            item("c", 1, "2026-01-02T00:00:00.000Z"),
            item("b", 1, "2026-01-01T00:00:00.000Z"),
            item("a", 1, "2026-01-01T00:00:00.000Z"),
            item("f", None, "2025-12-31T00:00:00.000Z"),
        ]
        assert [i["id"] for i in sort_evidence(items)] == ["a", "b", "c", "d", "f", "e"]

    def test_order_ten_sorts_after_two_numerically(self) -> None:
        items = [item("x", 10, "t"), item("y", 2, "t")]
        assert [i["id"] for i in sort_evidence(items)] == ["y", "x"]

    def test_newest_first(self) -> None:
        rows = [{"id": "1", "created_at": "2026-01-01"}, {"id": "2", "created_at": "2026-01-03"}]
        assert [r["id"] for r in newest_first(rows)] == ["2", "1"]


class TestScoresAndTimes:
    @pytest.mark.parametrize(("score", "expected"), [(-5, 0), (0, 0), (80, 80), (100, 100), (125, 100)])
    def test_clamp(self, score: int, expected: int) -> None:
        assert clamp_score({"completeness_score": score}) == expected

    def test_clamp_without_readiness(self) -> None:
        assert clamp_score(None) is None
        assert clamp_score({}) is None

    def test_iso_is_utc_with_milliseconds(self) -> None:
        assert iso(datetime(2026, 2, 24, 10, 0, 0, 123456, tzinfo=UTC)) == "2026-02-24T10:00:00.123Z"
        assert iso(None) is None


class TestBillingBlock:
    def test_empty_projection_has_the_original_null_shape(self) -> None:
        block = billing_block(None)
        assert {
            k: block[k] for k in ("mode_cache", "account_id", "reservation_id", "service_invoice_id", "hooks")
        } == {
            "mode_cache": None,
            "account_id": None,
            "reservation_id": None,
            "service_invoice_id": None,
            "hooks": {},
        }

    def test_accepted_credit_state(self) -> None:
        block = billing_block(
            {
                "mode": "CREDIT",
                "account_id": "acct-1",
                "hold": {"id": "res-1", "status": "active", "amount": 1},
                "acceptance": {"status": "ACCEPTED", "decided_at": "2026-01-01T00:00:00.000Z"},
            }
        )
        assert (block["mode_cache"], block["account_id"], block["reservation_id"]) == (
            "CREDIT",
            "acct-1",
            "res-1",
        )
        assert block["hooks"] == {
            "acceptance_billed_at": "2026-01-01T00:00:00.000Z",
            "acceptance_billing_mode": "CREDIT",
        }

    @pytest.mark.parametrize(
        ("last_gate", "releases", "expected"),
        [
            (None, [], False),
            ({"result": "BLOCKED"}, [], False),
            ({"result": "OVERRIDE"}, [], True),
            (None, [{"billing_gate_result": "CREDIT_CONSUMED"}], True),
            (None, [{"billing_gate_result": "BLOCKED"}], False),
        ],
    )
    def test_successful_release(self, last_gate: Any, releases: list[dict[str, Any]], expected: bool) -> None:
        assert has_successful_release({"last_gate": last_gate}, releases) is expected


class TestPackState:
    pack = PackProjection(
        pack_id="p1",
        pack_version=1,
        status="generating",
        template_key="SBI_UNDER_5CR_V1",
        job_id="j1",
        job_status="queued",
        created_source_version=3,
        failed_source_version=None,
        source_version=3,
    )

    def test_no_render_requested(self) -> None:
        assert pack_state(None, self.pack) is None

    def test_pending_until_a_pack_newer_than_the_baseline_exists(self) -> None:
        assert pack_state(3, self.pack) == "PENDING"
        assert pack_link(3, self.pack) is None
        assert pack_state(0, None) == "PENDING"

    def test_created_pack_gives_the_link(self) -> None:
        link = pack_link(2, self.pack)
        assert link is not None
        assert (link["pack"]["id"], link["pack"]["version"], link["pack"]["status"]) == (
            "p1",
            1,
            "generating",
        )
        assert link["generation_job"] == {"id": "j1", "status": "queued", "attempts": 0}
        assert pack_state(2, self.pack) == "GENERATING"

    def test_failure_after_creation_is_failed(self) -> None:
        failed = replace(self.pack, failed_source_version=4, status="failed")
        assert pack_state(2, failed) == "FAILED"
        assert (
            pack_state(
                2,
                replace(self.pack, pack_id=None, created_source_version=None, failed_source_version=4),
            )
            == "FAILED"
        )


class TestExportBundle:
    def snapshot(self, contract: dict[str, Any]) -> Snapshot:
        return Snapshot(
            id=uuid.uuid4(),
            tenant_id=uuid.uuid4(),
            work_order_id=uuid.uuid4(),
            version=2,
            contract_json=contract,
            derived_json={"computed_values": {"FMV": 5000000}},
            readiness_json={"completeness_score": 80},
            created_by_user_id=None,
            created_at=datetime(2026, 1, 1, tzinfo=UTC),
        )

    def test_manifest_is_sorted_with_hints_and_documents(self) -> None:
        contract = default_contract()
        eid = "aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa"
        contract["annexures"]["items"] = [{"evidence_item_id": eid, "label": "Front", "sort_order": 1}]
        doc = {
            "id": "d1",
            "original_filename": "a.jpg",
            "content_type": "image/jpeg",
            "size_bytes": 3,
            "extra": 1,
        }
        bundle = build_export_bundle(
            work_order_id="w",
            snapshot=self.snapshot(contract),
            evidence_items=[item("zzz", 2, "t"), item(eid, 1, "t", document=doc)],
        )
        manifest = bundle["evidence_manifest"]
        assert [m["id"] for m in manifest] == [eid, "zzz"]
        assert manifest[0]["annexure_hint"] == {
            "label": "Front",
            "category": None,
            "sort_order": 1,
            "group_hint": None,
        }
        assert manifest[0]["document"]["storage_key"] is None
        assert "extra" not in manifest[0]["document"]
        assert manifest[1]["annexure_hint"] is None
        assert manifest[1]["document"] is None
        assert bundle["annexure_defaults"] == {"min_images_per_page": 2, "max_images_per_page": 4}
        assert bundle["contract_json"] == contract
        assert export_bundle_hash(bundle) == stable_sha256(bundle)

    def test_hash_01_vector(self) -> None:
        bundle = hash01_bundle()
        assert (
            export_bundle_hash(bundle) == "4199866aaed34c4f31459091063f1203e80e49972c5a88b0d7cf15878f202e18"
        )

    def test_invalid_stored_contract_raises(self) -> None:
        with pytest.raises(ContractValidationError):
            build_export_bundle(
                work_order_id="w", snapshot=self.snapshot({"party": {"bank_name": None}}), evidence_items=[]
            )


class TestCurrentReadiness:
    def test_spn01_legacy_readiness_is_80_with_two_photos(self) -> None:
        contract = default_contract()
        contract["meta"] = {"report_type": "VALUATION", "bank_type": "SBI"}
        contract["party"] = {"bank_name": "State Bank of India"}
        contract["property"] |= {"address": "Fixture address", "land_area": {"value": 1000, "unit": "sqft"}}
        contract["valuation_inputs"] = {"guideline_rate_per_sqm": 16145.85}
        readiness = sbi_valuation_readiness(
            bank_name="State Bank of India",
            latest_contract=contract,
            evidence=EvidenceProjection(items=[item("a", 1, "t"), item("b", 2, "t")]),
        )
        assert readiness["completeness_score"] == 80
        assert readiness["missing_evidence"] == ["valuation_photos: need at least 6, found 2"]

    def test_without_snapshot_uses_the_seeded_default_contract(self) -> None:
        readiness = sbi_valuation_readiness()
        assert "Bank name or branch name is required" not in readiness["missing_fields"]
        assert "Property address is required" in readiness["missing_fields"]

    def test_profile_requirements_and_linked_keys_come_from_the_projection(self) -> None:
        readiness = sbi_valuation_readiness(
            rule_warnings=["RULE: x"],
            evidence=EvidenceProjection(
                items=[item("a", None, "t", evidence_type="DOCUMENT", doc_type="SALE_DEED")],
                profile_requirements=[
                    {
                        "id": "s",
                        "evidence_type": "DOCUMENT",
                        "doc_type": "SALE_DEED",
                        "min_count": 1,
                        "is_required": True,
                        "label": "Sale Deed",
                    },
                    {
                        "id": "o",
                        "evidence_type": "PHOTO",
                        "min_count": 5,
                        "is_required": False,
                        "label": "Optional",
                    },
                ],
                linked_field_keys=["party.bank_name"],
            ),
        )
        assert readiness["required_evidence_minimums"] == {"Sale Deed": 1}
        assert readiness["missing_evidence"] == []
        assert readiness["missing_field_evidence_links"] == []
        assert readiness["warnings"][0] == "RULE: x"
