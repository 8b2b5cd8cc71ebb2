"""``/v1/billing`` subscription routes of domain.md §9.2: the tenant's current subscription (§7.11) and
the service-token due processing (§7.7) the scheduler also runs."""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import Field as BodyField
from pydantic import StrictBool, StrictInt

from billing_service import subscription_views as sviews
from billing_service.api._edge import Body
from billing_service.handlers.subscription_refills import RefillDueSubscriptions, refill_due_subscriptions
from billing_service.handlers.subscriptions import current_subscription
from shared.api import Caller, ContainerDep, ServiceCaller
from shared.validation import MAX_PAGE_LIMIT

router = APIRouter()


class RefillDueBody(Body):
    """``POST /v1/billing/subscriptions/refill-due`` (domain.md §7.7)."""

    limit: StrictInt = BodyField(default=100, ge=1, le=MAX_PAGE_LIMIT)
    dry_run: StrictBool = False

    def command(self, grace_days: int | None, source: str) -> RefillDueSubscriptions:
        """The due processing this body asks for."""
        return RefillDueSubscriptions(self.limit, self.dry_run, grace_days, source)


@router.get("/v1/billing/subscription", response_model=sviews.CurrentSubscriptionView | None)
async def tenant_subscription(principal: Caller, c: ContainerDep) -> sviews.CurrentSubscriptionView | None:
    """The caller's tenant's newest active/paused/past-due/suspended subscription, or ``null``."""
    tenant_id = principal.require_tenant()
    async with c.tenant_uow(principal) as uow:
        return sviews.current(await current_subscription(uow, tenant_id))


@router.post("/v1/billing/subscriptions/refill-due", status_code=201, response_model=sviews.RefillDueView)
async def refill_due(body: RefillDueBody, _: ServiceCaller, c: ContainerDep) -> sviews.RefillDueView:
    """Refill the due subscriptions and move them through past due, suspension and reactivation
    (domain.md §7.7); a refill happens once per period however often this runs, concurrently or not."""
    async with c.system_uow() as uow:
        report = await refill_due_subscriptions(
            uow, body.command(c.settings.subscription_grace_days, "refill_due")
        )
        await uow.commit()
    return report
