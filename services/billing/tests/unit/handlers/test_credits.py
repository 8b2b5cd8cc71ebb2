"""The credit ledger on fakes: grant, reserve, consume, release and the HTTP credit calls; their usage
events, ``account_status`` versions, idempotent replays and the database's refusals."""

from __future__ import annotations

import pytest

from billing_service import handlers
from billing_service.domain.accounts import BillingMode
from billing_service.domain.errors import (
    BillingError,
    BillingModeNotCredit,
    CreditBalanceInvariantFailed,
    IdempotencyKeyReused,
    InsufficientCredits,
    ReservationAlreadyConsumed,
)
from billing_service.domain.ledger import (
    ConsumeHold,
    CreditBalance,
    GrantCredits,
    LedgerReason,
    ReleaseHold,
    ReserveCredit,
)
from billing_service.repositories import AccountState
from devstack.testing.fakes import FakeUnitOfWork
from services.billing.tests.unit.fakes import FakeBilling
from shared.contracts.billing import AccountStatus as AccountStatusEvent

JOB = ReserveCredit("reserve-1", "job", "j-1", amount=2)


@pytest.fixture
def credit(billing: FakeBilling) -> AccountState:
    """A CREDIT account with five credits."""
    return billing.account(mode=BillingMode.CREDIT, wallet=5)


async def _reserved(uow: FakeUnitOfWork, credit: AccountState) -> str:
    applied = await handlers.reserve_credit(uow, handlers.ReserveAccountCredit(credit.account.id, JOB))
    hold_id = applied.outcome.result.hold_id
    assert hold_id is not None
    return hold_id


class TestGrant:
    async def test_adds_to_the_wallet_records_usage_and_publishes(
        self, billing: FakeBilling, uow: FakeUnitOfWork, credit: AccountState
    ) -> None:
        account_id = credit.account.id
        command = GrantCredits("grant-1", 3, LedgerReason.TOPUP, ref_type="payment", ref_id="p-1")
        applied = await handlers.grant_credits(uow, handlers.GrantAccountCredits(account_id, command))
        assert applied.account.balance == CreditBalance(8, 0, 8)
        assert billing.accounts.states[account_id].balance == CreditBalance(8, 0, 8)
        [entry] = billing.ledger.entry_rows
        assert (entry.delta, entry.reason, entry.tenant_id) == (3, "topup", credit.account.tenant_id)
        [usage] = billing.usage.of_type("credits_granted")
        assert usage.idempotency_key == f"v2:credit_event:{account_id}:grant-1"
        assert usage.payload_json == {"reason": "TOPUP", "amount": 3, "ref_type": "payment", "ref_id": "p-1"}
        [event] = uow.events_of(AccountStatusEvent.TYPE)
        assert event["credit"] == {"wallet": 8, "reserved": 0, "available": 8}
        assert applied.account_version == 1

    async def test_a_replay_changes_nothing(
        self, billing: FakeBilling, uow: FakeUnitOfWork, credit: AccountState
    ) -> None:
        command = handlers.GrantAccountCredits(credit.account.id, GrantCredits("grant-1", 3))
        first = await handlers.grant_credits(uow, command)
        again = await handlers.grant_credits(uow, command)
        assert again.outcome.replayed
        assert again.outcome.result == first.outcome.result
        assert (again.account_version, len(billing.ledger.entry_rows), len(uow.published)) == (1, 1, 1)

    async def test_the_same_key_with_other_parameters_is_refused(
        self, uow: FakeUnitOfWork, credit: AccountState
    ) -> None:
        await handlers.grant_credits(
            uow, handlers.GrantAccountCredits(credit.account.id, GrantCredits("grant-1", 3))
        )
        with pytest.raises(IdempotencyKeyReused):
            await handlers.grant_credits(
                uow, handlers.GrantAccountCredits(credit.account.id, GrantCredits("grant-1", 4))
            )


