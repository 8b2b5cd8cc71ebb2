"""What the billing routes share: query types, request bodies, id checks, consistency headers."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import Depends, Query, Request, Response
from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictInt

from billing_service.domain.accounts import (
    AccountStatus,
    AccountType,
    AccountUpsert,
    BillingMode,
    PolicyChange,
)
from billing_service.domain.errors import IdNotFound
from billing_service.domain.ledger import (
    DEFAULT_RESERVATION_TIMEOUT_MINUTES,
    ConsumeHold,
    ReleaseHold,
    ReserveCredit,
)
from billing_service.domain.timeline import MAX_CURSOR_LENGTH
from billing_service.handlers import AccountReference, account_by_key
from billing_service.handlers.queries import work_order_source_version
from billing_service.handlers.reconcile import ReconcileCredits
from shared.auth.principal import Principal
from shared.consistency import AFTER_HEADER, await_projections, parse_tokens, wait_budget_ms
from shared.container import ServiceContainer, parse_uuid, version_token
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

Limit = Annotated[int, Query(ge=1, le=MAX_PAGE_LIMIT)]
# Query strings: ids are checked as uuids by the routes (else 404), keys and codes are bounded here.
KeyQuery = Annotated[Key | None, Query()]
CodeQuery = Annotated[Code | None, Query()]
SearchQuery = Annotated[SearchText | None, Query()]
#: a page cursor (the ``x-next-cursor`` of the previous page); checked by the list, else 400 ``INVALID_CURSOR``
CursorQuery = Annotated[str | None, Query(max_length=MAX_CURSOR_LENGTH)]
#: reconciliation: holds older than this many minutes (one year at most; a timedelta stays in range)
MAX_TIMEOUT_MINUTES = 525_600
MAX_METADATA_KEYS = 50  # keys of a grant's metadata object
GrantMetadataValue = Key | SafeInt | bool | None
#: ``wait`` is read by ``honour_after`` from the query string
WAIT_FAILURE = (400, "INVALID_WAIT")


def account_token(response: Response, account_id: str, version: int) -> None:
    """The ``x-zenops-version`` token of an account write."""
    response.headers["x-zenops-version"] = version_token("billing", "account", account_id, version)


def uuid_or_404(value: str, what: str) -> str:
    """An id that is not a uuid names nothing: 404 ``NOT_FOUND`` (never a 500)."""
    return str(parse_uuid(value, not_found=IdNotFound(f"{what} {value} not found")))


def optional_uuid(value: str | None, what: str) -> str | None:
    """:func:`uuid_or_404` of a filter that may be absent."""
    return uuid_or_404(value, what) if value else None


class AccountTenantFilter:
    """``?account_id=&tenant_id=`` of the control lists; each must be a uuid (else 404), checked when
    read, so after the route's capability check."""

    def __init__(self, account_id: KeyQuery = None, tenant_id: KeyQuery = None) -> None:
        self._account_id = account_id
        self._tenant_id = tenant_id

    @property
    def account_id(self) -> str | None:
        """The account filter (404 unless a uuid)."""
        return optional_uuid(self._account_id, "billing account")

    @property
    def tenant_id(self) -> str | None:
        """The tenant filter (404 unless a uuid)."""
        return optional_uuid(self._tenant_id, "tenant")


class AccountKeyFilter:
    """``?account_id=&external_key=`` of V1's monitor lists: the account by id or by external key."""

    def __init__(self, account_id: KeyQuery = None, external_key: KeyQuery = None) -> None:
        self._account_id = account_id
        self._external_key = external_key

    async def account_id(self, c: ServiceContainer[Any]) -> str | None:
        """The account filtered by: an id (404 unless a uuid) or an external key (404 unless known)."""
        if self._account_id:
            return uuid_or_404(self._account_id, "billing account")
        if self._external_key:
            async with c.system_uow() as uow:
                return await account_by_key(uow, self._external_key)
        return None


ByAccountOrTenant = Annotated[AccountTenantFilter, Depends()]
ByAccountOrKey = Annotated[AccountKeyFilter, Depends()]


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
                return await work_order_source_version(uow, work_order_id)
        async with c.system_uow() as uow:
            return await work_order_source_version(uow, work_order_id)

    await await_projections(tokens, {("workorders", "work-order"): lookup}, timeout_s=budget_ms / 1000)


# --- request bodies -------------------------------------------------------------------------------------


class Body(BaseModel):
    """Request bodies ignore unknown fields (V1 sends more than billing reads)."""

    model_config = ConfigDict(extra="ignore")


