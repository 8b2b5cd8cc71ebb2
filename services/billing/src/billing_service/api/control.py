"""``/v1/control/*``: the studio control plane (a studio JWT or the admin bearer, plus a capability,
domain.md §9.5)."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response

from billing_service import handlers, views
from billing_service.api import credits
from billing_service.api._edge import (
    WAIT_FAILURE,
    AccountBody,
    ByAccountOrTenant,
    CodeQuery,
    CursorQuery,
    GrantBody,
    KeyQuery,
    Limit,
    PolicyBody,
    SearchQuery,
    StatusBody,
    account_token,
    honour_after,
    uuid_or_404,
)
from billing_service.domain.errors import (
    AccountNotFound,
    AccountTenantMismatch,
    AmountNotPositive,
    CreditBalanceInvariantFailed,
    CreditModeRequiresCredits,
    IdempotencyKeyRequired,
    IdempotencyKeyReused,
    IdNotFound,
    InvalidAmount,
    InvalidExternalKey,
    InvalidGrantReason,
    InvalidPaymentTerms,
    WalletLimitExceeded,
)
from billing_service.domain.ledger import GrantCredits, LedgerReason
from billing_service.handlers.queries import ListHolds, ShowTimeline, list_accounts
from shared.api import ContainerDep, StudioCaller, errors, studio_caller
from shared.auth.principal import Principal

router = APIRouter()

_ACCOUNT_BY_ID = (IdNotFound, AccountNotFound)


@router.get("/v1/control/tenant", response_model=list[views.AccountListItem])
async def control_accounts(
    principal: StudioCaller, c: ContainerDep, search: SearchQuery = None
) -> list[views.AccountListItem]:
    """Accounts whose name or key contains ``search`` (case-insensitive)."""
    principal.require("masterdata.read")
    async with c.system_uow() as uow:
        states = await list_accounts(uow, search=search)
    return [views.account_list_item(s) for s in states]


@router.post(
    "/v1/control/accounts",
    status_code=201,
    response_model=views.AccountStatusView,
    responses=errors(InvalidExternalKey, InvalidPaymentTerms, AccountTenantMismatch),
)
async def control_upsert_account(
    body: AccountBody, response: Response, principal: StudioCaller, c: ContainerDep
) -> views.AccountStatusView:
    """Create or update an account by external key (decision 18)."""
    principal.require("masterdata.write")
    async with c.system_uow() as uow:
        changed = await handlers.upsert_account_by_key(uow, body.command())
        await uow.commit()
    account_token(response, changed.state.account.id, changed.version)
    return views.account_status(changed.state)


@router.get(
    "/v1/control/accounts/{account_id}/status",
    response_model=views.AccountStatusView,
    responses=errors(*_ACCOUNT_BY_ID, WAIT_FAILURE),
)
async def control_account_status(
    account_id: str, request: Request, principal: StudioCaller, c: ContainerDep
) -> views.AccountStatusView:
    """Account status."""
    principal.require("masterdata.read")
    aid = uuid_or_404(account_id, "billing account")
    await honour_after(c, request)
    return await credits.account_status(c, aid)


@router.patch(
    "/v1/control/accounts/{account_id}/policy",
    response_model=views.PolicyView,
    responses=errors(*_ACCOUNT_BY_ID, CreditModeRequiresCredits, InvalidPaymentTerms, InvalidAmount),
)
async def control_policy(
    account_id: str, body: PolicyBody, response: Response, principal: StudioCaller, c: ContainerDep
) -> views.PolicyView:
    """Change the policy (credit-mode guard, BIL-10)."""
    principal.require("invoices.write")
    aid = uuid_or_404(account_id, "billing account")
    command = handlers.ChangeAccountPolicy(
        account_id=aid,
        change=body.change(),
        monthly_report_allowance=body.monthly_report_allowance,
        set_allowance="monthly_report_allowance" in body.model_fields_set,
    )
    async with c.system_uow() as uow:
        changed = await handlers.change_account_policy(uow, command)
        await uow.commit()
    account_token(response, aid, changed.version)
    return views.policy(changed.state)


@router.patch(
    "/v1/control/accounts/{account_id}/status",
    response_model=views.AccountStatusView,
    responses=errors(*_ACCOUNT_BY_ID),
)
async def control_status(
    account_id: str, body: StatusBody, response: Response, principal: StudioCaller, c: ContainerDep
) -> views.AccountStatusView:
    """Suspend or reactivate an account."""
    principal.require("masterdata.write")
    aid = uuid_or_404(account_id, "billing account")
    async with c.system_uow() as uow:
        changed = await handlers.set_account_status(uow, handlers.SetAccountStatus(aid, body.status))
        await uow.commit()
    account_token(response, aid, changed.version)
    return views.account_status(changed.state)


@router.post(
    "/v1/control/accounts/{account_id}/credits/grant",
    status_code=201,
    response_model=views.AccountStatusView,
    responses=errors(
        *_ACCOUNT_BY_ID,
        InvalidGrantReason,
        AmountNotPositive,
        IdempotencyKeyRequired,
        IdempotencyKeyReused,
        WalletLimitExceeded,
        CreditBalanceInvariantFailed,
    ),
)
async def control_grant(
    account_id: str, body: GrantBody, response: Response, principal: StudioCaller, c: ContainerDep
) -> views.AccountStatusView:
    """Grant, top up or adjust credits; the account status."""
    principal.require("invoices.write")
    aid = uuid_or_404(account_id, "billing account")
    try:
        reason = LedgerReason(body.reason.strip().lower())
    except ValueError:
        raise InvalidGrantReason(details={"reason": body.reason}) from None
    grant = GrantCredits(
        idempotency_key=body.idempotency_key,
        amount=body.amount,
        reason=reason,
        ref_type=body.ref_type or "manual",
        ref_id=body.ref_id or "manual-grant",
        metadata=body.metadata_json,
    )
    async with c.system_uow() as uow:
        applied = await handlers.grant_credits(uow, handlers.GrantAccountCredits(aid, grant))
        await uow.commit()
    account_token(response, aid, applied.account_version)
    return views.account_status(applied.account)


@router.get("/v1/control/credits", response_model=list[views.LedgerEntryView], responses=errors(IdNotFound))
async def control_ledger(
    principal: StudioCaller, c: ContainerDep, by: ByAccountOrTenant
) -> list[views.LedgerEntryView]:
    """The last 500 ledger rows."""
    principal.require("masterdata.read")
    return await credits.ledger(c, by.account_id, by.tenant_id, 500)


@router.get(
    "/v1/control/credits/tenant/{tenant_id}",
    response_model=views.TenantCreditsView,
    responses=errors(IdNotFound),
)
async def control_tenant_credits(
    tenant_id: str, principal: StudioCaller, c: ContainerDep
) -> views.TenantCreditsView:
    """Balances of a tenant's accounts."""
    principal.require("masterdata.read")
    tid = uuid_or_404(tenant_id, "tenant")
    async with c.system_uow() as uow:
        states = await list_accounts(uow, tenant_id=tid)
    return views.tenant_credits(tid, states)