class TestReserve:
    async def test_takes_a_hold(
        self, billing: FakeBilling, uow: FakeUnitOfWork, credit: AccountState
    ) -> None:
        hold_id = await _reserved(uow, credit)
        hold = billing.ledger.holds[hold_id]
        assert (hold.status, hold.amount, hold.ref_id) == ("active", 2, "j-1")
        assert billing.accounts.states[credit.account.id].balance == CreditBalance(5, 2, 3)
        [usage] = billing.usage.of_type("credit_reserved")
        assert usage.payload_json == {
            "reservation_id": hold_id,
            "amount": 2,
            "ref_type": "job",
            "ref_id": "j-1",
            "operator_override": False,
        }

    @pytest.mark.parametrize(
        ("mode", "wallet", "error"),
        [(BillingMode.CREDIT, 1, InsufficientCredits), (BillingMode.POSTPAID, 5, BillingModeNotCredit)],
    )
    async def test_refusals_write_nothing(
        self,
        billing: FakeBilling,
        uow: FakeUnitOfWork,
        mode: BillingMode,
        wallet: int,
        error: type[BillingError],
    ) -> None:
        state = billing.account(mode=mode, wallet=wallet)
        with pytest.raises(error) as raised:
            await handlers.reserve_credit(uow, handlers.ReserveAccountCredit(state.account.id, JOB))
        assert raised.value.status == 409
        assert (billing.ledger.holds, billing.usage.rows, uow.published) == ({}, {}, [])

    async def test_a_derived_key_collision_is_a_reused_key(
        self, billing: FakeBilling, uow: FakeUnitOfWork, credit: AccountState
    ) -> None:
        # An operator override grants the shortfall under "<key>:override": here a grant's key already.
        await handlers.grant_credits(
            uow, handlers.GrantAccountCredits(credit.account.id, GrantCredits("reserve-1:override", 1))
        )
        overdrawn = ReserveCredit("reserve-1", "job", "j-1", amount=9, operator_override=True)
        with pytest.raises(IdempotencyKeyReused):
            await handlers.reserve_credit(uow, handlers.ReserveAccountCredit(credit.account.id, overdrawn))
        assert billing.ledger.holds == {}

    async def test_any_other_refused_write_is_an_invariant_failure(
        self, billing: FakeBilling, uow: FakeUnitOfWork, credit: AccountState
    ) -> None:
        billing.ledger.refuse_next_write = True
        with pytest.raises(CreditBalanceInvariantFailed):
            await handlers.reserve_credit(uow, handlers.ReserveAccountCredit(credit.account.id, JOB))
        assert (billing.ledger.holds, billing.usage.rows) == ({}, {})


class TestResolve:
    async def test_consume_posts_the_hold(
        self, billing: FakeBilling, uow: FakeUnitOfWork, credit: AccountState
    ) -> None:
        hold_id = await _reserved(uow, credit)
        consume = ConsumeHold("consume-1", hold_id=hold_id)
        applied = await handlers.consume_credit(uow, handlers.ConsumeAccountHold(credit.account.id, consume))
        assert billing.ledger.holds[hold_id].status == "consumed"
        assert applied.account.balance == CreditBalance(3, 0, 3)
        [usage] = billing.usage.of_type("credit_consumed")
        assert usage.payload_json == {"reservation_id": hold_id, "ref_type": None, "ref_id": None}
        with pytest.raises(ReservationAlreadyConsumed):
            await handlers.consume_credit(
                uow, handlers.ConsumeAccountHold(credit.account.id, ConsumeHold("consume-2", hold_id=hold_id))
            )

    async def test_release_by_reference_returns_the_credits(
        self, billing: FakeBilling, uow: FakeUnitOfWork, credit: AccountState
    ) -> None:
        hold_id = await _reserved(uow, credit)
        release = ReleaseHold("release-1", ref_type="job", ref_id="j-1", reason="cancelled")
        applied = await handlers.release_credit(uow, handlers.ReleaseAccountHold(credit.account.id, release))
        assert billing.ledger.holds[hold_id].release_reason == "cancelled"
        assert applied.account.balance == CreditBalance(5, 0, 5)
        assert billing.usage.of_type("credit_released")[0].payload_json == {
            "reservation_id": hold_id,
            "reason": "cancelled",
        }
        assert [e.aggregate_version for e in uow.published] == [1, 2]


class TestHttpCalls:
    async def test_take_hold_reads_back_the_stored_hold(
        self, billing: FakeBilling, uow: FakeUnitOfWork, credit: AccountState
    ) -> None:
        call = await handlers.take_hold(
            uow, handlers.TakeHold(handlers.AccountReference(external_key=credit.account.external_key), JOB)
        )
        assert call.result == billing.ledger.holds[call.result.id]
        assert (call.account_id, call.account_version) == (credit.account.id, 1)

    @pytest.mark.parametrize("operation", ["consume", "release"])
    async def test_settle_hold_by_hold_reads_back_the_entry(
        self, billing: FakeBilling, uow: FakeUnitOfWork, credit: AccountState, operation: str
    ) -> None:
        hold_id = await _reserved(uow, credit)
        settle = (
            ConsumeHold("s-1", hold_id=hold_id)
            if operation == "consume"
            else ReleaseHold("s-1", hold_id=hold_id)
        )
        call = await handlers.settle_hold(
            uow, handlers.SettleHold(handlers.AccountReference(hold_id=hold_id), settle)
        )
        assert call.result.reason == operation
        assert call.result == billing.ledger.entry_rows[-1]
        assert (call.account_id, call.account_version) == (credit.account.id, 2)
