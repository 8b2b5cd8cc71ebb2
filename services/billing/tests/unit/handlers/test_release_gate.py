"""The release gate on fakes: one decision per release id, the consume in the same transaction, the
stored inputs and hash, ``gate_decided`` and the work order's billing; and the replay of a decision."""

from __future__ import annotations

import pytest

from billing_service.domain.accounts import BillingMode
from billing_service.domain.errors import GateDecisionNotFound
from billing_service.handlers import DecideRelease, ReplayGateDecision, decide_release, replay_gate_decision
from devstack.testing.fakes import FakeUnitOfWork
from services.billing.tests.unit.fakes import TENANT, WORK_ORDER, Accept, FakeBilling
from shared.contracts.billing import GateDecided, WorkOrderBilling
from shared.contracts.factory import ReleaseRequested

RELEASED = "repogen_deliverables_released"
BLOCKED = "repogen_deliverables_release_blocked"


def _release(release_id: str = "r-1", *, override: bool = False) -> DecideRelease:
    event = ReleaseRequested(
        release_id=release_id,
        work_order_id=WORK_ORDER,
        idempotency_key=f"key-{release_id}",
        override=override,
        override_reason="signed off" if override else None,
        pack_id="p-1",
        job_status="SUCCEEDED",
        requested_at="2026-02-24T10:00:00.000Z",
    )
    return DecideRelease(event, f"m-{release_id}", TENANT)


async def _credit_accepted(billing: FakeBilling, accept: Accept) -> str:
    state = billing.account(mode=BillingMode.CREDIT, wallet=1)
    await accept(state.account.external_key)
    [hold_id] = billing.ledger.holds
    return hold_id


class TestDecide:
    async def test_credit_consumes_the_acceptance_hold(
        self, billing: FakeBilling, uow: FakeUnitOfWork, accept: Accept
    ) -> None:
        hold_id = await _credit_accepted(billing, accept)
        outcome = await decide_release(uow, _release())
        assert outcome is not None
        assert (outcome.result, outcome.mode, outcome.error_code) == ("CREDIT_CONSUMED", "CREDIT", None)
        assert billing.ledger.holds[hold_id].status == "consumed"
        assert outcome.ledger_entry_ids == [billing.ledger.entry_rows[-1].id]
        [usage] = billing.usage.of_type(RELEASED)
        assert (outcome.usage_event_id, usage.payload_json["release_id"]) == (usage.id, "r-1")
        assert outcome.metadata["billing_reservation_id"] == hold_id
        row = billing.work_orders.rows[WORK_ORDER]
        assert (row.has_successful_release, row.last_gate and row.last_gate["result"]) == (
            True,
            "CREDIT_CONSUMED",
        )
        [stored] = billing.gates.rows.values()
        assert (stored.decision_hash, stored.billing_version) == (outcome.decision_hash, row.billing_version)
        assert uow.events_of(GateDecided.TYPE) == [outcome.to_payload()]
        assert uow.events_of(WorkOrderBilling.TYPE)[-1]["last_gate"]["release_id"] == "r-1"

    async def test_a_release_id_is_decided_once(
        self, billing: FakeBilling, uow: FakeUnitOfWork, accept: Accept
    ) -> None:
        await _credit_accepted(billing, accept)
        await decide_release(uow, _release())
        published = len(uow.published)
        assert await decide_release(uow, _release()) is None
        assert (len(billing.gates.rows), len(uow.published)) == (1, published)

    @pytest.mark.parametrize(
        ("override", "result", "reason", "usage_type"),
        [
            (False, "BLOCKED", "invoice_unpaid", BLOCKED),
            (True, "OVERRIDE", "invoice_unpaid_override", RELEASED),
        ],
    )
    async def test_an_unpaid_invoice_blocks_unless_overridden(
        self,
        billing: FakeBilling,
        uow: FakeUnitOfWork,
        accept: Accept,
        override: bool,
        result: str,
        reason: str,
        usage_type: str,
    ) -> None:
        await accept()
        outcome = await decide_release(uow, _release(override=override))
        assert outcome is not None
        assert (outcome.result, outcome.blocked_reason, outcome.mode) == (result, reason, "POSTPAID")
        assert len(billing.usage.of_type(usage_type)) == 1
        assert billing.work_orders.rows[WORK_ORDER].has_successful_release is override

    async def test_an_unknown_work_order_is_decided_on_a_stub_row(
        self, billing: FakeBilling, uow: FakeUnitOfWork
    ) -> None:
        outcome = await decide_release(uow, _release())
        assert outcome is not None
        assert (outcome.result, outcome.blocked_reason) == ("BLOCKED", "service_invoice_missing")
        row = billing.work_orders.rows[WORK_ORDER]
        assert (row.tenant_id, row.status, row.report_type, row.account_id) == (
            TENANT,
            "UNKNOWN",
            "UNKNOWN",
            None,
        )
        assert (outcome.usage_event_id, billing.usage.rows) == (None, {})

    async def test_a_failed_consume_is_an_error_decision_replayed_the_same(
        self, billing: FakeBilling, uow: FakeUnitOfWork, accept: Accept
    ) -> None:
        hold_id = await _credit_accepted(billing, accept)
        billing.ledger.refuse_next_write = True
        outcome = await decide_release(uow, _release())
        assert outcome is not None
        assert (outcome.result, outcome.error_code) == ("ERROR", "CREDIT_BALANCE_INVARIANT_FAILED")
        assert outcome.error_message
        assert (billing.ledger.holds[hold_id].status, billing.usage.of_type(RELEASED)) == ("active", [])
        [stored] = billing.gates.rows.values()
        assert stored.consume_error_code == "CREDIT_BALANCE_INVARIANT_FAILED"
        replay = await replay_gate_decision(uow, ReplayGateDecision(stored.id))
        assert replay.matches


class TestReplay:
    @pytest.mark.parametrize("by", ["decision id", "release id"])
    async def test_a_stored_decision_replays_to_the_same_hash(
        self, billing: FakeBilling, uow: FakeUnitOfWork, accept: Accept, by: str
    ) -> None:
        await _credit_accepted(billing, accept)
        outcome = await decide_release(uow, _release())
        assert outcome is not None
        replay = await replay_gate_decision(
            uow, ReplayGateDecision(outcome.decision_id if by == "decision id" else "r-1")
        )
        assert (replay.decision_id, replay.release_id, replay.work_order_id) == (
            outcome.decision_id,
            "r-1",
            WORK_ORDER,
        )
        assert replay.matches
        assert replay.stored.decision_hash == replay.replayed.decision_hash == outcome.decision_hash

    async def test_an_unknown_decision_is_404(self, uow: FakeUnitOfWork) -> None:
        with pytest.raises(GateDecisionNotFound) as raised:
            await replay_gate_decision(uow, ReplayGateDecision("r-unknown"))
        assert raised.value.status == 404
