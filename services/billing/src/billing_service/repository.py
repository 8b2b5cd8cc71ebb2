"""All SQL of the billing service. Repositories never commit; the unit of work does.

Rows are turned into the domain's plain values (``Account``, ``Policy``, ``CreditBalance``, ``Hold``,
``IdempotencyRecord``) so the handlers can call the pure domain functions, and a domain
``LedgerOutcome`` is written back verbatim by :func:`apply_ledger_outcome`.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from billing_service.domain.accounts import (
    Account,
    AccountStatus,
    AccountType,
    BillingMode,
    CreditCostModel,
    Policy,
)
from billing_service.domain.invoices import DraftInvoice
from billing_service.domain.ledger import (
    CreditBalance,
    Hold,
    HoldStatus,
    IdempotencyRecord,
    LedgerOutcome,
    Operation,
    OpResult,
)
from billing_service.settings import SCHEMA

S = SCHEMA

Row = Mapping[Any, Any]
"""A result row (``RowMapping``) keyed by column name."""

_ACCOUNT_COLUMNS = (
    "a.id::text AS id, a.tenant_id::text AS tenant_id, a.account_type, a.external_key, a.display_name, "
    "a.status, a.payment_terms_days AS account_terms, a.status_version, a.created_at, "
    "p.billing_mode, p.payment_terms_days, p.credit_cost_model, p.currency, p.is_enabled, "
    "p.monthly_report_allowance, p.updated_at AS policy_updated_at, "
    "b.wallet, b.reserved, b.available"
)


@dataclass(frozen=True, slots=True)
class AccountState:
    """An account with its policy and balance, as loaded (under the balance-row lock when locked)."""

    account: Account
    policy: Policy
    balance: CreditBalance
    monthly_report_allowance: int | None
    status_version: int
    policy_updated_at: datetime


def _account_state(row: Row) -> AccountState:
    return AccountState(
        account=Account(
            id=row["id"],
            tenant_id=row["tenant_id"],
            account_type=AccountType(row["account_type"]),
            external_key=row["external_key"],
            display_name=row["display_name"],
            status=AccountStatus(row["status"]),
            payment_terms_days=row["account_terms"],
        ),
        policy=Policy(
            billing_mode=BillingMode(row["billing_mode"]),
            payment_terms_days=row["payment_terms_days"],
            credit_cost_model=CreditCostModel(row["credit_cost_model"]),
            currency=row["currency"],
            is_enabled=row["is_enabled"],
        ),
        balance=CreditBalance(int(row["wallet"]), int(row["reserved"]), int(row["available"])),
        monthly_report_allowance=row["monthly_report_allowance"],
        status_version=int(row["status_version"]),
        policy_updated_at=row["policy_updated_at"],
    )


def _is_uuid(value: str) -> bool:
    try:
        uuid.UUID(value)
    except ValueError:
        return False
    return True


# --- accounts -------------------------------------------------------------------------------------------


async def load_account(session: AsyncSession, account_id: str, *, lock: bool = False) -> AccountState | None:
    """The account with policy and balance; ``lock`` takes the balance row (the account mutex)."""
    if not _is_uuid(account_id):
        return None
    row = (
        (
            await session.execute(
                text(
                    f"SELECT {_ACCOUNT_COLUMNS} FROM {S}.accounts a "
                    f"JOIN {S}.policies p ON p.account_id = a.id JOIN {S}.balances b ON b.account_id = a.id "
                    f"WHERE a.id = :id {'FOR UPDATE OF b' if lock else ''}"
                ),
                {"id": account_id},
            )
        )
        .mappings()
        .first()
    )
    return _account_state(row) if row else None


async def account_id_by_key(session: AsyncSession, external_key: str) -> str | None:
    """The id of the account with this (normalized) external key."""
    return (
        await session.execute(
            text(f"SELECT id::text FROM {S}.accounts WHERE external_key = :k"), {"k": external_key}
        )
    ).scalar_one_or_none()


async def insert_account(
    session: AsyncSession, account: Account, policy: Policy, *, monthly_report_allowance: int | None = None
) -> bool:
    """Create account + policy + empty balance; False when the external key already exists."""
    inserted = (
        await session.execute(
            text(
                f"INSERT INTO {S}.accounts (id, tenant_id, account_type, external_key, display_name, status, "
                "payment_terms_days) VALUES (:id, :t, :type, :key, :name, :status, :terms) "
                "ON CONFLICT (external_key) DO NOTHING RETURNING 1"
            ),
            {
                "id": account.id,
                "t": account.tenant_id,
                "type": account.account_type.value,
                "key": account.external_key,
                "name": account.display_name,
                "status": account.status.value,
                "terms": account.payment_terms_days,
            },
        )
    ).first()
    if inserted is None:
        return False
    await session.execute(
        text(
            f"INSERT INTO {S}.policies (account_id, tenant_id, billing_mode, payment_terms_days, "
            "credit_cost_model, currency, is_enabled, monthly_report_allowance) "
            "VALUES (:id, :t, :mode, :terms, :model, :cur, :enabled, :allowance)"
        ),
        {
            "id": account.id,
            "t": account.tenant_id,
            "mode": policy.billing_mode.value,
            "terms": policy.payment_terms_days,
            "model": policy.credit_cost_model.value,
            "cur": policy.currency,
            "enabled": policy.is_enabled,
            "allowance": monthly_report_allowance,
        },
    )
    await session.execute(
        text(f"INSERT INTO {S}.balances (account_id, tenant_id) VALUES (:id, :t)"),
        {"id": account.id, "t": account.tenant_id},
    )
    return True


async def update_account(session: AsyncSession, account: Account) -> None:
    """Write type, name, status and terms of an existing account."""
    await session.execute(
        text(
            f"UPDATE {S}.accounts SET account_type = :type, display_name = :name, status = :status, "
            "payment_terms_days = :terms, updated_at = now() WHERE id = :id"
        ),
        {
            "id": account.id,
            "type": account.account_type.value,
            "name": account.display_name,
            "status": account.status.value,
            "terms": account.payment_terms_days,
        },
    )


async def update_policy(
    session: AsyncSession, account_id: str, policy: Policy, *, monthly_report_allowance: int | None
) -> datetime:
    """Write the policy; returns its new ``updated_at``."""
    updated: datetime = (
        await session.execute(
            text(
                f"UPDATE {S}.policies SET billing_mode = :mode, payment_terms_days = :terms, currency = :cur, "
                "is_enabled = :enabled, monthly_report_allowance = :allowance, updated_at = clock_timestamp() "
                "WHERE account_id = :id RETURNING updated_at"
            ),
            {
                "id": account_id,
                "mode": policy.billing_mode.value,
                "terms": policy.payment_terms_days,
                "cur": policy.currency,
                "enabled": policy.is_enabled,
                "allowance": monthly_report_allowance,
            },
        )
    ).scalar_one()
    return updated


async def bump_account_version(session: AsyncSession, account_id: str) -> int:
    """Next version of the account-status stream (called under the account lock)."""
    version: int = (
        await session.execute(
            text(
                f"UPDATE {S}.accounts SET status_version = status_version + 1, updated_at = now() "
                "WHERE id = :id RETURNING status_version"
            ),
            {"id": account_id},
        )
    ).scalar_one()
    return version


async def list_accounts(
    session: AsyncSession, *, search: str | None = None, tenant_id: str | None = None, limit: int = 500
) -> list[AccountState]:
    """Accounts (optionally: name/key substring, tenant), oldest first."""
    where = ["true"]
    params: dict[str, Any] = {"limit": limit}
    if search:
        where.append("(a.display_name ILIKE :s OR a.external_key ILIKE :s)")
        params["s"] = "%" + search.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
    if tenant_id:
        where.append("a.tenant_id = :t")
        params["t"] = tenant_id
    rows = (
        (
            await session.execute(
                text(
                    f"SELECT {_ACCOUNT_COLUMNS} FROM {S}.accounts a "
                    f"JOIN {S}.policies p ON p.account_id = a.id JOIN {S}.balances b ON b.account_id = a.id "
                    f"WHERE {' AND '.join(where)} ORDER BY a.created_at, a.id LIMIT :limit"
                ),
                params,
            )
        )
        .mappings()
        .all()
    )
    return [_account_state(r) for r in rows]


# --- holds and ledger -----------------------------------------------------------------------------------

_HOLD_COLUMNS = (
    "id::text AS id, tenant_id::text AS tenant_id, account_id::text AS account_id, ref_type, ref_id, amount, "
    "status, idempotency_key, created_at, expires_at, consumed_at, released_at, consumed_amount, release_reason"
)


def hold_from_row(row: Row) -> Hold:
    """A ``holds`` row as a domain hold (``expired`` is a released hold for the state machine)."""
    status = row["status"]
    return Hold(
        id=row["id"],
        account_id=row["account_id"],
        ref_type=row["ref_type"],
        ref_id=row["ref_id"],
        amount=int(row["amount"]),
        status=HoldStatus.RELEASED if status == "expired" else HoldStatus(status),
        idempotency_key=row["idempotency_key"],
        created_at=row["created_at"],
        expires_at=row["expires_at"],
        consumed_at=row["consumed_at"],
        released_at=row["released_at"],
        consumed_amount=row["consumed_amount"],
        release_reason=row["release_reason"],
    )


async def get_hold_row(session: AsyncSession, hold_id: str) -> Row | None:
    """One hold row by id."""
    if not _is_uuid(hold_id):
        return None
    return (
        (
            await session.execute(
                text(f"SELECT {_HOLD_COLUMNS} FROM {S}.holds WHERE id = :id"), {"id": hold_id}
            )
        )
        .mappings()
        .first()
    )


async def get_hold(session: AsyncSession, hold_id: str) -> Hold | None:
    """One hold by id."""
    row = await get_hold_row(session, hold_id)
    return hold_from_row(row) if row else None


_ACTIVE_ONLY = "AND status = 'active'"


async def latest_hold_for_ref(
    session: AsyncSession, account_id: str, ref_type: str, ref_id: str, *, active_only: bool = False
) -> Hold | None:
    """The newest hold of a reference on an account (optionally only an active one)."""
    row = (
        (
            await session.execute(
                text(
                    f"SELECT {_HOLD_COLUMNS} FROM {S}.holds WHERE account_id = :a AND ref_type = :rt "
                    f"AND ref_id = :ri {_ACTIVE_ONLY if active_only else ''} "
                    "ORDER BY created_at DESC, id DESC LIMIT 1"
                ),
                {"a": account_id, "rt": ref_type, "ri": ref_id},
            )
        )
        .mappings()
        .first()
    )
    return hold_from_row(row) if row else None


async def get_idempotency_record(
    session: AsyncSession, account_id: str, key: str
) -> IdempotencyRecord | None:
    """The stored use of a ledger idempotency key on an account (decision 17)."""
    row = (
        (
            await session.execute(
                text(
                    f"SELECT operation, fingerprint, hold_id::text AS hold_id, entry_ids FROM {S}.ledger_idempotency "
                    "WHERE account_id = :a AND key = :k"
                ),
                {"a": account_id, "k": key},
            )
        )
        .mappings()
        .first()
    )
    if row is None:
        return None
    entry_ids = row["entry_ids"] if isinstance(row["entry_ids"], list) else json.loads(row["entry_ids"])
    op = Operation(row["operation"])
    return IdempotencyRecord(
        account_id=account_id,
        key=key,
        operation=op,
        fingerprint=row["fingerprint"],
        result=OpResult(op, row["hold_id"], tuple(entry_ids)),
    )


class HoldAlreadyResolvedRace(RuntimeError):
    """The conditional hold update matched no active row: the lock discipline was broken."""


async def apply_ledger_outcome(session: AsyncSession, tenant_id: str, outcome: LedgerOutcome) -> None:
    """Write a domain outcome verbatim: balance, holds (insert or resolve-once update), entries, record."""
    if outcome.replayed:
        return
    account_id = outcome.record.account_id if outcome.record else None
    b = outcome.balance
    if account_id is not None:
        await session.execute(
            text(
                f"UPDATE {S}.balances SET wallet = :w, reserved = :r, available = :av, updated_at = now() "
                "WHERE account_id = :a"
            ),
            {"w": b.wallet, "r": b.reserved, "av": b.available, "a": account_id},
        )
    for hold in outcome.holds:
        if hold.status is HoldStatus.ACTIVE:
            await session.execute(
                text(
                    f"INSERT INTO {S}.holds (id, tenant_id, account_id, ref_type, ref_id, amount, status, "
                    "idempotency_key, created_at, expires_at) VALUES (:id, :t, :a, :rt, :ri, :amt, 'active', "
                    ":k, :created, :expires)"
                ),
                {
                    "id": hold.id,
                    "t": tenant_id,
                    "a": hold.account_id,
                    "rt": hold.ref_type,
                    "ri": hold.ref_id,
                    "amt": hold.amount,
                    "k": hold.idempotency_key,
                    "created": hold.created_at,
                    "expires": hold.expires_at,
                },
            )
        else:
            # Resolve once: the WHERE clause refuses a second resolution even if a lock were missing.
            updated = (
                await session.execute(
                    text(
                        f"UPDATE {S}.holds SET status = :st, consumed_at = :ca, released_at = :ra, "
                        "consumed_amount = :cam, release_reason = :rr WHERE id = :id AND status = 'active' "
                        "RETURNING 1"
                    ),
                    {
                        "id": hold.id,
                        "st": hold.status.value,
                        "ca": hold.consumed_at,
                        "ra": hold.released_at,
                        "cam": hold.consumed_amount,
                        "rr": hold.release_reason,
                    },
                )
            ).first()
            if updated is None:
                raise HoldAlreadyResolvedRace(hold.id)
    for entry in outcome.entries:
        await session.execute(
            text(
                f"INSERT INTO {S}.ledger_entries (id, tenant_id, account_id, hold_id, delta, reason, ref_type, "
                "ref_id, idempotency_key, metadata_json) VALUES (:id, :t, :a, :h, :d, :r, :rt, :ri, :k, "
                "CAST(:m AS jsonb))"
            ),
            {
                "id": entry.id,
                "t": tenant_id,
                "a": entry.account_id,
                "h": entry.hold_id,
                "d": entry.delta,
                "r": entry.reason.value,
                "rt": entry.ref_type,
                "ri": entry.ref_id,
                "k": entry.idempotency_key,
                "m": json.dumps(dict(entry.metadata)),
            },
        )
    if outcome.record is not None:
        rec = outcome.record
        await session.execute(
            text(
                f"INSERT INTO {S}.ledger_idempotency (account_id, key, tenant_id, operation, fingerprint, "
                "hold_id, entry_ids) VALUES (:a, :k, :t, :op, :fp, :h, CAST(:e AS jsonb))"
            ),
            {
                "a": rec.account_id,
                "k": rec.key,
                "t": tenant_id,
                "op": rec.operation.value,
                "fp": rec.fingerprint,
                "h": rec.result.hold_id,
                "e": json.dumps(list(rec.result.entry_ids)),
            },
        )


_LEDGER_COLUMNS = (
    "id::text AS id, tenant_id::text AS tenant_id, account_id::text AS account_id, hold_id::text AS hold_id, "
    "delta, reason, ref_type, ref_id, idempotency_key, metadata_json, created_at"
)


async def get_ledger_entry(session: AsyncSession, entry_id: str) -> Row | None:
    """One ledger row."""
    return (
        (
            await session.execute(
                text(f"SELECT {_LEDGER_COLUMNS} FROM {S}.ledger_entries WHERE id = :id"), {"id": entry_id}
            )
        )
        .mappings()
        .first()
    )


async def list_ledger(
    session: AsyncSession,
    *,
    account_id: str | None = None,
    tenant_id: str | None = None,
    ref_type: str | None = None,
    ref_id: str | None = None,
    limit: int = 500,
) -> Sequence[Row]:
    """Ledger rows, newest first."""
    where, params = _filters(account_id=account_id, tenant_id=tenant_id, ref_type=ref_type, ref_id=ref_id)
    params["limit"] = limit
    return (
        (
            await session.execute(
                text(
                    f"SELECT {_LEDGER_COLUMNS} FROM {S}.ledger_entries WHERE {where} "
                    "ORDER BY created_at DESC, id DESC LIMIT :limit"
                ),
                params,
            )
        )
        .mappings()
        .all()
    )


async def list_holds(
    session: AsyncSession,
    *,
    account_id: str | None = None,
    tenant_id: str | None = None,
    status: str | None = None,
    limit: int = 200,
) -> Sequence[Row]:
    """Holds, newest first."""
    where, params = _filters(account_id=account_id, tenant_id=tenant_id, status=status)
    params["limit"] = limit
    return (
        (
            await session.execute(
                text(
                    f"SELECT {_HOLD_COLUMNS} FROM {S}.holds WHERE {where} "
                    "ORDER BY created_at DESC, id DESC LIMIT :limit"
                ),
                params,
            )
        )
        .mappings()
        .all()
    )


async def reconcile_candidates(
    session: AsyncSession,
    *,
    account_id: str | None,
    tenant_id: str | None,
    ref_type: str | None,
    limit: int,
) -> list[Hold]:
    """Active holds for the sweep, oldest first (domain.md §7.4)."""
    where, params = _filters(account_id=account_id, tenant_id=tenant_id, ref_type=ref_type)
    params["limit"] = limit
    rows = (
        (
            await session.execute(
                text(
                    f"SELECT {_HOLD_COLUMNS} FROM {S}.holds WHERE {where} AND status = 'active' "
                    "ORDER BY created_at, id LIMIT :limit"
                ),
                params,
            )
        )
        .mappings()
        .all()
    )
    return [hold_from_row(r) for r in rows]


async def work_order_statuses(session: AsyncSession, work_order_ids: Sequence[str]) -> dict[str, str]:
    """Billing's last known status of each known work order (unknown ids are absent)."""
    ids = [i for i in work_order_ids if _is_uuid(i)]
    if not ids:
        return {}
    rows = await session.execute(
        text(
            f"SELECT work_order_id::text, status FROM {S}.work_orders "
            "WHERE work_order_id = ANY(CAST(:ids AS uuid[]))"
        ),
        {"ids": ids},
    )
    return {str(r[0]): str(r[1]) for r in rows}


