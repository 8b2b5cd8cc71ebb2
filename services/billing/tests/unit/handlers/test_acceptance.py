"""The acceptance saga and the planned-consumption note on fakes: the plan, the hold or draft invoice,
the usage event, the work order's billing row and the ``work_order_billing`` it publishes."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from billing_service.domain.acceptance import AcceptanceStatus, RejectionCode, quota_period
from billing_service.domain.accounts import AccountStatus, BillingMode, tenant_account_key
from billing_service.handlers import LogPlannedConsumption, log_planned_consumption
from devstack.testing.fakes import FakeUnitOfWork
from services.billing.tests.unit.fakes import TENANT, WORK_ORDER, Accept, FakeBilling
from shared.contracts.billing import AccountStatus as AccountStatusEvent
from shared.contracts.billing import WorkOrderBilling

PLANNED = "repogen_ready_for_render_planned"


class TestAccept:
    async def test_credit_reserves_one_credit(
        self, billing: FakeBilling, uow: FakeUnitOfWork, accept: Accept
    ) -> None:
        state = billing.account(mode=BillingMode.CREDIT, wallet=2)
        plan = await accept(state.account.external_key)
        assert (plan.status, plan.mode, plan.account_id) == (
            AcceptanceStatus.ACCEPTED,
            BillingMode.CREDIT,
            state.account.id,
        )
        [hold] = billing.ledger.holds.values()
        assert (hold.ref_id, hold.amount, hold.idempotency_key) == (
            WORK_ORDER,
            1,
            f"repogen_accept_reserve:{WORK_ORDER}",
        )
        row = billing.work_orders.rows[WORK_ORDER]
        assert (row.acceptance_status, row.mode, row.hold_id, row.invoice_id) == (
            "ACCEPTED",
            "credit",
            hold.id,
            None,
        )
        assert (row.status, row.source_version, row.acceptance_request_message_id) == (
            "DATA_PENDING",
            2,
            "m-accept",
        )
        assert billing.usage.of_type("repogen_work_accepted")[0].payload_json["report_type"] == "VALUATION"
        [published] = uow.events_of(WorkOrderBilling.TYPE)
        assert published["acceptance"]["status"] == "ACCEPTED"
        assert published["hold"] == {"id": hold.id, "status": "active", "amount": 1}
        assert [e.type for e in uow.published] == [AccountStatusEvent.TYPE, WorkOrderBilling.TYPE]
        assert uow.published[-1].aggregate_version == row.billing_version == 1

    async def test_postpaid_creates_the_implicit_account_and_drafts_an_invoice(
        self, billing: FakeBilling, uow: FakeUnitOfWork, accept: Accept
    ) -> None:
        plan = await accept()
        [state] = billing.accounts.states.values()
        assert state.account.external_key == tenant_account_key(TENANT)
        [draft] = billing.invoices.drafts
        assert (plan.mode, plan.service_invoice_id, draft.account_id) == (
            BillingMode.POSTPAID,
            draft.id,
            state.account.id,
        )
        assert billing.invoices.rows[draft.id].total_minor == 10000
        usage = billing.usage.of_type("repogen_work_accepted")[0]
        assert usage.payload_json["service_invoice_id"] == draft.id
        published = uow.events_of(WorkOrderBilling.TYPE)[0]
        assert (published["mode"], published["invoice"]["status"]) == ("POSTPAID", "DRAFT")

    async def test_a_redelivery_accepts_again_without_taking_twice(
        self, billing: FakeBilling, accept: Accept
    ) -> None:
        state = billing.account(mode=BillingMode.CREDIT, wallet=1)
        await accept(state.account.external_key)
        usage = dict(billing.usage.rows)  # credit_reserved and repogen_work_accepted
        again = await accept(state.account.external_key, message_id="m-again", version=3)
        assert again.status is AcceptanceStatus.ACCEPTED
        assert (len(billing.ledger.holds), billing.usage.rows) == (1, usage)
        assert billing.accounts.states[state.account.id].balance.available == 0
        assert billing.work_orders.rows[WORK_ORDER].billing_version == 2

    @pytest.mark.parametrize(
        ("account", "key", "code", "reason"),
        [
            (
                {"mode": BillingMode.CREDIT, "wallet": 0},
                "v1:partner:acme",
                RejectionCode.INSUFFICIENT_CREDITS,
                None,
            ),
            (
                {"status": AccountStatus.SUSPENDED},
                "v1:partner:acme",
                RejectionCode.ACCOUNT_NOT_ACTIVE,
                "account_suspended",
            ),
            ({}, "v1:partner:nobody", RejectionCode.ACCOUNT_NOT_ACTIVE, "account_not_found"),
            ({}, "not a key", RejectionCode.ACCOUNT_NOT_ACTIVE, "invalid_external_key"),
            ({"allowance": 0}, "v1:partner:acme", RejectionCode.LIMIT_EXCEEDED, None),
        ],
    )
    async def test_rejections_are_published_and_take_nothing(
        self,
        billing: FakeBilling,
        uow: FakeUnitOfWork,
        accept: Accept,
        account: dict[str, object],
        key: str,
        code: RejectionCode,
        reason: str | None,
    ) -> None:
        billing.account(**account)  # type: ignore[arg-type]  # parametrized keyword arguments
        plan = await accept(key)
        assert (plan.status, plan.rejection_code) == (AcceptanceStatus.REJECTED, code)
        assert (plan.details or {}).get("reason") == reason
        assert (billing.ledger.holds, billing.invoices.drafts, billing.usage.rows) == ({}, [], {})
        row = billing.work_orders.rows[WORK_ORDER]
        assert (row.acceptance_status, row.acceptance_code, row.hold_id) == ("REJECTED", code.value, None)
        acceptance = uow.events_of(WorkOrderBilling.TYPE)[0]["acceptance"]
        assert (acceptance["status"], acceptance["code"]) == ("REJECTED", code.value)
        assert acceptance["message"]

    async def test_the_quota_counts_other_accepted_work_orders_of_the_month(
        self, billing: FakeBilling, accept: Accept
    ) -> None:
        state = billing.account(allowance=1)
        first = await accept(state.account.external_key, work_order_id="33333333-3333-4333-8333-333333333333")
        second = await accept(state.account.external_key)
        assert (first.status, second.rejection_code) == (
            AcceptanceStatus.ACCEPTED,
            RejectionCode.LIMIT_EXCEEDED,
        )
        assert second.details == {
            "allowance": 1,
            "used": 1,
            "remaining": 0,
            "period": quota_period(datetime.now(UTC)),
        }


class TestPlannedConsumption:
    def _command(self, work_order_id: str = WORK_ORDER) -> LogPlannedConsumption:
        return LogPlannedConsumption(work_order_id, "READY_FOR_RENDER", "m-ready", 5, snapshot_version=3)

    async def test_records_once_and_publishes(
        self, billing: FakeBilling, uow: FakeUnitOfWork, accept: Accept
    ) -> None:
        await accept()
        uow.published.clear()
        await log_planned_consumption(uow, self._command())
        await log_planned_consumption(uow, self._command())
        [usage] = billing.usage.of_type(PLANNED)
        assert usage.idempotency_key == f"v2:{PLANNED}:{WORK_ORDER}"
        assert usage.payload_json["snapshot_version"] == 3
        row = billing.work_orders.rows[WORK_ORDER]
        assert (row.status, row.source_version, row.planned_consumption_logged) == (
            "READY_FOR_RENDER",
            5,
            True,
        )
        [published] = uow.events_of(WorkOrderBilling.TYPE)
        assert published["planned_consumption_logged"] is True

    async def test_without_an_account_only_the_status_moves(
        self, billing: FakeBilling, uow: FakeUnitOfWork
    ) -> None:
        billing.work_order(work_order_id=WORK_ORDER)
        await log_planned_consumption(uow, self._command())
        assert billing.work_orders.rows[WORK_ORDER].status == "READY_FOR_RENDER"
        assert (billing.usage.rows, uow.published) == ({}, [])

    async def test_an_unknown_work_order_is_ignored(self, billing: FakeBilling, uow: FakeUnitOfWork) -> None:
        await log_planned_consumption(uow, self._command())
        assert (billing.work_orders.rows, uow.published) == ({}, [])
