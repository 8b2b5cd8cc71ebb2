"""HTTP routes of the billing service: schema → command → handler.

``/v1/billing/*`` credit and account routes take the studio service token (domain.md §9.2, decision 22
monitor routes included); ``/v1/control/*`` takes a studio JWT (or the admin bearer) plus a capability
(§9.5); ``GET /v1/billing/work-orders/:id`` takes any JWT and is scoped by RLS to the caller's tenant.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request, Response
from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictInt

from billing_service import handlers
from billing_service import repository as repo
from billing_service.bootstrap import container
from billing_service.domain.accounts import (
    AccountStatus,
    AccountType,
    AccountUpsert,
    BillingMode,
    PolicyChange,
    api_enum,
    normalize_external_key,
)
from billing_service.domain.errors import (
    AccountNotFound,
    ExternalKeyRequired,
    InvalidGrantReason,
)
from billing_service.domain.gate import billing_gate_status
from billing_service.domain.ledger import (
    DEFAULT_RESERVATION_TIMEOUT_MINUTES,
    ConsumeHold,
    GrantCredits,
    HoldStatus,
    LedgerReason,
    ReleaseHold,
    ReserveCredit,
)
from shared.auth.principal import Principal
from shared.consistency import AFTER_HEADER, await_projections, parse_tokens, wait_budget_ms
from shared.container import ServiceContainer, parse_uuid, version_token
from shared.errors import BadRequest, NotFound
from shared.validation import (
    MAX_PAGE_LIMIT,
    Code,
    CreditAmount,
    JsonObject,
    Key,
    MonthlyAllowance,
    Name,
    PaymentTermsDays,
    SafeInt,
    SearchText,
)

router = APIRouter()

Limit = Annotated[int, Query(ge=1, le=MAX_PAGE_LIMIT)]
# Query strings: ids are checked as uuids by the routes (else 404), keys and codes are bounded here.
KeyQuery = Annotated[Key | None, Query()]
CodeQuery = Annotated[Code | None, Query()]
SearchQuery = Annotated[SearchText | None, Query()]
#: reconciliation: holds older than this many minutes (one year at most; a timedelta stays in range)
MAX_TIMEOUT_MINUTES = 525_600
MAX_METADATA_KEYS = 50  # keys of a grant's metadata object
GrantMetadataValue = Key | SafeInt | bool | None


def _container() -> ServiceContainer[Any]:
    return container()


C = Annotated[ServiceContainer[Any], Depends(_container)]


def service_caller(request: Request, c: C) -> Principal:
    """The V1 service token (domain.md §8)."""
    return c.auth.service_token(request)


def studio_caller(request: Request, c: C) -> Principal:
    """A studio JWT or the studio admin bearer (domain.md §9.5)."""
    return c.auth.studio(request)


Service = Annotated[Principal, Depends(service_caller)]
Studio = Annotated[Principal, Depends(studio_caller)]


def _account_token(response: Response, account_id: str, version: int) -> None:
    response.headers["x-zenops-version"] = version_token("billing", "account", account_id, version)


async def honour_after(
    c: ServiceContainer[Any], request: Request, principal: Principal | None = None
) -> None:
    """Wait, bounded by the ``wait`` budget, until billing has applied the workorders versions in
    ``x-zenops-after`` (architecture §4); tokens of other aggregates are ignored.

    ``principal`` scopes the lookup to a tenant (JWT reads); service-token and studio reads look
    across tenants as the system role, as the read itself does. After the budget the read answers
    with what billing has (the header bounds a wait, it is not a precondition).
    """
    tokens = parse_tokens(request.headers.get(AFTER_HEADER))
    if not tokens:
        return
    settings = c.settings
    budget_ms = wait_budget_ms(
        request.query_params.get("wait"), default_ms=settings.wait_default_ms, max_ms=settings.wait_max_ms
    )

    async def lookup(work_order_id: str) -> int | None:
        if principal is not None:
            async with c.tenant_uow(principal) as uow:
                return await repo.work_order_source_version(uow.session, work_order_id)
        async with c.system_uow() as uow:
            return await repo.work_order_source_version(uow.session, work_order_id)

    await await_projections(tokens, {("workorders", "work-order"): lookup}, timeout_s=budget_ms / 1000)


def _uuid_or_404(value: str, what: str) -> str:
    return str(parse_uuid(value, not_found=NotFound(f"{what} {value} not found", code="NOT_FOUND")))


# --- request bodies -------------------------------------------------------------------------------------


class _Body(BaseModel):
    model_config = ConfigDict(extra="ignore")


class ReserveBody(_Body):
    account_id: uuid.UUID | None = None
    external_key: Key | None = None
    amount: CreditAmount = 1
    ref_type: Key = Field(min_length=1)
    ref_id: Key = Field(min_length=1)
    idempotency_key: Key = Field(min_length=1)
    operator_override: StrictBool = False


class ResolveBody(_Body):
    account_id: uuid.UUID | None = None
    external_key: Key | None = None
    reservation_id: uuid.UUID | None = None
    ref_type: Key | None = None
    ref_id: Key | None = None
    idempotency_key: Key = Field(min_length=1)
    amount: CreditAmount | None = None


class UsageBody(_Body):
    source_system: str = Field(pattern="^(v1|v2)$")
    event_type: Code = Field(min_length=1)
    account_id: uuid.UUID | None = None
    external_account_key: Key | None = None
    payload_json: JsonObject = Field(default_factory=dict)
    idempotency_key: Key = Field(min_length=1)


class AccountBody(_Body):
    tenant_id: uuid.UUID
    account_type: AccountType
    display_name: Name = Field(min_length=1)
    external_key: Key = Field(min_length=1)
    payment_terms_days: PaymentTermsDays | None = None


class PolicyBody(_Body):
    billing_mode: BillingMode
    payment_terms_days: PaymentTermsDays | None = None
    currency: Code | None = None
    is_enabled: StrictBool | None = None
    force_enable_credit: StrictBool = False
    monthly_report_allowance: MonthlyAllowance | None = None


class StatusBody(_Body):
    status: AccountStatus


class GrantBody(_Body):
    amount: CreditAmount
    reason: Code = "grant"
    ref_type: Key | None = None
    ref_id: Key | None = None
    idempotency_key: Key = Field(min_length=1)
    metadata_json: dict[Key, GrantMetadataValue] = Field(default_factory=dict, max_length=MAX_METADATA_KEYS)


class ReconcileBody(_Body):
    tenant_id: uuid.UUID | None = None
    account_id: uuid.UUID | None = None
    ref_type: Key | None = Field(default=None, min_length=1)
    limit: StrictInt = Field(default=100, ge=1, le=MAX_PAGE_LIMIT)
    timeout_minutes: StrictInt = Field(
        default=DEFAULT_RESERVATION_TIMEOUT_MINUTES, ge=1, le=MAX_TIMEOUT_MINUTES
    )
    dry_run: StrictBool = False


# --- shared command implementations ---------------------------------------------------------------------


async def _reserve(c: ServiceContainer[Any], body: ReserveBody, response: Response) -> dict[str, Any]:
    async with c.system_uow() as uow:
        account_id = await handlers.resolve_account_id(
            uow, account_id=str(body.account_id) if body.account_id else None, external_key=body.external_key
        )
        applied = await handlers.reserve_credit(
            uow,
            account_id,
            ReserveCredit(
                idempotency_key=body.idempotency_key,
                ref_type=body.ref_type,
                ref_id=body.ref_id,
                amount=body.amount,
                operator_override=body.operator_override,
            ),
        )
        hold_id = applied.outcome.result.hold_id
        assert hold_id is not None
        row = await repo.get_hold_row(uow.session, hold_id)
        assert row is not None
        await uow.commit()
    _account_token(response, account_id, applied.account_version)
    return handlers.hold_view(row)


async def _resolve(
    c: ServiceContainer[Any], body: ResolveBody, response: Response, *, consume: bool
) -> dict[str, Any]:
    hold_id = str(body.reservation_id) if body.reservation_id else None
    async with c.system_uow() as uow:
        account_id = await handlers.resolve_account_id(
            uow,
            account_id=str(body.account_id) if body.account_id else None,
            external_key=body.external_key,
            hold_id=hold_id,
        )
        if consume:
            applied = await handlers.consume_credit(
                uow,
                account_id,
                ConsumeHold(
                    idempotency_key=body.idempotency_key,
                    hold_id=hold_id,
                    ref_type=body.ref_type,
                    ref_id=body.ref_id,
                    amount=body.amount,
                ),
            )
        else:
            applied = await handlers.release_credit(
                uow,
                account_id,
                ReleaseHold(
                    idempotency_key=body.idempotency_key,
                    hold_id=hold_id,
                    ref_type=body.ref_type,
                    ref_id=body.ref_id,
                ),
            )
        entry = await repo.get_ledger_entry(uow.session, applied.outcome.result.entry_ids[0])
        assert entry is not None
        await uow.commit()
    _account_token(response, account_id, applied.account_version)
    return handlers.ledger_row_camel(entry)


async def _account_status(c: ServiceContainer[Any], account_id: str) -> dict[str, Any]:
    async with c.system_uow() as uow:
        state = await repo.load_account(uow.session, account_id)
    if state is None:
        raise AccountNotFound(details={"account_id": account_id})
    return handlers.status_view(state)


async def _account_filter(
    c: ServiceContainer[Any], account_id: str | None, external_key: str | None
) -> str | None:
    if account_id:
        return _uuid_or_404(account_id, "billing account")
    if external_key:
        async with c.system_uow() as uow:
            found = await repo.account_id_by_key(uow.session, normalize_external_key(external_key))
        if found is None:
            raise AccountNotFound(details={"external_key": external_key})
        return found
    return None


async def _reservations(
    c: ServiceContainer[Any], account_id: str | None, tenant_id: str | None, status: str | None, limit: int
) -> list[dict[str, Any]]:
    if status is not None:
        try:
            status = HoldStatus(status.lower()).value
        except ValueError:
            status = status.lower()
    async with c.system_uow() as uow:
        rows = await repo.list_holds(
            uow.session, account_id=account_id, tenant_id=tenant_id, status=status, limit=limit
        )
    return [handlers.hold_view(r) for r in rows]


async def _ledger(
    c: ServiceContainer[Any], account_id: str | None, tenant_id: str | None, limit: int
) -> list[dict[str, Any]]:
    async with c.system_uow() as uow:
        rows = await repo.list_ledger(uow.session, account_id=account_id, tenant_id=tenant_id, limit=limit)
    return [handlers.ledger_row_snake(r) for r in rows]


async def _timeline(
    c: ServiceContainer[Any],
    account_id: str | None,
    tenant_id: str | None,
    ref_type: str | None,
    ref_id: str | None,
    limit: int,
) -> list[dict[str, Any]]:
    """Ledger + usage events, newest first (domain.md §7.5; invoices join in Billing 2)."""
    if account_id is None and tenant_id is None:
        raise BadRequest("account_id or tenant_id is required", code="ACCOUNT_OR_TENANT_REQUIRED")
    async with c.system_uow() as uow:
        ledger = await repo.list_ledger(
            uow.session,
            account_id=account_id,
            tenant_id=tenant_id,
            ref_type=ref_type,
            ref_id=ref_id,
            limit=limit,
        )
        usage = await repo.list_usage(uow.session, account_id=account_id, tenant_id=tenant_id, limit=limit)
    items: list[dict[str, Any]] = [
        {
            "timestamp": handlers.iso(r["created_at"]),
            "source": "CREDITS_LEDGER",
            "account_id": r["account_id"],
            "tenant_id": r["tenant_id"],
            "event_type": r["reason"].upper(),
            "ref_type": r["ref_type"],
            "ref_id": r["ref_id"],
            "amount": int(r["delta"]),
            "idempotency_key": r["idempotency_key"],
            "payload_json": r["metadata_json"],
        }
        for r in ledger
    ]
    items += [
        {
            "timestamp": handlers.iso(r["created_at"]),
            "source": f"USAGE_{r['source_system'].upper()}",
            "account_id": r["account_id"],
            "tenant_id": r["tenant_id"],
            "event_type": r["event_type"],
            "ref_type": None,
            "ref_id": None,
            "amount": None,
            "idempotency_key": r["idempotency_key"],
            "payload_json": r["payload_json"],
        }
        for r in usage
    ]
    items.sort(key=lambda i: i["timestamp"] or "", reverse=True)
    return items[:limit]


async def _reconcile(c: ServiceContainer[Any], body: ReconcileBody) -> dict[str, Any]:
    return await handlers.reconcile_credits(
        c.system_uow,
        handlers.ReconcileRequest(
            tenant_id=str(body.tenant_id) if body.tenant_id else None,
            account_id=str(body.account_id) if body.account_id else None,
            ref_type=body.ref_type,
            limit=body.limit,
            timeout_minutes=body.timeout_minutes,
            dry_run=body.dry_run,
        ),
    )


def _rows(value: Sequence[repo.Row]) -> list[dict[str, Any]]:
    return [dict(v) for v in value]


# --- /v1/billing (service token) ------------------------------------------------------------------------


@router.get("/v1/billing/accounts/status")
async def account_status_by_key(
    request: Request, _: Service, c: C, external_key: KeyQuery = None
) -> dict[str, Any]:
    """Account status by external key (V1 status lookup)."""
    if not external_key or not external_key.strip():
        raise ExternalKeyRequired()
    await honour_after(c, request)
    async with c.system_uow() as uow:
        account_id = await repo.account_id_by_key(uow.session, normalize_external_key(external_key))
    if account_id is None:
        raise AccountNotFound(details={"external_key": external_key})
    return await _account_status(c, account_id)


@router.get("/v1/billing/accounts/{account_id}/status")
async def account_status_by_id(account_id: str, request: Request, _: Service, c: C) -> dict[str, Any]:
    """Account status by id."""
    aid = _uuid_or_404(account_id, "billing account")
    await honour_after(c, request)
    return await _account_status(c, aid)


@router.post("/v1/billing/credits/reserve", status_code=201)
async def billing_reserve(body: ReserveBody, response: Response, _: Service, c: C) -> dict[str, Any]:
    """Take a credit hold."""
    return await _reserve(c, body, response)


@router.post("/v1/billing/credits/consume", status_code=201)
async def billing_consume(body: ResolveBody, response: Response, _: Service, c: C) -> dict[str, Any]:
    """Post a credit hold; the camelCase ledger row."""
    return await _resolve(c, body, response, consume=True)


@router.post("/v1/billing/credits/release", status_code=201)
async def billing_release(body: ResolveBody, response: Response, _: Service, c: C) -> dict[str, Any]:
    """Void a credit hold; the camelCase ledger row."""
    return await _resolve(c, body, response, consume=False)


@router.post("/v1/billing/credits/reconcile", status_code=201)
async def billing_reconcile(body: ReconcileBody, _: Service, c: C) -> dict[str, Any]:
    """The reconciliation sweep (domain.md §7.4, decision 31); ``dry_run`` only reports."""
    return await _reconcile(c, body)


@router.post("/v1/billing/events", status_code=201)
async def billing_event(body: UsageBody, _: Service, c: C) -> dict[str, Any]:
    """Ingest a usage event once per (source, key); unknown accounts stay unmatched (decision 19)."""
    async with c.system_uow() as uow:
        row, _created = await handlers.ingest_usage(
            uow,
            source_system=body.source_system,
            event_type=body.event_type,
            idempotency_key=body.idempotency_key,
            payload=body.payload_json,
            account_id=str(body.account_id) if body.account_id is not None else None,
            external_key=body.external_account_key,
        )
        await uow.commit()
    return handlers.usage_view(row)


@router.get("/v1/billing/credits/reservations")
async def billing_reservations(
    _: Service,
    c: C,
    account_id: KeyQuery = None,
    external_key: KeyQuery = None,
    status: CodeQuery = None,
    limit: Limit = 200,
) -> list[dict[str, Any]]:
    """Decision 22: the V1 monitor's reservation list."""
    return await _reservations(c, await _account_filter(c, account_id, external_key), None, status, limit)