def _filters(**values: str | None) -> tuple[str, dict[str, Any]]:
    where = ["true"]
    params: dict[str, Any] = {}
    for column, value in values.items():
        if value is not None:
            where.append(f"{column} = :{column}")
            params[column] = value
    return " AND ".join(where), params


# --- usage events ---------------------------------------------------------------------------------------

_USAGE_COLUMNS = (
    "id::text AS id, tenant_id::text AS tenant_id, account_id::text AS account_id, external_account_key, "
    "source_system, event_type, idempotency_key, payload_json, unmatched, created_at"
)


async def insert_usage(
    session: AsyncSession,
    *,
    source_system: str,
    event_type: str,
    idempotency_key: str,
    payload: Mapping[str, Any],
    account_id: str | None,
    tenant_id: str | None,
    external_key: str | None = None,
) -> tuple[Row, bool]:
    """Ingest a usage event once per (source, key); returns the row and whether it is new."""
    row = (
        (
            await session.execute(
                text(
                    f"INSERT INTO {S}.usage_events (id, tenant_id, account_id, external_account_key, source_system, "
                    "event_type, idempotency_key, payload_json, unmatched) VALUES (:id, :t, :a, :ek, :src, :ty, :k, "
                    f"CAST(:p AS jsonb), :unmatched) ON CONFLICT (source_system, idempotency_key) DO NOTHING "
                    f"RETURNING {_USAGE_COLUMNS}"
                ),
                {
                    "id": str(uuid.uuid4()),
                    "t": tenant_id if account_id else None,
                    "a": account_id,
                    "ek": external_key,
                    "src": source_system,
                    "ty": event_type,
                    "k": idempotency_key,
                    "p": json.dumps(dict(payload)),
                    "unmatched": account_id is None,
                },
            )
        )
        .mappings()
        .first()
    )
    if row is not None:
        return row, True
    existing = (
        (
            await session.execute(
                text(
                    f"SELECT {_USAGE_COLUMNS} FROM {S}.usage_events WHERE source_system = :src AND idempotency_key = :k"
                ),
                {"src": source_system, "k": idempotency_key},
            )
        )
        .mappings()
        .one()
    )
    return existing, False


