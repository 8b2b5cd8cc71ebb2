"""Money on a service invoice: payments (full and partial), mark-paid, credit notes (domain.md §7.6).

Every amount check runs under the invoice row lock, so concurrent payments queue and never over-pay.
"""

from __future__ import annotations

from dataclasses import dataclass

from billing_service.domain.errors import AmountNotPositive, InvoiceNotPayable
from billing_service.domain.invoice_book import AdjustmentLine, PaymentLine, mark_paid_key, payment_usage_key
from billing_service.domain.invoices import (
    InvoiceStatus,
    ensure_can_adjust,
    ensure_can_pay,
    payment_request_hash,
)
from billing_service.domain.money import Money
from billing_service.handlers._common import new_id, utcnow
from billing_service.handlers.invoice_common import (
    IdempotencyKey,
    InvoiceActor,
    InvoiceChanged,
    audit,
    load_invoice,
    lock_invoice,
    publish_gate_state,
    recompute_and_save,
    record_invoice_usage,
    remember,
    replay_of,
)
from billing_service.repositories.invoice_book import InvoiceBookRepository
from shared.db.uow import UnitOfWork

PAYMENT_SCOPE = "invoice_payment"


@dataclass(frozen=True, slots=True)
class RecordPayment:
    """A payment of ``amount`` (``Idempotency-Key`` optional)."""

    actor: InvoiceActor
    invoice_id: str
    amount: Money
    mode: str | None = None
    reference: str | None = None
    notes: str | None = None
    idempotency_key: str | None = None


def payment_key(command: RecordPayment) -> IdempotencyKey | None:
    """The key of a payment with §7.6's request hash."""
    if not command.idempotency_key:
        return None
    digest = payment_request_hash(
        command.invoice_id, command.amount, command.mode, command.reference, command.notes
    )
    return IdempotencyKey(PAYMENT_SCOPE, command.idempotency_key, digest)


async def record_payment(uow: UnitOfWork, command: RecordPayment) -> InvoiceChanged:
    """§7.6's order: 409 not payable (draft/void), 400 not positive, the key (replay / 409 mismatch),
    409 already settled, 400 ``amount exceeds due``; then the payment, the recompute, audit
    ``payment_recorded`` and usage ``invoice_paid`` (now paid) or ``payment_recorded``."""
    before = await lock_invoice(uow, command.actor, command.invoice_id)
    if before.status in (InvoiceStatus.DRAFT, InvoiceStatus.VOID):
        raise InvoiceNotPayable(details={"status": before.status.value.upper()})
    if not command.amount.is_positive:
        raise AmountNotPositive(details={"amount": command.amount.to_json_text()})
    idem = payment_key(command)
    if await replay_of(uow, command.actor, idem) is not None:
        return InvoiceChanged(await load_invoice(uow, command.actor, command.invoice_id), replayed=True)
    ensure_can_pay(before.status, command.amount, before.amount_due)
    now = utcnow()
    payment = PaymentLine(
        new_id(), command.amount, now, command.mode or "manual", command.reference, command.notes
    )
    await uow.repo(InvoiceBookRepository).add_payment(
        before.tenant_id,
        before.id,
        payment,
        idempotency_key=command.idempotency_key,
        user_id=command.actor.user_id,
    )
    after = await recompute_and_save(uow, before, now)
    await audit(
        uow,
        command.actor,
        "payment_recorded",
        before,
        after,
        extra={"payment_id": payment.id, "amount": payment.amount.to_json_text(), "mode": payment.mode},
    )
    event = "invoice_paid" if after.is_paid else "payment_recorded"
    await record_invoice_usage(
        uow,
        after,
        event,
        payment_usage_key(after.id, command.idempotency_key, payment.id),
        payment_id=payment.id,
        payment_amount=payment.amount.to_json_text(),
        mode=payment.mode,
        reference=payment.reference,
    )
    await remember(
        uow,
        command.actor,
        idem,
        after,
        {
            "invoice_id": after.id,
            "status": after.status.value.upper(),
            "amount_due": after.amount_due.to_json_text(),
            "amount_paid": after.amount_paid.to_json_text(),
        },
    )
    return InvoiceChanged(after, await publish_gate_state(uow, after))


@dataclass(frozen=True, slots=True)
class MarkPaid:
    """Settle what is due (or ``amount``) as one payment."""

    actor: InvoiceActor
    invoice_id: str
    amount: Money | None = None
    mode: str | None = None
    reference: str | None = None
    notes: str | None = None
    idempotency_key: str | None = None


async def mark_paid(uow: UnitOfWork, command: MarkPaid) -> InvoiceChanged:
    """A paid invoice (or one with nothing due) is answered unchanged; otherwise the payment action with
    the given amount or the amount due, under the given key or ``invoice_mark_paid:<id>``."""
    current = await lock_invoice(uow, command.actor, command.invoice_id)
    if current.status is InvoiceStatus.PAID or not current.amount_due.is_positive:
        return InvoiceChanged(current)
    payment = RecordPayment(
        actor=command.actor,
        invoice_id=command.invoice_id,
        amount=command.amount if command.amount is not None else current.amount_due,
        mode=command.mode,
        reference=command.reference,
        notes=command.notes,
        idempotency_key=command.idempotency_key or mark_paid_key(command.invoice_id),
    )
    return await record_payment(uow, payment)


@dataclass(frozen=True, slots=True)
class AddAdjustment:
    """A credit note of ``amount``."""

    actor: InvoiceActor
    invoice_id: str
    amount: Money
    adjustment_type: str | None = None
    reason: str | None = None
    idempotency: IdempotencyKey | None = None


async def add_adjustment(uow: UnitOfWork, command: AddAdjustment) -> InvoiceChanged:
    """409 ``Invoice is not adjustable`` on draft/void, 400 not positive; then the credit, the recompute
    (enough credit settles the invoice), audit ``adjustment_added``."""
    stored = await replay_of(uow, command.actor, command.idempotency)
    if stored is not None:
        return InvoiceChanged(await load_invoice(uow, command.actor, command.invoice_id), replayed=True)
    before = await lock_invoice(uow, command.actor, command.invoice_id)
    ensure_can_adjust(before.status, command.amount)
    now = utcnow()
    credit = AdjustmentLine(
        new_id(), command.amount, command.adjustment_type or "credit", command.reason, now
    )
    await uow.repo(InvoiceBookRepository).add_adjustment(before.tenant_id, before.id, credit)
    after = await recompute_and_save(uow, before, now)
    await audit(
        uow,
        command.actor,
        "adjustment_added",
        before,
        after,
        reason=command.reason,
        extra={"adjustment_id": credit.id, "amount": credit.amount.to_json_text()},
    )
    await remember(uow, command.actor, command.idempotency, after, {"invoice_id": after.id})
    return InvoiceChanged(after, await publish_gate_state(uow, after))
