"""What the service-invoice use cases share: loading an invoice under the lock order, the recompute and
save, the audit row, the usage event, the header idempotency key and the work order's billing stream.

Lock order (no deadlocks with the sagas and the release gate, which lock the work-order row first): the
key's advisory lock, then the row of the work order whose acceptance invoice it is, then the invoice row.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from billing_service.domain.invoice_book import InvoiceHeader, audit_diff, recomputed
from billing_service.domain.invoice_errors import InvoiceNotFound
from billing_service.domain.invoices import is_replay
from billing_service.handlers._common import iso, new_id, record_usage
from billing_service.handlers.projections import emit_work_order_billing
from billing_service.repositories import WorkOrderRepository
from billing_service.repositories.invoice_book import InvoiceBookRepository, NewAudit, StoredKey
from shared.db.uow import UnitOfWork
from shared.validation import JsonObject


@dataclass(frozen=True, slots=True)
class InvoiceActor:
    """Who acts on the tenant's invoices (the actor of the audit rows)."""

    tenant_id: str
    user_id: str | None


@dataclass(frozen=True, slots=True)
class IdempotencyKey:
    """A header ``Idempotency-Key`` of one action: its scope and the request's hash (§7.6)."""

    scope: str
    key: str
    request_hash: str


@dataclass(frozen=True, slots=True)
class InvoiceChanged:
    """An invoice after a write; ``work_order_version`` is the work order's billing version when its
    acceptance invoice changed (the ``x-zenops-version`` token); ``replayed`` when a stored key answered."""

    header: InvoiceHeader
    work_order_version: tuple[str, int] | None = None
    replayed: bool = False


async def load_invoice(uow: UnitOfWork, actor: InvoiceActor, invoice_id: str) -> InvoiceHeader:
    """An invoice of the actor's tenant (404 otherwise, also for another tenant's invoice)."""
    header = await uow.repo(InvoiceBookRepository).header(invoice_id)
    if header is None or header.tenant_id != actor.tenant_id:
        raise InvoiceNotFound(details={"invoice_id": invoice_id})
    return header


async def lock_invoice(uow: UnitOfWork, actor: InvoiceActor, invoice_id: str) -> InvoiceHeader:
    """The invoice under its row lock, after the lock of its work order's row (the lock order)."""
    first = await load_invoice(uow, actor, invoice_id)
    if first.work_order_id is not None:
        await uow.repo(WorkOrderRepository).get(first.work_order_id, lock=True)
    locked = await uow.repo(InvoiceBookRepository).header(invoice_id, lock=True)
    if locked is None:  # pragma: no cover - invoices are never deleted
        raise InvoiceNotFound(details={"invoice_id": invoice_id})
    return locked


async def replay_of(uow: UnitOfWork, actor: InvoiceActor, idem: IdempotencyKey | None) -> StoredKey | None:
    """The stored use of the key when this request repeats it (409 when the key was used differently);
    None when the key is new or absent. Holds the key's lock until the transaction ends."""
    if idem is None:
        return None
    stored = await uow.repo(InvoiceBookRepository).claim_key(actor.tenant_id, idem.scope, idem.key)
    if stored is not None and is_replay(stored.request_hash, idem.request_hash):
        return stored
    return None


async def remember(
    uow: UnitOfWork,
    actor: InvoiceActor,
    idem: IdempotencyKey | None,
    header: InvoiceHeader,
    response: JsonObject,
) -> None:
    """Store the key's request hash and response with the effect."""
    if idem is None:
        return
    await uow.repo(InvoiceBookRepository).store_key(
        actor.tenant_id,
        idem.scope,
        idem.key,
        request_hash=idem.request_hash,
        account_id=header.account_id,
        invoice_id=header.id,
        response=response,
    )


async def recompute_and_save(uow: UnitOfWork, header: InvoiceHeader, now: datetime) -> InvoiceHeader:
    """Recompute the amounts and status from the stored lines (§7.6) and save the row."""
    book = uow.repo(InvoiceBookRepository)
    items = [row.item for row in await book.items(header.id)]
    payments = [p.amount for p in await book.payments(header.id)]
    credits = [a.amount for a in await book.adjustments(header.id)]
    return await book.save(recomputed(header, items, payments, credits, now))


async def audit(
    uow: UnitOfWork,
    actor: InvoiceActor,
    event_type: str,
    before: InvoiceHeader | None,
    after: InvoiceHeader,
    *,
    reason: str | None = None,
    extra: JsonObject | None = None,
) -> None:
    """One audit row: actor, reason and the diff of the audited fields (+ ``extra``)."""
    diff: JsonObject = {**audit_diff(before, after), **(extra or {})}
    await uow.repo(InvoiceBookRepository).add_audit(
        after.tenant_id, after.id, new_id(), NewAudit(event_type, actor.user_id, reason, diff)
    )


def usage_payload(header: InvoiceHeader, **extra: object) -> JsonObject:
    """The payload of the invoice usage events (amounts as JSON number text, like the timeline's)."""
    return {
        "invoice_id": header.id,
        "invoice_number": header.invoice_number,
        "status": header.status.value.upper(),
        "total_amount": header.total.to_json_text(),
        "amount_due": header.amount_due.to_json_text(),
        "amount_paid": header.amount_paid.to_json_text(),
        "is_paid": header.is_paid,
        "repogen_work_order_id": header.work_order_id,
        **extra,
    }


async def record_invoice_usage(
    uow: UnitOfWork, header: InvoiceHeader, event_type: str, key: str, **extra: object
) -> None:
    """A §7.5 invoice usage event on the invoice's account, once per key, in this transaction."""
    await record_usage(
        uow,
        event_type,
        key,
        usage_payload(header, **extra),
        account_id=header.account_id,
        tenant_id=header.tenant_id,
    )


async def publish_gate_state(uow: UnitOfWork, header: InvoiceHeader) -> tuple[str, int] | None:
    """When ``header`` is its work order's acceptance invoice, publish that work order's billing state
    (the stream factory's ``billing_gate_status`` reads); the (work order, version) written."""
    if header.work_order_id is None:
        return None
    work_orders = uow.repo(WorkOrderRepository)
    wo = await work_orders.get(header.work_order_id)
    if wo is None or wo.invoice_id != header.id:
        return None
    version = await work_orders.touch(wo.work_order_id)
    await emit_work_order_billing(uow, wo.work_order_id, version, None)
    return wo.work_order_id, version


def instant(value: datetime | None) -> str | None:
    """ISO-8601 UTC text of an instant (usage keys, stored responses)."""
    return iso(value)