@router.get("/v1/billing/credits/ledger")
async def billing_ledger(
    _: Service, c: C, account_id: KeyQuery = None, external_key: KeyQuery = None, limit: Limit = 200
) -> list[dict[str, Any]]:
    """Decision 22: the V1 monitor's ledger list."""
    return await _ledger(c, await _account_filter(c, account_id, external_key), None, limit)


@router.get("/v1/billing/timeline")
async def billing_timeline(
    _: Service,
    c: C,
    account_id: KeyQuery = None,
    external_key: KeyQuery = None,
    tenant_id: KeyQuery = None,
    limit: Limit = 120,
) -> list[dict[str, Any]]:
    """Decision 22: the V1 monitor's timeline."""
    account = await _account_filter(c, account_id, external_key)
    tenant = _uuid_or_404(tenant_id, "tenant") if tenant_id else None
    return await _timeline(c, account, tenant, None, None, limit)


@router.post("/v1/billing/gate-decisions/{decision_id}/replay")
async def replay_gate_decision(decision_id: str, _: Service, c: C) -> dict[str, Any]:
    """Re-decide a stored gate decision from its stored inputs; ``matches`` tells whether it agrees."""
    async with c.system_uow() as uow:
        return await handlers.replay_gate_decision(uow, decision_id)


