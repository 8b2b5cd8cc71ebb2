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

from sqlalchemy import select, text, tuple_
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from billing_service.domain.ledger import (
    Hold,
    HoldStatus,
    IdempotencyRecord,
    LedgerOutcome,
    Operation,
    OpResult,
)
from billing_service.repositories._rows import equal_to, from_row, is_uuid
from billing_service.settings import SCHEMA
from billing_service.tables import holds, ledger_entries, ledger_idempotency
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


#: A domain ``LedgerOutcome`` written in ONE statement (issue 18: one round trip instead of one per row),
#: built once: every list is an array parameter, so the text (and the prepared statement) does not depend
#: on how many holds or entries an outcome has. The balance is written when the outcome has a record (a
#: new operation); holds are inserted (active) or resolved once (``status = 'active'`` in the WHERE clause,
#: the count of resolved rows comes back); entries keep their order. All parts are one statement, so a
#: refused constraint leaves none of them.
_WRITE = text(
    f"""WITH balance AS (
    UPDATE {SCHEMA}.balances SET wallet = :wallet, reserved = :reserved, available = :available,
        updated_at = now()
    WHERE account_id = CAST(:account_id AS uuid) AND CAST(:write_balance AS boolean)
    RETURNING 1
), new_holds AS (
    INSERT INTO {SCHEMA}.holds (id, tenant_id, account_id, ref_type, ref_id, amount, status, idempotency_key,
        created_at, expires_at)
    SELECT h.id, CAST(:tenant_id AS uuid), h.account_id, h.ref_type, h.ref_id, h.amount, 'active', h.key,
        h.created_at, h.expires_at
    FROM unnest(CAST(:nh_id AS uuid[]), CAST(:nh_account AS uuid[]), CAST(:nh_ref_type AS text[]),
        CAST(:nh_ref_id AS text[]), CAST(:nh_amount AS bigint[]), CAST(:nh_key AS text[]),
        CAST(:nh_created AS timestamptz[]), CAST(:nh_expires AS timestamptz[]))
        AS h(id, account_id, ref_type, ref_id, amount, key, created_at, expires_at)
    RETURNING 1
), resolved AS (
    UPDATE {SCHEMA}.holds SET status = r.status, consumed_at = r.consumed_at, released_at = r.released_at,
        consumed_amount = r.consumed_amount, release_reason = r.release_reason
    FROM unnest(CAST(:rh_id AS uuid[]), CAST(:rh_status AS text[]), CAST(:rh_consumed_at AS timestamptz[]),
        CAST(:rh_released_at AS timestamptz[]), CAST(:rh_consumed_amount AS bigint[]),
        CAST(:rh_reason AS text[]))
        AS r(id, status, consumed_at, released_at, consumed_amount, release_reason)
    WHERE {SCHEMA}.holds.id = r.id AND {SCHEMA}.holds.status = 'active'
    RETURNING 1
), entries AS (
    INSERT INTO {SCHEMA}.ledger_entries (id, tenant_id, account_id, hold_id, delta, reason, ref_type, ref_id,
        idempotency_key, metadata_json)
    SELECT e.id, CAST(:tenant_id AS uuid), e.account_id, e.hold_id, e.delta, e.reason, e.ref_type, e.ref_id,
        e.key, e.metadata::jsonb
    FROM unnest(CAST(:e_id AS uuid[]), CAST(:e_account AS uuid[]), CAST(:e_hold AS uuid[]),
        CAST(:e_delta AS bigint[]), CAST(:e_reason AS text[]), CAST(:e_ref_type AS text[]),
        CAST(:e_ref_id AS text[]), CAST(:e_key AS text[]), CAST(:e_metadata AS text[])) WITH ORDINALITY
        AS e(id, account_id, hold_id, delta, reason, ref_type, ref_id, key, metadata, n)
    ORDER BY e.n
    RETURNING 1
), record AS (
    INSERT INTO {SCHEMA}.ledger_idempotency (account_id, key, tenant_id, operation, fingerprint, hold_id,
        entry_ids)
    SELECT CAST(:account_id AS uuid), :key, CAST(:tenant_id AS uuid), :operation, :fingerprint,
        CAST(:hold_id AS uuid), CAST(:entry_ids AS jsonb)
    WHERE CAST(:write_balance AS boolean)
    RETURNING 1
)
SELECT count(*) FROM resolved"""
)


