"""The console's pure rules: sessions, queue, contract form, snapshot diff, who sees what."""

from __future__ import annotations

import time
from decimal import Decimal
from typing import Any

import jwt
import pytest
from pydantic import ValidationError

from console_service import contract_form, queue
from console_service.diff import diff
from console_service.sessions import Session, SessionCodec
from console_service.settings import Settings
from console_service.viewer import viewer_of


def token(**claims: Any) -> str:
    base = {
        "sub": "u",
        "aud": "web",
        "tenant_id": "11111111-1111-1111-1111-111111111111",
        "exp": time.time() + 60,
    }
    return jwt.encode(base | claims, "k" * 32, algorithm="HS256")


class TestSessions:
    def test_a_session_round_trips_through_its_cookie(self) -> None:
        codec = SessionCodec("secret", 60)
        session = Session.anonymous().signed_in("tok", "operator")
        assert codec.loads(codec.dumps(session)) == session

    def test_a_forged_or_foreign_cookie_is_no_session(self) -> None:
        value = SessionCodec("secret", 60).dumps(Session.anonymous())
        assert SessionCodec("other secret", 60).loads(value) is None
        assert SessionCodec("secret", 60).loads(value[:-4] + "AAAA") is None
        assert SessionCodec("secret", 60).loads("") is None

    def test_signing_in_rotates_the_csrf_token(self) -> None:
        before = Session.anonymous()
        after = before.signed_in("tok", "x")
        assert after.csrf != before.csrf
        assert after.csrf_ok(after.csrf)
        assert not after.csrf_ok(before.csrf)
        assert not after.csrf_ok(None)


class TestSettings:
    def test_production_refuses_to_start_without_its_secrets(self) -> None:
        with pytest.raises(ValidationError, match=r"ZENOPS_CONSOLE_SECRET, ZENOPS_JWKS_URL"):
            Settings(env="production")

    def test_cookies_are_secure_outside_dev(self) -> None:
        prod = Settings(env="production", console_secret="s", jwks_url="https://idp.example/jwks")  # type: ignore[arg-type]
        assert prod.secure_cookies
        assert not Settings(env="dev").secure_cookies
        assert Settings(env="dev", cookie_secure=True).secure_cookies


class TestViewer:
    def test_only_factory_operators_may_release(self) -> None:
        assert viewer_of(token(roles=["repogen_factory"]), dev=False).can_release
        assert not viewer_of(token(roles=["ops_manager"]), dev=False).can_release
        assert not viewer_of(token(roles=["super_admin"], capabilities=["*"]), dev=False).can_release

    def test_the_portal_audience_may_not_write(self) -> None:
        assert viewer_of(token(roles=["valuer"]), dev=True).can_write
        assert not viewer_of(token(aud="portal"), dev=True).can_write


def item(status: str, *, missing: list[str] | None = None, snapshot: int | None = 2) -> dict[str, Any]:
    readiness = {"missing_fields": missing or [], "missing_evidence": []}
    return {"status": status, "latest_snapshot_version": snapshot, "readiness": readiness, "billing": {}}


class TestQueue:
    def test_unknown_filter_values_are_dropped_and_the_page_is_bounded(self) -> None:
        q = queue.QueueQuery.parse({"status": "nope", "bank_type": "sbi", "page": "-3", "search": " x " * 80})
        assert q.status is None
        assert q.bank_type == "SBI"
        assert q.page == 1
        assert q.search is not None
        assert len(q.search) <= 100

    def test_counts_follow_readiness_and_the_status_filter_pages(self) -> None:
        items = [
            item("DRAFT"),
            item("DRAFT", missing=["x"]),
            item("DATA_PENDING"),
            item("DRAFT", snapshot=None),
        ]
        page = queue.build_page(items, queue.QueueQuery(readiness="ready"), page_size=5)
        assert page.counts["DRAFT"] == 1
        assert page.counts["DATA_PENDING"] == 1
        only = queue.build_page(items, queue.QueueQuery(status="DRAFT"), page_size=2)
        assert only.total == 3
        assert only.pages == 2
        assert len(only.items) == 2

    def test_badges(self) -> None:
        assert queue.readiness_of(item("DRAFT", snapshot=None)) == "no_snapshot"
        assert queue.readiness_of(item("DRAFT", missing=["Land area"])) == "incomplete"
        assert queue.billing_gate_of({"billing": {"reservation_id": "r"}}) == "CREDIT"
        assert queue.pack_of({"report_pack_id": "p"}) == "pack linked"

    def test_links_keep_the_filters(self) -> None:
        assert queue.QueueQuery(bank_type="SBI").link(page=2) == "?bank_type=SBI&page=2"


class TestContractForm:
    def test_a_valid_form_becomes_a_patch_with_money_at_two_decimals(self) -> None:
        patch, errors = contract_form.parse_form(
            {
                "property__address": "Site",
                "property__land_area": "1,200",
                "property__land_area__unit": "sqft",
                "valuation_inputs__land_value": "2000000.505",
                "valuation_inputs__inspection_date": "2026-02-01",
            }
        )
        assert errors == {}
        assert patch["property"] == {
            "address": "Site",
            "land_area": {"value": 1200, "unit": "sqft"},
            "floors": [],
        }
        assert patch["valuation_inputs"]["land_value"] == 2000000.51
        assert patch["valuation_inputs"]["inspection_date"] == "2026-02-01"

    def test_bad_values_are_named_per_field_and_send_nothing(self) -> None:
        patch, errors = contract_form.parse_form(
            {
                "valuation_inputs__land_value": "-1",
                "valuation_inputs__depreciation_percent": "120",
                "valuation_inputs__inspection_date": "2026-02-30",
                "property__land_area": "abc",
                "party__owner_name": "x" * 501,
            }
        )
        assert set(errors) == {
            "valuation_inputs__land_value",
            "valuation_inputs__depreciation_percent",
            "valuation_inputs__inspection_date",
            "property__land_area",
            "party__owner_name",
        }
        assert patch == {}

    def test_json_numbers(self) -> None:
        assert contract_form.json_number(Decimal("12.00")) == 12
        assert contract_form.json_number(Decimal("0.1")) == 0.1

    def test_the_form_shows_the_stored_contract(self) -> None:
        values = contract_form.form_values(
            {"property": {"land_area": {"value": 10, "unit": "sqm"}, "city": "B"}}
        )
        assert values == {
            "property__land_area": "10",
            "property__land_area__unit": "sqm",
            "property__city": "B",
        }

    def test_only_contract_fields_can_be_accepted_from_ocr(self) -> None:
        assert contract_form.patch_for_suggestion("property.survey_no", "1/2") == {
            "property": {"survey_no": "1/2", "floors": []}
        }
        assert contract_form.patch_for_suggestion("document.date", "2020-01-01") is None


class TestDiff:
    def test_changes_between_versions_without_audit_stamps(self) -> None:
        before = {"property": {"address": "A", "floors": []}, "audit": {"snapshot_version": 2}}
        after = {"property": {"address": "B", "city": "C", "floors": []}, "audit": {"snapshot_version": 4}}
        changes = diff(before, after)
        assert [(c.key, c.kind) for c in changes] == [
            ("property.address", "changed"),
            ("property.city", "added"),
        ]
