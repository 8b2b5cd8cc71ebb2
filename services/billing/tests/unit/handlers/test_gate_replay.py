"""Gate replay of a work order (ops, issue 17) on fakes: every stored decision re-decided from its stored
inputs, in order; a tampered stored outcome shows as a mismatch; nothing is written; 404 without any."""

from __future__ import annotations

import uuid
from dataclasses import replace

import pytest

from billing_service.domain.accounts import BillingMode
from billing_service.domain.errors import GateDecisionNotFound
from billing_service.handlers import DecideRelease, decide_release
from billing_service.handlers.gate_replay import ReplayWorkOrderGate, replay_work_order_gate
from devstack.testing.fakes import FakeUnitOfWork
from services.billing.tests.unit.fakes import TENANT, WORK_ORDER, Accept, FakeBilling
from shared.contracts.factory import ReleaseRequested


def _release(release_id: str) -> DecideRelease:
    event = ReleaseRequested(
        release_id=release_id,
        work_order_id=WORK_ORDER,
        idempotency_key=f"key-{release_id}",
        override=False,
        override_reason=None,
        pack_id="p-1",
        job_status="SUCCEEDED",
        requested_at="2026-02-24T10:00:00.000Z",
    )
    return DecideRelease(event, f"m-{release_id}", TENANT)


async def _two_releases(billing: FakeBilling, uow: FakeUnitOfWork, accept: Accept) -> None:
    """A credit release (consumes the acceptance hold), then one that finds the hold consumed."""
    state = billing.account(mode=BillingMode.CREDIT, wallet=1)
    await accept(state.account.external_key)
    for release_id in ("r-1", "r-2"):
        assert await decide_release(uow, _release(release_id)) is not None


async def test_every_decision_replays_to_its_stored_outcome(
    billing: FakeBilling, uow: FakeUnitOfWork, accept: Accept
) -> None:
    await _two_releases(billing, uow, accept)
    published = len(uow.published)
    replay = await replay_work_order_gate(uow, ReplayWorkOrderGate(WORK_ORDER))
    assert [r.release_id for r in replay.replays] == ["r-1", "r-2"]
    assert [r.replayed.outcome["result"] for r in replay.replays] == ["CREDIT_CONSUMED", "ERROR"]
    assert replay.all_match
    assert len(uow.published) == published  # a replay publishes nothing


async def test_a_stored_outcome_that_differs_is_a_mismatch(
    billing: FakeBilling, uow: FakeUnitOfWork, accept: Accept
) -> None:
    await _two_releases(billing, uow, accept)
    first = next(d for d in billing.gates.rows.values() if d.release_id == "r-1")
    billing.gates.rows[first.id] = replace(first, outcome={**first.outcome, "result": "PAID"})
    replay = await replay_work_order_gate(uow, ReplayWorkOrderGate(WORK_ORDER))
    assert [r.matches for r in replay.replays] == [False, True]
    assert not replay.all_match


async def test_a_work_order_without_decisions_is_404(uow: FakeUnitOfWork) -> None:
    with pytest.raises(GateDecisionNotFound) as raised:
        await replay_work_order_gate(uow, ReplayWorkOrderGate(str(uuid.uuid4())))
    assert raised.value.status == 404
