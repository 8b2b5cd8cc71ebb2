"""Plans, subscriptions and their events (domain.md §7.7): the catalog upsert, subscription rows joined
with their plan, the due scan (``FOR UPDATE SKIP LOCKED``, so two replicas never work one row) and the
event trail whose UNIQUE (provider, idempotency_key) is the refill de-dup."""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Select, func, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from billing_service.domain.subscriptions import (
    CURRENT_STATUSES,
    DUE_SCAN_STATUSES,
    Subscription,
    SubscriptionStatus,
)
from billing_service.repositories._rows import from_row, is_uuid
from billing_service.tables import accounts, plan_catalog, subscription_events, subscriptions
from shared.db.uow import Repository
from shared.validation import JsonObject


@dataclass(frozen=True, slots=True)
class PlanUpsert:
    """Create the plan ``name`` or overwrite the provided (non-None) fields (§7.7)."""

    name: str
    price_monthly: Decimal | None = None
    cycle_days: int | None = None
    monthly_credit_allowance: int | None = None
    monthly_report_allowance: int | None = None
    currency: str | None = None


@dataclass(frozen=True, slots=True)
class PlanRow:
    """A stored plan."""

    id: str
    name: str
    price_monthly: Decimal
    cycle_days: int
    monthly_credit_allowance: int | None
    monthly_report_allowance: int | None
    currency: str
    is_active: bool


@dataclass(frozen=True, slots=True)
class SubscriptionRow:
    """A stored subscription with its plan and account name."""

    id: str
    tenant_id: str
    account_id: str
    account_display_name: str
    plan_id: str
    plan_name: str
    monthly_credit_allowance: int | None
    monthly_report_allowance: int | None
    cycle_days: int
    currency: str
    price_monthly: Decimal
    status: str
    starts_at: datetime
    ends_at: datetime | None
    current_period_start: datetime | None
    current_period_end: datetime | None
    next_refill_at: datetime | None
    last_refilled_at: datetime | None
    grace_until: datetime | None
    last_payment_at: datetime | None
    external_provider: str | None
    external_subscription_id: str | None
    created_at: datetime
    updated_at: datetime

    @property
    def monthly_credit_grant(self) -> int:
        """The credits one refill grants (the plan's allowance, 0 when it sets none)."""
        return self.monthly_credit_allowance or 0

    def to_domain(self) -> Subscription:
        """The state the §7.7 rules read."""
        return Subscription(
            id=self.id,
            status=SubscriptionStatus(self.status),
            starts_at=self.starts_at,
            current_period_start=self.current_period_start,
            current_period_end=self.current_period_end,
            next_refill_at=self.next_refill_at,
            allowance=self.monthly_credit_grant,
            cycle_days=self.cycle_days,
            last_refilled_at=self.last_refilled_at,
            grace_until=self.grace_until,
            last_payment_at=self.last_payment_at,
        )


#: the subscription columns a change writes (everything but identity, plan and creation)
MUTABLE_COLUMNS = (
    "status",
    "ends_at",
    "current_period_start",
    "current_period_end",
    "next_refill_at",
    "last_refilled_at",
    "grace_until",
    "last_payment_at",
    "external_provider",
    "external_subscription_id",
)
_ROW_COLUMNS = {f.name for f in fields(SubscriptionRow)}
_PLAN_COLUMNS = (
    "monthly_credit_allowance",
    "monthly_report_allowance",
    "cycle_days",
    "currency",
    "price_monthly",
)


@dataclass(frozen=True, slots=True)
class NewSubscriptionEvent:
    """One row of the subscription event trail."""

    id: str
    tenant_id: str
    subscription_id: str | None
    provider: str
    event_type: str
    idempotency_key: str
    payload: JsonObject = field(default_factory=dict)


def _select_rows() -> Select[Any]:
    plan_columns = [plan_catalog.c[name] for name in _PLAN_COLUMNS]
    sub_columns = [c for c in subscriptions.c if c.name in _ROW_COLUMNS]
    return (
        select(
            *sub_columns,
            accounts.c.display_name.label("account_display_name"),
            plan_catalog.c.name.label("plan_name"),
            *plan_columns,
        )
        .join(accounts, accounts.c.id == subscriptions.c.account_id)
        .join(plan_catalog, plan_catalog.c.id == subscriptions.c.plan_id)
    )


