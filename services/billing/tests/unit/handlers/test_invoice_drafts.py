"""Create and edit drafts on fakes: account resolution, normalisation, totals, audit, usage, idempotency."""

from __future__ import annotations

from decimal import Decimal

import pytest

from billing_service.domain.accounts import tenant_account_key
from billing_service.domain.errors import (
    AccountNotFound,
    IdempotencyKeyReused,
    InvalidExternalKey,
    InvoiceNotDraft,
)
from billing_service.domain.invoice_book import body_request_hash
from billing_service.domain.invoice_errors import InvoiceAccountMismatch, InvoiceNotFound
from billing_service.domain.invoices import InvoiceItem, InvoiceStatus
from billing_service.domain.money import Money
from billing_service.handlers.invoice_common import IdempotencyKey, InvoiceActor
from billing_service.handlers.invoice_drafts import (
    CreateInvoice,
    UpdateInvoice,
    create_invoice,
    update_invoice,
)
from devstack.testing.fakes import FakeUnitOfWork
from services.billing.tests.unit.fakes import TENANT, FakeBilling
from services.billing.tests.unit.handlers.conftest import USER, Draft, line
from services.billing.tests.unit.invoice_fakes import FakeInvoiceBook

OTHER_TENANT = "44444444-4444-4444-8444-444444444444"


def _key(key: str, **params: object) -> IdempotencyKey:
    return IdempotencyKey("invoice_create", key, body_request_hash("create", "", params))


class TestCreate:
    async def test_a_draft_on_the_tenants_implicit_account(
        self, billing: FakeBilling, book: FakeInvoiceBook, draft: Draft
    ) -> None:
        made = await draft("100", "36.50")
        header = made.header
        [state] = billing.accounts.states.values()
        assert state.account.external_key == tenant_account_key(TENANT)
        assert (header.status, header.invoice_number, header.account_id) == (
            InvoiceStatus.DRAFT,
            None,
            state.account.id,
        )
        assert (header.subtotal, header.total, header.amount_due, header.is_paid) == (
            Money.of("136.50"),
            Money.of("136.50"),
            Money.of("136.50"),
            False,
        )
        assert header.bill_to_name == state.account.display_name
        [created] = book.audits[header.id]
        assert (created.event_type, created.actor_user_id) == ("created", USER)
        assert created.diff_json["status"] == {"from": None, "to": "DRAFT"}
        [usage] = billing.usage.of_type("invoice_created")
        assert usage.idempotency_key == f"v2:invoice_created:{header.id}"
        assert usage.payload_json["total_amount"] == "136.5"

    async def test_items_are_normalised_and_taxed(self, iuow: FakeUnitOfWork, actor: InvoiceActor) -> None:
        items = (
            InvoiceItem.normalized("Site visit", Decimal(0), Money.of("200"), tax_rate=Decimal(18)),
            InvoiceItem.normalized("Discount line", Decimal(2), Money.of("-5")),
        )
        made = await create_invoice(iuow, CreateInvoice(actor=actor, items=items))
        assert (made.header.subtotal, made.header.tax, made.header.total) == (
            Money.of("200"),
            Money.of("36"),
            Money.of("236"),
        )

    async def test_a_new_external_key_opens_a_tenant_account(
        self, billing: FakeBilling, iuow: FakeUnitOfWork, actor: InvoiceActor
    ) -> None:
        made = await create_invoice(
            iuow, CreateInvoice(actor=actor, items=(), external_key="v2:external:bank-7")
        )
        state = billing.accounts.states[made.header.account_id]
        assert (state.account.external_key, state.account.tenant_id) == ("v2:external:bank-7", TENANT)

    async def test_a_malformed_key_is_400(
        self, iuow: FakeUnitOfWork, actor: InvoiceActor, book: FakeInvoiceBook
    ) -> None:
        with pytest.raises(InvalidExternalKey):
            await create_invoice(iuow, CreateInvoice(actor=actor, items=(), external_key="nope"))
        assert book.headers == {}

    async def test_another_tenants_account_is_not_found(
        self, billing: FakeBilling, iuow: FakeUnitOfWork, actor: InvoiceActor, book: FakeInvoiceBook
    ) -> None:
        foreign = billing.account("v2:tenant:other", tenant_id=OTHER_TENANT)
        with pytest.raises(AccountNotFound):
            await create_invoice(iuow, CreateInvoice(actor=actor, items=(), account_id=foreign.account.id))
        assert book.headers == {}

    async def test_id_and_key_of_different_accounts_conflict(
        self, billing: FakeBilling, iuow: FakeUnitOfWork, actor: InvoiceActor
    ) -> None:
        one = billing.account("v1:client:one")
        billing.account("v1:client:two")
        with pytest.raises(InvoiceAccountMismatch):
            await create_invoice(
                iuow,
                CreateInvoice(actor=actor, items=(), account_id=one.account.id, external_key="v1:client:two"),
            )

    async def test_a_retry_with_the_key_creates_nothing_twice(
        self, iuow: FakeUnitOfWork, actor: InvoiceActor, book: FakeInvoiceBook
    ) -> None:
        command = CreateInvoice(actor=actor, items=(line("10"),), idempotency=_key("k-1", notes=None))
        first = await create_invoice(iuow, command)
        again = await create_invoice(iuow, command)
        assert (again.replayed, again.header.id) == (True, first.header.id)
        assert len(book.headers) == 1
        other = CreateInvoice(actor=actor, items=(), idempotency=_key("k-1", notes="other"))
        with pytest.raises(IdempotencyKeyReused, match="Idempotency key mismatch"):
            await create_invoice(iuow, other)
        assert len(book.headers) == 1


class TestUpdate:
    async def test_a_draft_takes_new_fields_and_lines(
        self, iuow: FakeUnitOfWork, actor: InvoiceActor, book: FakeInvoiceBook, draft: Draft
    ) -> None:
        made = await draft("100")
        command = UpdateInvoice(
            actor, made.header.id, {"notes": "March visit"}, (line("40"), line("2", "5", index=1))
        )
        edited = await update_invoice(iuow, command)
        assert (edited.header.notes, edited.header.total) == ("March visit", Money.of("50"))
        assert [r.item.line_total for r in book.lines[made.header.id]] == [Money.of("40"), Money.of("10")]
        assert book.audits[made.header.id][-1].event_type == "edited"

    async def test_an_issued_invoice_is_409_and_unchanged(
        self, iuow: FakeUnitOfWork, actor: InvoiceActor, book: FakeInvoiceBook, issued: Draft
    ) -> None:
        made = await issued("100")
        before = book.headers[made.header.id]
        with pytest.raises(InvoiceNotDraft, match="Only DRAFT invoices can be updated"):
            await update_invoice(iuow, UpdateInvoice(actor, made.header.id, {"notes": "x"}, None))
        assert book.headers[made.header.id] == before

    async def test_an_unknown_invoice_is_404(self, iuow: FakeUnitOfWork, actor: InvoiceActor) -> None:
        with pytest.raises(InvoiceNotFound):
            await update_invoice(iuow, UpdateInvoice(actor, "9a4b6c0e-0000-4000-8000-000000000000", {}, None))

    async def test_another_tenant_cannot_edit(self, iuow: FakeUnitOfWork, draft: Draft) -> None:
        made = await draft("100")
        with pytest.raises(InvoiceNotFound):
            await update_invoice(
                iuow, UpdateInvoice(InvoiceActor(OTHER_TENANT, USER), made.header.id, {"notes": "x"})
            )