def jwt_caller(request: Request, c: C) -> Principal:
    """Any valid JWT; rows are scoped by RLS to its tenant."""
    return c.auth.jwt(request)


@router.get("/v1/billing/work-orders/{work_order_id}")
async def get_work_order_billing(
    work_order_id: str, request: Request, principal: Annotated[Principal, Depends(jwt_caller)], c: C
) -> dict[str, Any]:
    """The billing view of one work order of the caller's tenant (after ``x-zenops-after``).

    Staff audiences only: the portal's billing reach is its tenant's invoices (domain.md §10.3), not the
    holds and gate state of work orders (403 ``PORTAL_BILLING_FORBIDDEN``)."""
    principal.deny_portal("billing")
    missing = NotFound(f"billing state of work order {work_order_id} not found", code="WORK_ORDER_NOT_FOUND")
    wo_id = str(parse_uuid(work_order_id, not_found=missing))
    await honour_after(c, request, principal)
    async with c.tenant_uow(principal) as uow:
        row = await repo.load_work_order(uow.session, wo_id)
        if row is None:
            raise missing
        state = await handlers.work_order_billing(uow, row)
    body: dict[str, Any] = {
        "work_order_id": row["work_order_id"],
        "tenant_id": row["tenant_id"],
        "billing_external_key": row["billing_external_key"],
        "report_type": row["report_type"],
        "status": row["status"],
        "source_version": int(row["source_version"]),
        "billing_version": int(row["billing_version"]),
        **state.model_dump(mode="json"),
    }
    mode = BillingMode(row["mode"]) if row["mode"] else BillingMode.POSTPAID
    body["billing_gate_status"] = billing_gate_status(
        mode,
        hold_id=state.hold.id if state.hold and state.hold.status == "active" else None,
        hold_status=HoldStatus(state.hold.status) if state.hold and state.hold.status != "expired" else None,
        invoice_id=state.invoice.id if state.invoice else None,
        invoice_status=state.invoice.status if state.invoice else None,
        invoice_is_paid=state.invoice.is_paid if state.invoice else None,
    )
    return {"work_order_billing": body}


