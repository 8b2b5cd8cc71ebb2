"""Issue, send and void a service invoice (domain.md §7.6; decisions 12 and 13)."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date

from billing_service.domain.errors import AccountNotFound
from billing_service.domain.invoice_errors import ReasonRequired
from billing_service.domain.invoices import (
    InvoiceStatus,
    due_date_for,
    ensure_can_issue,
    ensure_can_send,
    financial_year_label,
    invoice_number,
    ist_date,
    should_void,
)
from billing_service.domain.money import Money
from billing_service.handlers._common import utcnow
from billing_service.handlers.invoice_common import (
    IdempotencyKey,
    InvoiceActor,
    InvoiceChanged,
    audit,
    instant,
    load_invoice,
    lock_invoice,
    publish_gate_state,
    recompute_and_save,
    record_invoice_usage,
    remember,
    replay_of,
)
from billing_service.repositories import AccountRepository
from billing_service.repositories.invoice_book import InvoiceBookRepository
from shared.db.uow import UnitOfWork


@dataclass(frozen=True, slots=True)
class IssueInvoice:
    """Issue a draft, optionally on a given issue and due date."""

    actor: InvoiceActor
    invoice_id: str
    issued_date: date | None = None
    due_date: date | None = None
    idempotency: IdempotencyKey | None = None


async def issue_invoice(uow: UnitOfWork, command: IssueInvoice) -> InvoiceChanged:
    """Number the draft ``INV-<FY>-<5 digits>`` from the (tenant, FY) counter in this transaction
    (decision 12), date it (due = given, else the draft's, else issue date + payment terms, decision 13),
    recompute (a zero total becomes PAID); audit ``issued``; usage ``invoice_issued``."""
    stored = await replay_of(uow, command.actor, command.idempotency)
    if stored is not None:
        return InvoiceChanged(await load_invoice(uow, command.actor, command.invoice_id), replayed=True)
    before = await lock_invoice(uow, command.actor, command.invoice_id)
    ensure_can_issue(before.status)
    state = await uow.repo(AccountRepository).get(before.account_id)
    if state is None:  # pragma: no cover - the invoice's account is a foreign key
        raise AccountNotFound(details={"account_id": before.account_id})
    now = utcnow()
    issued = command.issued_date or ist_date(now)
    due = command.due_date or before.due_date or due_date_for(issued, state.policy.payment_terms_days)
    sequence = await uow.repo(InvoiceBookRepository).next_number(
        before.tenant_id, financial_year_label(issued)
    )
    numbered = replace(
        before,
        status=InvoiceStatus.ISSUED,
        invoice_number=invoice_number(financial_year_label(issued), sequence),
        issued_date=issued,
        due_date=due,
    )
    after = await recompute_and_save(uow, numbered, now)
    await audit(uow, command.actor, "issued", before, after)
    await record_invoice_usage(uow, after, "invoice_issued", f"v2:invoice_issued:{after.id}")
    await remember(
        uow,
        command.actor,
        command.idempotency,
        after,
        {"invoice_id": after.id, "invoice_number": after.invoice_number},
    )
    return InvoiceChanged(after, await publish_gate_state(uow, after))


@dataclass(frozen=True, slots=True)
class SendInvoice:
    """Mark an issued invoice as sent to the customer."""

    actor: InvoiceActor
    invoice_id: str
    idempotency: IdempotencyKey | None = None


async def send_invoice(uow: UnitOfWork, command: SendInvoice) -> InvoiceChanged:
    """409 ``Invoice not in sendable state`` unless issued, sent or partially paid; sent_at = now."""
    stored = await replay_of(uow, command.actor, command.idempotency)
    if stored is not None:
        return InvoiceChanged(await load_invoice(uow, command.actor, command.invoice_id), replayed=True)
    before = await lock_invoice(uow, command.actor, command.invoice_id)
    ensure_can_send(before.status)
    now = utcnow()
    after = await recompute_and_save(uow, replace(before, sent_at=now), now)
    await audit(uow, command.actor, "sent", before, after)
    await record_invoice_usage(
        uow, after, "invoice_sent", f"v2:invoice_sent:{after.id}:{instant(now)}", sent_at=instant(now)
    )
    await remember(uow, command.actor, command.idempotency, after, {"invoice_id": after.id})
    return InvoiceChanged(after, await publish_gate_state(uow, after))


@dataclass(frozen=True, slots=True)
class VoidInvoice:
    """Void an invoice with a reason."""

    actor: InvoiceActor
    invoice_id: str
    reason: str | None
    idempotency: IdempotencyKey | None = None


async def void_invoice(uow: UnitOfWork, command: VoidInvoice) -> InvoiceChanged:
    """400 ``REASON_REQUIRED`` without a reason; a void invoice stays as it is (no-op); 409 ``Cannot void
    invoice with payments``; else void with amount due 0; audit ``voided``; usage ``invoice_voided``."""
    reason = (command.reason or "").strip()
    if not reason:
        raise ReasonRequired()
    stored = await replay_of(uow, command.actor, command.idempotency)
    if stored is not None:
        return InvoiceChanged(await load_invoice(uow, command.actor, command.invoice_id), replayed=True)
    before = await lock_invoice(uow, command.actor, command.invoice_id)
    if not should_void(before.status, before.amount_paid):
        return InvoiceChanged(before)
    now = utcnow()
    voided = replace(
        before,
        status=InvoiceStatus.VOID,
        voided_at=now,
        void_reason=reason,
        amount_due=Money.zero(before.currency),
        is_paid=False,
    )
    after = await recompute_and_save(uow, voided, now)
    await audit(uow, command.actor, "voided", before, after, reason=reason)
    await record_invoice_usage(uow, after, "invoice_voided", f"v2:invoice_voided:{after.id}", reason=reason)
    await remember(uow, command.actor, command.idempotency, after, {"invoice_id": after.id})
    return InvoiceChanged(after, await publish_gate_state(uow, after))