async def list_usage(
    session: AsyncSession, *, account_id: str | None = None, tenant_id: str | None = None, limit: int = 500
) -> Sequence[Row]:
    """Usage events, newest first."""
    where, params = _filters(account_id=account_id, tenant_id=tenant_id)
    params["limit"] = limit
    return (
        (
            await session.execute(
                text(
                    f"SELECT {_USAGE_COLUMNS} FROM {S}.usage_events WHERE {where} "
                    "ORDER BY created_at DESC, id DESC LIMIT :limit"
                ),
                params,
            )
        )
        .mappings()
        .all()
    )


# --- service invoices (the acceptance draft; the lifecycle is Billing 2) --------------------------------

_INVOICE_COLUMNS = (
    "id::text AS id, tenant_id::text AS tenant_id, account_id::text AS account_id, "
    "work_order_id::text AS work_order_id, invoice_number, status, currency, subtotal_minor, tax_minor, "
    "total_minor, amount_paid_minor, amount_due_minor, is_paid, notes, bill_to_name, created_at, updated_at"
)


async def insert_draft_invoice(
    session: AsyncSession, draft: DraftInvoice, *, work_order_id: str | None
) -> None:
    """Insert a draft invoice and its items (amounts in minor units)."""
    totals = draft.totals
    await session.execute(
        text(
            f"INSERT INTO {S}.service_invoices (id, tenant_id, account_id, work_order_id, assignment_id, status, "
            "currency, subtotal_minor, tax_minor, total_minor, amount_due_minor, bill_to_name, notes) "
            "VALUES (:id, :t, :a, :wo, :asg, :st, :cur, :sub, :tax, :tot, :due, :bill, :notes)"
        ),
        {
            "id": draft.id,
            "t": draft.tenant_id,
            "a": draft.account_id,
            "wo": work_order_id,
            "asg": draft.assignment_id,
            "st": draft.status.value,
            "cur": draft.currency,
            "sub": totals.subtotal.to_minor(),
            "tax": totals.tax.to_minor(),
            "tot": totals.total.to_minor(),
            "due": totals.amount_due.to_minor(),
            "bill": draft.bill_to_name,
            "notes": draft.notes,
        },
    )
    for item in draft.items:
        await session.execute(
            text(
                f"INSERT INTO {S}.service_invoice_items (id, tenant_id, invoice_id, description, quantity, "
                "unit_price_minor, line_total_minor, tax_rate, tax_code, service_code, order_index) "
                "VALUES (:id, :t, :inv, :d, :q, :up, :lt, :tr, :tc, :sc, :oi)"
            ),
            {
                "id": str(uuid.uuid4()),
                "t": draft.tenant_id,
                "inv": draft.id,
                "d": item.description,
                "q": item.quantity,
                "up": item.unit_price.to_minor(),
                "lt": item.line_total.to_minor(),
                "tr": item.tax_rate,
                "tc": item.tax_code,
                "sc": item.service_code,
                "oi": item.order_index,
            },
        )