class SubscriptionRepository(Repository):
    """Plans, subscriptions and subscription events. Never commits."""

    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def upsert_plan(self, plan: PlanUpsert, *, new_id: str, now: datetime) -> PlanRow:
        """Insert the plan or overwrite its provided fields; the stored plan afterwards."""
        provided = {
            name: getattr(plan, name)
            for name in (
                "price_monthly",
                "cycle_days",
                "monthly_credit_allowance",
                "monthly_report_allowance",
            )
            if getattr(plan, name) is not None
        }
        if plan.currency is not None:
            provided["currency"] = plan.currency
        values = {
            "id": new_id,
            "name": plan.name,
            "price_monthly": Decimal("0.00"),
            "cycle_days": 30,
            "currency": "INR",
            "is_active": True,
            "created_at": now,
            "updated_at": now,
            **provided,
        }
        stmt = (
            pg_insert(plan_catalog)
            .values(**values)
            .on_conflict_do_update(index_elements=[plan_catalog.c.name], set_={**provided, "updated_at": now})
            .returning(*plan_catalog.c)
        )
        row = (await self._session.execute(stmt)).mappings().one()
        return from_row(PlanRow, row)

    async def add(self, row: SubscriptionRow) -> None:
        """Store a new subscription (plan and account exist)."""
        values = {c.name: getattr(row, c.name) for c in subscriptions.c}
        await self._session.execute(subscriptions.insert().values(**values))

    async def get(self, subscription_id: str, *, lock: bool = False) -> SubscriptionRow | None:
        """One subscription; ``lock`` takes its row (the subscription's mutex for refills)."""
        if not is_uuid(subscription_id):
            return None
        query = _select_rows().where(subscriptions.c.id == subscription_id)
        if lock:
            query = query.with_for_update(of=subscriptions)
        found = (await self._session.execute(query)).mappings().first()
        return from_row(SubscriptionRow, found) if found else None

    async def rows(self, *, tenant_id: str | None = None, limit: int = 500) -> list[SubscriptionRow]:
        """Subscriptions, newest first (of one tenant when given)."""
        query = _select_rows()
        if tenant_id is not None:
            if not is_uuid(tenant_id):
                return []
            query = query.where(subscriptions.c.tenant_id == tenant_id)
        query = query.order_by(subscriptions.c.created_at.desc(), subscriptions.c.id.desc()).limit(limit)
        return [from_row(SubscriptionRow, r) for r in (await self._session.execute(query)).mappings()]

    async def current_for_tenant(self, tenant_id: str) -> SubscriptionRow | None:
        """The tenant's newest active/paused/past-due/suspended subscription (§7.11)."""
        return await self._newest(subscriptions.c.tenant_id == tenant_id)

    async def active_for_account(self, account_id: str) -> SubscriptionRow | None:
        """The account's newest active subscription (decision 32's quota source)."""
        return await self._newest(
            subscriptions.c.account_id == account_id, statuses=(SubscriptionStatus.ACTIVE,)
        )

    async def _newest(
        self, where: Any, *, statuses: tuple[SubscriptionStatus, ...] = CURRENT_STATUSES
    ) -> SubscriptionRow | None:
        query = (
            _select_rows()
            .where(where, subscriptions.c.status.in_([s.value for s in statuses]))
            .order_by(subscriptions.c.created_at.desc(), subscriptions.c.id.desc())
            .limit(1)
        )
        found = (await self._session.execute(query)).mappings().first()
        return from_row(SubscriptionRow, found) if found else None

    async def due_scan(self, *, limit: int, lock: bool) -> list[SubscriptionRow]:
        """Active/past-due/suspended subscriptions by ``updated_at`` asc (§7.7, not filtered by due date);
        ``lock`` takes them ``FOR UPDATE SKIP LOCKED`` so a concurrent scan (another replica) skips them."""
        query = (
            _select_rows()
            .where(subscriptions.c.status.in_([s.value for s in DUE_SCAN_STATUSES]))
            .order_by(subscriptions.c.updated_at.asc(), subscriptions.c.id.asc())
            .limit(limit)
        )
        if lock:
            query = query.with_for_update(of=subscriptions, skip_locked=True)
        return [from_row(SubscriptionRow, r) for r in (await self._session.execute(query)).mappings()]

    async def update(self, row: SubscriptionRow) -> None:
        """Write the mutable columns and ``updated_at`` of ``row``."""
        values = {name: getattr(row, name) for name in MUTABLE_COLUMNS}
        await self._session.execute(
            update(subscriptions)
            .where(subscriptions.c.id == row.id)
            .values(**values, updated_at=row.updated_at)
        )

    async def has_event(self, provider: str, idempotency_key: str) -> bool:
        """Whether the trail holds an event under ``(provider, idempotency_key)``."""
        query = select(func.count()).where(
            subscription_events.c.provider == provider,
            subscription_events.c.idempotency_key == idempotency_key,
        )
        return bool((await self._session.execute(query)).scalar_one())

    async def add_event(self, event: NewSubscriptionEvent, *, now: datetime) -> bool:
        """Append the event; ``False`` when its (provider, key) is already stored (nothing written)."""
        stmt = (
            pg_insert(subscription_events)
            .values(
                id=event.id,
                tenant_id=event.tenant_id,
                subscription_id=event.subscription_id,
                provider=event.provider,
                event_type=event.event_type,
                payload_json=event.payload,
                idempotency_key=event.idempotency_key,
                received_at=now,
                processed_at=now,
            )
            .on_conflict_do_nothing(index_elements=["provider", "idempotency_key"])
            .returning(subscription_events.c.id)
        )
        return (await self._session.execute(stmt)).scalar_one_or_none() is not None