# --- /v1/control (studio + capability) ------------------------------------------------------------------


def _account_list_item(state: repo.AccountState) -> dict[str, Any]:
    view = handlers.status_view(state)
    return {
        "id": view["account_id"],
        "tenant_id": view["tenant_id"],
        "account_type": view["account_type"],
        "external_key": view["external_key"],
        "display_name": view["display_name"],
        "status": view["account_status"],
        "policy": {
            "billing_mode": view["billing_mode"],
            "payment_terms_days": view["payment_terms_days"],
            "credit_cost_model": view["credit_cost_model"],
            "currency": view["currency"],
            "is_enabled": view["is_enabled"],
            "monthly_report_allowance": view["monthly_report_allowance"],
        },
        "credit": view["credit"],
    }


@router.get("/v1/control/tenant")
async def control_accounts(principal: Studio, c: C, search: SearchQuery = None) -> list[dict[str, Any]]:
    """Accounts whose name or key contains ``search`` (case-insensitive)."""
    principal.require("masterdata.read")
    async with c.system_uow() as uow:
        states = await repo.list_accounts(uow.session, search=search)
    return [_account_list_item(s) for s in states]


@router.post("/v1/control/accounts", status_code=201)
async def control_upsert_account(
    body: AccountBody, response: Response, principal: Studio, c: C
) -> dict[str, Any]:
    """Create or update an account by external key (decision 18)."""
    principal.require("masterdata.write")
    async with c.system_uow() as uow:
        state, version = await handlers.upsert_account_by_key(
            uow,
            AccountUpsert(
                tenant_id=str(body.tenant_id),
                account_type=body.account_type,
                display_name=body.display_name,
                external_key=body.external_key,
                payment_terms_days=body.payment_terms_days,
            ),
        )
        await uow.commit()
    _account_token(response, state.account.id, version)
    return handlers.status_view(state)


