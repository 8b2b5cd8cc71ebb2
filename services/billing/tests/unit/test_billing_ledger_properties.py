"""Stateful property tests of the credits ledger.

Random sequences of grant / reserve / full and partial consume / release / expiry sweeps / key replays
against ``CreditBook`` (the same pure operations the database layer applies), checked against an
independent tally after every step:
- wallet − reserved = available, all ≥ 0, wallet = Σ wallet-moving ledger deltas;
- a hold resolves at most once and never changes after resolution;
- replaying a key with the same parameters returns the stored result and changes nothing;
- reusing a key with other parameters is ``IDEMPOTENCY_KEY_REUSED`` and changes nothing;
- a failed operation changes nothing.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from billing_service.domain.accounts import AccountStatus, BillingMode
from billing_service.domain.credit_book import CreditBook
from billing_service.domain.errors import BillingError, IdempotencyKeyReused
from billing_service.domain.ledger import (
    WORK_ORDER_REF_TYPE,
    ConsumeHold,
    CreditAccount,
    GrantCredits,
    HoldStatus,
    LedgerOutcome,
    LedgerReason,
    OpResult,
    ReferenceState,
    ReleaseHold,
    ReserveCredit,
)

KEYS = st.sampled_from([f"k{i}" for i in range(8)])
REFS = st.tuples(
    st.sampled_from(["channel_request", WORK_ORDER_REF_TYPE]), st.sampled_from(["r1", "r2", "r3"])
)
Command = GrantCredits | ReserveCredit | ConsumeHold | ReleaseHold
Params = tuple[object, ...]


def params_of(cmd: Command) -> Params:
    """The test's own notion of "same parameters", independent of the implementation's fingerprints."""
    if isinstance(cmd, GrantCredits):
        return ("grant", cmd.amount, cmd.reason, cmd.ref_type, cmd.ref_id)
    if isinstance(cmd, ReserveCredit):
        return ("reserve", cmd.ref_type, cmd.ref_id, cmd.amount, cmd.operator_override)
    if isinstance(cmd, ConsumeHold):
        return ("consume", cmd.hold_id, cmd.ref_type, cmd.ref_id, cmd.amount)
    return ("release", cmd.hold_id, cmd.ref_type, cmd.ref_id)


class LedgerMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        counter = itertools.count(1)
        self.ids: Callable[[], str] = lambda: f"id-{next(counter)}"
        self.now = datetime(2026, 3, 1, tzinfo=UTC)
        self.book = CreditBook(account=CreditAccount("acc-1", AccountStatus.ACTIVE, BillingMode.CREDIT))
        # Independent tally.
        self.wallet = 0
        self.active: dict[str, int] = {}
        self.used: dict[str, tuple[Params, Command, OpResult]] = {}
        self.resolved: dict[str, tuple[HoldStatus, datetime | None, datetime | None, int | None]] = {}

    # --- driving ---------------------------------------------------------------------------------------

    def _run(self, cmd: Command) -> None:
        before = self.book
        previous = self.used.get(cmd.idempotency_key)
        try:
            outcome = self._call(cmd)
        except IdempotencyKeyReused:
            assert previous is not None
            assert previous[0] != params_of(cmd)
            assert self.book is before
            return
        except BillingError:
            assert self.book is before, "a failed operation must change nothing"
            assert previous is None, "a used key with the same parameters must replay, not fail"
            return
        if previous is not None:
            assert previous[0] == params_of(cmd), "different parameters must conflict"
            assert outcome.replayed
            assert outcome.result == previous[2]
            assert outcome.entries == ()
            assert outcome.holds == ()
            assert outcome.record is None
            assert self.book == before, "a replay must change nothing"
            return
        assert not outcome.replayed
        self.used[cmd.idempotency_key] = (params_of(cmd), cmd, outcome.result)
        self._tally(cmd, outcome, before)

    def _call(self, cmd: Command) -> LedgerOutcome:
        if isinstance(cmd, GrantCredits):
            self.book, outcome = self.book.grant(cmd, self.ids)
        elif isinstance(cmd, ReserveCredit):
            self.book, outcome = self.book.reserve(cmd, self.now, self.ids)
        elif isinstance(cmd, ConsumeHold):
            self.book, outcome = self.book.consume(cmd, self.now, self.ids)
        else:
            self.book, outcome = self.book.release(cmd, self.now, self.ids)
        return outcome

    def _tally(self, cmd: Command, outcome: LedgerOutcome, before: CreditBook) -> None:
        if isinstance(cmd, GrantCredits):
            self.wallet += cmd.amount
        elif isinstance(cmd, ReserveCredit):
            if cmd.operator_override:
                self.wallet += max(0, cmd.amount - before.balance.available)
            assert outcome.result.hold_id is not None
            self.active[outcome.result.hold_id] = cmd.amount
        elif isinstance(cmd, ConsumeHold):
            hold_id = outcome.result.hold_id
            assert hold_id is not None
            assert hold_id in self.active
            held = self.active.pop(hold_id)
            posted = held if cmd.amount is None else cmd.amount
            assert 0 < posted <= held
            self.wallet -= posted
        else:
            assert outcome.result.hold_id is not None
            self.active.pop(outcome.result.hold_id)

    def _hold_ids(self) -> list[str]:
        return sorted(self.book.holds)

    # --- rules -----------------------------------------------------------------------------------------

    @rule(
        key=KEYS,
        amount=st.integers(1, 5),
        reason=st.sampled_from([LedgerReason.GRANT, LedgerReason.TOPUP, LedgerReason.ADJUSTMENT]),
    )
    def grant(self, key: str, amount: int, reason: LedgerReason) -> None:
        self._run(GrantCredits(idempotency_key=key, amount=amount, reason=reason))

    @rule(key=KEYS, ref=REFS, amount=st.integers(1, 3), override=st.booleans())
    def reserve(self, key: str, ref: tuple[str, str], amount: int, override: bool) -> None:
        self._run(
            ReserveCredit(
                idempotency_key=key, ref_type=ref[0], ref_id=ref[1], amount=amount, operator_override=override
            )
        )

    @precondition(lambda self: bool(self.book.holds))
    @rule(key=KEYS, pick=st.integers(0, 100), amount=st.none() | st.integers(1, 3))
    def consume(self, key: str, pick: int, amount: int | None) -> None:
        ids = self._hold_ids()
        self._run(ConsumeHold(idempotency_key=key, hold_id=ids[pick % len(ids)], amount=amount))

    @rule(key=KEYS, ref=REFS)
    def consume_by_reference(self, key: str, ref: tuple[str, str]) -> None:
        self._run(ConsumeHold(idempotency_key=key, ref_type=ref[0], ref_id=ref[1]))

    @precondition(lambda self: bool(self.book.holds))
    @rule(key=KEYS, pick=st.integers(0, 100))
    def release(self, key: str, pick: int) -> None:
        ids = self._hold_ids()
        self._run(ReleaseHold(idempotency_key=key, hold_id=ids[pick % len(ids)]))

    @rule(minutes=st.integers(1, 3000))
    def advance_time(self, minutes: int) -> None:
        self.now += timedelta(minutes=minutes)

    @rule(states=st.dictionaries(st.sampled_from(["r1", "r2", "r3"]), st.sampled_from(list(ReferenceState))))
    def sweep(self, states: dict[str, ReferenceState]) -> None:
        self.book, outcomes = self.book.sweep(states, self.now, self.ids)
        for outcome in outcomes:
            assert outcome.result.hold_id is not None
            self.active.pop(outcome.result.hold_id)

    @precondition(lambda self: bool(self.used))
    @rule(pick=st.integers(0, 100))
    def replay(self, pick: int) -> None:
        keys = sorted(self.used)
        self._run(self.used[keys[pick % len(keys)]][1])

    # --- invariants ------------------------------------------------------------------------------------

    @invariant()
    def balances_match_the_tally(self) -> None:
        b = self.book.balance
        assert b.wallet - b.reserved == b.available
        assert min(b.wallet, b.reserved, b.available) >= 0
        assert (b.wallet, b.reserved) == (self.wallet, sum(self.active.values()))
        assert self.book.invariant_violations() == []

    @invariant()
    def holds_resolve_at_most_once(self) -> None:
        for hold in self.book.holds.values():
            if hold.status is HoldStatus.ACTIVE:
                assert hold.id not in self.resolved, "a resolved hold came back to life"
                continue
            snapshot = (hold.status, hold.consumed_at, hold.released_at, hold.consumed_amount)
            assert self.resolved.setdefault(hold.id, snapshot) == snapshot, "a hold resolved twice"


TestLedgerMachine = LedgerMachine.TestCase
TestLedgerMachine.settings = settings(
    max_examples=300, stateful_step_count=40, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
