"""Plans and subscriptions (domain.md §7.7, §7.11): create/assign (upserting the plan by name), update,
list, the tenant's current subscription, and the quota a plan sets (decision 32)."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime

from billing_service.domain.errors import (
    AccountNotFound,
    NoAccountForTenant,
    SubscriptionAccountMismatch,
    SubscriptionNotFound,
)
from billing_service.domain.subscriptions import (
    SubscriptionStatus,
    first_period,
    latest_payment,
    reactivates,
)
from billing_service.handlers._common import iso, new_id, utcnow
from billing_service.repositories import AccountRepository
from billing_service.repositories.subscriptions import (
    NewSubscriptionEvent,
    PlanUpsert,
    SubscriptionRepository,
    SubscriptionRow,
)
from shared.db.uow import UnitOfWork
from shared.validation import JsonObject

INTERNAL = "internal"


@dataclass(frozen=True, slots=True)
class CreateSubscription:
    """``POST /control/subscriptions`` (§7.7): the plan is upserted by name first."""

    tenant_id: str
    plan: PlanUpsert
    account_id: str | None = None
    status: SubscriptionStatus = SubscriptionStatus.ACTIVE
    external_provider: str | None = None
    external_subscription_id: str | None = None


async def _event(
    uow: UnitOfWork, row: SubscriptionRow, event_type: str, key: str, payload: JsonObject
) -> bool:
    event = NewSubscriptionEvent(new_id(), row.tenant_id, row.id, INTERNAL, event_type, key, payload)
    return await uow.repo(SubscriptionRepository).add_event(event, now=utcnow())


async def _account_for(uow: UnitOfWork, tenant_id: str, account_id: str | None) -> str:
    accounts = uow.repo(AccountRepository)
    if account_id is None:
        primary = (await accounts.credit_summary(tenant_id)).primary_account_id
        if primary is None:
            raise NoAccountForTenant(
                f"no billing account found for tenant {tenant_id}", {"tenant_id": tenant_id}
            )
        return primary
    state = await accounts.get(account_id)
    if state is None:
        raise AccountNotFound(details={"account_id": account_id})
    if state.account.tenant_id != tenant_id:
        raise SubscriptionAccountMismatch(details={"account_id": account_id, "tenant_id": tenant_id})
    return account_id


async def create_subscription(uow: UnitOfWork, command: CreateSubscription) -> SubscriptionRow:
    """Upsert the plan, store the subscription with period ``[now, now + cycle]`` and its first refill due
    at the period end (no immediate grant), and record ``subscription_created``."""
    account_id = await _account_for(uow, command.tenant_id, command.account_id)
    subs = uow.repo(SubscriptionRepository)
    now = utcnow()
    plan = await subs.upsert_plan(command.plan, new_id=new_id(), now=now)
    start, end = first_period(now, plan.cycle_days)
    sub_id = new_id()
    await subs.add(
        SubscriptionRow(
            id=sub_id,
            tenant_id=command.tenant_id,
            account_id=account_id,
            account_display_name="",
            plan_id=plan.id,
            plan_name=plan.name,
            monthly_credit_allowance=plan.monthly_credit_allowance,
            monthly_report_allowance=plan.monthly_report_allowance,
            cycle_days=plan.cycle_days,
            currency=plan.currency,
            price_monthly=plan.price_monthly,
            status=command.status.value,
            starts_at=start,
            ends_at=None,
            current_period_start=start,
            current_period_end=end,
            next_refill_at=end,
            last_refilled_at=None,
            grace_until=None,
            last_payment_at=None,
            external_provider=command.external_provider,
            external_subscription_id=command.external_subscription_id,
            created_at=now,
            updated_at=now,
        )
    )
    row = await subs.get(sub_id)
    if row is None:  # pragma: no cover - the insert above is in this transaction
        raise SubscriptionNotFound(details={"subscription_id": sub_id})
    await _event(uow, row, "subscription_created", f"subscription_create:{sub_id}", {"plan_name": plan.name})
    return row


@dataclass(frozen=True, slots=True)
class AssignSubscription:
    """``POST /control/subscriptions/assign``: a create for the account's tenant (§7.7)."""

    account_id: str
    plan_name: str
    monthly_credit_allowance: int | None = None
    status: SubscriptionStatus = SubscriptionStatus.ACTIVE


async def assign_subscription(uow: UnitOfWork, command: AssignSubscription) -> SubscriptionRow:
    """Create a subscription on the account's tenant."""
    state = await uow.repo(AccountRepository).get(command.account_id)
    if state is None:
        raise AccountNotFound(details={"account_id": command.account_id})
    plan = PlanUpsert(command.plan_name, monthly_credit_allowance=command.monthly_credit_allowance)
    return await create_subscription(
        uow, CreateSubscription(state.account.tenant_id, plan, command.account_id, command.status)
    )


@dataclass(frozen=True, slots=True)
class UpdateSubscription:
    """``PATCH /control/subscriptions/:id`` (§7.7): only the provided fields change."""

    subscription_id: str
    status: SubscriptionStatus | None = None
    external_provider: str | None = None
    external_subscription_id: str | None = None


