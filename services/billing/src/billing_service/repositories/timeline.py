"""The credit timeline's read of its three sources (domain.md §7.5), one keyset page at a time.

Each method answers one source's rows of an account or a tenant strictly after a position of the
timeline order (``billing_service.domain.timeline``), in that order, at most ``limit`` rows; the handler
merges the sources. The ``ORDER BY`` of each query is the timeline order restricted to its source, so a
source's first rows after a cursor are exactly the ones the merged page can need.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Column, ColumnElement, and_, false, or_, select, true
from sqlalchemy.ext.asyncio import AsyncSession

from billing_service.domain.timeline import (
    INVOICE_REF_TYPE,
    INVOICE_SOURCE,
    LEDGER_SOURCE,
    TimelineKey,
    usage_source,
)
from billing_service.repositories._rows import equal_to, from_row, is_uuid
from billing_service.repositories.ledger import LedgerEntryRow
from billing_service.repositories.usage import UsageEventRow
from billing_service.tables import ledger_entries, service_invoices, usage_events
from shared.db.uow import Repository

#: the source systems usage events are stored with (``usage_source`` names their timeline source)
USAGE_SYSTEMS = ("v1", "v2")


@dataclass(frozen=True, slots=True)
class TimelineScope:
    """Whose timeline: an account or a tenant (or both), and the ledger's reference filter.

    ``ref_type``/``ref_id`` filter ledger entries; invoices only when ``ref_type`` is
    ``service_invoice`` (then the one invoice ``ref_id``); usage events never (as the original).
    """

    account_id: str | None
    tenant_id: str | None
    ref_type: str | None = None
    ref_id: str | None = None

    @property
    def invoice_id(self) -> str | None:
        """The one invoice asked for, if any."""
        return self.ref_id if self.ref_type == INVOICE_REF_TYPE else None


@dataclass(frozen=True, slots=True)
class InvoiceTimelineRow:
    """What the timeline shows of a service invoice (amounts in minor units, status lower-case)."""

    id: str
    tenant_id: str
    account_id: str
    invoice_number: str | None
    status: str
    currency: str
    total_minor: int
    amount_paid_minor: int
    amount_due_minor: int
    is_paid: bool
    updated_at: datetime


def after(
    at: Column[datetime], ident: Column[str], source: str, bound: TimelineKey | None
) -> ColumnElement[bool]:
    """Rows of ``source`` strictly after ``bound`` in the timeline order (newest first, then source
    ascending, then id descending)."""
    if bound is None:
        return true()
    if source > bound.source:
        return at <= bound.at
    if source < bound.source:
        return at < bound.at
    return or_(at < bound.at, and_(at == bound.at, ident < bound.id))


class TimelineRepository(Repository):
    """Ledger entries, usage events and service invoices as timeline pages. Never writes."""

    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def ledger(
        self, scope: TimelineScope, bound: TimelineKey | None, limit: int
    ) -> list[LedgerEntryRow]:
        """Ledger entries after ``bound``, filtered by the scope's reference."""
        t = ledger_entries
        query = (
            select(t)
            .where(
                equal_to(
                    t,
                    account_id=scope.account_id,
                    tenant_id=scope.tenant_id,
                    ref_type=scope.ref_type,
                    ref_id=scope.ref_id,
                ),
                after(t.c.created_at, t.c.id, LEDGER_SOURCE, bound),
            )
            .order_by(t.c.created_at.desc(), t.c.id.desc())
            .limit(limit)
        )
        return [from_row(LedgerEntryRow, r) for r in (await self._session.execute(query)).mappings()]

    async def usage(self, scope: TimelineScope, bound: TimelineKey | None, limit: int) -> list[UsageEventRow]:
        """Usage events after ``bound`` (V1's before V2's within one instant)."""
        t = usage_events
        position = or_(
            *(
                and_(t.c.source_system == system, after(t.c.created_at, t.c.id, usage_source(system), bound))
                for system in USAGE_SYSTEMS
            )
        )
        query = (
            select(t)
            .where(equal_to(t, account_id=scope.account_id, tenant_id=scope.tenant_id), position)
            .order_by(t.c.created_at.desc(), t.c.source_system.asc(), t.c.id.desc())
            .limit(limit)
        )
        return [from_row(UsageEventRow, r) for r in (await self._session.execute(query)).mappings()]

    async def invoices(
        self, scope: TimelineScope, bound: TimelineKey | None, limit: int
    ) -> list[InvoiceTimelineRow]:
        """Service invoices after ``bound`` by their last change (``updated_at``)."""
        t = service_invoices
        invoice_id = scope.invoice_id
        only = true() if invoice_id is None else (t.c.id == invoice_id if is_uuid(invoice_id) else false())
        query = (
            select(
                t.c.id,
                t.c.tenant_id,
                t.c.account_id,
                t.c.invoice_number,
                t.c.status,
                t.c.currency,
                t.c.total_minor,
                t.c.amount_paid_minor,
                t.c.amount_due_minor,
                t.c.is_paid,
                t.c.updated_at,
            )
            .where(
                equal_to(t, account_id=scope.account_id, tenant_id=scope.tenant_id),
                only,
                after(t.c.updated_at, t.c.id, INVOICE_SOURCE, bound),
            )
            .order_by(t.c.updated_at.desc(), t.c.id.desc())
            .limit(limit)
        )
        return [from_row(InvoiceTimelineRow, r) for r in (await self._session.execute(query)).mappings()]
