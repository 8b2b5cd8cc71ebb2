"""``/v1/control/subscriptions*``: plans and subscriptions on the studio control plane (domain.md §9.5,
§7.7): list, create, assign, update, refill one, refill the due ones, record a payment (decision 16)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import AwareDatetime, Field, StrictInt, field_validator

from billing_service import subscription_views as sviews
from billing_service.api._edge import Body, uuid_or_404
from billing_service.api.subscriptions import RefillDueBody
from billing_service.domain.errors import (
    AccountNotFound,
    IdNotFound,
    NoAccountForTenant,
    SubscriptionAccountMismatch,
    SubscriptionNotFound,
)
from billing_service.domain.subscriptions import MAX_CYCLE_DAYS, SubscriptionStatus
from billing_service.handlers.subscription_refills import (
    RefillSubscription,
    refill_due_subscriptions,
    refill_subscription,
)
from billing_service.handlers.subscriptions import (
    AssignSubscription,
    CreateSubscription,
    RecordSubscriptionPayment,
    UpdateSubscription,
    assign_subscription,
    create_subscription,
    list_subscriptions,
    record_subscription_payment,
    update_subscription,
)
from billing_service.repositories.subscriptions import PlanUpsert
from shared.api import ContainerDep, StudioCaller, errors
from shared.validation import Code, Key, MonthlyAllowance, Name

router = APIRouter()

#: a plan's credits per refill
PlanCredits = Annotated[StrictInt, Field(ge=0, le=1_000_000)]
#: a plan's monthly price (two decimals, at most ten million)
Price = Annotated[Decimal, Field(ge=0, le=Decimal("10000000"), max_digits=12, decimal_places=2)]
Provider = Annotated[Code, Field(pattern=r"^(internal|stripe|razorpay)$")]
PlanName = Annotated[Name, Field(min_length=1, max_length=120)]


class CreateSubscriptionBody(Body):
    """``POST /v1/control/subscriptions`` (§7.7 create)."""

    tenant_id: uuid.UUID
    account_id: uuid.UUID | None = None
    plan_name: PlanName
    monthly_credit_grant: PlanCredits | None = None
    monthly_report_allowance: MonthlyAllowance | None = None
    cycle_days: StrictInt | None = Field(default=None, ge=0, le=MAX_CYCLE_DAYS)
    currency: Code | None = Field(default=None, min_length=3, max_length=8)
    price_monthly: Price | None = None
    status: SubscriptionStatus = SubscriptionStatus.ACTIVE
    external_provider: Provider | None = None
    external_subscription_id: Key | None = None

    def command(self) -> CreateSubscription:
        """The create this body asks for (the plan upserted by name first)."""
        plan = PlanUpsert(
            self.plan_name,
            price_monthly=self.price_monthly,
            cycle_days=self.cycle_days,
            monthly_credit_allowance=self.monthly_credit_grant,
            monthly_report_allowance=self.monthly_report_allowance,
            currency=self.currency.upper() if self.currency else None,
        )
        return CreateSubscription(
            str(self.tenant_id),
            plan,
            str(self.account_id) if self.account_id else None,
            self.status,
            self.external_provider,
            self.external_subscription_id,
        )


class AssignBody(Body):
    """``POST /v1/control/subscriptions/assign``."""

    account_id: uuid.UUID
    plan_name: PlanName
    monthly_credit_allowance: PlanCredits | None = Field(default=None, ge=1)
    status: SubscriptionStatus = SubscriptionStatus.ACTIVE


class UpdateBody(Body):
    """``PATCH /v1/control/subscriptions/{id}``."""

    status: SubscriptionStatus | None = None
    external_provider: Provider | None = None
    external_subscription_id: Key | None = None


class RefillBody(Body):
    """``POST /v1/control/subscriptions/{id}/refill``."""

    idempotency_key: Key | None = Field(default=None, min_length=1)


#: how far ahead of this server's clock a recorded payment may be dated (clock skew)
PAYMENT_CLOCK_SKEW = timedelta(minutes=5)
EARLIEST_PAYMENT = datetime(2000, 1, 1, tzinfo=UTC)


class SubscriptionPaymentBody(Body):
    """``POST /v1/control/subscriptions/{id}/payments``: a successful payment of the subscription
    (decision 16); ``paid_at`` defaults to now, ``reference`` (the payment's id) makes a repeat a no-op."""

    paid_at: AwareDatetime | None = None
    reference: Key | None = Field(default=None, min_length=1)

    @field_validator("paid_at")
    @classmethod
    def _not_in_the_future(cls, value: datetime | None) -> datetime | None:
        if value is not None and not EARLIEST_PAYMENT <= value <= datetime.now(UTC) + PAYMENT_CLOCK_SKEW:
            raise ValueError("paid_at must be a past instant (from 2000 on), not in the future")
        return value

    def command(self, subscription_id: str) -> RecordSubscriptionPayment:
        """The payment to record (now when ``paid_at`` is absent)."""
        paid_at = (self.paid_at or datetime.now(UTC)).astimezone(UTC)
        return RecordSubscriptionPayment(subscription_id, paid_at, reference=self.reference)


_CREATE_ERRORS = (AccountNotFound, NoAccountForTenant, SubscriptionAccountMismatch)
_BY_ID = (IdNotFound, SubscriptionNotFound)


@router.get("/v1/control/subscriptions", response_model=list[sviews.SubscriptionListItem])
async def control_list_subscriptions(
    principal: StudioCaller, c: ContainerDep, tenant_id: Annotated[uuid.UUID | None, Query()] = None
) -> list[sviews.SubscriptionListItem]:
    """Subscriptions (of one tenant when given), newest first."""
    principal.require("masterdata.read")
    async with c.system_uow() as uow:
        rows = await list_subscriptions(uow, str(tenant_id) if tenant_id else None)
    return [sviews.list_item(r) for r in rows]


@router.post(
    "/v1/control/subscriptions",
    status_code=201,
    response_model=sviews.SubscriptionCreated,
    responses=errors(*_CREATE_ERRORS),
)
async def control_create_subscription(
    body: CreateSubscriptionBody, principal: StudioCaller, c: ContainerDep
) -> sviews.SubscriptionCreated:
    """Upsert the plan by name and subscribe the account (the tenant's oldest active one by default); the
    first refill is due at the end of the first period."""
    principal.require("masterdata.write")
    async with c.system_uow() as uow:
        row = await create_subscription(uow, body.command())
        await uow.commit()
    return sviews.created(row)


@router.post(
    "/v1/control/subscriptions/assign",
    status_code=201,
    response_model=sviews.SubscriptionCreated,
    responses=errors(AccountNotFound),
)
async def control_assign_subscription(
    body: AssignBody, principal: StudioCaller, c: ContainerDep
) -> sviews.SubscriptionCreated:
    """A create for the account's tenant."""
    principal.require("masterdata.write")
    command = AssignSubscription(
        str(body.account_id), body.plan_name, body.monthly_credit_allowance, body.status
    )
    async with c.system_uow() as uow:
        row = await assign_subscription(uow, command)
        await uow.commit()
    return sviews.created(row)


@router.post("/v1/control/subscriptions/refill-due", status_code=201, response_model=sviews.RefillDueView)
async def control_refill_due(
    body: RefillDueBody, principal: StudioCaller, c: ContainerDep
) -> sviews.RefillDueView:
    """``POST /v1/billing/subscriptions/refill-due`` for the operator (invoices.write)."""
    principal.require("invoices.write")
    async with c.system_uow() as uow:
        report = await refill_due_subscriptions(
            uow, body.command(c.settings.subscription_grace_days, "control")
        )
        await uow.commit()
    return report


@router.patch(
    "/v1/control/subscriptions/{subscription_id}",
    response_model=sviews.SubscriptionListItem,
    responses=errors(*_BY_ID),
)
async def control_update_subscription(
    subscription_id: str, body: UpdateBody, principal: StudioCaller, c: ContainerDep
) -> sviews.SubscriptionListItem:
    """Change status or provider link; ``cancelled`` ends it now and stops its refills."""
    principal.require("masterdata.write")
    sid = uuid_or_404(subscription_id, "subscription")
    command = UpdateSubscription(sid, body.status, body.external_provider, body.external_subscription_id)
    async with c.system_uow() as uow:
        row = await update_subscription(uow, command)
        await uow.commit()
    return sviews.list_item(row)


@router.post(
    "/v1/control/subscriptions/{subscription_id}/refill",
    status_code=201,
    response_model=sviews.RefillResultView,
    responses=errors(*_BY_ID),
)
async def control_refill(
    subscription_id: str, body: RefillBody, principal: StudioCaller, c: ContainerDep
) -> sviews.RefillResultView:
    """Refill now: once per period key (a repeat answers ``duplicate: true``, ``already_processed``)."""
    principal.require("invoices.write")
    sid = uuid_or_404(subscription_id, "subscription")
    async with c.system_uow() as uow:
        result = await refill_subscription(uow, RefillSubscription(sid, body.idempotency_key, "manual"))
        await uow.commit()
    return result


@router.post(
    "/v1/control/subscriptions/{subscription_id}/payments",
    status_code=201,
    response_model=sviews.SubscriptionPaymentView,
    responses=errors(*_BY_ID),
)
async def control_record_subscription_payment(
    subscription_id: str, body: SubscriptionPaymentBody, principal: StudioCaller, c: ContainerDep
) -> sviews.SubscriptionPaymentView:
    """Record a successful payment (decision 16): ``last_payment_at`` moves to the later of the two, a
    past-due or suspended subscription the payment covers is active again; a repeat of the same
    ``reference`` (or ``paid_at``) changes nothing and answers ``duplicate: true``."""
    principal.require("invoices.write")
    sid = uuid_or_404(subscription_id, "subscription")
    async with c.system_uow() as uow:
        result = await record_subscription_payment(uow, body.command(sid))
        await uow.commit()
    return sviews.payment_recorded(result)
