"""The credit book of an account: holds, ledger entries and ledger idempotency records.

A domain ``LedgerOutcome`` is written back verbatim by :meth:`LedgerRepository.apply`; rows come back
as :class:`HoldRow` / :class:`LedgerEntryRow` (the stored columns) or as the domain's ``Hold``.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, insert, select, tuple_, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from billing_service.domain.ledger import (
    CreditBalance,
    Hold,
    HoldStatus,
    IdempotencyRecord,
    LedgerOutcome,
    Operation,
    OpResult,
)
from billing_service.repositories._rows import equal_to, from_row, is_uuid
from billing_service.tables import balances, holds, ledger_entries, ledger_idempotency
from shared.db.uow import Repository
from shared.validation import JsonObject


@dataclass(frozen=True, slots=True)
class HoldRow:
    """A stored hold (``status`` as stored: ``expired`` is kept apart from ``released``)."""

    id: str
    tenant_id: str
    account_id: str
    ref_type: str
    ref_id: str
    amount: int
    status: str
    idempotency_key: str
    created_at: datetime
    expires_at: datetime | None
    consumed_at: datetime | None
    released_at: datetime | None
    consumed_amount: int | None
    release_reason: str | None

    def to_domain(self) -> Hold:
        """The domain hold (``expired`` is a released hold for the state machine)."""
        return Hold(
            id=self.id,
            account_id=self.account_id,
            ref_type=self.ref_type,
            ref_id=self.ref_id,
            amount=self.amount,
            status=HoldStatus.RELEASED if self.status == "expired" else HoldStatus(self.status),
            idempotency_key=self.idempotency_key,
            created_at=self.created_at,
            expires_at=self.expires_at,
            consumed_at=self.consumed_at,
            released_at=self.released_at,
            consumed_amount=self.consumed_amount,
            release_reason=self.release_reason,
        )


@dataclass(frozen=True, slots=True)
class LedgerEntryRow:
    """A stored ledger entry (``reason`` lower-case as stored)."""

    id: str
    tenant_id: str
    account_id: str
    hold_id: str | None
    delta: int
    reason: str
    ref_type: str | None
    ref_id: str | None
    idempotency_key: str
    metadata_json: JsonObject
    created_at: datetime

    @property
    def reservation_id(self) -> str | None:
        """The hold this entry belongs to, by the name the API gives holds."""
        return self.hold_id


class HoldAlreadyResolvedRace(RuntimeError):
    """The conditional hold update matched no active row: the lock discipline was broken."""


class LedgerWriteRefused(RuntimeError):
    """The database refused a ledger write; ``duplicate_key`` when a unique key collided.

    A derived key (e.g. ``"<key>:override"``) can collide with a key another operation used.
    """

    def __init__(self, *, duplicate_key: bool) -> None:
        super().__init__("duplicate key" if duplicate_key else "constraint violated")
        self.duplicate_key = duplicate_key


UNIQUE_VIOLATION = "23505"


def _sqlstate(exc: IntegrityError) -> str | None:
    orig = exc.orig
    return getattr(orig, "sqlstate", None) or getattr(orig, "pgcode", None)


#: what the domain's ``LedgerEntry`` / new ``Hold`` carry under the column's own name
_ENTRY_FIELDS = ("id", "account_id", "hold_id", "delta", "ref_type", "ref_id", "idempotency_key")
_NEW_HOLD_FIELDS = (
    "id",
    "account_id",
    "ref_type",
    "ref_id",
    "amount",
    "idempotency_key",
    "created_at",
    "expires_at",
)


def _attributes(value: object, names: tuple[str, ...]) -> dict[str, Any]:
    return {name: getattr(value, name) for name in names}


_NEWEST_HOLDS = (holds.c.created_at.desc(), holds.c.id.desc())


class LedgerRepository(Repository):
    """Holds, ledger entries and idempotency records of the credit ledger. Never commits."""

    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def hold_row(self, hold_id: str) -> HoldRow | None:
        """One stored hold by id."""
        if not is_uuid(hold_id):
            return None
        row = (await self._session.execute(select(holds).where(holds.c.id == hold_id))).mappings().first()
        return from_row(HoldRow, row) if row else None

    async def hold(self, hold_id: str) -> Hold | None:
        """One hold by id, as the domain sees it."""
        row = await self.hold_row(hold_id)
        return row.to_domain() if row else None

    async def latest_hold_for_ref(
        self, account_id: str, ref_type: str, ref_id: str, *, active_only: bool = False
    ) -> Hold | None:
        """The newest hold of a reference on an account (optionally only an active one)."""
        query = select(holds).where(equal_to(holds, account_id=account_id, ref_type=ref_type, ref_id=ref_id))
        if active_only:
            query = query.where(holds.c.status == "active")
        row = (await self._session.execute(query.order_by(*_NEWEST_HOLDS).limit(1))).mappings().first()
        return from_row(HoldRow, row).to_domain() if row else None

    async def idempotency_record(self, account_id: str, key: str) -> IdempotencyRecord | None:
        """The stored use of a ledger idempotency key on an account (decision 17)."""
        t = ledger_idempotency.c
        query = select(t.operation, t.fingerprint, t.hold_id, t.entry_ids).where(
            t.account_id == account_id, t.key == key
        )
        row = (await self._session.execute(query)).first()
        if row is None:
            return None
        entry_ids = row.entry_ids if isinstance(row.entry_ids, list) else json.loads(row.entry_ids)
        op = Operation(row.operation)
        return IdempotencyRecord(
            account_id=account_id,
            key=key,
            operation=op,
            fingerprint=row.fingerprint,
            result=OpResult(op, row.hold_id, tuple(entry_ids)),
        )

    async def apply(self, tenant_id: str, outcome: LedgerOutcome) -> None:
        """Write a domain outcome verbatim: balance, holds (insert or resolve-once update), entries, record.

        All or nothing, in a savepoint, so the caller's transaction stays usable when the database refuses
        the write: raises :class:`LedgerWriteRefused` (a constraint) or :class:`HoldAlreadyResolvedRace`.
        """
        if outcome.replayed:
            return
        try:
            async with self._session.begin_nested():
                await self._write(tenant_id, outcome)
        except IntegrityError as exc:
            raise LedgerWriteRefused(duplicate_key=_sqlstate(exc) == UNIQUE_VIOLATION) from exc

    async def _write(self, tenant_id: str, outcome: LedgerOutcome) -> None:
        if outcome.record is not None:
            await self._write_balance(outcome.record.account_id, outcome.balance)
        for hold in outcome.holds:
            if hold.status is HoldStatus.ACTIVE:
                await self._insert_hold(tenant_id, hold)
            else:
                await self._resolve_hold(hold)
        for entry in outcome.entries:
            await self._session.execute(
                insert(ledger_entries).values(
                    **_attributes(entry, _ENTRY_FIELDS),
                    tenant_id=tenant_id,
                    reason=entry.reason.value,
                    metadata_json=dict(entry.metadata),
                )
            )
        if outcome.record is not None:
            rec = outcome.record
            await self._session.execute(
                insert(ledger_idempotency).values(
                    account_id=rec.account_id,
                    key=rec.key,
                    tenant_id=tenant_id,
                    operation=rec.operation.value,
                    fingerprint=rec.fingerprint,
                    hold_id=rec.result.hold_id,
                    entry_ids=list(rec.result.entry_ids),
                )
            )

    async def _write_balance(self, account_id: str, b: CreditBalance) -> None:
        await self._session.execute(
            update(balances)
            .where(balances.c.account_id == account_id)
            .values(wallet=b.wallet, reserved=b.reserved, available=b.available, updated_at=func.now())
        )

    async def _insert_hold(self, tenant_id: str, hold: Hold) -> None:
        values = _attributes(hold, _NEW_HOLD_FIELDS)
        await self._session.execute(insert(holds).values(**values, tenant_id=tenant_id, status="active"))

    async def _resolve_hold(self, hold: Hold) -> None:
        # Resolve once: the WHERE clause refuses a second resolution even if a lock were missing.
        updated = (
            await self._session.execute(
                update(holds)
                .where(holds.c.id == hold.id, holds.c.status == "active")
                .values(
                    status=hold.status.value,
                    consumed_at=hold.consumed_at,
                    released_at=hold.released_at,
                    consumed_amount=hold.consumed_amount,
                    release_reason=hold.release_reason,
                )
                .returning(holds.c.id)
            )
        ).first()
        if updated is None:
            raise HoldAlreadyResolvedRace(hold.id)

    async def entry(self, entry_id: str) -> LedgerEntryRow | None:
        """One ledger entry."""
        query = select(ledger_entries).where(ledger_entries.c.id == entry_id)
        row = (await self._session.execute(query)).mappings().first()
        return from_row(LedgerEntryRow, row) if row else None

    async def entries(
        self,
        *,
        account_id: str | None = None,
        tenant_id: str | None = None,
        ref_type: str | None = None,
        ref_id: str | None = None,
        limit: int = 500,
    ) -> list[LedgerEntryRow]:
        """Ledger entries, newest first."""
        t = ledger_entries
        query = (
            select(t)
            .where(equal_to(t, account_id=account_id, tenant_id=tenant_id, ref_type=ref_type, ref_id=ref_id))
            .order_by(t.c.created_at.desc(), t.c.id.desc())
            .limit(limit)
        )
        return [from_row(LedgerEntryRow, r) for r in (await self._session.execute(query)).mappings()]

    async def hold_rows(
        self,
        *,
        account_id: str | None = None,
        tenant_id: str | None = None,
        status: str | None = None,
        limit: int = 200,
    ) -> list[HoldRow]:
        """Stored holds, newest first."""
        query = (
            select(holds)
            .where(equal_to(holds, account_id=account_id, tenant_id=tenant_id, status=status))
            .order_by(*_NEWEST_HOLDS)
            .limit(limit)
        )
        return [from_row(HoldRow, r) for r in (await self._session.execute(query)).mappings()]

    async def reconcile_candidates(
        self,
        *,
        account_id: str | None,
        tenant_id: str | None,
        ref_type: str | None,
        limit: int,
        after: tuple[datetime, str] | None = None,
    ) -> list[Hold]:
        """Active holds for the sweep, oldest first (domain.md §7.4); ``after`` = the ``(created_at, id)``
        of the last hold of the previous page (the scheduled sweep pages through every hold)."""
        query = (
            select(holds)
            .where(equal_to(holds, account_id=account_id, tenant_id=tenant_id, ref_type=ref_type))
            .where(holds.c.status == "active")
            .order_by(holds.c.created_at, holds.c.id)
            .limit(limit)
        )
        if after is not None:
            query = query.where(tuple_(holds.c.created_at, holds.c.id) > tuple_(*after))
        rows: Sequence[Any] = (await self._session.execute(query)).mappings().all()
        return [from_row(HoldRow, r).to_domain() for r in rows]
