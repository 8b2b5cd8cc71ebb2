"""``/v1/billing`` subscription routes of domain.md §9.2 before Billing 3 (which brings plans,
subscriptions and refills, §7.7): they answer what holds while billing keeps no subscriptions."""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import Field as BodyField
from pydantic import StrictBool, StrictInt

from billing_service import views
from billing_service.api._edge import Body
from billing_service.handlers.subscriptions import (
    RefillDueSubscriptions,
    current_subscription,
    refill_due_subscriptions,
)
from shared.api import Caller, ContainerDep, ServiceCaller
from shared.validation import MAX_PAGE_LIMIT

router = APIRouter()


class RefillDueBody(Body):
    """``POST /v1/billing/subscriptions/refill-due`` (domain.md §7.7)."""

    limit: StrictInt = BodyField(default=100, ge=1, le=MAX_PAGE_LIMIT)
    dry_run: StrictBool = False


@router.get("/v1/billing/subscription", response_model=views.SubscriptionView | None)
async def tenant_subscription(principal: Caller, c: ContainerDep) -> views.SubscriptionView | None:
    """The caller's tenant's current subscription, or ``null`` (always ``null`` until Billing 3)."""
    tenant_id = principal.require_tenant()
    async with c.tenant_uow(principal) as uow:
        return await current_subscription(uow, tenant_id)


@router.post("/v1/billing/subscriptions/refill-due", status_code=201, response_model=views.RefillDueView)
async def refill_due(body: RefillDueBody, _: ServiceCaller, c: ContainerDep) -> views.RefillDueView:
    """Refill the due subscriptions (domain.md §7.7). Billing keeps no subscriptions before Billing 3, so
    this scans nothing, changes nothing and reports zeros (``dry_run`` echoed)."""
    async with c.system_uow() as uow:
        return await refill_due_subscriptions(uow, RefillDueSubscriptions(body.limit, body.dry_run))