async def get_invoice(session: AsyncSession, invoice_id: str) -> Row | None:
    """One invoice row."""
    return (
        (
            await session.execute(
                text(f"SELECT {_INVOICE_COLUMNS} FROM {S}.service_invoices WHERE id = :id"),
                {"id": invoice_id},
            )
        )
        .mappings()
        .first()
    )


async def get_invoice_items(session: AsyncSession, invoice_id: str) -> Sequence[Row]:
    """Items of an invoice in order."""
    return (
        (
            await session.execute(
                text(
                    f"SELECT description, quantity, unit_price_minor, line_total_minor, order_index "
                    f"FROM {S}.service_invoice_items WHERE invoice_id = :id ORDER BY order_index, id"
                ),
                {"id": invoice_id},
            )
        )
        .mappings()
        .all()
    )


async def live_invoice_for_work_order(session: AsyncSession, work_order_id: str) -> str | None:
    """The non-void acceptance invoice of a work order."""
    return (
        await session.execute(
            text(
                f"SELECT id::text FROM {S}.service_invoices WHERE work_order_id = :wo AND status <> 'void' "
                "ORDER BY created_at LIMIT 1"
            ),
            {"wo": work_order_id},
        )
    ).scalar_one_or_none()


async def void_draft_invoice(session: AsyncSession, invoice_id: str, reason: str) -> bool:
    """Void an invoice only while it is a draft (decision 10); True when it changed."""
    row = (
        await session.execute(
            text(
                f"UPDATE {S}.service_invoices SET status = 'void', voided_at = now(), void_reason = :r, "
                "amount_due_minor = 0, is_paid = false, updated_at = now() "
                "WHERE id = :id AND status = 'draft' RETURNING 1"
            ),
            {"id": invoice_id, "r": reason},
        )
    ).first()
    return row is not None


