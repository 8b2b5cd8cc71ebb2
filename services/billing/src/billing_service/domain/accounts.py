"""Billing accounts and policies: external keys, upsert rules, the credit-mode guard and the status view.

Pure rules over plain values (domain.md §7.1, §7.2, §8.1; decisions 18 and 26).
"""

from __future__ import annotations

import contextlib
import hashlib
import re
import uuid
from dataclasses import dataclass, replace
from enum import StrEnum

from billing_service.domain.errors import (
    AccountNotActive,
    AccountTenantMismatch,
    BillingModeNotCredit,
    CreditModeRequiresCredits,
    InvalidExternalKey,
    InvalidPaymentTerms,
)
from billing_service.domain.money import DEFAULT_CURRENCY, normalize_currency

DEFAULT_PAYMENT_TERMS_DAYS = 15
EXTERNAL_ASSOCIATE_PAYMENT_TERMS_DAYS = 7

_KEY_RE = re.compile(
    r"^(?:(?P<v1>v1):(?P<v1kind>partner|client|assignment|invoice)|(?P<v2>v2):(?P<v2kind>tenant|external))"
    r":(?P<ident>[A-Za-z0-9_-]+)$"
)


class AccountType(StrEnum):
    """Who the account bills: a tenant, or an external associate (partner/channel)."""

    TENANT = "tenant"
    EXTERNAL_ASSOCIATE = "external_associate"


class AccountStatus(StrEnum):
    """Account lifecycle; only ``active`` accounts may reserve credits."""

    ACTIVE = "active"
    SUSPENDED = "suspended"


class BillingMode(StrEnum):
    """How work is paid: an invoice after the fact, or prepaid credits."""

    POSTPAID = "postpaid"
    CREDIT = "credit"


class CreditCostModel(StrEnum):
    """One credit per report; the only model the original knows."""

    FLAT = "flat"


def api_enum(value: StrEnum) -> str:
    """Billing enums are lower-case in storage and requests and upper-case in responses (domain.md §0)."""
    return value.value.upper()


# --- external keys --------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ExternalKey:
    """A parsed external account key ``<version>:<kind>:<ident>``."""

    version: str
    kind: str
    ident: str

    def __str__(self) -> str:
        return f"{self.version}:{self.kind}:{self.ident}"


#: V1's entity types that name the same account as another (domain.md §8.1: V1's monitor normalisation
#: maps partner, external_associate and referral_channel to ``v1:partner:``)
V1_KIND_ALIASES = {"external_associate": "partner", "referral_channel": "partner"}


def _v1_canonical(text: str) -> str:
    """A ``v1:`` key with its entity type as V1 normalises it: lower-case, aliases mapped to ``partner``
    (``v1:external_associate:77`` → ``v1:partner:77``); any other text unchanged."""
    version, sep, rest = text.partition(":")
    kind, sep2, ident = rest.partition(":")
    if version != "v1" or not sep or not sep2:
        return text
    kind = kind.strip().lower()
    return f"v1:{V1_KIND_ALIASES.get(kind, kind)}:{ident}"


def parse_external_key(raw: str) -> ExternalKey:
    """Validate and normalize an external key (domain.md §7.1 grammar).

    Normalization: surrounding whitespace is trimmed; a ``v1:`` key's entity type is lower-cased and V1's
    aliases of a partner (``external_associate``, ``referral_channel``) become ``partner`` (§8.1, vector
    V1-01), so every spelling V1 builds names the one account; and a ``v2:tenant:`` key whose ident is a
    UUID is written in canonical lower-case form, so the key a client sends and the key the acceptance
    hook derives from a tenant id (``tenant_account_key``) name the same account. Idents stay
    case-sensitive, as in the original validator. ``v1:channel:`` keys stay invalid (domain.md §8.1).
    """
    text = _v1_canonical(raw.strip())
    match = _KEY_RE.match(text)
    if match is None:
        raise InvalidExternalKey(details={"external_key": raw})
    version = match.group("v1") or match.group("v2")
    kind = match.group("v1kind") or match.group("v2kind")
    ident = match.group("ident")
    if version == "v2" and kind == "tenant":
        # The grammar allows any ident; only UUIDs have a canonical spelling.
        with contextlib.suppress(ValueError):
            ident = str(uuid.UUID(ident))
    return ExternalKey(version=version, kind=kind, ident=ident)


def normalize_external_key(raw: str) -> str:
    """``parse_external_key`` as a string."""
    return str(parse_external_key(raw))


def lookup_key(raw: str) -> str | None:
    """The key an account named ``raw`` is stored under, or None when no account can have it.

    For lookups (status, credit calls, monitor lists, usage events): a key outside the grammar (e.g.
    V1's ``v1:channel:``) names no account, so a lookup answers 404 or stores the event unmatched, as
    the original's lookup by key did; only account creation refuses it (400 ``INVALID_EXTERNAL_KEY``).
    """
    try:
        return normalize_external_key(raw)
    except InvalidExternalKey:
        return None


