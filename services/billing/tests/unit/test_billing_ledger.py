"""Credits ledger: vectors BIL-01..05, 08, 09, 12 and decisions 17 and 31, as pure decisions."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

import pytest

from billing_service.domain.accounts import AccountStatus, BillingMode
from billing_service.domain.credit_book import CreditBook
from billing_service.domain.errors import (
    AccountNotActive,
    ActiveReservationExists,
    AmountNotPositive,
    BillingError,
    BillingModeNotCredit,
    CreditBalanceInvariantFailed,
    IdempotencyKeyRequired,
    IdempotencyKeyReused,
    InsufficientCredits,
    InvalidConsumeAmount,
    InvalidGrantReason,
    ReservationAlreadyConsumed,
    ReservationAlreadyReleased,
    ReservationExpired,
    ReservationNotFound,
)
from billing_service.domain.ledger import (
    WORK_ORDER_REF_TYPE,
    ConsumeHold,
    CreditAccount,
    CreditBalance,
    GrantCredits,
    Hold,
    HoldStatus,
    LedgerReason,
    ReconcileKind,
    ReferenceState,
    ReleaseHold,
    ReserveCredit,
    consume,
    hold_expiry,
    reconcile_action,
)

Ids = Callable[[], str]
CREDIT_ACC = CreditAccount("acc-1", AccountStatus.ACTIVE, BillingMode.CREDIT)


def book_with_wallet(n: int, ids: Ids, account: CreditAccount = CREDIT_ACC) -> CreditBook:
    book = CreditBook(account=account)
    if n:
        book, _ = book.grant(GrantCredits(idempotency_key="seed", amount=n), ids)
    return book


def balance(book: CreditBook) -> tuple[int, int, int]:
    return (book.balance.wallet, book.balance.reserved, book.balance.available)


def channel_reserve(key: str, ref_id: str = "cr-1", amount: int = 1, override: bool = False) -> ReserveCredit:
    return ReserveCredit(
        idempotency_key=key,
        ref_type="channel_request",
        ref_id=ref_id,
        amount=amount,
        operator_override=override,
    )


class TestBalance:
    def test_invariant_is_enforced_on_construction(self) -> None:
        with pytest.raises(CreditBalanceInvariantFailed):
            CreditBalance(wallet=2, reserved=1, available=2)
        with pytest.raises(CreditBalanceInvariantFailed):
            CreditBalance.of(wallet=0, reserved=1)


class TestVectorsH:
    def test_bil_01_repeated_reserve_with_same_key_is_idempotent(self, ids: Ids, now: datetime) -> None:
        book = book_with_wallet(2, ids)
        book, first = book.reserve(channel_reserve("reserve-1"), now, ids)
        book, second = book.reserve(channel_reserve("reserve-1"), now, ids)
        assert second.replayed
        assert second.result == first.result
        assert first.result.hold_id is not None
        assert second.result.hold_id == first.result.hold_id
        assert len(book.holds) == 1
        assert balance(book) == (2, 1, 1)

    def test_bil_02_reserve_then_consume(self, ids: Ids, now: datetime) -> None:
        book = book_with_wallet(3, ids)
        book, res = book.reserve(channel_reserve("reserve-2", "cr-2", amount=2), now, ids)
        book, out = book.consume(
            ConsumeHold(idempotency_key="consume-2", hold_id=res.result.hold_id), now, ids
        )
        assert balance(book) == (1, 0, 1)
        assert [(e.delta, e.reason) for e in out.entries] == [(-2, LedgerReason.CONSUME)]
        assert book.holds[res.result.hold_id or ""].status is HoldStatus.CONSUMED

    def test_bil_03_reserve_then_release(self, ids: Ids, now: datetime) -> None:
        book = book_with_wallet(2, ids)
        book, res = book.reserve(channel_reserve("reserve-3"), now, ids)
        book, out = book.release(
            ReleaseHold(idempotency_key="release-3", hold_id=res.result.hold_id), now, ids
        )
        assert balance(book) == (2, 0, 2)
        assert [(e.delta, e.reason) for e in out.entries] == [(1, LedgerReason.RELEASE)]

    def test_bil_04_insufficient_credits(self, ids: Ids, now: datetime) -> None:
        book = book_with_wallet(0, ids)
        with pytest.raises(InsufficientCredits) as exc:
            book.reserve(channel_reserve("r"), now, ids)
        assert (exc.value.code, exc.value.status) == ("INSUFFICIENT_CREDITS", 409)

    def test_bil_05_release_after_consume_is_refused(self, ids: Ids, now: datetime) -> None:
        book = book_with_wallet(2, ids)
        book, res = book.reserve(channel_reserve("r"), now, ids)
        book, _ = book.consume(ConsumeHold(idempotency_key="c", hold_id=res.result.hold_id), now, ids)
        with pytest.raises(ReservationAlreadyConsumed) as exc:
            book.release(ReleaseHold(idempotency_key="rel", hold_id=res.result.hold_id), now, ids)
        assert (exc.value.code, exc.value.status) == ("RESERVATION_ALREADY_CONSUMED", 409)

    def test_consume_after_release_is_refused(self, ids: Ids, now: datetime) -> None:
        book = book_with_wallet(2, ids)
        book, res = book.reserve(channel_reserve("r"), now, ids)
        book, _ = book.release(ReleaseHold(idempotency_key="rel", hold_id=res.result.hold_id), now, ids)
        with pytest.raises(ReservationAlreadyReleased):
            book.consume(ConsumeHold(idempotency_key="c", hold_id=res.result.hold_id), now, ids)

    def test_bil_08_operator_override_covers_the_shortfall(self, ids: Ids, now: datetime) -> None:
        book = book_with_wallet(0, ids)
        book, out = book.reserve(channel_reserve("k", "cr-9", override=True), now, ids)
        adjustment, reserve_entry = out.entries
        assert (adjustment.delta, adjustment.reason, adjustment.ref_type, adjustment.ref_id) == (
            1,
            LedgerReason.ADJUSTMENT,
            "operator_override",
            "channel_request:cr-9",
        )
        assert adjustment.idempotency_key == "k:override"
        assert adjustment.metadata == {
            "reason": "insufficient_credits_override",
            "reserve_idempotency_key": "k",
        }
        assert (reserve_entry.delta, reserve_entry.reason, reserve_entry.metadata) == (
            1,
            LedgerReason.RESERVE,
            {"event": "reserve"},
        )
        assert balance(book) == (1, 1, 0)
        assert book.invariant_violations() == []

    def test_override_only_covers_the_shortfall(self, ids: Ids, now: datetime) -> None:
        book = book_with_wallet(1, ids)
        book, out = book.reserve(channel_reserve("k", amount=3, override=True), now, ids)
        assert out.entries[0].delta == 2
        assert balance(book) == (3, 3, 0)

    @pytest.mark.parametrize(
        ("account", "error"),
        [
            (CreditAccount("acc-1", AccountStatus.ACTIVE, BillingMode.POSTPAID), BillingModeNotCredit),
            (CreditAccount("acc-1", AccountStatus.SUSPENDED, BillingMode.CREDIT), AccountNotActive),
            (
                CreditAccount("acc-1", AccountStatus.ACTIVE, BillingMode.CREDIT, is_enabled=False),
                AccountNotActive,
            ),
        ],
    )
    def test_bil_09_reserve_on_postpaid_or_suspended(
        self, ids: Ids, now: datetime, account: CreditAccount, error: type[BillingError]
    ) -> None:
        book = book_with_wallet(5, ids, account)
        with pytest.raises(error) as exc:
            book.reserve(channel_reserve("r", override=True), now, ids)
        assert exc.value.status == 409


class TestHolds:
    def test_partial_consume_returns_the_rest(self, ids: Ids, now: datetime) -> None:
        book = book_with_wallet(5, ids)
        book, res = book.reserve(channel_reserve("r", amount=3), now, ids)
        book, out = book.consume(
            ConsumeHold(idempotency_key="c", hold_id=res.result.hold_id, amount=1), now, ids
        )
        assert balance(book) == (4, 0, 4)
        assert out.entries[0].metadata == {"event": "consume", "posted_amount": 1, "returned_amount": 2}
        assert book.holds[res.result.hold_id or ""].consumed_amount == 1

    @pytest.mark.parametrize("amount", [0, -1, 4])
    def test_partial_consume_bounds(self, ids: Ids, now: datetime, amount: int) -> None:
        book = book_with_wallet(5, ids)
        book, res = book.reserve(channel_reserve("r", amount=3), now, ids)
        with pytest.raises(InvalidConsumeAmount):
            book.consume(
                ConsumeHold(idempotency_key="c", hold_id=res.result.hold_id, amount=amount), now, ids
            )

    def test_consume_by_reference_takes_the_latest_hold(self, ids: Ids, now: datetime) -> None:
        book = book_with_wallet(5, ids)
        book, first = book.reserve(channel_reserve("r1"), now, ids)
        book, _ = book.release(ReleaseHold(idempotency_key="x", hold_id=first.result.hold_id), now, ids)
        book, second = book.reserve(channel_reserve("r2"), now, ids)
        book, out = book.consume(
            ConsumeHold(idempotency_key="c", ref_type="channel_request", ref_id="cr-1"), now, ids
        )
        assert out.result.hold_id == second.result.hold_id

    def test_one_active_hold_per_reference(self, ids: Ids, now: datetime) -> None:
        book = book_with_wallet(5, ids)
        book, _ = book.reserve(channel_reserve("r1"), now, ids)
        with pytest.raises(ActiveReservationExists):
            book.reserve(channel_reserve("r2"), now, ids)

    def test_unknown_or_foreign_hold_is_not_found(self, ids: Ids, now: datetime) -> None:
        book = book_with_wallet(5, ids)
        with pytest.raises(ReservationNotFound) as exc:
            book.consume(ConsumeHold(idempotency_key="c", hold_id="nope"), now, ids)
        assert (exc.value.status, exc.value.message) == (404, "reservation not found")
        book, res = book.reserve(channel_reserve("r"), now, ids)
        foreign = book.holds[res.result.hold_id or ""]
        with pytest.raises(ReservationNotFound):
            consume(
                "acc-2",
                CreditBalance.of(5, 1),
                ConsumeHold("c", hold_id=foreign.id),
                prior=None,
                hold=foreign,
                now=now,
                ids=ids,
            )

    def test_decision_31_work_order_holds_never_expire_by_time(self, now: datetime) -> None:
        assert hold_expiry(WORK_ORDER_REF_TYPE, now) is None
        assert hold_expiry("channel_request", now) == now + timedelta(minutes=1440)
        assert hold_expiry("channel_request", now, timeout_minutes=1) == now + timedelta(minutes=5)

    def test_expired_hold_cannot_be_posted_but_can_be_voided(self, ids: Ids, now: datetime) -> None:
        book = book_with_wallet(2, ids)
        book, res = book.reserve(channel_reserve("r"), now, ids)
        later = now + timedelta(days=2)
        with pytest.raises(ReservationExpired):
            book.consume(ConsumeHold(idempotency_key="c", hold_id=res.result.hold_id), later, ids)
        book, _ = book.sweep({}, later, ids)
        hold = book.holds[res.result.hold_id or ""]
        assert (hold.status, hold.release_reason) == (HoldStatus.RELEASED, "timeout")
        assert balance(book) == (2, 0, 2)

    def test_blank_key_is_required(self, ids: Ids, now: datetime) -> None:
        book = book_with_wallet(2, ids)
        with pytest.raises(IdempotencyKeyRequired):
            book.reserve(channel_reserve("  "), now, ids)


class TestGrant:
    def test_grant_topup_adjustment(self, ids: Ids) -> None:
        book = book_with_wallet(0, ids)
        for i, reason in enumerate((LedgerReason.GRANT, LedgerReason.TOPUP, LedgerReason.ADJUSTMENT)):
            book, out = book.grant(GrantCredits(idempotency_key=f"g{i}", amount=2, reason=reason), ids)
            assert (out.entries[0].ref_type, out.entries[0].ref_id) == ("manual", "manual-grant")
        assert balance(book) == (6, 0, 6)

    def test_grant_rejects_bad_reason_and_amount(self, ids: Ids) -> None:
        book = book_with_wallet(0, ids)
        with pytest.raises(InvalidGrantReason) as exc:
            book.grant(GrantCredits(idempotency_key="g", amount=1, reason=LedgerReason.CONSUME), ids)
        assert exc.value.message == "reason must be GRANT, TOPUP, or ADJUSTMENT"
        with pytest.raises(AmountNotPositive) as exc2:
            book.grant(GrantCredits(idempotency_key="g", amount=0), ids)
        assert exc2.value.message == "amount must be positive"


class TestDecision17Idempotency:
    def test_replay_returns_stored_result_and_changes_nothing(self, ids: Ids, now: datetime) -> None:
        book = book_with_wallet(3, ids)
        book, res = book.reserve(channel_reserve("r"), now, ids)
        book, con = book.consume(ConsumeHold(idempotency_key="c", hold_id=res.result.hold_id), now, ids)
        again, replay = book.consume(ConsumeHold(idempotency_key="c", hold_id=res.result.hold_id), now, ids)
        assert replay.replayed
        assert replay.result == con.result
        assert replay.entries == ()
        assert again == book

    def test_different_parameters_conflict(self, ids: Ids, now: datetime) -> None:
        book = book_with_wallet(3, ids)
        book, _ = book.reserve(channel_reserve("r", "cr-1"), now, ids)
        with pytest.raises(IdempotencyKeyReused) as exc:
            book.reserve(channel_reserve("r", "cr-2"), now, ids)
        assert (exc.value.code, exc.value.status) == ("IDEMPOTENCY_KEY_REUSED", 409)

    def test_key_namespace_is_shared_across_operations(self, ids: Ids, now: datetime) -> None:
        book = book_with_wallet(3, ids)
        book, res = book.reserve(channel_reserve("same"), now, ids)
        with pytest.raises(IdempotencyKeyReused):
            book.release(ReleaseHold(idempotency_key="same", hold_id=res.result.hold_id), now, ids)
        with pytest.raises(IdempotencyKeyReused):
            book.grant(GrantCredits(idempotency_key="seed", amount=4), ids)


class TestBil12ReconcileWithDecision31:
    """BIL-12 read through decisions 31 and 34: channel requests are out of scope; work-order holds follow
    the work order, every other reference type expires by time."""

    @pytest.mark.parametrize(
        ("ref_type", "state", "age_minutes", "expected"),
        [
            ("channel_request", None, 1441, (ReconcileKind.RELEASE, "timeout")),
            ("channel_request", None, 10, (ReconcileKind.SKIP, "not_timed_out")),
            ("commission_request", ReferenceState.CANCELLED, 10, (ReconcileKind.SKIP, "not_timed_out")),
            (WORK_ORDER_REF_TYPE, ReferenceState.ACTIVE, 10**6, (ReconcileKind.SKIP, "work_order_active")),
            (WORK_ORDER_REF_TYPE, ReferenceState.CANCELLED, 1, (ReconcileKind.RELEASE, "cancelled")),
            (WORK_ORDER_REF_TYPE, ReferenceState.CLOSED, 1, (ReconcileKind.RELEASE, "closed")),
            (WORK_ORDER_REF_TYPE, ReferenceState.MISSING, 1441, (ReconcileKind.RELEASE, "orphan")),
            (WORK_ORDER_REF_TYPE, None, 1441, (ReconcileKind.RELEASE, "orphan")),
            (WORK_ORDER_REF_TYPE, ReferenceState.MISSING, 10, (ReconcileKind.SKIP, "orphan_within_grace")),
        ],
    )
    def test_decision_table(
        self,
        now: datetime,
        ref_type: str,
        state: ReferenceState | None,
        age_minutes: int,
        expected: tuple[ReconcileKind, str],
        make_hold: Callable[..., Hold],
    ) -> None:
        created = now - timedelta(minutes=age_minutes)
        hold = make_hold(ref_type=ref_type, created_at=created, expires_at=hold_expiry(ref_type, created))
        action = reconcile_action(hold, state, now)
        assert (action.kind, action.reason) == expected

    def test_resolved_holds_are_skipped(self, now: datetime, make_hold: Callable[..., Hold]) -> None:
        created = now - timedelta(days=5)
        hold = make_hold(ref_type="channel_request", created_at=created, status=HoldStatus.CONSUMED)
        assert reconcile_action(hold, None, now).kind is ReconcileKind.SKIP

    def test_sweep_releases_cancelled_work_order_hold_once(self, ids: Ids, now: datetime) -> None:
        book = book_with_wallet(1, ids)
        reserve = ReserveCredit(idempotency_key="a", ref_type=WORK_ORDER_REF_TYPE, ref_id="wo-1")
        book, res = book.reserve(reserve, now, ids)
        book, outs = book.sweep({"wo-1": ReferenceState.CANCELLED}, now, ids)
        assert [o.entries[0].idempotency_key for o in outs] == [
            f"reconcile_release:{res.result.hold_id}:cancelled"
        ]
        book, outs = book.sweep({"wo-1": ReferenceState.CANCELLED}, now, ids)
        assert outs == ()
        assert balance(book) == (1, 0, 1)
        assert book.invariant_violations() == []
