"""All SQL of the billing service: one repository class per aggregate, constructed with the session.

Repositories return typed rows (frozen dataclasses) or the domain's values and never commit; the unit
of work does.
"""

from billing_service.repositories.accounts import AccountRepository, AccountState, CreditSummaryRow
from billing_service.repositories.gate_decisions import (
    GateDecisionRepository,
    GateDecisionRow,
    NewGateDecision,
)
from billing_service.repositories.invoices import InvoiceRepository, InvoiceRow
from billing_service.repositories.ledger import (
    HoldAlreadyResolvedRace,
    HoldRow,
    LedgerEntryRow,
    LedgerRepository,
    LedgerWriteRefused,
)
from billing_service.repositories.scheduler_runs import SchedulerRunRepository, SchedulerRunRow
from billing_service.repositories.subscriptions import (
    NewSubscriptionEvent,
    PlanRow,
    PlanUpsert,
    SubscriptionRepository,
    SubscriptionRow,
)
from billing_service.repositories.timeline import InvoiceTimelineRow, TimelineRepository, TimelineScope
from billing_service.repositories.usage import NewUsageEvent, UsageEventRow, UsageRepository
from billing_service.repositories.work_orders import (
    WorkOrderReference,
    WorkOrderRepository,
    WorkOrderRow,
)

__all__ = [
    "AccountRepository",
    "AccountState",
    "CreditSummaryRow",
    "GateDecisionRepository",
    "GateDecisionRow",
    "HoldAlreadyResolvedRace",
    "HoldRow",
    "InvoiceRepository",
    "InvoiceRow",
    "InvoiceTimelineRow",
    "LedgerEntryRow",
    "LedgerRepository",
    "LedgerWriteRefused",
    "NewGateDecision",
    "NewSubscriptionEvent",
    "NewUsageEvent",
    "PlanRow",
    "PlanUpsert",
    "SchedulerRunRepository",
    "SchedulerRunRow",
    "SubscriptionRepository",
    "SubscriptionRow",
    "TimelineRepository",
    "TimelineScope",
    "UsageEventRow",
    "UsageRepository",
    "WorkOrderReference",
    "WorkOrderRepository",
    "WorkOrderRow",
]