@router.get("/v1/control/accounts/{account_id}/status")
async def control_account_status(
    account_id: str, request: Request, principal: Studio, c: C
) -> dict[str, Any]:
    """Account status."""
    principal.require("masterdata.read")
    aid = _uuid_or_404(account_id, "billing account")
    await honour_after(c, request)
    return await _account_status(c, aid)


@router.patch("/v1/control/accounts/{account_id}/policy")
async def control_policy(
    account_id: str, body: PolicyBody, response: Response, principal: Studio, c: C
) -> dict[str, Any]:
    """Change the policy (credit-mode guard, BIL-10)."""
    principal.require("invoices.write")
    aid = _uuid_or_404(account_id, "billing account")
    async with c.system_uow() as uow:
        state, version = await handlers.change_account_policy(
            uow,
            aid,
            handlers.PolicyUpdate(
                change=PolicyChange(
                    billing_mode=body.billing_mode,
                    payment_terms_days=body.payment_terms_days,
                    currency=body.currency,
                    is_enabled=body.is_enabled,
                    force_enable_credit=body.force_enable_credit,
                ),
                monthly_report_allowance=body.monthly_report_allowance,
                set_allowance="monthly_report_allowance" in body.model_fields_set,
            ),
        )
        await uow.commit()
    _account_token(response, aid, version)
    p = state.policy
    return {
        "account_id": aid,
        "billing_mode": api_enum(p.billing_mode),
        "payment_terms_days": p.payment_terms_days,
        "credit_cost_model": api_enum(p.credit_cost_model),
        "currency": p.currency,
        "is_enabled": p.is_enabled,
        "monthly_report_allowance": state.monthly_report_allowance,
    }