def tenant_account_key(tenant_id: str | uuid.UUID) -> str:
    """The implicit tenant account key ``v2:tenant:<tenant_id>``."""
    return normalize_external_key(f"v2:tenant:{tenant_id}")


def external_associate_key(user_id: str | uuid.UUID) -> str:
    """The implicit external-associate key ``v2:external:<user_id>``."""
    return normalize_external_key(f"v2:external:{user_id}")


def v1_invoice_event_key(
    partner_id: str | None, client_id: str | None, assignment_id: str | None, invoice_id: str
) -> str:
    """The key V1 derives for invoice events: partner, else client, else assignment, else invoice (§8.1)."""
    if partner_id:
        return normalize_external_key(f"v1:partner:{partner_id}")
    if client_id:
        return normalize_external_key(f"v1:client:{client_id}")
    if assignment_id:
        return normalize_external_key(f"v1:assignment:{assignment_id}")
    return normalize_external_key(f"v1:invoice:{invoice_id}")


def v1_entity_key(entity_type: str, entity_id: str | int) -> str:
    """The key V1's monitor builds for an entity (domain.md §8.1, vector V1-01): partner,
    external_associate and referral_channel → ``v1:partner:``; any other type ``v1:<type>:`` (lower-case;
    ``channel`` and unknown types build keys no account can have)."""
    kind = entity_type.strip().lower() or "entity"
    return f"v1:{V1_KIND_ALIASES.get(kind, kind)}:{entity_id}"


def v1_invoice_event_idempotency_key(
    event_type: str,
    invoice_id: str | int,
    payment_id: str | int | None,
    status: str,
    updated_at: str,
    amount_due: str,
) -> str:
    """The idempotency key V1 gives an invoice event (domain.md §8.2, vector V1-04):
    ``v1:<event>:<invoice>:<payment or 0>:<first 16 hex of sha256("v1|<event>|<invoice>|<payment or 0>|
    <status>|<updated_at ISO>|<amount_due>")>``. Billing stores such keys verbatim; this is V1's rule, kept
    here so tests can send what V1 sends."""
    payment = str(payment_id or 0)
    fingerprint = "|".join(["v1", event_type, str(invoice_id), payment, status, updated_at, amount_due])
    digest = hashlib.sha256(fingerprint.encode("utf-8")).hexdigest()[:16]
    return f"v1:{event_type}:{invoice_id}:{payment}:{digest}"


# --- accounts -------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Account:
    """A billing account row."""

    id: str
    tenant_id: str
    account_type: AccountType
    external_key: str
    display_name: str
    status: AccountStatus = AccountStatus.ACTIVE
    payment_terms_days: int = DEFAULT_PAYMENT_TERMS_DAYS


@dataclass(frozen=True, slots=True)
class AccountUpsert:
    """Create-or-update by external key (``POST /control/accounts``)."""

    tenant_id: str
    account_type: AccountType
    display_name: str
    external_key: str
    payment_terms_days: int | None = None


def _check_terms(days: int) -> int:
    if isinstance(days, bool) or days <= 0:
        raise InvalidPaymentTerms(details={"payment_terms_days": days})
    return days


def upsert_account(existing: Account | None, request: AccountUpsert, *, new_account_id: str) -> Account:
    """Apply an upsert by external key.

    Decision 18: an existing account never moves to another tenant (409 ``ACCOUNT_TENANT_MISMATCH``)
    and a suspended account stays suspended; reactivation is an explicit operator action. Omitted
    payment terms keep the stored value rather than resetting it to the default.
    """
    key = normalize_external_key(request.external_key)
    terms = None if request.payment_terms_days is None else _check_terms(request.payment_terms_days)
    if existing is None:
        return Account(
            id=new_account_id,
            tenant_id=request.tenant_id,
            account_type=request.account_type,
            external_key=key,
            display_name=request.display_name.strip() or key,
            status=AccountStatus.ACTIVE,
            payment_terms_days=terms if terms is not None else DEFAULT_PAYMENT_TERMS_DAYS,
        )
    if existing.tenant_id != request.tenant_id:
        raise AccountTenantMismatch(
            details={"external_key": key, "account_id": existing.id, "requested_tenant_id": request.tenant_id}
        )
    return replace(
        existing,
        account_type=request.account_type,
        display_name=request.display_name.strip() or existing.display_name,
        payment_terms_days=terms if terms is not None else existing.payment_terms_days,
    )


def implicit_tenant_account(tenant_id: str) -> AccountUpsert:
    """The account a tenant is billed to when nothing else is named ("Tenant <id>", terms 15)."""
    return AccountUpsert(
        tenant_id=tenant_id,
        account_type=AccountType.TENANT,
        display_name=f"Tenant {tenant_id}",
        external_key=tenant_account_key(tenant_id),
        payment_terms_days=DEFAULT_PAYMENT_TERMS_DAYS,
    )


