"""Accounts and policies: external keys, upsert (decision 18), credit-mode guard (BIL-10), status view."""

from __future__ import annotations

import hashlib
from dataclasses import replace
from typing import Any

import pytest

from billing_service.domain.accounts import (
    Account,
    AccountStatus,
    AccountType,
    AccountUpsert,
    BillingMode,
    Policy,
    PolicyChange,
    account_status_view,
    change_policy,
    ensure_can_reserve,
    implicit_external_associate_account,
    implicit_tenant_account,
    lookup_key,
    normalize_external_key,
    tenant_account_key,
    upsert_account,
    v1_entity_key,
    v1_invoice_event_idempotency_key,
    v1_invoice_event_key,
)
from billing_service.domain.errors import (
    AccountNotActive,
    AccountTenantMismatch,
    BillingModeNotCredit,
    CreditModeRequiresCredits,
    InvalidExternalKey,
)

TENANT = "11111111-1111-1111-1111-111111111111"


def partner_account(**changes: Any) -> Account:
    """Active account ``acc-1`` of ``v1:partner:10`` in TENANT, with ``changes``."""
    partner = Account(
        id="acc-1",
        tenant_id=TENANT,
        account_type=AccountType.EXTERNAL_ASSOCIATE,
        external_key="v1:partner:10",
        display_name="Partner",
    )
    return replace(partner, **changes)


class TestExternalKeys:
    @pytest.mark.parametrize(
        "key",
        [
            "v1:partner:10",
            "v1:client:abc_1",
            "v1:assignment:a-1",
            "v1:invoice:77",
            "v2:external:user-9",
            f"v2:tenant:{TENANT}",
        ],
    )
    def test_valid_keys_pass_unchanged(self, key: str) -> None:
        assert normalize_external_key(key) == key

    @pytest.mark.parametrize(
        "key",
        [
            "v1:channel:5",
            "tenant:1111",
            "external_associate:seed",
            "v3:tenant:x",
            "v1:partner:",
            "v1:partner:a b",
        ],
    )
    def test_invalid_keys_are_rejected_with_the_original_message(self, key: str) -> None:
        with pytest.raises(InvalidExternalKey) as exc:
            normalize_external_key(key)
        assert exc.value.message == (
            "external_key must match v1:{partner|client|assignment|invoice}:* or v2:{tenant|external}:*"
        )
        assert exc.value.status == 400

    def test_tenant_uuid_is_canonicalised_so_derived_and_sent_keys_match(self) -> None:
        upper = "  v2:tenant:AAAAAAAA-AAAA-AAAA-AAAA-AAAAAAAAAAAA "
        assert normalize_external_key(upper) == tenant_account_key("aaaaaaaa-aaaa-aaaa-aaaa-aaaaaaaaaaaa")

    @pytest.mark.parametrize(
        ("sent", "stored"),
        [
            ("v1:external_associate:77", "v1:partner:77"),
            ("v1:referral_channel:77", "v1:partner:77"),
            (" v1:Partner:77 ", "v1:partner:77"),
            ("v1:EXTERNAL_ASSOCIATE:Ab-7", "v1:partner:Ab-7"),
            ("v1:Client:9", "v1:client:9"),
        ],
    )
    def test_v1_aliases_name_the_partner_account(self, sent: str, stored: str) -> None:
        assert normalize_external_key(sent) == stored
        assert lookup_key(sent) == stored

    @pytest.mark.parametrize("key", ["v1:channel:5", "v1:entity:5", "v1:partner:", "tenant:1", "", "v1:"])
    def test_a_key_outside_the_grammar_names_no_account(self, key: str) -> None:
        assert lookup_key(key) is None

    def test_v1_01_entity_key_normalisation_roundtrip(self) -> None:
        key = v1_entity_key("external_associate", 77)
        assert key == "v1:partner:77"
        _version, kind, ident = key.split(":")
        assert (kind, int(ident)) == ("partner", 77)
        assert lookup_key(key) == key
        assert v1_entity_key("referral_channel", 5) == v1_entity_key(" Partner ", 5) == "v1:partner:5"
        assert [v1_entity_key(t, 1) for t in ("client", "assignment", "invoice", "channel", "")] == [
            "v1:client:1",
            "v1:assignment:1",
            "v1:invoice:1",
            "v1:channel:1",
            "v1:entity:1",
        ]
        assert lookup_key(v1_entity_key("channel", 1)) is None  # V2 has no channel accounts (§8.1)

    def test_v1_04_invoice_event_idempotency_key(self) -> None:
        digest = hashlib.sha256(b"v1|invoice_paid|42|7|PAID|2026-01-01T00:00:00|0.00").hexdigest()[:16]
        key = v1_invoice_event_idempotency_key("invoice_paid", 42, 7, "PAID", "2026-01-01T00:00:00", "0.00")
        assert key == f"v1:invoice_paid:42:7:{digest}"
        created = v1_invoice_event_idempotency_key(
            "invoice_created", 42, None, "DRAFT", "2026-01-01", "10.00"
        )
        assert created.startswith("v1:invoice_created:42:0:")
        assert len(created.rsplit(":", 1)[1]) == 16

    def test_v1_invoice_key_precedence(self) -> None:
        assert v1_invoice_event_key("p1", "c1", "a1", "i1") == "v1:partner:p1"
        assert v1_invoice_event_key(None, "c1", "a1", "i1") == "v1:client:c1"
        assert v1_invoice_event_key(None, None, "a1", "i1") == "v1:assignment:a1"
        assert v1_invoice_event_key(None, None, None, "i1") == "v1:invoice:i1"


