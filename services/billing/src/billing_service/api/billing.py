"""``/v1/billing/*``: V1's credit and account routes on the studio service token (domain.md §9.2,
decision 22 monitor routes included), and the work-order billing view on any staff JWT."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response

from billing_service import handlers, views
from billing_service.api import credits
from billing_service.api._edge import (
    WAIT_FAILURE,
    ByAccountOrKey,
    CodeQuery,
    CursorQuery,
    KeyQuery,
    Limit,
    UsageBody,
    honour_after,
    optional_uuid,
    uuid_or_404,
)
from billing_service.domain.errors import (
    AccountNotFound,
    ExternalKeyRequired,
    GateDecisionNotFound,
    IdNotFound,
    WorkOrderBillingNotFound,
)
from billing_service.handlers.queries import ListHolds, ShowTimeline, credit_summary, show_work_order_billing
from shared.api import Caller, ContainerDep, ServiceCaller, errors, service_caller
from shared.container import parse_uuid

router = APIRouter()

PORTAL_BILLING_FORBIDDEN = (403, "PORTAL_BILLING_FORBIDDEN")


@router.get(
    "/v1/billing/accounts/status",
    response_model=views.AccountStatusView,
    responses=errors(ExternalKeyRequired, AccountNotFound, WAIT_FAILURE),
)
async def account_status_by_key(
    request: Request, _: ServiceCaller, c: ContainerDep, external_key: KeyQuery = None
) -> views.AccountStatusView:
    """Account status by external key (V1 status lookup)."""
    if not external_key or not external_key.strip():
        raise ExternalKeyRequired()
    await honour_after(c, request)
    async with c.system_uow() as uow:
        account_id = await handlers.account_by_key(uow, external_key)
    return await credits.account_status(c, account_id)


@router.get(
    "/v1/billing/accounts/{account_id}/status",
    response_model=views.AccountStatusView,
    responses=errors(IdNotFound, AccountNotFound, WAIT_FAILURE),
)
async def account_status_by_id(
    account_id: str, request: Request, _: ServiceCaller, c: ContainerDep
) -> views.AccountStatusView:
    """Account status by id."""
    aid = uuid_or_404(account_id, "billing account")
    await honour_after(c, request)
    return await credits.account_status(c, aid)


# V1's credit calls stand here, after the status lookups, as they always have.
router.include_router(credits.credit_routes("/v1/billing", service_caller, lambda _: None))


@router.post(
    "/v1/billing/events",
    status_code=201,
    response_model=views.UsageEventView,
    responses=errors(AccountNotFound),
)
async def billing_event(body: UsageBody, _: ServiceCaller, c: ContainerDep) -> views.UsageEventView:
    """Ingest a usage event once per (source, key); unknown accounts stay unmatched (decision 19)."""
    command = handlers.IngestUsage(
        source_system=body.source_system,
        event_type=body.event_type,
        idempotency_key=body.idempotency_key,
        payload=body.payload_json,
        account_id=str(body.account_id) if body.account_id is not None else None,
        external_key=body.external_account_key,
    )
    async with c.system_uow() as uow:
        ingested = await handlers.ingest_usage(uow, command)
        await uow.commit()
    return views.UsageEventView.of(ingested.event)


@router.get(
    "/v1/billing/credits/reservations",
    response_model=list[views.HoldView],
    responses=errors(*credits.LIST_FAILURES),
)
async def billing_reservations(
    _: ServiceCaller, c: ContainerDep, by: ByAccountOrKey, status: CodeQuery = None, limit: Limit = 200
) -> list[views.HoldView]:
    """Decision 22: the V1 monitor's reservation list."""
    return await credits.holds(c, ListHolds(await by.account_id(c), None, status, limit))


@router.get(
    "/v1/billing/credits/ledger",
    response_model=list[views.LedgerEntryView],
    responses=errors(*credits.LIST_FAILURES),
)
async def billing_ledger(
    _: ServiceCaller, c: ContainerDep, by: ByAccountOrKey, limit: Limit = 200
) -> list[views.LedgerEntryView]:
    """Decision 22: the V1 monitor's ledger list."""
    return await credits.ledger(c, await by.account_id(c), None, limit)


@router.get(
    "/v1/billing/timeline",
    response_model=list[views.TimelineItemView],
    responses=credits.TIMELINE_RESPONSES,
)
async def billing_timeline(
    _: ServiceCaller,
    c: ContainerDep,
    by: ByAccountOrKey,
    response: Response,
    tenant_id: KeyQuery = None,
    ref_type: KeyQuery = None,
    ref_id: KeyQuery = None,
    limit: Limit = 120,
    cursor: CursorQuery = None,
) -> list[views.TimelineItemView]:
    """Decision 22: the V1 monitor's timeline (a bare list, paged by ``cursor`` / ``x-next-cursor``)."""
    account = await by.account_id(c)
    tenant = optional_uuid(tenant_id, "tenant")
    query = ShowTimeline(account, tenant, ref_type, ref_id, limit, cursor)
    return await credits.timeline(c, query, response)


@router.get(
    "/v1/billing/credits/summary",
    response_model=views.CreditSummaryView,
    responses=errors(PORTAL_BILLING_FORBIDDEN),
)
async def billing_credit_summary(principal: Caller, c: ContainerDep) -> views.CreditSummaryView:
    """The caller's tenant's active accounts: their balances summed and the oldest one (domain.md §7.11).

    Staff audiences only: the portal may not read balances (domain.md §10.3), so it gets 403
    ``PORTAL_BILLING_FORBIDDEN`` rather than zeros that would read as an empty wallet."""
    principal.deny_portal("billing")
    tenant_id = principal.require_tenant()
    async with c.tenant_uow(principal) as uow:
        row = await credit_summary(uow, tenant_id)
    return views.credit_summary(tenant_id, row)


@router.post(
    "/v1/billing/gate-decisions/{decision_id}/replay",
    response_model=views.GateReplayView,
    responses=errors(GateDecisionNotFound),
)
async def replay_gate_decision(decision_id: str, _: ServiceCaller, c: ContainerDep) -> views.GateReplayView:
    """Re-decide a stored gate decision from its stored inputs; ``matches`` tells whether it agrees."""
    async with c.system_uow() as uow:
        return await handlers.replay_gate_decision(uow, handlers.ReplayGateDecision(decision_id))


@router.get(
    "/v1/billing/work-orders/{work_order_id}",
    response_model=views.WorkOrderBillingEnvelope,
    responses=errors(WorkOrderBillingNotFound, WAIT_FAILURE),
)
async def get_work_order_billing(
    work_order_id: str, request: Request, principal: Caller, c: ContainerDep
) -> views.WorkOrderBillingEnvelope:
    """The billing view of one work order of the caller's tenant (after ``x-zenops-after``).

    Staff audiences only: the portal's billing reach is its tenant's invoices (domain.md §10.3), not the
    holds and gate state of work orders (403 ``PORTAL_BILLING_FORBIDDEN``)."""
    principal.deny_portal("billing")
    missing = WorkOrderBillingNotFound(
        f"billing state of work order {work_order_id} not found", aggregate_id=work_order_id
    )
    wo_id = str(parse_uuid(work_order_id, not_found=missing))
    await honour_after(c, request, principal)
    async with c.tenant_uow(principal) as uow:
        found = await show_work_order_billing(uow, wo_id)
    if found is None:
        raise missing
    return views.work_order_billing(found)