@router.patch("/v1/control/accounts/{account_id}/status")
async def control_status(
    account_id: str, body: StatusBody, response: Response, principal: Studio, c: C
) -> dict[str, Any]:
    """Suspend or reactivate an account."""
    principal.require("masterdata.write")
    aid = _uuid_or_404(account_id, "billing account")
    async with c.system_uow() as uow:
        state, version = await handlers.set_account_status(uow, aid, body.status)
        await uow.commit()
    _account_token(response, aid, version)
    return handlers.status_view(state)


@router.post("/v1/control/accounts/{account_id}/credits/grant", status_code=201)
async def control_grant(
    account_id: str, body: GrantBody, response: Response, principal: Studio, c: C
) -> dict[str, Any]:
    """Grant, top up or adjust credits; the account status."""
    principal.require("invoices.write")
    aid = _uuid_or_404(account_id, "billing account")
    try:
        reason = LedgerReason(body.reason.strip().lower())
    except ValueError:
        raise InvalidGrantReason(details={"reason": body.reason}) from None
    async with c.system_uow() as uow:
        applied = await handlers.grant_credits(
            uow,
            aid,
            GrantCredits(
                idempotency_key=body.idempotency_key,
                amount=body.amount,
                reason=reason,
                ref_type=body.ref_type or "manual",
                ref_id=body.ref_id or "manual-grant",
                metadata=body.metadata_json,
            ),
        )
        await uow.commit()
    _account_token(response, aid, applied.account_version)
    return handlers.status_view(applied.account)


