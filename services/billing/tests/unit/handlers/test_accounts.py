"""Accounts on fakes: lookups (404 facts), create/update by external key, status, policy, and the
``account_status`` event every change publishes."""

from __future__ import annotations

import pytest

from billing_service.domain.accounts import (
    AccountStatus,
    AccountType,
    AccountUpsert,
    BillingMode,
    PolicyChange,
)
from billing_service.domain.errors import (
    AccountNotFound,
    AccountReferenceRequired,
    AccountTenantMismatch,
    CreditModeRequiresCredits,
    ReservationNotFound,
)
from billing_service.domain.ledger import ReserveCredit
from billing_service.handlers import (
    AccountReference,
    ChangeAccountPolicy,
    ReserveAccountCredit,
    SetAccountStatus,
    account_by_key,
    change_account_policy,
    ensure_account,
    lock_account,
    reserve_credit,
    resolve_account_id,
    set_account_status,
    upsert_account_by_key,
)
from devstack.testing.fakes import FakeUnitOfWork
from services.billing.tests.unit.fakes import TENANT, FakeBilling
from shared.contracts.billing import AccountStatus as AccountStatusEvent

UNKNOWN = "99999999-9999-4999-8999-999999999999"


def _upsert(key: str = "v1:partner:acme", **changes: object) -> AccountUpsert:
    values: dict[str, object] = {
        "tenant_id": TENANT,
        "account_type": AccountType.TENANT,
        "display_name": "Acme Bank",
        "external_key": key,
    }
    return AccountUpsert(**{**values, **changes})  # type: ignore[arg-type]  # any field, as **object


class TestLookups:
    async def test_lock_account_takes_the_balance_lock(
        self, billing: FakeBilling, uow: FakeUnitOfWork
    ) -> None:
        state = billing.account()
        assert await lock_account(uow, state.account.id) == state
        assert billing.accounts.locked == [state.account.id]

    async def test_account_by_key_normalizes_the_key(self, billing: FakeBilling, uow: FakeUnitOfWork) -> None:
        state = billing.account("v2:tenant:" + TENANT)
        assert await account_by_key(uow, "  v2:tenant:" + TENANT.upper() + " ") == state.account.id

    @pytest.mark.parametrize(
        ("ref", "error"),
        [
            (AccountReference(account_id=UNKNOWN), AccountNotFound),
            (AccountReference(external_key="v1:partner:nobody"), AccountNotFound),
            (AccountReference(hold_id=UNKNOWN), ReservationNotFound),
            (AccountReference(), AccountReferenceRequired),
        ],
    )
    async def test_unknown_references_are_domain_errors(
        self, uow: FakeUnitOfWork, ref: AccountReference, error: type[Exception]
    ) -> None:
        with pytest.raises(error):
            await resolve_account_id(uow, ref)

    async def test_references_by_id_key_and_hold(self, billing: FakeBilling, uow: FakeUnitOfWork) -> None:
        state = billing.account(mode=BillingMode.CREDIT, wallet=1)
        account_id = state.account.id
        applied = await reserve_credit(
            uow, ReserveAccountCredit(account_id, ReserveCredit("k", "job", "j-1"))
        )
        hold_id = applied.outcome.result.hold_id
        refs = [
            AccountReference(account_id=account_id),
            AccountReference(external_key=state.account.external_key),
            AccountReference(hold_id=hold_id),
        ]
        assert [await resolve_account_id(uow, ref) for ref in refs] == [account_id] * 3


class TestEnsureAccount:
    async def test_creates_with_the_default_policy_and_publishes(
        self, billing: FakeBilling, uow: FakeUnitOfWork
    ) -> None:
        account_id = await ensure_account(uow, _upsert(payment_terms_days=30))
        state = billing.accounts.states[account_id]
        assert (state.account.external_key, state.policy.billing_mode) == (
            "v1:partner:acme",
            BillingMode.POSTPAID,
        )
        assert state.policy.payment_terms_days == 30
        assert state.status_version == 1
        [event] = uow.events_of(AccountStatusEvent.TYPE)
        assert (event["account_id"], event["billing_mode"], event["status"]) == (
            account_id,
            "POSTPAID",
            "ACTIVE",
        )
        assert uow.published[0].aggregate_version == 1

    async def test_an_existing_key_is_returned_unchanged(
        self, billing: FakeBilling, uow: FakeUnitOfWork
    ) -> None:
        state = billing.account()
        assert await ensure_account(uow, _upsert()) == state.account.id
        assert uow.published == []


