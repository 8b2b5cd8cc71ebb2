"""The account aggregate: account, policy and balance rows (the balance row is the account mutex)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Select, func, insert, or_, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from billing_service.domain.accounts import (
    Account,
    AccountStatus,
    AccountType,
    BillingMode,
    CreditCostModel,
    Policy,
)
from billing_service.domain.ledger import CreditBalance
from billing_service.repositories._rows import is_uuid
from billing_service.tables import accounts, balances, policies
from shared.db.uow import Repository


@dataclass(frozen=True, slots=True)
class AccountState:
    """An account with its policy and balance, as loaded (under the balance-row lock when locked)."""

    account: Account
    policy: Policy
    balance: CreditBalance
    monthly_report_allowance: int | None
    status_version: int
    policy_updated_at: datetime


@dataclass(frozen=True, slots=True)
class CreditSummaryRow:
    """The balances of a tenant's active accounts, summed, and its oldest active account."""

    account_count: int
    wallet: int
    reserved: int
    available: int
    primary_account_id: str | None


def _select_states() -> Select[Any]:
    a, p, b = accounts.c, policies.c, balances.c
    return select(
        a.id,
        a.tenant_id,
        a.account_type,
        a.external_key,
        a.display_name,
        a.status,
        a.payment_terms_days.label("account_terms"),
        a.status_version,
        p.billing_mode,
        p.payment_terms_days,
        p.credit_cost_model,
        p.currency,
        p.is_enabled,
        p.monthly_report_allowance,
        p.updated_at.label("policy_updated_at"),
        b.wallet,
        b.reserved,
        b.available,
    ).select_from(accounts.join(policies, p.account_id == a.id).join(balances, b.account_id == a.id))


def _state(row: Any) -> AccountState:
    return AccountState(
        account=Account(
            id=row.id,
            tenant_id=row.tenant_id,
            account_type=AccountType(row.account_type),
            external_key=row.external_key,
            display_name=row.display_name,
            status=AccountStatus(row.status),
            payment_terms_days=row.account_terms,
        ),
        policy=Policy(
            billing_mode=BillingMode(row.billing_mode),
            payment_terms_days=row.payment_terms_days,
            credit_cost_model=CreditCostModel(row.credit_cost_model),
            currency=row.currency,
            is_enabled=row.is_enabled,
        ),
        balance=CreditBalance(int(row.wallet), int(row.reserved), int(row.available)),
        monthly_report_allowance=row.monthly_report_allowance,
        status_version=int(row.status_version),
        policy_updated_at=row.policy_updated_at,
    )


def _like(search: str) -> str:
    return "%" + search.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


class AccountRepository(Repository):
    """Accounts with their policy and balance. Never commits."""

    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def get(self, account_id: str, *, lock: bool = False) -> AccountState | None:
        """The account with policy and balance; ``lock`` takes the balance row (the account mutex)."""
        if not is_uuid(account_id):
            return None
        query = _select_states().where(accounts.c.id == account_id)
        if lock:
            query = query.with_for_update(of=balances)
        row = (await self._session.execute(query)).first()
        return _state(row) if row else None

    async def id_by_key(self, external_key: str) -> str | None:
        """The id of the account with this (normalized) external key."""
        query = select(accounts.c.id).where(accounts.c.external_key == external_key)
        found: str | None = (await self._session.execute(query)).scalar_one_or_none()
        return found

    async def add(self, account: Account, policy: Policy) -> bool:
        """Create account + policy + empty balance; False when the external key already exists."""
        statement = (
            pg_insert(accounts)
            .values(
                id=account.id,
                tenant_id=account.tenant_id,
                account_type=account.account_type.value,
                external_key=account.external_key,
                display_name=account.display_name,
                status=account.status.value,
                payment_terms_days=account.payment_terms_days,
            )
            .on_conflict_do_nothing(index_elements=["external_key"])
            .returning(accounts.c.id)
        )
        inserted = (await self._session.execute(statement)).first()
        if inserted is None:
            return False
        await self._session.execute(
            insert(policies).values(
                account_id=account.id,
                tenant_id=account.tenant_id,
                billing_mode=policy.billing_mode.value,
                payment_terms_days=policy.payment_terms_days,
                credit_cost_model=policy.credit_cost_model.value,
                currency=policy.currency,
                is_enabled=policy.is_enabled,
                monthly_report_allowance=None,
            )
        )
        await self._session.execute(
            insert(balances).values(account_id=account.id, tenant_id=account.tenant_id)
        )
        return True

    async def update(self, account: Account) -> None:
        """Write type, name, status and terms of an existing account."""
        await self._session.execute(
            update(accounts)
            .where(accounts.c.id == account.id)
            .values(
                account_type=account.account_type.value,
                display_name=account.display_name,
                status=account.status.value,
                payment_terms_days=account.payment_terms_days,
                updated_at=func.now(),
            )
        )

    async def update_policy(
        self, account_id: str, policy: Policy, *, monthly_report_allowance: int | None
    ) -> datetime:
        """Write the policy; returns its new ``updated_at``."""
        updated: datetime = (
            await self._session.execute(
                update(policies)
                .where(policies.c.account_id == account_id)
                .values(
                    billing_mode=policy.billing_mode.value,
                    payment_terms_days=policy.payment_terms_days,
                    currency=policy.currency,
                    is_enabled=policy.is_enabled,
                    monthly_report_allowance=monthly_report_allowance,
                    # clock time, not transaction time: the usage key of a mode change is derived from it
                    updated_at=func.clock_timestamp(),
                )
                .returning(policies.c.updated_at)
            )
        ).scalar_one()
        return updated

    async def bump_version(self, account_id: str) -> int:
        """Next version of the account-status stream (called under the account lock)."""
        version: int = (
            await self._session.execute(
                update(accounts)
                .where(accounts.c.id == account_id)
                .values(status_version=accounts.c.status_version + 1, updated_at=func.now())
                .returning(accounts.c.status_version)
            )
        ).scalar_one()
        return version

    async def list(
        self, *, search: str | None = None, tenant_id: str | None = None, limit: int = 500
    ) -> list[AccountState]:
        """Accounts (optionally: name/key substring, tenant), oldest first."""
        query = _select_states()
        if search:
            pattern = _like(search)
            query = query.where(
                or_(accounts.c.display_name.ilike(pattern), accounts.c.external_key.ilike(pattern))
            )
        if tenant_id:
            query = query.where(accounts.c.tenant_id == tenant_id)
        query = query.order_by(accounts.c.created_at, accounts.c.id).limit(limit)
        return [_state(r) for r in (await self._session.execute(query)).all()]

    async def credit_summary(self, tenant_id: str) -> CreditSummaryRow:
        """Sums over the tenant's active accounts (zeros and no primary account when it has none)."""
        a, b = accounts.c, balances.c
        active = (a.tenant_id == tenant_id) & (a.status == AccountStatus.ACTIVE.value)
        totals = (
            await self._session.execute(
                select(
                    func.count(a.id),
                    func.coalesce(func.sum(b.wallet), 0),
                    func.coalesce(func.sum(b.reserved), 0),
                    func.coalesce(func.sum(b.available), 0),
                )
                .select_from(accounts.outerjoin(balances, b.account_id == a.id))
                .where(active)
            )
        ).one()
        oldest = select(a.id).where(active).order_by(a.created_at, a.id).limit(1)
        primary: str | None = (await self._session.execute(oldest)).scalar_one_or_none()
        count, wallet, reserved, available = totals
        return CreditSummaryRow(int(count), int(wallet), int(reserved), int(available), primary)