def implicit_external_associate_account(tenant_id: str, user_id: str) -> AccountUpsert:
    """The account of a channel external associate ("External Associate <id>", terms 7)."""
    return AccountUpsert(
        tenant_id=tenant_id,
        account_type=AccountType.EXTERNAL_ASSOCIATE,
        display_name=f"External Associate {user_id}",
        external_key=external_associate_key(user_id),
        payment_terms_days=EXTERNAL_ASSOCIATE_PAYMENT_TERMS_DAYS,
    )


# --- policies -------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Policy:
    """The billing policy of one account."""

    billing_mode: BillingMode = BillingMode.POSTPAID
    payment_terms_days: int = DEFAULT_PAYMENT_TERMS_DAYS
    credit_cost_model: CreditCostModel = CreditCostModel.FLAT
    currency: str = DEFAULT_CURRENCY
    is_enabled: bool = True


def default_policy(payment_terms_days: int = DEFAULT_PAYMENT_TERMS_DAYS) -> Policy:
    """The policy created with an account: POSTPAID, INR, enabled."""
    return Policy(payment_terms_days=_check_terms(payment_terms_days))


@dataclass(frozen=True, slots=True)
class PolicyChange:
    """``PATCH /control/accounts/:id/policy``."""

    billing_mode: BillingMode
    payment_terms_days: int | None = None
    currency: str | None = None
    is_enabled: bool | None = None
    force_enable_credit: bool = False


@dataclass(frozen=True, slots=True)
class ModeChangeEvent:
    """The usage event of an actual mode change (``credit_mode_enabled`` / ``credit_mode_disabled``)."""

    event_type: str
    previous_mode: BillingMode
    next_mode: BillingMode
    force_enable_credit: bool

    def payload(self) -> dict[str, str | bool]:
        """Usage payload ``{previous_mode, next_mode, force_enable_credit}`` (upper-case modes)."""
        return {
            "previous_mode": api_enum(self.previous_mode),
            "next_mode": api_enum(self.next_mode),
            "force_enable_credit": self.force_enable_credit,
        }


@dataclass(frozen=True, slots=True)
class PolicyChangeResult:
    """The new policy and the mode-change event to emit, if the mode actually changed."""

    policy: Policy
    mode_event: ModeChangeEvent | None


def change_policy(current: Policy, change: PolicyChange, *, available_credits: int) -> PolicyChangeResult:
    """Apply a policy change with the credit-mode guard (BIL-10).

    Switching *to* CREDIT needs ``available > 0`` unless forced; staying in CREDIT is not a switch, so
    an account that has spent its credits can still have its terms edited.
    """
    switching_to_credit = (
        change.billing_mode is BillingMode.CREDIT and current.billing_mode is not BillingMode.CREDIT
    )
    if switching_to_credit and available_credits <= 0 and not change.force_enable_credit:
        raise CreditModeRequiresCredits(details={"available": available_credits})
    policy = replace(
        current,
        billing_mode=change.billing_mode,
        payment_terms_days=(
            current.payment_terms_days
            if change.payment_terms_days is None
            else _check_terms(change.payment_terms_days)
        ),
        currency=current.currency if change.currency is None else normalize_currency(change.currency),
        is_enabled=current.is_enabled if change.is_enabled is None else change.is_enabled,
    )
    event = None
    if policy.billing_mode is not current.billing_mode:
        event = ModeChangeEvent(
            event_type=(
                "credit_mode_enabled" if policy.billing_mode is BillingMode.CREDIT else "credit_mode_disabled"
            ),
            previous_mode=current.billing_mode,
            next_mode=policy.billing_mode,
            force_enable_credit=change.force_enable_credit,
        )
    return PolicyChangeResult(policy=policy, mode_event=event)


def policy_change_usage_key(account_id: str, policy_updated_at_iso: str) -> str:
    """Idempotency key of the mode-change usage event."""
    return f"v2:policy_change:{account_id}:{policy_updated_at_iso}"


def ensure_can_reserve(status: AccountStatus, policy_enabled: bool, mode: BillingMode) -> None:
    """Reserve preconditions in the original's order: active and enabled first, then CREDIT mode."""
    if status is not AccountStatus.ACTIVE or not policy_enabled:
        raise AccountNotActive(details={"account_status": api_enum(status), "is_enabled": policy_enabled})
    if mode is not BillingMode.CREDIT:
        raise BillingModeNotCredit(details={"billing_mode": api_enum(mode)})


# --- status view ----------------------------------------------------------------------------------------


def account_status_view(
    account: Account, policy: Policy, *, wallet: int, reserved: int, available: int
) -> dict[str, object]:
    """The §7.1 status view (``getAccountStatus``), enums upper-cased."""
    return {
        "account_id": account.id,
        "tenant_id": account.tenant_id,
        "account_type": api_enum(account.account_type),
        "external_key": account.external_key,
        "display_name": account.display_name,
        "account_status": api_enum(account.status),
        "billing_mode": api_enum(policy.billing_mode),
        "payment_terms_days": policy.payment_terms_days,
        "credit_cost_model": api_enum(policy.credit_cost_model),
        "currency": policy.currency,
        "is_enabled": policy.is_enabled,
        "credit": {"wallet": wallet, "reserved": reserved, "available": available},
    }