async def load_subscription(uow: UnitOfWork, subscription_id: str, *, lock: bool = False) -> SubscriptionRow:
    """The subscription (under its row lock when ``lock``); 404 ``subscription <id> not found``."""
    row = await uow.repo(SubscriptionRepository).get(subscription_id, lock=lock)
    if row is None:
        raise SubscriptionNotFound(
            f"subscription {subscription_id} not found", {"subscription_id": subscription_id}
        )
    return row


async def update_subscription(uow: UnitOfWork, command: UpdateSubscription) -> SubscriptionRow:
    """Apply the provided fields; ``cancelled`` also ends it now and stops refills; record
    ``subscription_updated``."""
    row = await load_subscription(uow, command.subscription_id, lock=True)
    now = utcnow()
    changed = replace(
        row,
        status=command.status.value if command.status is not None else row.status,
        external_provider=command.external_provider or row.external_provider,
        external_subscription_id=command.external_subscription_id or row.external_subscription_id,
        updated_at=now,
    )
    if command.status is SubscriptionStatus.CANCELLED:
        changed = replace(changed, ends_at=now, next_refill_at=None)
    await uow.repo(SubscriptionRepository).update(changed)
    key = f"subscription_update:{row.id}:{iso(now)}"
    await _event(uow, changed, "subscription_updated", key, {"status": changed.status})
    return changed


@dataclass(frozen=True, slots=True)
class RecordSubscriptionPayment:
    """A successful payment of a subscription (decision 16): the operator's
    ``POST /control/subscriptions/:id/payments`` (provider ``internal``) or a provider's webhook."""

    subscription_id: str
    paid_at: datetime
    provider: str = INTERNAL
    reference: str | None = None


@dataclass(frozen=True, slots=True)
class SubscriptionPaymentRecorded:
    """The subscription after the payment; ``duplicate`` when this payment was recorded before."""

    subscription: SubscriptionRow
    duplicate: bool
    reactivated: bool


def payment_key(subscription_id: str, command: RecordSubscriptionPayment) -> str:
    """``subscription_payment:<sub>:<reference or paid_at ISO>``: one record per payment."""
    return f"subscription_payment:{subscription_id}:{command.reference or iso(command.paid_at)}"


async def record_subscription_payment(
    uow: UnitOfWork, command: RecordSubscriptionPayment
) -> SubscriptionPaymentRecorded:
    """Decision 16, under the subscription's row lock: ``last_payment_at`` becomes the later of the stored
    one and ``paid_at`` (an old payment arriving late never moves it back); a past-due or suspended
    subscription whose current period the payment covers is active again at once (grace cleared). The
    event ``subscription_payment_recorded`` under :func:`payment_key` makes a repeat a no-op."""
    row = await load_subscription(uow, command.subscription_id, lock=True)
    key = payment_key(row.id, command)
    subs = uow.repo(SubscriptionRepository)
    if await subs.has_event(command.provider, key):
        return SubscriptionPaymentRecorded(row, duplicate=True, reactivated=False)
    now = utcnow()
    last = latest_payment(row.last_payment_at, command.paid_at)
    changed = replace(row, last_payment_at=last, updated_at=now)
    reactivated = reactivates(changed.to_domain())
    if reactivated:
        changed = replace(changed, status=SubscriptionStatus.ACTIVE.value, grace_until=None)
    await subs.update(changed)
    payload: JsonObject = {"paid_at": iso(command.paid_at), "reference": command.reference}
    event = NewSubscriptionEvent(
        new_id(), row.tenant_id, row.id, command.provider, "subscription_payment_recorded", key, payload
    )
    await subs.add_event(event, now=now)
    if reactivated:
        await _event(
            uow, changed, "subscription_reactivated", f"subscription_reactivated:{row.id}:{iso(last)}", {}
        )
    return SubscriptionPaymentRecorded(changed, duplicate=False, reactivated=reactivated)


async def list_subscriptions(uow: UnitOfWork, tenant_id: str | None) -> list[SubscriptionRow]:
    """``GET /control/subscriptions[?tenant_id]``: newest first."""
    return await uow.repo(SubscriptionRepository).rows(tenant_id=tenant_id)


async def current_subscription(uow: UnitOfWork, tenant_id: str) -> SubscriptionRow | None:
    """The tenant's newest active/paused/past-due/suspended subscription (§7.11), or ``None``."""
    return await uow.repo(SubscriptionRepository).current_for_tenant(tenant_id)


async def monthly_report_allowance(
    uow: UnitOfWork, account_id: str, policy_allowance: int | None
) -> int | None:
    """Decision 32: with an active subscription, its plan's ``monthly_report_allowance`` applies (``None``
    = unlimited); otherwise the policy's."""
    active = await uow.repo(SubscriptionRepository).active_for_account(account_id)
    return active.monthly_report_allowance if active is not None else policy_allowance
