"""Reminders and payment proofs on a service invoice (domain.md §7.6 remind / payment-proof)."""

from __future__ import annotations

from dataclasses import dataclass

from billing_service.domain.invoice_book import reminder_message
from billing_service.domain.invoice_errors import InvoiceIdempotencyKeyRequired, PaymentProofDocumentUnknown
from billing_service.domain.invoices import ensure_can_remind, remind_request_hash
from billing_service.handlers._common import new_id
from billing_service.handlers.invoice_common import (
    IdempotencyKey,
    InvoiceActor,
    audit,
    load_invoice,
    lock_invoice,
    remember,
    replay_of,
)
from billing_service.repositories.invoice_book import AttachmentRow, InvoiceBookRepository, NewAttachment
from shared.db.uow import UnitOfWork

REMIND_SCOPE = "invoice_remind"


@dataclass(frozen=True, slots=True)
class RemindInvoice:
    """Record a payment reminder (``Idempotency-Key`` required)."""

    actor: InvoiceActor
    invoice_id: str
    idempotency_key: str | None


@dataclass(frozen=True, slots=True)
class Reminder:
    """The answer of a reminder (also what a retry with the key replays)."""

    status: str
    invoice_id: str
    message: str


async def remind_invoice(uow: UnitOfWork, command: RemindInvoice) -> Reminder:
    """409 ``Invoice already settled or voided`` first, then 400 without a key; once per key; audit
    ``reminder_sent``."""
    before = await lock_invoice(uow, command.actor, command.invoice_id)
    ensure_can_remind(before.status, before.amount_due)
    if not command.idempotency_key:
        raise InvoiceIdempotencyKeyRequired()
    idem = IdempotencyKey(REMIND_SCOPE, command.idempotency_key, remind_request_hash(before.id))
    stored = await replay_of(uow, command.actor, idem)
    if stored is not None:
        return Reminder(
            str(stored.response.get("status", "ok")),
            str(stored.response.get("invoice_id", before.id)),
            str(stored.response.get("message", reminder_message(before))),
        )
    answer = Reminder("ok", before.id, reminder_message(before))
    await audit(uow, command.actor, "reminder_sent", before, before, extra={"idempotency_key": idem.key})
    await remember(
        uow,
        command.actor,
        idem,
        before,
        {"status": answer.status, "invoice_id": answer.invoice_id, "message": answer.message},
    )
    return answer


@dataclass(frozen=True, slots=True)
class AddPaymentProof:
    """Attach a document (by its storage key) to an invoice."""

    actor: InvoiceActor
    invoice_id: str
    attachment: NewAttachment
    idempotency: IdempotencyKey | None = None


async def add_payment_proof(uow: UnitOfWork, command: AddPaymentProof) -> AttachmentRow:
    """Attach a document uploaded through ``/v1/documents`` (404 ``PAYMENT_PROOF_DOCUMENT_NOT_FOUND`` for a
    storage key the tenant never uploaded), in any status; audit ``attachment_added``; a retry with the
    key answers the attachment it made."""
    book = uow.repo(InvoiceBookRepository)
    if not await book.knows_document(command.actor.tenant_id, command.attachment.storage_key):
        raise PaymentProofDocumentUnknown(details={"storage_key": command.attachment.storage_key})
    invoice = await load_invoice(uow, command.actor, command.invoice_id)  # no lock: the portal may not
    stored = await replay_of(uow, command.actor, command.idempotency)
    if stored is not None:
        made = str(stored.response.get("attachment_id", ""))
        found = next((a for a in await book.attachments(invoice.id) if a.id == made), None)
        if found is not None:
            return found
    row = await book.add_attachment(invoice.tenant_id, invoice.id, new_id(), command.attachment)
    await audit(
        uow,
        command.actor,
        "attachment_added",
        invoice,
        invoice,
        extra={
            "attachment_id": row.id,
            "kind": row.kind.upper(),
            "original_name": row.original_name,
            "storage_key": row.storage_key,
        },
    )
    if command.idempotency is not None:
        await book.store_key(
            invoice.tenant_id,
            command.idempotency.scope,
            command.idempotency.key,
            request_hash=command.idempotency.request_hash,
            account_id=invoice.account_id,
            invoice_id=invoice.id,
            response={"attachment_id": row.id},
        )
    return row