def _write_parameters(tenant_id: str, outcome: LedgerOutcome) -> dict[str, Any]:
    """The array parameters of :data:`_WRITE` for one outcome."""
    new = [h for h in outcome.holds if h.status is HoldStatus.ACTIVE]
    done = [h for h in outcome.holds if h.status is not HoldStatus.ACTIVE]
    entries = outcome.entries
    rec = outcome.record
    b = outcome.balance
    return {
        "tenant_id": tenant_id,
        "write_balance": rec is not None,
        "account_id": rec.account_id if rec is not None else None,
        "wallet": b.wallet,
        "reserved": b.reserved,
        "available": b.available,
        "nh_id": [h.id for h in new],
        "nh_account": [h.account_id for h in new],
        "nh_ref_type": [h.ref_type for h in new],
        "nh_ref_id": [h.ref_id for h in new],
        "nh_amount": [h.amount for h in new],
        "nh_key": [h.idempotency_key for h in new],
        "nh_created": [h.created_at for h in new],
        "nh_expires": [h.expires_at for h in new],
        "rh_id": [h.id for h in done],
        "rh_status": [h.status.value for h in done],
        "rh_consumed_at": [h.consumed_at for h in done],
        "rh_released_at": [h.released_at for h in done],
        "rh_consumed_amount": [h.consumed_amount for h in done],
        "rh_reason": [h.release_reason for h in done],
        "e_id": [e.id for e in entries],
        "e_account": [e.account_id for e in entries],
        "e_hold": [e.hold_id for e in entries],
        "e_delta": [e.delta for e in entries],
        "e_reason": [e.reason.value for e in entries],
        "e_ref_type": [e.ref_type for e in entries],
        "e_ref_id": [e.ref_id for e in entries],
        "e_key": [e.idempotency_key for e in entries],
        "e_metadata": [json.dumps(dict(e.metadata)) for e in entries],
        "key": rec.key if rec is not None else None,
        "operation": rec.operation.value if rec is not None else None,
        "fingerprint": rec.fingerprint if rec is not None else None,
        "hold_id": rec.result.hold_id if rec is not None else None,
        "entry_ids": json.dumps(list(rec.result.entry_ids)) if rec is not None else None,
    }


def _record(
    account_id: str, key: str, operation: str, fingerprint: str, hold_id: Any, entry_ids: Any
) -> IdempotencyRecord:
    ids = entry_ids if isinstance(entry_ids, list) else json.loads(entry_ids)
    op = Operation(operation)
    return IdempotencyRecord(
        account_id=account_id,
        key=key,
        operation=op,
        fingerprint=fingerprint,
        result=OpResult(op, None if hold_id is None else str(hold_id), tuple(str(i) for i in ids)),
    )