# --- work-order billing state ---------------------------------------------------------------------------

_WO_COLUMNS = (
    "work_order_id::text AS work_order_id, tenant_id::text AS tenant_id, billing_external_key, report_type, "
    "bank_name, assignment_id::text AS assignment_id, status, source_version, acceptance_status, acceptance_code, "
    "acceptance_message, acceptance_details, acceptance_request_message_id, acceptance_decided_at, accepted_at, "
    "mode, account_id::text AS account_id, external_key, hold_id::text AS hold_id, invoice_id::text AS invoice_id, "
    "planned_consumption_logged, has_successful_release, last_gate, billing_version, updated_at"
)


async def upsert_work_order(
    session: AsyncSession,
    *,
    work_order_id: str,
    tenant_id: str,
    billing_external_key: str | None,
    report_type: str,
    bank_name: str,
    assignment_id: str | None,
    status: str,
    source_version: int,
) -> None:
    """Insert the work order reference or refresh its descriptive fields (never its billing state)."""
    await session.execute(
        text(
            f"INSERT INTO {S}.work_orders (work_order_id, tenant_id, billing_external_key, report_type, bank_name, "
            "assignment_id, status, source_version) VALUES (:id, :t, :key, :rt, :bank, :asg, :st, :v) "
            "ON CONFLICT (work_order_id) DO UPDATE SET billing_external_key = EXCLUDED.billing_external_key, "
            "report_type = EXCLUDED.report_type, bank_name = EXCLUDED.bank_name, "
            "assignment_id = COALESCE(EXCLUDED.assignment_id, work_orders.assignment_id), "
            "status = EXCLUDED.status, source_version = EXCLUDED.source_version, updated_at = now() "
            "WHERE work_orders.source_version < EXCLUDED.source_version"
        ),
        {
            "id": work_order_id,
            "t": tenant_id,
            "key": billing_external_key,
            "rt": report_type,
            "bank": bank_name,
            "asg": assignment_id,
            "st": status,
            "v": source_version,
        },
    )


