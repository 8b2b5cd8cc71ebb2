"""V1 usage ingestion on fakes: stored once per (source, key), matched to an account by id or key (V1's
aliases normalised, domain.md §8.1), kept unmatched (no account, no tenant) for an unknown key, 404 for an
unknown id."""

from __future__ import annotations

import pytest

from billing_service.domain.accounts import v1_invoice_event_idempotency_key
from billing_service.domain.errors import AccountNotFound
from billing_service.handlers import IngestUsage, ingest_usage
from devstack.testing.fakes import FakeUnitOfWork
from services.billing.tests.unit.fakes import TENANT, FakeBilling


def _event(**naming: str) -> IngestUsage:
    return IngestUsage("v1", "invoice_paid", "v1-key-1", {"invoice_id": "i-1"}, **naming)


@pytest.mark.parametrize("by", ["account_id", "external_key"])
async def test_an_event_of_a_known_account_is_matched_and_stored_once(
    billing: FakeBilling, uow: FakeUnitOfWork, by: str
) -> None:
    state = billing.account()
    naming = {"account_id": state.account.id, "external_key": f" {state.account.external_key} "}
    first = await ingest_usage(uow, _event(**{by: naming[by]}))
    again = await ingest_usage(uow, _event(**{by: naming[by]}))
    assert (first.created, again.created, again.event) == (True, False, first.event)
    stored = first.event
    assert (stored.account_id, stored.tenant_id, stored.unmatched) == (state.account.id, TENANT, False)
    assert (stored.source_system, stored.payload_json) == ("v1", {"invoice_id": "i-1"})
    assert len(billing.usage.rows) == 1


async def test_an_unknown_key_is_kept_unmatched(uow: FakeUnitOfWork) -> None:
    ingested = await ingest_usage(uow, _event(external_key="v1:partner:nobody"))
    stored = ingested.event
    assert (stored.account_id, stored.tenant_id, stored.unmatched) == (None, None, True)
    assert stored.external_account_key == "v1:partner:nobody"


async def test_an_unknown_account_id_is_404(billing: FakeBilling, uow: FakeUnitOfWork) -> None:
    with pytest.raises(AccountNotFound) as raised:
        await ingest_usage(uow, _event(account_id="99999999-9999-4999-8999-999999999999"))
    assert raised.value.status == 404
    assert billing.usage.rows == {}


@pytest.mark.parametrize(
    "sent", ["v1:external_associate:77", "v1:referral_channel:77", "v1:Partner:77", " v1:partner:77 "]
)
async def test_v1_aliases_of_a_partner_resolve_to_its_account(
    billing: FakeBilling, uow: FakeUnitOfWork, sent: str
) -> None:
    partner = billing.account("v1:partner:77")
    stored = (await ingest_usage(uow, _event(external_key=sent))).event
    assert (stored.account_id, stored.tenant_id, stored.unmatched) == (partner.account.id, TENANT, False)
    assert stored.external_account_key == "v1:partner:77"


async def test_an_unknown_alias_is_kept_unmatched_under_the_normalised_key(uow: FakeUnitOfWork) -> None:
    stored = (await ingest_usage(uow, _event(external_key="v1:external_associate:78"))).event
    assert (stored.account_id, stored.unmatched, stored.external_account_key) == (None, True, "v1:partner:78")


@pytest.mark.parametrize("key", ["v1:channel:5", "legacy-key", "  "])
async def test_a_key_outside_the_grammar_is_kept_unmatched_as_sent(uow: FakeUnitOfWork, key: str) -> None:
    stored = (await ingest_usage(uow, _event(external_key=key))).event
    assert (stored.account_id, stored.tenant_id, stored.unmatched) == (None, None, True)
    assert stored.external_account_key == (key.strip() or None)


async def test_v1_invoice_payloads_are_kept_verbatim_and_duplicates_keep_the_first(
    billing: FakeBilling, uow: FakeUnitOfWork
) -> None:
    billing.account("v1:partner:7")
    key = v1_invoice_event_idempotency_key("invoice_paid", 42, 9, "PAID", "2026-01-01T00:00:00", "0.00")
    payload = {
        "invoice_id": 42,
        "partner_id": 7,
        "status": "PAID",
        "total_amount": "1180.00",
        "amount_paid": "1180.00",
        "amount_due": "0.00",
        "amount_credited": "0.00",
        "paid_at": None,
        "payment": {"payment_id": 9, "amount": "1180.00", "mode": "BANK_TRANSFER", "reference_no": None},
    }
    first = await ingest_usage(
        uow, IngestUsage("v1", "invoice_paid", key, payload, external_key="v1:partner:7")
    )
    # V1 re-emits with a new event_emitted_at under the same key: the first stays, nothing is added
    retry = IngestUsage(
        "v1", "invoice_paid", key, {**payload, "event_emitted_at": "later"}, external_key="v1:partner:7"
    )
    again = await ingest_usage(uow, retry)
    assert (first.created, again.created, again.event) == (True, False, first.event)
    assert first.event.payload_json == payload
    assert len(billing.usage.rows) == 1