class ReserveBody(Body):
    """``POST /credits/reserve``."""

    account_id: uuid.UUID | None = None
    external_key: Key | None = None
    amount: CreditAmount = 1
    ref_type: Key = Field(min_length=1)
    ref_id: Key = Field(min_length=1)
    idempotency_key: Key = Field(min_length=1)
    operator_override: StrictBool = False

    def account(self) -> AccountReference:
        """The account the body names."""
        return AccountReference(str(self.account_id) if self.account_id else None, self.external_key)

    def reserve(self) -> ReserveCredit:
        """The hold the body asks for."""
        return ReserveCredit(
            self.idempotency_key, self.ref_type, self.ref_id, self.amount, self.operator_override
        )


class ResolveBody(Body):
    """``POST /credits/consume`` and ``/credits/release``."""

    account_id: uuid.UUID | None = None
    external_key: Key | None = None
    reservation_id: uuid.UUID | None = None
    ref_type: Key | None = None
    ref_id: Key | None = None
    idempotency_key: Key = Field(min_length=1)
    amount: CreditAmount | None = None

    @property
    def hold_id(self) -> str | None:
        """The named reservation, as a string id."""
        return str(self.reservation_id) if self.reservation_id else None

    def account(self) -> AccountReference:
        """The account the body names (or the account of the named reservation)."""
        return AccountReference(
            str(self.account_id) if self.account_id else None, self.external_key, self.hold_id
        )

    def operation(self, *, consume: bool) -> ConsumeHold | ReleaseHold:
        """Consume (the whole hold unless ``amount``) or release the hold the body names."""
        if consume:
            return ConsumeHold(self.idempotency_key, self.hold_id, self.ref_type, self.ref_id, self.amount)
        return ReleaseHold(self.idempotency_key, self.hold_id, self.ref_type, self.ref_id)


class UsageBody(Body):
    """``POST /v1/billing/events``."""

    source_system: str = Field(pattern="^(v1|v2)$")
    event_type: Code = Field(min_length=1)
    account_id: uuid.UUID | None = None
    external_account_key: Key | None = None
    payload_json: JsonObject = Field(default_factory=dict)
    idempotency_key: Key = Field(min_length=1)


class AccountBody(Body):
    """``POST /v1/control/accounts``."""

    tenant_id: uuid.UUID
    account_type: AccountType
    display_name: Name = Field(min_length=1)
    external_key: Key = Field(min_length=1)
    payment_terms_days: PaymentTermsDays | None = None

    def command(self) -> AccountUpsert:
        """The create-or-update this body asks for."""
        return AccountUpsert(**self.model_dump(exclude={"tenant_id"}), tenant_id=str(self.tenant_id))


class PolicyBody(Body):
    """``PATCH /v1/control/accounts/{id}/policy``."""

    billing_mode: BillingMode
    payment_terms_days: PaymentTermsDays | None = None
    currency: Code | None = None
    is_enabled: StrictBool | None = None
    force_enable_credit: StrictBool = False
    monthly_report_allowance: MonthlyAllowance | None = None

    def change(self) -> PolicyChange:
        """The policy change (the body less our additive allowance field, decision 32)."""
        return PolicyChange(**self.model_dump(exclude={"monthly_report_allowance"}))


class StatusBody(Body):
    """``PATCH /v1/control/accounts/{id}/status``."""

    status: AccountStatus


class GrantBody(Body):
    """``POST /v1/control/accounts/{id}/credits/grant``."""

    amount: CreditAmount
    reason: Code = "grant"
    ref_type: Key | None = None
    ref_id: Key | None = None
    idempotency_key: Key = Field(min_length=1)
    metadata_json: dict[Key, GrantMetadataValue] = Field(default_factory=dict, max_length=MAX_METADATA_KEYS)


class ReconcileBody(Body):
    """``POST /credits/reconcile``."""

    tenant_id: uuid.UUID | None = None
    account_id: uuid.UUID | None = None
    ref_type: Key | None = Field(default=None, min_length=1)
    limit: StrictInt = Field(default=100, ge=1, le=MAX_PAGE_LIMIT)
    timeout_minutes: StrictInt = Field(
        default=DEFAULT_RESERVATION_TIMEOUT_MINUTES, ge=1, le=MAX_TIMEOUT_MINUTES
    )
    dry_run: StrictBool = False

    def command(self) -> ReconcileCredits:
        """The sweep this body asks for."""
        return ReconcileCredits(
            tenant_id=str(self.tenant_id) if self.tenant_id else None,
            account_id=str(self.account_id) if self.account_id else None,
            ref_type=self.ref_type,
            limit=self.limit,
            timeout_minutes=self.timeout_minutes,
            dry_run=self.dry_run,
        )