async def set_work_order_status(
    session: AsyncSession, work_order_id: str, status: str, source_version: int
) -> None:
    """Follow the work order's status (only forward in source version)."""
    await session.execute(
        text(
            f"UPDATE {S}.work_orders SET status = :st, source_version = :v, updated_at = now() "
            "WHERE work_order_id = :id AND source_version < :v"
        ),
        {"id": work_order_id, "st": status, "v": source_version},
    )


async def note_work_order_version(session: AsyncSession, work_order_id: str, source_version: int) -> None:
    """Record that a workorders envelope of ``source_version`` was applied (read-your-writes tokens)."""
    if not _is_uuid(work_order_id):
        return
    await session.execute(
        text(
            f"UPDATE {S}.work_orders SET source_version = :v, updated_at = now() "
            "WHERE work_order_id = :id AND source_version < :v"
        ),
        {"id": work_order_id, "v": source_version},
    )


async def work_order_source_version(session: AsyncSession, work_order_id: str) -> int | None:
    """The highest workorders version billing applied for a work order (None: not seen yet)."""
    if not _is_uuid(work_order_id):
        return None
    value = (
        await session.execute(
            text(f"SELECT source_version FROM {S}.work_orders WHERE work_order_id = :id"),
            {"id": work_order_id},
        )
    ).scalar_one_or_none()
    return None if value is None else int(value)


