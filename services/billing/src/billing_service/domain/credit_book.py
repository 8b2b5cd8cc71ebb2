"""The in-memory reference model of one account's credits: the ledger's pure operations composed.

Used as the reference model in property tests and as a fake in handler unit tests.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from types import MappingProxyType

from billing_service.domain.ledger import (
    WALLET_REASONS,
    ConsumeHold,
    CreditAccount,
    CreditBalance,
    GrantCredits,
    Hold,
    HoldStatus,
    IdempotencyRecord,
    IdSource,
    LedgerEntry,
    LedgerOutcome,
    LedgerReason,
    ReconcileKind,
    ReferenceState,
    ReleaseHold,
    ReserveCredit,
    consume,
    grant,
    reconcile_action,
    reconcile_release_command,
    release,
    reserve,
)


@dataclass(frozen=True, slots=True)
class CreditBook:
    """One account's whole credit state in memory, driven by the same operation functions.

    Used as the reference model in property tests and as a fake in handler unit tests.
    """

    account: CreditAccount
    balance: CreditBalance = field(default_factory=CreditBalance.empty)
    holds: Mapping[str, Hold] = field(default_factory=lambda: MappingProxyType({}))
    entries: tuple[LedgerEntry, ...] = ()
    records: Mapping[str, IdempotencyRecord] = field(default_factory=lambda: MappingProxyType({}))

    def apply(self, outcome: LedgerOutcome) -> CreditBook:
        """The state after ``outcome`` (unchanged for a replay)."""
        if outcome.replayed:
            return self
        holds = dict(self.holds)
        holds.update({h.id: h for h in outcome.holds})
        records = dict(self.records)
        if outcome.record is not None:
            records[outcome.record.key] = outcome.record
        return replace(
            self,
            balance=outcome.balance,
            holds=MappingProxyType(holds),
            entries=self.entries + outcome.entries,
            records=MappingProxyType(records),
        )

    def active_hold_for(self, ref_type: str, ref_id: str) -> Hold | None:
        """The active hold of a reference, if any."""
        return next(
            (
                h
                for h in self.holds.values()
                if h.status is HoldStatus.ACTIVE and (h.ref_type, h.ref_id) == (ref_type, ref_id)
            ),
            None,
        )

    def _target(self, hold_id: str | None, ref_type: str | None, ref_id: str | None) -> Hold | None:
        if hold_id is not None:
            return self.holds.get(hold_id)
        # By reference: the latest hold (insertion order is creation order).
        matches = [h for h in self.holds.values() if (h.ref_type, h.ref_id) == (ref_type, ref_id)]
        return matches[-1] if matches else None

    def grant(self, cmd: GrantCredits, ids: IdSource) -> tuple[CreditBook, LedgerOutcome]:
        """Apply ``grant``."""
        outcome = grant(
            self.account.account_id, self.balance, cmd, prior=self.records.get(cmd.idempotency_key), ids=ids
        )
        return self.apply(outcome), outcome

    def reserve(self, cmd: ReserveCredit, now: datetime, ids: IdSource) -> tuple[CreditBook, LedgerOutcome]:
        """Apply ``reserve``."""
        outcome = reserve(
            self.account,
            self.balance,
            cmd,
            prior=self.records.get(cmd.idempotency_key),
            active_hold_for_ref=self.active_hold_for(cmd.ref_type, cmd.ref_id),
            now=now,
            ids=ids,
        )
        return self.apply(outcome), outcome

    def consume(self, cmd: ConsumeHold, now: datetime, ids: IdSource) -> tuple[CreditBook, LedgerOutcome]:
        """Apply ``consume``."""
        return self._resolve(consume, cmd, now, ids)

    def release(self, cmd: ReleaseHold, now: datetime, ids: IdSource) -> tuple[CreditBook, LedgerOutcome]:
        """Apply ``release``."""
        return self._resolve(release, cmd, now, ids)

    def _resolve(
        self,
        operation: Callable[..., LedgerOutcome],
        cmd: ConsumeHold | ReleaseHold,
        now: datetime,
        ids: IdSource,
    ) -> tuple[CreditBook, LedgerOutcome]:
        outcome = operation(
            self.account.account_id,
            self.balance,
            cmd,
            prior=self.records.get(cmd.idempotency_key),
            hold=self._target(cmd.hold_id, cmd.ref_type, cmd.ref_id),
            now=now,
            ids=ids,
        )
        return self.apply(outcome), outcome

    def sweep(
        self, reference_states: Mapping[str, ReferenceState], now: datetime, ids: IdSource
    ) -> tuple[CreditBook, tuple[LedgerOutcome, ...]]:
        """Run the reconcile sweep over all active holds (oldest first); ``reference_states`` maps a
        work-order id to its state."""
        book = self
        outcomes: list[LedgerOutcome] = []
        for hold in sorted(self.holds.values(), key=lambda h: h.created_at):
            action = reconcile_action(hold, reference_states.get(hold.ref_id), now)
            if action.kind is ReconcileKind.RELEASE:
                book, outcome = book.release(reconcile_release_command(hold.id, action.reason), now, ids)
                outcomes.append(outcome)
        return book, tuple(outcomes)

    def invariant_violations(self) -> list[str]:
        """Every broken invariant as text (empty when the book is sound)."""
        problems: list[str] = []
        wallet = sum(e.delta for e in self.entries if e.reason in WALLET_REASONS)
        reserved = sum(h.amount for h in self.holds.values() if h.status is HoldStatus.ACTIVE)
        if wallet != self.balance.wallet:
            problems.append(f"wallet {self.balance.wallet} != ledger sum {wallet}")
        if reserved != self.balance.reserved:
            problems.append(f"reserved {self.balance.reserved} != active holds {reserved}")
        refs = [(h.ref_type, h.ref_id) for h in self.holds.values() if h.status is HoldStatus.ACTIVE]
        if len(refs) != len(set(refs)):
            problems.append("more than one active hold for a reference")
        resolutions: dict[str, int] = {}
        for e in self.entries:
            if e.hold_id is not None and e.reason in (LedgerReason.CONSUME, LedgerReason.RELEASE):
                resolutions[e.hold_id] = resolutions.get(e.hold_id, 0) + 1
        problems.extend(f"hold {h} resolved {n} times" for h, n in resolutions.items() if n > 1)
        return problems
