"""In-memory fakes of billing's repositories for the fast handler tests (cosmicpython's fake repositories).

Each fake subclasses the real repository and overrides exactly the methods the handlers call, with the
semantics of its SQL: ``None`` for a missing or malformed id, the same orderings (newest first by
``created_at`` then id, or oldest first), versions bumped by one per write, the unique keys the schema
enforces (a collision raises what :meth:`LedgerRepository.apply` raises) and rows filtered by every
given (non-``None``) value. State is plain dicts and lists the tests read directly.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import asdict, dataclass, fields, replace
from datetime import datetime
from typing import Any, TypeVar

from billing_service.domain.acceptance import AcceptancePlan
from billing_service.domain.accounts import Account, AccountStatus, AccountType, BillingMode, Policy
from billing_service.domain.invoices import DraftInvoice
from billing_service.domain.ledger import (
    CreditBalance,
    Hold,
    HoldStatus,
    IdempotencyRecord,
    LedgerEntry,
    LedgerOutcome,
)
from billing_service.domain.timeline import (
    INVOICE_SOURCE,
    LEDGER_SOURCE,
    TimelineKey,
    comes_after,
    sort_key,
    usage_source,
)
from billing_service.repositories import (
    AccountRepository,
    AccountState,
    CreditSummaryRow,
    GateDecisionRepository,
    GateDecisionRow,
    HoldAlreadyResolvedRace,
    HoldRow,
    InvoiceRepository,
    InvoiceRow,
    InvoiceTimelineRow,
    LedgerEntryRow,
    LedgerRepository,
    LedgerWriteRefused,
    NewGateDecision,
    NewUsageEvent,
    TimelineRepository,
    TimelineScope,
    UsageEventRow,
    UsageRepository,
    WorkOrderReference,
    WorkOrderRepository,
    WorkOrderRow,
)
from billing_service.repositories._rows import is_uuid
from billing_service.repositories.work_orders import ACCEPTANCE_COLUMNS
from devstack.testing.fakes import FakeClock
from services.billing.tests.unit.scheduler_fakes import FakeSchedulerRuns
from services.billing.tests.unit.subscription_fakes import FakeSubscriptions
from shared.db.uow import Repository
from shared.validation import JsonObject

RowT = TypeVar("RowT")

Accept = Callable[..., Awaitable[AcceptancePlan]]
"""The ``accept`` fixture: runs the acceptance saga of one work order."""

#: the tenant of the unit of work and of the stored rows unless a test says otherwise
TENANT = "11111111-1111-4111-8111-111111111111"
#: the work order the saga tests follow
WORK_ORDER = "22222222-2222-4222-8222-222222222222"


def _matching(rows: Iterable[RowT], **values: object) -> list[RowT]:
    """The rows whose attribute equals every given (non-None) value (the repositories' ``equal_to``)."""
    wanted = {name: value for name, value in values.items() if value is not None}
    return [r for r in rows if all(getattr(r, name) == value for name, value in wanted.items())]


def _created(row: Any) -> tuple[datetime, str]:
    return row.created_at, row.id


def _newest_first(rows: Iterable[RowT], limit: int) -> list[RowT]:
    """``ORDER BY created_at DESC, id DESC LIMIT limit``."""
    return sorted(rows, key=_created, reverse=True)[:limit]


class FakeAccounts(AccountRepository):
    """Accounts with policy and balance; ``locked`` lists the ids taken under the account lock, in order."""

    def __init__(self, clock: Callable[[], datetime]) -> None:
        self.states: dict[str, AccountState] = {}
        self.locked: list[str] = []
        self._clock = clock

    async def get(self, account_id: str, *, lock: bool = False) -> AccountState | None:
        if lock and account_id in self.states:
            self.locked.append(account_id)
        return self.states.get(account_id)

    async def id_by_key(self, external_key: str) -> str | None:
        return next((i for i, s in self.states.items() if s.account.external_key == external_key), None)

    async def add(self, account: Account, policy: Policy) -> bool:
        if await self.id_by_key(account.external_key) is not None:
            return False
        self.states[account.id] = AccountState(
            account, policy, CreditBalance.empty(), None, status_version=0, policy_updated_at=self._clock()
        )
        return True

    async def update(self, account: Account) -> None:
        stored = self.states[account.id]
        # The UPDATE writes type, name, status and terms: tenant and key stay as stored.
        written = replace(
            account, tenant_id=stored.account.tenant_id, external_key=stored.account.external_key
        )
        self.states[account.id] = replace(stored, account=written)

    async def update_policy(
        self, account_id: str, policy: Policy, *, monthly_report_allowance: int | None
    ) -> datetime:
        stored = self.states[account_id]
        # The UPDATE writes every policy column but the cost model.
        written = replace(policy, credit_cost_model=stored.policy.credit_cost_model)
        updated_at = self._clock()
        self.states[account_id] = replace(
            stored,
            policy=written,
            monthly_report_allowance=monthly_report_allowance,
            policy_updated_at=updated_at,
        )
        return updated_at

    async def bump_version(self, account_id: str) -> int:
        stored = self.states[account_id]
        self.states[account_id] = replace(stored, status_version=stored.status_version + 1)
        return stored.status_version + 1

    async def list(
        self, *, search: str | None = None, tenant_id: str | None = None, limit: int = 500
    ) -> list[AccountState]:
        found = list(self.states.values())  # insertion order: oldest first
        if search:
            needle = search.lower()
            found = [
                s
                for s in found
                if needle in s.account.display_name.lower() or needle in s.account.external_key.lower()
            ]
        if tenant_id:
            found = [s for s in found if s.account.tenant_id == tenant_id]
        return found[:limit]

    async def credit_summary(self, tenant_id: str) -> CreditSummaryRow:
        active = [
            st
            for st in self.states.values()  # insertion order: oldest first
            if st.account.tenant_id == tenant_id and st.account.status is AccountStatus.ACTIVE
        ]
        return CreditSummaryRow(
            account_count=len(active),
            wallet=sum(st.balance.wallet for st in active),
            reserved=sum(st.balance.reserved for st in active),
            available=sum(st.balance.available for st in active),
            primary_account_id=active[0].account.id if active else None,
        )

    def write_balance(self, account_id: str, balance: CreditBalance) -> None:
        """The balance row (written by :class:`FakeLedger`, as the SQL ledger writes ``balances``)."""
        self.states[account_id] = replace(self.states[account_id], balance=balance)


class FakeLedger(LedgerRepository):
    """Holds, ledger entries and idempotency records; the balance is written to ``accounts``."""

    def __init__(self, accounts: FakeAccounts, clock: Callable[[], datetime]) -> None:
        self.accounts = accounts
        self.holds: dict[str, HoldRow] = {}
        self.entry_rows: list[LedgerEntryRow] = []
        self.records: dict[tuple[str, str], IdempotencyRecord] = {}
        self.refuse_next_write = False
        """Set to make the next :meth:`apply` fail as a database constraint would (not a unique key)."""
        self._clock = clock

    async def hold_row(self, hold_id: str) -> HoldRow | None:
        return self.holds.get(hold_id)

    async def hold(self, hold_id: str) -> Hold | None:
        row = self.holds.get(hold_id)
        return row.to_domain() if row else None

    async def latest_hold_for_ref(
        self, account_id: str, ref_type: str, ref_id: str, *, active_only: bool = False
    ) -> Hold | None:
        found = _matching(self.holds.values(), account_id=account_id, ref_type=ref_type, ref_id=ref_id)
        if active_only:
            found = [h for h in found if h.status == "active"]
        newest = _newest_first(found, 1)
        return newest[0].to_domain() if newest else None

    async def idempotency_record(self, account_id: str, key: str) -> IdempotencyRecord | None:
        return self.records.get((account_id, key))

    async def operation_inputs(
        self,
        account_id: str,
        key: str,
        *,
        hold_id: str | None = None,
        ref: tuple[str, str] | None = None,
        active_only: bool = False,
    ) -> tuple[IdempotencyRecord | None, Hold | None]:
        hold: Hold | None = None
        if hold_id is not None:
            hold = await self.hold(hold_id)
        elif ref is not None:
            hold = await self.latest_hold_for_ref(account_id, *ref, active_only=active_only)
        return await self.idempotency_record(account_id, key), hold

    async def apply(self, tenant_id: str, outcome: LedgerOutcome, *, isolated: bool = True) -> None:
        del isolated  # all or nothing either way: everything is checked before anything is written
        if outcome.replayed:
            return
        self._check_constraints(outcome)
        if outcome.record is not None:
            self.accounts.write_balance(outcome.record.account_id, outcome.balance)
            self.records[(outcome.record.account_id, outcome.record.key)] = outcome.record
        for hold in outcome.holds:
            self.holds[hold.id] = self._hold_row(tenant_id, hold)
        self.entry_rows += [self._entry_row(tenant_id, e) for e in outcome.entries]

    def _check_constraints(self, outcome: LedgerOutcome) -> None:
        # All or nothing, as the savepoint of the SQL repository: check everything before writing.
        if self.refuse_next_write:
            self.refuse_next_write = False
            raise LedgerWriteRefused(duplicate_key=False)
        used_entry_keys = {(e.account_id, e.idempotency_key) for e in self.entry_rows}
        new_entry_keys = [(e.account_id, e.idempotency_key) for e in outcome.entries]
        record = outcome.record
        if set(new_entry_keys) & used_entry_keys or (
            record is not None and (record.account_id, record.key) in self.records
        ):
            raise LedgerWriteRefused(duplicate_key=True)
        for hold in outcome.holds:
            stored = self.holds.get(hold.id)
            if hold.status is not HoldStatus.ACTIVE and (stored is None or stored.status != "active"):
                raise HoldAlreadyResolvedRace(hold.id)

    def _entry_row(self, tenant_id: str, entry: LedgerEntry) -> LedgerEntryRow:
        values = {f.name: getattr(entry, f.name) for f in fields(LedgerEntryRow) if hasattr(entry, f.name)}
        stored = {
            "reason": entry.reason.value,
            "metadata_json": dict(entry.metadata),
            "created_at": self._clock(),
        }
        return LedgerEntryRow(**{**values, **stored, "tenant_id": tenant_id})

    def _hold_row(self, tenant_id: str, hold: Hold) -> HoldRow:
        stored = self.holds.get(hold.id)
        if stored is not None:  # resolve once: the update writes the resolution columns only
            return replace(
                stored,
                status=hold.status.value,
                consumed_at=hold.consumed_at,
                released_at=hold.released_at,
                consumed_amount=hold.consumed_amount,
                release_reason=hold.release_reason,
            )
        values = {f.name: getattr(hold, f.name) for f in fields(HoldRow) if f.name != "tenant_id"}
        return HoldRow(**{**values, "tenant_id": tenant_id, "status": "active"})

    async def entry(self, entry_id: str) -> LedgerEntryRow | None:
        return next((e for e in self.entry_rows if e.id == entry_id), None)

    async def entries(self, *, limit: int = 500, **filters: str | None) -> list[LedgerEntryRow]:
        return _newest_first(_matching(self.entry_rows, **filters), limit)

    async def hold_rows(self, *, limit: int = 200, **filters: str | None) -> list[HoldRow]:
        return _newest_first(_matching(self.holds.values(), **filters), limit)

    async def reconcile_candidates(
        self, *, limit: int, after: tuple[datetime, str] | None = None, **filters: str | None
    ) -> list[Hold]:
        found = _matching(self.holds.values(), **filters, status="active")
        oldest_first = [h for h in sorted(found, key=_created) if after is None or _created(h) > after]
        return [h.to_domain() for h in oldest_first[:limit]]


class FakeUsage(UsageRepository):
    """Usage events, unique per (source system, idempotency key)."""

    def __init__(self, clock: Callable[[], datetime]) -> None:
        self.rows: dict[tuple[str, str], UsageEventRow] = {}
        self._clock = clock

    async def add(self, event: NewUsageEvent) -> tuple[UsageEventRow, bool]:
        key = (event.source_system, event.idempotency_key)
        if key in self.rows:
            return self.rows[key], False
        row = self.rows[key] = UsageEventRow(**event.columns(str(uuid.uuid4())), created_at=self._clock())
        return row, True

    def of_type(self, event_type: str) -> list[UsageEventRow]:
        """The stored events of one type, in insertion order."""
        return [r for r in self.rows.values() if r.event_type == event_type]

    async def list(self, *, limit: int = 500, **filters: str | None) -> list[UsageEventRow]:
        return _newest_first(_matching(self.rows.values(), **filters), limit)


#: a new row's billing state (the columns' defaults)
_NEW_BILLING_STATE: dict[str, Any] = {
    **dict.fromkeys(ACCEPTANCE_COLUMNS),
    "acceptance_details": {},
    "planned_consumption_logged": False,
    "has_successful_release": False,
    "last_gate": None,
    "billing_version": 0,
}


class FakeWorkOrders(WorkOrderRepository):
    """Billing's work-order rows; ``locked`` lists the ids read FOR UPDATE, in order."""

    def __init__(self) -> None:
        self.rows: dict[str, WorkOrderRow] = {}
        self.locked: list[str] = []

    async def upsert(self, ref: WorkOrderReference) -> None:
        stored = self.rows.get(ref.work_order_id)
        if stored is None:
            self.rows[ref.work_order_id] = WorkOrderRow(**asdict(ref), **_NEW_BILLING_STATE)
        elif stored.source_version < ref.source_version:
            assignment_id = ref.assignment_id or stored.assignment_id
            refreshed = replace(ref, tenant_id=stored.tenant_id, assignment_id=assignment_id)
            self.rows[ref.work_order_id] = replace(stored, **asdict(refreshed))

    async def set_status(self, work_order_id: str, status: str, source_version: int) -> None:
        self._move_forward(work_order_id, source_version, status=status)

    async def note_version(self, work_order_id: str, source_version: int) -> None:
        self._move_forward(work_order_id, source_version)

    def _move_forward(self, work_order_id: str, source_version: int, **values: Any) -> None:
        stored = self.rows.get(work_order_id)
        if stored is not None and stored.source_version < source_version:
            self.rows[work_order_id] = replace(stored, source_version=source_version, **values)

    async def source_version(self, work_order_id: str) -> int | None:
        stored = self.rows.get(work_order_id)
        return None if stored is None else stored.source_version

    async def get(self, work_order_id: str, *, lock: bool = False) -> WorkOrderRow | None:
        if lock and work_order_id in self.rows:
            self.locked.append(work_order_id)
        return self.rows.get(work_order_id)

    async def record_acceptance(self, decided: WorkOrderRow) -> int:
        values = {name: getattr(decided, name) for name in ACCEPTANCE_COLUMNS}
        return self._bumped(decided.work_order_id, **values)

    async def mark_planned_consumption_logged(self, work_order_id: str) -> int:
        return self._bumped(work_order_id, planned_consumption_logged=True)

    async def record_gate(
        self, work_order_id: str, last_gate: JsonObject, *, has_successful_release: bool
    ) -> int:
        return self._bumped(work_order_id, last_gate=last_gate, has_successful_release=has_successful_release)

    async def touch(self, work_order_id: str) -> int:
        return self._bumped(work_order_id)

    def _bumped(self, work_order_id: str, **values: Any) -> int:
        stored = self.rows[work_order_id]
        bumped = replace(stored, billing_version=stored.billing_version + 1, **values)
        self.rows[work_order_id] = bumped
        return bumped.billing_version

    async def count_accepted_in_window(
        self, account_id: str, start: datetime, end: datetime, *, excluding: str
    ) -> int:
        return sum(
            1
            for r in self.rows.values()
            if r.account_id == account_id
            and r.acceptance_status == "ACCEPTED"
            and r.accepted_at is not None
            and start <= r.accepted_at < end
            and r.work_order_id != excluding
        )

    async def statuses(self, work_order_ids: Sequence[str]) -> dict[str, str]:
        return {i: self.rows[i].status for i in work_order_ids if i in self.rows}


class FakeInvoices(InvoiceRepository):
    """Service invoices (what billing reads back of them) and the drafts inserted, in order."""

    def __init__(self) -> None:
        self.rows: dict[str, InvoiceRow] = {}
        self.drafts: list[DraftInvoice] = []

    async def add_draft(self, draft: DraftInvoice, *, work_order_id: str | None) -> None:
        totals = draft.totals
        self.drafts.append(draft)
        self.rows[draft.id] = InvoiceRow(
            id=draft.id,
            tenant_id=draft.tenant_id,
            account_id=draft.account_id,
            work_order_id=work_order_id,
            invoice_number=None,
            status=draft.status.value,
            currency=draft.currency,
            total_minor=totals.total.to_minor(),
            amount_due_minor=totals.amount_due.to_minor(),
            is_paid=False,
        )

    async def get(self, invoice_id: str) -> InvoiceRow | None:
        return self.rows.get(invoice_id)

    async def live_for_work_order(self, work_order_id: str) -> str | None:
        live = _matching(self.rows.values(), work_order_id=work_order_id)
        return next((r.id for r in live if r.status != "void"), None)  # insertion order: oldest first

    async def void_draft(self, invoice_id: str, reason: str) -> bool:  # noqa: ARG002  the real repository's signature; the fake keeps no notes
        stored = self.rows.get(invoice_id)
        if stored is None or stored.status != "draft":
            return False
        self.rows[invoice_id] = replace(stored, status="void", amount_due_minor=0, is_paid=False)
        return True


class FakeGateDecisions(GateDecisionRepository):
    """Stored gate decisions, one per release id (append-only)."""

    def __init__(self, clock: Callable[[], datetime]) -> None:
        self.rows: dict[str, NewGateDecision] = {}
        self._decided_at: dict[str, datetime] = {}
        self._clock = clock

    def _row(self, stored: NewGateDecision) -> GateDecisionRow:
        plain = asdict(stored)
        values: dict[str, Any] = {f.name: plain.get(f.name) for f in fields(GateDecisionRow)}
        return GateDecisionRow(**{**values, "decided_at": self._decided_at[stored.id]})

    async def by_release(self, release_id: str) -> GateDecisionRow | None:
        found = next((d for d in self.rows.values() if d.release_id == release_id), None)
        return self._row(found) if found else None

    async def get(self, decision_id: str) -> GateDecisionRow | None:
        if is_uuid(decision_id) and decision_id in self.rows:
            return self._row(self.rows[decision_id])
        return await self.by_release(decision_id)

    async def for_work_order(self, work_order_id: str, *, limit: int = 100) -> list[GateDecisionRow]:
        rows = [self._row(d) for d in self.rows.values() if d.work_order_id == work_order_id]
        return sorted(rows, key=lambda r: (r.decided_at, r.id))[:limit]

    async def add(self, decision: NewGateDecision) -> None:
        if await self.by_release(decision.release_id) is not None:
            raise ValueError(f"release id {decision.release_id!r} is UNIQUE: already decided")
        self.rows[decision.id] = decision
        self._decided_at[decision.id] = self._clock()

    async def count_by_result(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for d in self.rows.values():
            counts[d.result] = counts.get(d.result, 0) + 1
        return counts


class FakeTimeline(TimelineRepository):
    """The timeline's read of the ledger and usage fakes, plus the invoice rows as the timeline query reads
    them (``invoice_rows``, seeded by the tests: the invoice lifecycle writes them in the integration tier)."""

    def __init__(self, ledger: FakeLedger, usage: FakeUsage) -> None:
        self._ledger = ledger
        self._usage = usage
        self.invoice_rows: list[InvoiceTimelineRow] = []

    @staticmethod
    def _page(
        rows: Iterable[RowT], key: Callable[[RowT], TimelineKey], bound: TimelineKey | None, limit: int
    ) -> list[RowT]:
        after = [r for r in rows if bound is None or comes_after(key(r), bound)]
        return sorted(after, key=lambda r: sort_key(key(r)))[:limit]

    async def ledger(
        self, scope: TimelineScope, bound: TimelineKey | None, limit: int
    ) -> list[LedgerEntryRow]:
        rows = _matching(
            self._ledger.entry_rows,
            account_id=scope.account_id,
            tenant_id=scope.tenant_id,
            ref_type=scope.ref_type,
            ref_id=scope.ref_id,
        )
        return self._page(rows, lambda r: TimelineKey(r.created_at, LEDGER_SOURCE, r.id), bound, limit)

    async def usage(self, scope: TimelineScope, bound: TimelineKey | None, limit: int) -> list[UsageEventRow]:
        rows = _matching(self._usage.rows.values(), account_id=scope.account_id, tenant_id=scope.tenant_id)
        return self._page(
            rows, lambda r: TimelineKey(r.created_at, usage_source(r.source_system), r.id), bound, limit
        )

    async def invoices(
        self, scope: TimelineScope, bound: TimelineKey | None, limit: int
    ) -> list[InvoiceTimelineRow]:
        rows = _matching(
            self.invoice_rows, account_id=scope.account_id, tenant_id=scope.tenant_id, id=scope.invoice_id
        )
        return self._page(rows, lambda r: TimelineKey(r.updated_at, INVOICE_SOURCE, r.id), bound, limit)


@dataclass
class FakeBilling:
    """Every billing repository fake over one clock (what a test hands to ``FakeUnitOfWork``)."""

    clock: FakeClock
    accounts: FakeAccounts
    ledger: FakeLedger
    usage: FakeUsage
    work_orders: FakeWorkOrders
    invoices: FakeInvoices
    gates: FakeGateDecisions
    timeline: FakeTimeline
    subscriptions: FakeSubscriptions
    scheduler_runs: FakeSchedulerRuns

    @classmethod
    def new(cls) -> FakeBilling:
        """Empty repositories."""
        clock = FakeClock()
        accounts = FakeAccounts(clock)
        ledger = FakeLedger(accounts, clock)
        usage = FakeUsage(clock)
        return cls(
            clock,
            accounts,
            ledger,
            usage,
            FakeWorkOrders(),
            FakeInvoices(),
            FakeGateDecisions(clock),
            FakeTimeline(ledger, usage),
            FakeSubscriptions(accounts),
            FakeSchedulerRuns(),
        )

    def repositories(self) -> tuple[Repository, ...]:
        """The fakes, for ``FakeUnitOfWork(*billing.repositories(), ...)``."""
        return (
            self.accounts,
            self.ledger,
            self.usage,
            self.work_orders,
            self.invoices,
            self.gates,
            self.timeline,
            self.subscriptions,
            self.scheduler_runs,
        )

    def account(
        self,
        key: str = "v1:partner:acme",
        *,
        mode: BillingMode = BillingMode.POSTPAID,
        wallet: int = 0,
        status: AccountStatus = AccountStatus.ACTIVE,
        allowance: int | None = None,
        tenant_id: str = TENANT,
    ) -> AccountState:
        """A stored account ``key`` of ``tenant_id`` with ``wallet`` credits, nothing reserved."""
        account = Account(str(uuid.uuid4()), tenant_id, AccountType.TENANT, key, f"Account {key}", status)
        state = AccountState(
            account,
            Policy(billing_mode=mode),
            CreditBalance.of(wallet, 0),
            allowance,
            status_version=0,
            policy_updated_at=self.clock(),
        )
        self.accounts.states[account.id] = state
        return state

    def work_order(self, **changes: Any) -> WorkOrderRow:
        """A stored row of a work order of :data:`TENANT` billing knows nothing of yet (status ``UNKNOWN``,
        source version 0); ``changes`` set any column."""
        reference = WorkOrderReference.unknown(str(uuid.uuid4()), TENANT)
        row = replace(WorkOrderRow(**asdict(reference), **_NEW_BILLING_STATE), **changes)
        self.work_orders.rows[row.work_order_id] = row
        return row