async def load_work_order(session: AsyncSession, work_order_id: str, *, lock: bool = False) -> Row | None:
    """The billing row of one work order (``lock``: FOR UPDATE, serializing its saga steps)."""
    if not _is_uuid(work_order_id):
        return None
    return (
        (
            await session.execute(
                text(
                    f"SELECT {_WO_COLUMNS} FROM {S}.work_orders WHERE work_order_id = :id "
                    f"{'FOR UPDATE' if lock else ''}"
                ),
                {"id": work_order_id},
            )
        )
        .mappings()
        .first()
    )


_WO_UPDATABLE = frozenset(
    {
        "acceptance_status",
        "acceptance_code",
        "acceptance_message",
        "acceptance_details",
        "acceptance_request_message_id",
        "acceptance_decided_at",
        "accepted_at",
        "mode",
        "account_id",
        "external_key",
        "hold_id",
        "invoice_id",
        "planned_consumption_logged",
        "has_successful_release",
        "last_gate",
    }
)
_WO_JSON = frozenset({"acceptance_details", "last_gate"})


async def update_work_order_billing(session: AsyncSession, work_order_id: str, **fields: Any) -> int:
    """Write billing fields and bump the billing version; returns the new version."""
    unknown = set(fields) - _WO_UPDATABLE
    if unknown:
        raise ValueError(f"not updatable: {sorted(unknown)}")
    sets = []
    params: dict[str, Any] = {"id": work_order_id}
    for name, value in fields.items():
        if name in _WO_JSON:
            sets.append(f"{name} = CAST(:{name} AS jsonb)")
            params[name] = None if value is None else json.dumps(value)
        else:
            sets.append(f"{name} = :{name}")
            params[name] = value
    sets.append("billing_version = billing_version + 1")
    sets.append("updated_at = now()")
    version: int = (
        await session.execute(
            text(
                f"UPDATE {S}.work_orders SET {', '.join(sets)} WHERE work_order_id = :id RETURNING billing_version"
            ),
            params,
        )
    ).scalar_one()
    return version


