"""The credit operations both audiences call (V1's service token, the studio operator), and the
reserve/consume/release/reconcile routes they share.

No ``from __future__ import annotations`` here: the shared routes' parameters are annotated with the
caller dependency of each audience, which FastAPI must see as an object, not as a name to resolve.
"""

from collections.abc import Awaitable, Callable
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Response

from billing_service import handlers, views
from billing_service.api._edge import ReconcileBody, ReserveBody, ResolveBody, account_token
from billing_service.domain.errors import (
    AccountNotActive,
    AccountNotFound,
    AccountOrTenantRequired,
    AccountReferenceRequired,
    ActiveReservationExists,
    AmountNotPositive,
    BillingModeNotCredit,
    CreditBalanceInvariantFailed,
    IdempotencyKeyRequired,
    IdempotencyKeyReused,
    IdNotFound,
    InsufficientCredits,
    InvalidConsumeAmount,
    InvalidCursor,
    ReservationAlreadyConsumed,
    ReservationAlreadyReleased,
    ReservationExpired,
    ReservationNotFound,
)
from billing_service.domain.timeline import MAX_CURSOR_LENGTH
from billing_service.handlers.queries import (
    ListHolds,
    ShowTimeline,
    TimelineItem,
    account_state,
    list_holds,
    list_ledger,
    show_timeline,
)
from shared.api import ContainerDep, errors
from shared.auth.principal import Principal
from shared.container import ServiceContainer

_LEDGER_WRITE = (IdempotencyKeyRequired, IdempotencyKeyReused, CreditBalanceInvariantFailed)
_ACCOUNT_REFERENCE = (AccountNotFound, AccountReferenceRequired)
RESERVE_FAILURES = (
    *_ACCOUNT_REFERENCE,
    *_LEDGER_WRITE,
    AmountNotPositive,
    AccountNotActive,
    BillingModeNotCredit,
    InsufficientCredits,
    ActiveReservationExists,
)
SETTLE_FAILURES = (
    *_ACCOUNT_REFERENCE,
    *_LEDGER_WRITE,
    ReservationNotFound,
    ReservationAlreadyConsumed,
    ReservationAlreadyReleased,
    ReservationExpired,
    InvalidConsumeAmount,
)
LIST_FAILURES = (IdNotFound, AccountNotFound)
TIMELINE_FAILURES = (*LIST_FAILURES, AccountOrTenantRequired, InvalidCursor)
NEXT_CURSOR_HEADER = "x-next-cursor"
#: the ``responses=`` of a timeline route: its failures and the next-page header of its 200
TIMELINE_RESPONSES: dict[int | str, dict[str, Any]] = {
    **errors(*TIMELINE_FAILURES),
    200: {
        "headers": {
            NEXT_CURSOR_HEADER: {
                "description": "Opaque cursor of the next page (send it back as ``cursor``); absent on the "
                "last page.",
                "schema": {"type": "string", "maxLength": MAX_CURSOR_LENGTH},
            }
        }
    },
}


async def reserve(c: ServiceContainer[Any], body: ReserveBody, response: Response) -> views.HoldView:
    """Take a hold on the account the body names; the stored hold."""
    async with c.system_uow() as uow:
        taken = await handlers.take_hold(uow, handlers.TakeHold(body.account(), body.reserve()))
        await uow.commit()
    account_token(response, taken.account_id, taken.account_version)
    return views.HoldView.of(taken.result)


async def settle(
    c: ServiceContainer[Any], body: ResolveBody, response: Response, *, consume: bool
) -> views.LedgerEntryCamelView:
    """Consume or release a hold; the ledger entry in V1's camelCase."""
    async with c.system_uow() as uow:
        settled = await handlers.settle_hold(
            uow, handlers.SettleHold(body.account(), body.operation(consume=consume))
        )
        await uow.commit()
    account_token(response, settled.account_id, settled.account_version)
    return views.LedgerEntryCamelView.of(settled.result)


async def reconcile(c: ServiceContainer[Any], body: ReconcileBody) -> views.ReconcileView:
    """The reconciliation sweep (one transaction per released hold)."""
    return views.reconcile(await handlers.reconcile_credits(c.system_uow, body.command()))


async def account_status(c: ServiceContainer[Any], account_id: str) -> views.AccountStatusView:
    """The status view of one account."""
    async with c.system_uow() as uow:
        state = await account_state(uow, account_id)
    return views.account_status(state)


async def holds(c: ServiceContainer[Any], query: ListHolds) -> list[views.HoldView]:
    """Holds, newest first."""
    async with c.system_uow() as uow:
        rows = await list_holds(uow, query)
    return [views.HoldView.of(r) for r in rows]


async def ledger(
    c: ServiceContainer[Any], account_id: str | None, tenant_id: str | None, limit: int
) -> list[views.LedgerEntryView]:
    """Ledger entries, newest first."""
    async with c.system_uow() as uow:
        rows = await list_ledger(uow, account_id=account_id, tenant_id=tenant_id, limit=limit)
    return [views.LedgerEntryView.of(r) for r in rows]


async def timeline(c: ServiceContainer[Any], query: ShowTimeline, response: Response) -> list[TimelineItem]:
    """One timeline page (ledger + invoices + usage, newest first); the next page's cursor in
    ``x-next-cursor`` when there is one. An account or a tenant is required."""
    async with c.system_uow() as uow:
        page = await show_timeline(uow, query)
    if page.next_cursor is not None:
        response.headers[NEXT_CURSOR_HEADER] = page.next_cursor
    return page.items


def credit_routes(
    prefix: str,
    caller: Callable[..., Principal | Awaitable[Principal]],
    authorize: Callable[[Principal], None],
) -> APIRouter:
    """``{prefix}/credits/reserve|consume|release|reconcile`` for one audience.

    ``caller`` verifies the caller (a :mod:`shared.api` dependency); ``authorize`` then checks what the
    audience needs (a capability for the operator), after the body is validated, as every route does.
    """
    router = APIRouter()
    Who = Annotated[Principal, Depends(caller)]  # noqa: N806 - a type alias local to the factory

    @router.post(
        f"{prefix}/credits/reserve",
        status_code=201,
        response_model=views.HoldView,
        responses=errors(*RESERVE_FAILURES),
    )
    async def reserve_credit(
        body: ReserveBody, response: Response, who: Who, c: ContainerDep
    ) -> views.HoldView:
        """Take a credit hold; the stored reservation."""
        authorize(who)
        return await reserve(c, body, response)

    def settle_route(consume: bool) -> Callable[..., Awaitable[views.LedgerEntryCamelView]]:
        async def settle_credit(
            body: ResolveBody, response: Response, who: Who, c: ContainerDep
        ) -> views.LedgerEntryCamelView:
            authorize(who)
            return await settle(c, body, response, consume=consume)

        return settle_credit

    for verb, consume, what in (("consume", True, "Post"), ("release", False, "Void")):
        router.add_api_route(
            f"{prefix}/credits/{verb}",
            settle_route(consume),
            methods=["POST"],
            status_code=201,
            response_model=views.LedgerEntryCamelView,
            responses=errors(*SETTLE_FAILURES),
            name=f"{verb}_credit",
            description=f"{what} a credit hold; the camelCase ledger row.",
        )

    @router.post(f"{prefix}/credits/reconcile", status_code=201, response_model=views.ReconcileView)
    async def reconcile_credits(body: ReconcileBody, who: Who, c: ContainerDep) -> views.ReconcileView:
        """The reconciliation sweep (domain.md §7.4, decision 31); ``dry_run`` only reports."""
        authorize(who)
        return await reconcile(c, body)

    return router