@router.get(
    "/v1/control/credits/reservations", response_model=list[views.HoldView], responses=errors(IdNotFound)
)
async def control_reservations(
    principal: StudioCaller,
    c: ContainerDep,
    by: ByAccountOrTenant,
    status: CodeQuery = None,
    limit: Limit = 200,
) -> list[views.HoldView]:
    """Holds, newest first."""
    principal.require("masterdata.read")
    return await credits.holds(c, ListHolds(by.account_id, by.tenant_id, status, limit))


@router.get(
    "/v1/control/credits/timeline",
    response_model=list[views.TimelineItemView],
    responses=credits.TIMELINE_RESPONSES,
)
async def control_timeline(
    principal: StudioCaller,
    c: ContainerDep,
    by: ByAccountOrTenant,
    response: Response,
    ref_type: KeyQuery = None,
    ref_id: KeyQuery = None,
    limit: Limit = 120,
    cursor: CursorQuery = None,
) -> list[views.TimelineItemView]:
    """Ledger, service invoices and usage events, newest first; a bare list, paged by ``cursor`` /
    ``x-next-cursor`` (domain.md §7.5)."""
    principal.require("masterdata.read")
    query = ShowTimeline(by.account_id, by.tenant_id, ref_type, ref_id, limit, cursor)
    return await credits.timeline(c, query, response)


def _operator(principal: Principal) -> None:
    principal.require("invoices.write")


router.include_router(credits.credit_routes("/v1/control", studio_caller, _operator))