class TestUpsert:
    def _req(self, tenant: str = TENANT, terms: int | None = None) -> AccountUpsert:
        return AccountUpsert(
            tenant_id=tenant,
            account_type=AccountType.EXTERNAL_ASSOCIATE,
            display_name="Partner 10",
            external_key="v1:partner:10",
            payment_terms_days=terms,
        )

    def test_creates_active_account_with_default_terms(self) -> None:
        acc = upsert_account(None, self._req(), new_account_id="acc-1")
        assert (acc.id, acc.status, acc.payment_terms_days, acc.external_key) == (
            "acc-1",
            AccountStatus.ACTIVE,
            15,
            "v1:partner:10",
        )

    def test_decision_18_never_moves_tenant(self) -> None:
        acc = upsert_account(None, self._req(), new_account_id="acc-1")
        with pytest.raises(AccountTenantMismatch) as exc:
            upsert_account(acc, self._req(tenant="22222222-2222-2222-2222-222222222222"), new_account_id="x")
        assert exc.value.code == "ACCOUNT_TENANT_MISMATCH"
        assert exc.value.status == 409

    def test_decision_18_never_silently_reactivates(self) -> None:
        suspended = partner_account(
            account_type=AccountType.TENANT,
            display_name="Old",
            status=AccountStatus.SUSPENDED,
            payment_terms_days=30,
        )
        updated = upsert_account(suspended, self._req(terms=7), new_account_id="unused")
        assert updated.status is AccountStatus.SUSPENDED
        assert (updated.id, updated.display_name, updated.payment_terms_days) == ("acc-1", "Partner 10", 7)
        assert updated.account_type is AccountType.EXTERNAL_ASSOCIATE

    def test_omitted_terms_keep_stored_terms(self) -> None:
        acc = upsert_account(None, self._req(terms=30), new_account_id="acc-1")
        assert upsert_account(acc, self._req(), new_account_id="x").payment_terms_days == 30

    def test_implicit_accounts(self) -> None:
        tenant = implicit_tenant_account(TENANT)
        assert (tenant.external_key, tenant.display_name, tenant.payment_terms_days) == (
            f"v2:tenant:{TENANT}",
            f"Tenant {TENANT}",
            15,
        )
        assoc = implicit_external_associate_account(TENANT, "u-1")
        assert (assoc.external_key, assoc.display_name, assoc.payment_terms_days) == (
            "v2:external:u-1",
            "External Associate u-1",
            7,
        )


class TestPolicy:
    def test_bil_10_enabling_credit_needs_available_credits(self) -> None:
        with pytest.raises(CreditModeRequiresCredits) as exc:
            change_policy(Policy(), PolicyChange(billing_mode=BillingMode.CREDIT), available_credits=0)
        assert exc.value.message == "available credits must be > 0 before enabling CREDIT mode"
        assert exc.value.status == 409

    def test_force_enables_credit_and_emits_mode_event(self) -> None:
        result = change_policy(
            Policy(),
            PolicyChange(billing_mode=BillingMode.CREDIT, force_enable_credit=True),
            available_credits=0,
        )
        assert result.policy.billing_mode is BillingMode.CREDIT
        assert result.mode_event is not None
        assert result.mode_event.event_type == "credit_mode_enabled"
        assert result.mode_event.payload() == {
            "previous_mode": "POSTPAID",
            "next_mode": "CREDIT",
            "force_enable_credit": True,
        }

    def test_staying_in_credit_is_not_a_switch(self) -> None:
        result = change_policy(
            Policy(billing_mode=BillingMode.CREDIT),
            PolicyChange(billing_mode=BillingMode.CREDIT, payment_terms_days=30),
            available_credits=0,
        )
        assert result.mode_event is None
        assert result.policy.payment_terms_days == 30

    def test_disabling_credit_emits_disabled_event(self) -> None:
        result = change_policy(
            Policy(billing_mode=BillingMode.CREDIT),
            PolicyChange(billing_mode=BillingMode.POSTPAID),
            available_credits=3,
        )
        assert result.mode_event is not None
        assert result.mode_event.event_type == "credit_mode_disabled"

    def test_bil_09_reserve_preconditions(self) -> None:
        with pytest.raises(BillingModeNotCredit):
            ensure_can_reserve(AccountStatus.ACTIVE, True, BillingMode.POSTPAID)
        with pytest.raises(AccountNotActive):
            ensure_can_reserve(AccountStatus.SUSPENDED, True, BillingMode.CREDIT)
        with pytest.raises(AccountNotActive):
            ensure_can_reserve(AccountStatus.ACTIVE, False, BillingMode.CREDIT)


def test_status_view_shape() -> None:
    view = account_status_view(
        partner_account(), Policy(billing_mode=BillingMode.CREDIT), wallet=2, reserved=1, available=1
    )
    assert view == {
        "account_id": "acc-1",
        "tenant_id": TENANT,
        "account_type": "EXTERNAL_ASSOCIATE",
        "external_key": "v1:partner:10",
        "display_name": "Partner",
        "account_status": "ACTIVE",
        "billing_mode": "CREDIT",
        "payment_terms_days": 15,
        "credit_cost_model": "FLAT",
        "currency": "INR",
        "is_enabled": True,
        "credit": {"wallet": 2, "reserved": 1, "available": 1},
    }