async def count_accepted_in_window(
    session: AsyncSession, account_id: str, start: datetime, end: datetime, *, excluding: str
) -> int:
    """Work orders of the account accepted in ``[start, end)``, other than ``excluding`` (decision 32)."""
    count: int = (
        await session.execute(
            text(
                f"SELECT count(*) FROM {S}.work_orders WHERE account_id = :a AND acceptance_status = 'ACCEPTED' "
                "AND accepted_at >= :s AND accepted_at < :e AND work_order_id <> :wo"
            ),
            {"a": account_id, "s": start, "e": end, "wo": excluding},
        )
    ).scalar_one()
    return count


# --- gate decisions -------------------------------------------------------------------------------------

_GATE_COLUMNS = (
    "id::text AS id, tenant_id::text AS tenant_id, work_order_id::text AS work_order_id, release_id, "
    "idempotency_key, request_message_id, account_id::text AS account_id, mode, inputs, outcome, "
    "consume_error_code, result, blocked_reason, error_code, ledger_entry_ids, usage_event_id::text AS usage_event_id, "
    "decision_hash, billing_version, decided_at"
)


async def gate_decision_by_release(session: AsyncSession, release_id: str) -> Row | None:
    """The stored decision of a release request."""
    return (
        (
            await session.execute(
                text(f"SELECT {_GATE_COLUMNS} FROM {S}.gate_decisions WHERE release_id = :r"),
                {"r": release_id},
            )
        )
        .mappings()
        .first()
    )


async def gate_decision(session: AsyncSession, decision_id: str) -> Row | None:
    """A stored decision by its id (or, failing that, by release id)."""
    if _is_uuid(decision_id):
        row = (
            (
                await session.execute(
                    text(f"SELECT {_GATE_COLUMNS} FROM {S}.gate_decisions WHERE id = :id"),
                    {"id": decision_id},
                )
            )
            .mappings()
            .first()
        )
        if row is not None:
            return row
    return await gate_decision_by_release(session, decision_id)


async def insert_gate_decision(session: AsyncSession, **values: Any) -> None:
    """Store a gate decision (release id is UNIQUE: a second decision for one release fails)."""
    params = dict(values)
    for name in ("inputs", "outcome", "ledger_entry_ids"):
        params[name] = json.dumps(params[name])
    await session.execute(
        text(
            f"INSERT INTO {S}.gate_decisions (id, tenant_id, work_order_id, release_id, idempotency_key, "
            "request_message_id, account_id, mode, inputs, outcome, consume_error_code, result, blocked_reason, "
            "error_code, ledger_entry_ids, usage_event_id, decision_hash, billing_version) VALUES (:id, :tenant_id, "
            ":work_order_id, :release_id, :idempotency_key, :request_message_id, :account_id, :mode, "
            "CAST(:inputs AS jsonb), CAST(:outcome AS jsonb), :consume_error_code, :result, :blocked_reason, "
            ":error_code, CAST(:ledger_entry_ids AS jsonb), :usage_event_id, :decision_hash, :billing_version)"
        ),
        params,
    )