@router.get("/v1/control/credits")
async def control_ledger(
    principal: Studio, c: C, account_id: KeyQuery = None, tenant_id: KeyQuery = None
) -> list[dict[str, Any]]:
    """The last 500 ledger rows."""
    principal.require("masterdata.read")
    aid = _uuid_or_404(account_id, "billing account") if account_id else None
    tid = _uuid_or_404(tenant_id, "tenant") if tenant_id else None
    return await _ledger(c, aid, tid, 500)


@router.get("/v1/control/credits/tenant/{tenant_id}")
async def control_tenant_credits(tenant_id: str, principal: Studio, c: C) -> dict[str, Any]:
    """Balances of a tenant's accounts."""
    principal.require("masterdata.read")
    tid = _uuid_or_404(tenant_id, "tenant")
    async with c.system_uow() as uow:
        states = await repo.list_accounts(uow.session, tenant_id=tid)
    accounts = [
        {
            "account_id": s.account.id,
            "external_key": s.account.external_key,
            "display_name": s.account.display_name,
            "account_type": api_enum(s.account.account_type),
            "account_status": api_enum(s.account.status),
            "billing_mode": api_enum(s.policy.billing_mode),
            "payment_terms_days": s.policy.payment_terms_days,
            "credit": {
                "wallet": s.balance.wallet,
                "reserved": s.balance.reserved,
                "available": s.balance.available,
            },
        }
        for s in states
    ]
    return {
        "tenant_id": tid,
        "account_count": len(states),
        "balance_total": sum(s.balance.wallet for s in states),
        "reserved_total": sum(s.balance.reserved for s in states),
        "available_total": sum(s.balance.available for s in states),
        "accounts": accounts,
    }


@router.get("/v1/control/credits/reservations")
async def control_reservations(
    principal: Studio,
    c: C,
    account_id: KeyQuery = None,
    tenant_id: KeyQuery = None,
    status: CodeQuery = None,
    limit: Limit = 200,
) -> list[dict[str, Any]]:
    """Holds, newest first."""
    principal.require("masterdata.read")
    aid = _uuid_or_404(account_id, "billing account") if account_id else None
    tid = _uuid_or_404(tenant_id, "tenant") if tenant_id else None
    return await _reservations(c, aid, tid, status, limit)


@router.get("/v1/control/credits/timeline")
async def control_timeline(
    principal: Studio,
    c: C,
    account_id: KeyQuery = None,
    tenant_id: KeyQuery = None,
    ref_type: KeyQuery = None,
    ref_id: KeyQuery = None,
    limit: Limit = 120,
) -> list[dict[str, Any]]:
    """Ledger and usage events, newest first."""
    principal.require("masterdata.read")
    aid = _uuid_or_404(account_id, "billing account") if account_id else None
    tid = _uuid_or_404(tenant_id, "tenant") if tenant_id else None
    return await _timeline(c, aid, tid, ref_type, ref_id, limit)


@router.post("/v1/control/credits/reserve", status_code=201)
async def control_reserve(body: ReserveBody, response: Response, principal: Studio, c: C) -> dict[str, Any]:
    """Take a credit hold (operator)."""
    principal.require("invoices.write")
    return await _reserve(c, body, response)


@router.post("/v1/control/credits/consume", status_code=201)
async def control_consume(body: ResolveBody, response: Response, principal: Studio, c: C) -> dict[str, Any]:
    """Post a credit hold (operator)."""
    principal.require("invoices.write")
    return await _resolve(c, body, response, consume=True)


@router.post("/v1/control/credits/release", status_code=201)
async def control_release(body: ResolveBody, response: Response, principal: Studio, c: C) -> dict[str, Any]:
    """Void a credit hold (operator)."""
    principal.require("invoices.write")
    return await _resolve(c, body, response, consume=False)


@router.post("/v1/control/credits/reconcile", status_code=201)
async def control_reconcile(body: ReconcileBody, principal: Studio, c: C) -> dict[str, Any]:
    """The reconciliation sweep (operator)."""
    principal.require("invoices.write")
    return await _reconcile(c, body)
