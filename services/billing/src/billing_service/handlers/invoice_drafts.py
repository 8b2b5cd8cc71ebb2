"""Create and edit draft service invoices (domain.md §7.6 create / update)."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date

from billing_service.domain.accounts import (
    AccountType,
    AccountUpsert,
    implicit_tenant_account,
    normalize_external_key,
)
from billing_service.domain.errors import AccountNotFound
from billing_service.domain.invoice_book import InvoiceHeader
from billing_service.domain.invoice_errors import InvoiceAccountMismatch
from billing_service.domain.invoices import InvoiceItem, InvoiceStatus, ensure_can_update
from billing_service.domain.money import DEFAULT_CURRENCY, Money
from billing_service.handlers._common import new_id, utcnow
from billing_service.handlers.accounts import ensure_account
from billing_service.handlers.invoice_common import (
    IdempotencyKey,
    InvoiceActor,
    InvoiceChanged,
    audit,
    load_invoice,
    lock_invoice,
    recompute_and_save,
    record_invoice_usage,
    remember,
    replay_of,
)
from billing_service.repositories import AccountRepository, AccountState
from billing_service.repositories.invoice_book import InvoiceBookRepository, ItemRow
from shared.db.uow import UnitOfWork


@dataclass(frozen=True, slots=True)
class CreateInvoice:
    """A new draft: the account by id, by external key (created as a tenant account when new) or the
    tenant's implicit ``v2:tenant:<tenant>`` account; items already normalized (§7.6)."""

    actor: InvoiceActor
    items: tuple[InvoiceItem, ...]
    account_id: str | None = None
    external_key: str | None = None
    assignment_id: str | None = None
    channel_request_id: str | None = None
    issued_date: date | None = None
    due_date: date | None = None
    bill_to_name: str | None = None
    bill_to_address: str | None = None
    notes: str | None = None
    idempotency: IdempotencyKey | None = None


async def _account(uow: UnitOfWork, command: CreateInvoice) -> AccountState:
    accounts = uow.repo(AccountRepository)
    tenant = command.actor.tenant_id
    by_key: str | None = None
    if command.external_key:
        key = normalize_external_key(command.external_key)
        by_key = await accounts.id_by_key(key)
        if by_key is None:
            upsert = AccountUpsert(tenant, AccountType.TENANT, key, key)
            by_key = await ensure_account(uow, upsert)
    if command.account_id and by_key and command.account_id != by_key:
        raise InvoiceAccountMismatch(
            details={"account_id": command.account_id, "external_key": command.external_key}
        )
    account_id = command.account_id or by_key
    if account_id is None:
        account_id = await ensure_account(uow, implicit_tenant_account(tenant))
    state = await accounts.get(account_id)
    if state is None or state.account.tenant_id != tenant:
        raise AccountNotFound(details={"account_id": account_id})
    return state


async def create_invoice(uow: UnitOfWork, command: CreateInvoice) -> InvoiceChanged:
    """Insert the draft with its lines, recomputed; audit ``created``; usage ``invoice_created``."""
    book = uow.repo(InvoiceBookRepository)
    stored = await replay_of(uow, command.actor, command.idempotency)
    if stored is not None and stored.invoice_id is not None:
        return InvoiceChanged(await load_invoice(uow, command.actor, stored.invoice_id), replayed=True)
    state = await _account(uow, command)
    now = utcnow()
    zero = Money.zero(DEFAULT_CURRENCY)
    draft = InvoiceHeader(
        id=new_id(),
        tenant_id=command.actor.tenant_id,
        account_id=state.account.id,
        account_display_name=state.account.display_name,
        work_order_id=None,
        assignment_id=command.assignment_id,
        channel_request_id=command.channel_request_id,
        invoice_number=None,
        status=InvoiceStatus.DRAFT,
        currency=DEFAULT_CURRENCY,
        issued_date=command.issued_date,
        due_date=command.due_date,
        sent_at=None,
        subtotal=zero,
        tax=zero,
        total=zero,
        amount_paid=zero,
        amount_credited=zero,
        amount_due=zero,
        is_paid=False,
        paid_at=None,
        voided_at=None,
        void_reason=None,
        bill_to_name=command.bill_to_name or state.account.display_name,
        bill_to_address=command.bill_to_address,
        notes=command.notes,
        created_by_user_id=command.actor.user_id,
        created_at=now,
        updated_at=now,
    )
    await book.add(draft)
    await book.replace_items(draft.tenant_id, draft.id, [ItemRow(new_id(), item) for item in command.items])
    created = await recompute_and_save(uow, draft, now)
    await audit(uow, command.actor, "created", None, created)
    await record_invoice_usage(uow, created, "invoice_created", f"v2:invoice_created:{created.id}")
    await remember(uow, command.actor, command.idempotency, created, {"invoice_id": created.id})
    return InvoiceChanged(created)


@dataclass(frozen=True, slots=True)
class UpdateInvoice:
    """A draft edit: only the fields in ``changes`` are written; ``items`` replaces the lines when given."""

    actor: InvoiceActor
    invoice_id: str
    changes: dict[str, object]
    items: tuple[InvoiceItem, ...] | None = None
    idempotency: IdempotencyKey | None = None


#: the header fields a draft edit may set (§9.3 PATCH)
EDITABLE = frozenset({"notes", "bill_to_name", "bill_to_address", "due_date", "issued_date"})


async def update_invoice(uow: UnitOfWork, command: UpdateInvoice) -> InvoiceChanged:
    """Edit a draft (409 ``Only DRAFT invoices can be updated``); audit ``edited``."""
    stored = await replay_of(uow, command.actor, command.idempotency)
    if stored is not None:
        return InvoiceChanged(await load_invoice(uow, command.actor, command.invoice_id), replayed=True)
    before = await lock_invoice(uow, command.actor, command.invoice_id)
    ensure_can_update(before.status)
    fields = {name: value for name, value in command.changes.items() if name in EDITABLE}
    edited = replace(before, **fields)  # type: ignore[arg-type]  # values typed by the request model
    book = uow.repo(InvoiceBookRepository)
    if command.items is not None:
        await book.replace_items(before.tenant_id, before.id, [ItemRow(new_id(), i) for i in command.items])
    after = await recompute_and_save(uow, edited, utcnow())
    await audit(
        uow, command.actor, "edited", before, after, extra={"items_replaced": command.items is not None}
    )
    await remember(uow, command.actor, command.idempotency, after, {"invoice_id": after.id})
    return InvoiceChanged(after)
