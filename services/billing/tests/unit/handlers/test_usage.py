"""V1 usage ingestion on fakes: stored once per (source, key), matched to an account by id or key,
kept unmatched (no account, no tenant) for an unknown key, 404 for an unknown id."""

from __future__ import annotations

import pytest

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
