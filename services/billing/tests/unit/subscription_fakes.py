"""The in-memory subscription repository: plans by name, subscriptions joined with their plan and
account, and the event trail with UNIQUE (provider, idempotency_key), as the SQL keeps them."""

from __future__ import annotations

import builtins
from dataclasses import asdict, replace
from datetime import datetime
from decimal import Decimal

from billing_service.domain.subscriptions import CURRENT_STATUSES, DUE_SCAN_STATUSES, SubscriptionStatus
from billing_service.repositories import AccountRepository
from billing_service.repositories.subscriptions import (
    NewSubscriptionEvent,
    PlanRow,
    PlanUpsert,
    SubscriptionRepository,
    SubscriptionRow,
)


class FakeSubscriptions(SubscriptionRepository):
    """Plans, subscriptions and events in dicts; ``locked`` lists the subscription ids taken under lock."""

    def __init__(self, accounts: AccountRepository) -> None:
        self.plans: dict[str, PlanRow] = {}
        self.subs: dict[str, SubscriptionRow] = {}
        self.events: dict[tuple[str, str], NewSubscriptionEvent] = {}
        self.locked: builtins.list[str] = []
        self._accounts = accounts

    async def upsert_plan(self, plan: PlanUpsert, *, new_id: str, now: datetime) -> PlanRow:  # noqa: ARG002  the real signature
        provided = {k: v for k, v in asdict(plan).items() if v is not None and k != "name"}
        stored = self.plans.get(plan.name)
        if stored is None:
            stored = PlanRow(new_id, plan.name, Decimal("0.00"), 30, None, None, "INR", True)
        stored = replace(stored, **provided)
        self.plans[plan.name] = stored
        return stored

    async def _joined(self, row: SubscriptionRow) -> SubscriptionRow:
        plan = next(p for p in self.plans.values() if p.id == row.plan_id)
        state = await self._accounts.get(row.account_id)
        return replace(
            row,
            account_display_name=state.account.display_name if state else "",
            plan_name=plan.name,
            monthly_credit_allowance=plan.monthly_credit_allowance,
            monthly_report_allowance=plan.monthly_report_allowance,
            cycle_days=plan.cycle_days,
            currency=plan.currency,
            price_monthly=plan.price_monthly,
        )

    async def add(self, row: SubscriptionRow) -> None:
        self.subs[row.id] = row

    async def get(self, subscription_id: str, *, lock: bool = False) -> SubscriptionRow | None:
        row = self.subs.get(subscription_id)
        if row is None:
            return None
        if lock:
            self.locked.append(subscription_id)
        return await self._joined(row)

    async def rows(self, *, tenant_id: str | None = None, limit: int = 500) -> builtins.list[SubscriptionRow]:
        found = [r for r in self.subs.values() if tenant_id is None or r.tenant_id == tenant_id]
        found.sort(key=lambda r: (r.created_at, r.id), reverse=True)
        return [await self._joined(r) for r in found[:limit]]

    async def _find(self, statuses: tuple[SubscriptionStatus, ...], **match: str) -> SubscriptionRow | None:
        wanted = {s.value for s in statuses}
        found = [
            r
            for r in self.subs.values()
            if r.status in wanted and all(getattr(r, k) == v for k, v in match.items())
        ]
        if not found:
            return None
        return await self._joined(max(found, key=lambda r: (r.created_at, r.id)))

    async def current_for_tenant(self, tenant_id: str) -> SubscriptionRow | None:
        return await self._find(CURRENT_STATUSES, tenant_id=tenant_id)

    async def active_for_account(self, account_id: str) -> SubscriptionRow | None:
        return await self._find((SubscriptionStatus.ACTIVE,), account_id=account_id)

    async def due_scan(self, *, limit: int, lock: bool) -> builtins.list[SubscriptionRow]:
        wanted = {s.value for s in DUE_SCAN_STATUSES}
        found = sorted(
            (r for r in self.subs.values() if r.status in wanted), key=lambda r: (r.updated_at, r.id)
        )
        rows = [await self._joined(r) for r in found[:limit]]
        if lock:
            self.locked.extend(r.id for r in rows)
        return rows

    async def update(self, row: SubscriptionRow) -> None:
        self.subs[row.id] = row

    async def has_event(self, provider: str, idempotency_key: str) -> bool:
        return (provider, idempotency_key) in self.events

    async def add_event(self, event: NewSubscriptionEvent, *, now: datetime) -> bool:  # noqa: ARG002  the real signature
        key = (event.provider, event.idempotency_key)
        if key in self.events:
            return False
        self.events[key] = event
        return True