#: the hold's columns as :class:`HoldRow` reads them (ids as text, as the Core queries return them)
_HOLD_COLUMNS = ", ".join(
    f"h.{c.name}::text AS {c.name}" if c.name in ("id", "tenant_id", "account_id") else f"h.{c.name}"
    for c in holds.c
)
_INPUTS = (
    "SELECT r.operation, r.fingerprint, r.hold_id::text AS record_hold_id, r.entry_ids, {hold_columns} "
    f"FROM (SELECT 1) AS one LEFT JOIN {SCHEMA}.ledger_idempotency AS r "
    "ON r.account_id = CAST(:account_id AS uuid) AND r.key = :key "
)
#: :meth:`LedgerRepository.operation_inputs` of a hold named by id (or of no hold: ``hold_id`` NULL)
_INPUTS_BY_ID = text(
    _INPUTS.format(hold_columns=_HOLD_COLUMNS)
    + f"LEFT JOIN {SCHEMA}.holds AS h ON h.id = CAST(:hold_id AS uuid)"
)
#: ... of the newest hold of a reference (only an active one with ``active_only``)
_INPUTS_BY_REF = text(
    _INPUTS.format(hold_columns=_HOLD_COLUMNS)
    + f"LEFT JOIN LATERAL (SELECT * FROM {SCHEMA}.holds WHERE account_id = CAST(:account_id AS uuid) "
    "AND ref_type = :ref_type AND ref_id = :ref_id AND (status = 'active' OR NOT CAST(:active_only AS boolean)) "
    "ORDER BY created_at DESC, id DESC LIMIT 1) AS h ON true"
)

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
        return (
            _record(account_id, key, row.operation, row.fingerprint, row.hold_id, row.entry_ids)
            if row
            else None
        )

    async def operation_inputs(
        self,
        account_id: str,
        key: str,
        *,
        hold_id: str | None = None,
        ref: tuple[str, str] | None = None,
        active_only: bool = False,
    ) -> tuple[IdempotencyRecord | None, Hold | None]:
        """What a reserve, consume or release decides on, in one round trip: the stored use of ``key``
        (:meth:`idempotency_record`) and the hold the operation names: by id (:meth:`hold`), else the
        newest of a reference ``(ref_type, ref_id)`` (:meth:`latest_hold_for_ref`), else none. Read after
        the account lock, so both are current."""
        if ref is not None and hold_id is None:
            statement, values = (
                _INPUTS_BY_REF,
                {"ref_type": ref[0], "ref_id": ref[1], "active_only": active_only},
            )
        else:
            statement, values = _INPUTS_BY_ID, {"hold_id": hold_id if hold_id and is_uuid(hold_id) else None}
        params = {"account_id": account_id, "key": key, **values}
        row = (await self._session.execute(statement, params)).mappings().one()
        prior = (
            _record(
                account_id, key, row["operation"], row["fingerprint"], row["record_hold_id"], row["entry_ids"]
            )
            if row["operation"] is not None
            else None
        )
        hold = from_row(HoldRow, row).to_domain() if row["id"] is not None else None
        return prior, hold

    async def apply(self, tenant_id: str, outcome: LedgerOutcome, *, isolated: bool = True) -> None:
        """Write a domain outcome verbatim: balance, holds (insert or resolve-once update), entries, record.

        All or nothing: raises :class:`LedgerWriteRefused` (a constraint) or :class:`HoldAlreadyResolvedRace`.
        ``isolated`` (the default) writes in a savepoint, so the caller's transaction stays usable after a
        refusal (the gate records the failed consume); a caller that fails as a whole on a refusal (the
        HTTP credit calls: their transaction is rolled back) passes False and saves the savepoint's two
        round trips.
        """
        if outcome.replayed:
            return
        try:
            if not isolated:
                await self._write(tenant_id, outcome)
                return
            async with self._session.begin_nested():
                await self._write(tenant_id, outcome)
        except IntegrityError as exc:
            raise LedgerWriteRefused(duplicate_key=_sqlstate(exc) == UNIQUE_VIOLATION) from exc

    async def _write(self, tenant_id: str, outcome: LedgerOutcome) -> None:
        # One statement (issue 18): balance, new holds, resolved holds, entries and the record together.
        resolving = [h for h in outcome.holds if h.status is not HoldStatus.ACTIVE]
        written = (await self._session.execute(_WRITE, _write_parameters(tenant_id, outcome))).scalar_one()
        if written != len(resolving):
            # Resolve once: the WHERE clause refused a second resolution even if a lock were missing.
            raise HoldAlreadyResolvedRace(resolving[0].id if resolving else "")

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
