"""Billing's use cases, one module each: a command and ``async def verb_noun(uow, command)``.

Every decision is the pure domain's; a handler loads its inputs under row locks through the
repositories, writes exactly the outcome and publishes the billing streams. Only the unit of work
commits. Lock order (no deadlocks): the work-order row first (sagas), then the account's balance row;
HTTP credit operations take only the balance row.
"""

from billing_service.handlers.acceptance import (
    AcceptWorkOrder,
    LogPlannedConsumption,
    accept_work_order,
    log_planned_consumption,
)
from billing_service.handlers.accounts import (
    AccountChanged,
    AccountReference,
    ChangeAccountPolicy,
    SetAccountStatus,
    account_by_key,
    change_account_policy,
    ensure_account,
    lock_account,
    resolve_account_id,
    set_account_status,
    upsert_account_by_key,
)
from billing_service.handlers.compensation import CompensateWorkOrder, compensate
from billing_service.handlers.credits import (
    ConsumeAccountHold,
    CreditCall,
    GrantAccountCredits,
    LedgerApplied,
    OnAccount,
    ReleaseAccountHold,
    ReserveAccountCredit,
    SettleHold,
    TakeHold,
    consume_credit,
    grant_credits,
    release_credit,
    reserve_credit,
    settle_hold,
    take_hold,
)
from billing_service.handlers.reconcile import ReconcileCredits, ReconcileReport, reconcile_credits
from billing_service.handlers.release_gate import (
    DecideRelease,
    GateReplay,
    ReplayGateDecision,
    decide_release,
    replay_gate_decision,
)
from billing_service.handlers.usage import IngestUsage, UsageIngested, ingest_usage

__all__ = [
    "AcceptWorkOrder",
    "AccountChanged",
    "AccountReference",
    "ChangeAccountPolicy",
    "CompensateWorkOrder",
    "ConsumeAccountHold",
    "CreditCall",
    "DecideRelease",
    "GateReplay",
    "GrantAccountCredits",
    "IngestUsage",
    "LedgerApplied",
    "LogPlannedConsumption",
    "OnAccount",
    "ReconcileCredits",
    "ReconcileReport",
    "ReleaseAccountHold",
    "ReplayGateDecision",
    "ReserveAccountCredit",
    "SetAccountStatus",
    "SettleHold",
    "TakeHold",
    "UsageIngested",
    "accept_work_order",
    "account_by_key",
    "change_account_policy",
    "compensate",
    "consume_credit",
    "decide_release",
    "ensure_account",
    "grant_credits",
    "ingest_usage",
    "lock_account",
    "log_planned_consumption",
    "reconcile_credits",
    "release_credit",
    "replay_gate_decision",
    "reserve_credit",
    "resolve_account_id",
    "set_account_status",
    "settle_hold",
    "take_hold",
    "upsert_account_by_key",
]
