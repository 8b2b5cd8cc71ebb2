"""What the use cases share, on fakes: billing's own usage events are stored once per key."""

from __future__ import annotations

from billing_service.handlers._common import OWN_SOURCE, iso, record_account_usage, record_usage
from devstack.testing.fakes import FakeUnitOfWork
from services.billing.tests.unit.fakes import FakeBilling
from shared.timestamps import iso_utc


async def test_own_usage_is_stored_once_per_key(billing: FakeBilling, uow: FakeUnitOfWork) -> None:
    state = billing.account()
    first = await record_account_usage(uow, state, "invoice_voided", "v2:k", {"n": 1})
    again = await record_usage(
        uow,
        "invoice_voided",
        "v2:k",
        {"n": 2},
        account_id=state.account.id,
        tenant_id=state.account.tenant_id,
    )
    assert again == first
    assert (first.source_system, first.payload_json, first.account_id) == (
        OWN_SOURCE,
        {"n": 1},
        state.account.id,
    )
    assert list(billing.usage.rows) == [(OWN_SOURCE, "v2:k")]


def test_iso_keeps_none(billing: FakeBilling) -> None:
    instant = billing.clock()
    assert (iso(None), iso(instant)) == (None, iso_utc(instant))