class TestUpsertByKey:
    async def test_create(self, billing: FakeBilling, uow: FakeUnitOfWork) -> None:
        changed = await upsert_account_by_key(uow, _upsert())
        assert changed.version == 1
        assert changed.state.account.display_name == "Acme Bank"
        assert list(billing.accounts.states) == [changed.state.account.id]

    async def test_update_keeps_status_and_writes_terms_to_the_policy(
        self, billing: FakeBilling, uow: FakeUnitOfWork
    ) -> None:
        state = billing.account(status=AccountStatus.SUSPENDED)
        changed = await upsert_account_by_key(uow, _upsert(display_name="Renamed", payment_terms_days=45))
        stored = billing.accounts.states[state.account.id]
        assert (stored.account.display_name, stored.account.status) == ("Renamed", AccountStatus.SUSPENDED)
        assert (stored.account.payment_terms_days, stored.policy.payment_terms_days) == (45, 45)
        assert changed.version == 1
        assert uow.events_of(AccountStatusEvent.TYPE)[0]["display_name"] == "Renamed"

    async def test_another_tenant_may_not_take_the_key(
        self, billing: FakeBilling, uow: FakeUnitOfWork
    ) -> None:
        billing.account()
        with pytest.raises(AccountTenantMismatch):
            await upsert_account_by_key(uow, _upsert(tenant_id=UNKNOWN))
        assert uow.published == []


async def test_set_account_status(billing: FakeBilling, uow: FakeUnitOfWork) -> None:
    state = billing.account()
    changed = await set_account_status(uow, SetAccountStatus(state.account.id, AccountStatus.SUSPENDED))
    assert changed.state.account.status is AccountStatus.SUSPENDED
    assert uow.events_of(AccountStatusEvent.TYPE)[0]["status"] == "SUSPENDED"
    assert billing.accounts.locked == [state.account.id]


class TestChangePolicy:
    async def test_switching_to_credit_needs_credits(self, billing: FakeBilling, uow: FakeUnitOfWork) -> None:
        state = billing.account()
        with pytest.raises(CreditModeRequiresCredits) as raised:
            await change_account_policy(
                uow, ChangeAccountPolicy(state.account.id, PolicyChange(BillingMode.CREDIT))
            )
        assert raised.value.status == 409
        assert billing.usage.rows == {}

    async def test_a_mode_change_records_its_usage_event(
        self, billing: FakeBilling, uow: FakeUnitOfWork
    ) -> None:
        account_id = billing.account(wallet=3).account.id
        command = ChangeAccountPolicy(
            account_id, PolicyChange(BillingMode.CREDIT), monthly_report_allowance=5, set_allowance=True
        )
        changed = await change_account_policy(uow, command)
        assert (changed.state.policy.billing_mode, changed.state.monthly_report_allowance) == (
            BillingMode.CREDIT,
            5,
        )
        [usage] = billing.usage.of_type("credit_mode_enabled")
        assert usage.payload_json == {
            "previous_mode": "POSTPAID",
            "next_mode": "CREDIT",
            "force_enable_credit": False,
        }
        assert usage.idempotency_key.startswith(f"v2:policy_change:{account_id}:")
        assert uow.events_of(AccountStatusEvent.TYPE)[0]["view"]["monthly_report_allowance"] == 5

    async def test_terms_only_keep_the_allowance_and_record_nothing(
        self, billing: FakeBilling, uow: FakeUnitOfWork
    ) -> None:
        account_id = billing.account(allowance=2).account.id
        command = ChangeAccountPolicy(account_id, PolicyChange(BillingMode.POSTPAID, payment_terms_days=9))
        changed = await change_account_policy(uow, command)
        assert (changed.state.policy.payment_terms_days, changed.state.monthly_report_allowance) == (9, 2)
        assert billing.usage.rows == {}
