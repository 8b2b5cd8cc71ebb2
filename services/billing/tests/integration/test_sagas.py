"""The acceptance saga and the release gate through the real broker (envelopes published on Kafka,
consumed by the running billing stream process), incl. duplicates and a redelivery after a crash."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

import asyncpg
import httpx
import pytest
from aiokafka import AIOKafkaProducer

from devstack.launcher import StackInfo
from devstack.testing.fixtures import TEST_TENANT
from shared.contracts.factory import ReleaseRequested
from shared.contracts.topics import BILLING_GATE_OUTCOME, BILLING_WORK_ORDER_BILLING
from shared.contracts.workorders import (
    AcceptanceRequest,
    StatusChanged,
    WorkOrderCancelled,
    WorkOrderClosed,
    WorkOrderStatus,
)

pytestmark = pytest.mark.stack


class Flow:
    """Plays the work-orders and factory sides for one work order."""

    def __init__(self, producer: Any, admin_db: asyncpg.Connection, bh: Any, key: str | None) -> None:
        self.wo = str(uuid.uuid4())
        self.producer, self.db, self.bh, self.key = producer, admin_db, bh, key
        self.version = 0
        self.factory_version = 0

    async def next_work_order_event(self, event: Any) -> Any:
        """Publish ``event`` as the work order's next version."""
        self.version += 1
        return await self.bh.publish(self.producer, event, key=self.wo, version=self.version)

    async def created(self) -> None:
        await self.next_work_order_event(
            self.bh.work_order_created(
                self.wo,
                external_key=self.key,
                value_slab="UNKNOWN",
                template_selector="UNKNOWN",
                at="2026-02-24T10:00:00.000Z",
            )
        )

    async def status(self, frm: WorkOrderStatus, to: WorkOrderStatus, **extra: Any) -> Any:
        request = None
        if to == "DATA_PENDING":
            request = AcceptanceRequest(
                report_type="VALUATION",
                bank_name="State Bank of India",
                billing_external_key=self.key,
                tenant_id=TEST_TENANT,
            )
        return await self.next_work_order_event(
            StatusChanged(
                work_order_id=self.wo, from_status=frm, to_status=to, acceptance_request=request, **extra
            )
        )

    async def accept(self) -> tuple[Any, dict[str, Any]]:
        await self.created()
        env = await self.status("DRAFT", "DATA_PENDING")
        state = await self.billing(lambda s: s["acceptance_status"] is not None)
        return env, state

    async def billing(self, pred: Any, what: str = "billing state") -> dict[str, Any]:
        async def check() -> dict[str, Any] | None:
            row = await self.db.fetchrow(
                "SELECT w.*, h.status AS hold_status, i.status AS invoice_status FROM billing.work_orders w "
                "LEFT JOIN billing.holds h ON h.id = w.hold_id LEFT JOIN billing.service_invoices i ON i.id = w.invoice_id "
                "WHERE w.work_order_id = $1",
                uuid.UUID(self.wo),
            )
            return dict(row) if row and pred(dict(row)) else None

        result: dict[str, Any] = await self.bh.eventually(check, what=what)
        return result

    async def release(
        self, key: str, *, override: bool = False, reason: str | None = None, release_id: str | None = None
    ) -> tuple[str, Any]:
        self.factory_version += 1
        rid = release_id or str(uuid.uuid4())
        event = ReleaseRequested(
            release_id=rid,
            work_order_id=self.wo,
            idempotency_key=key,
            override=override,
            override_reason=reason,
            pack_id=str(uuid.uuid4()),
            job_status="completed",
            requested_at="2026-02-24T10:00:00.000Z",
        )
        env = await self.bh.publish(self.producer, event, key=self.wo, version=self.factory_version)
        return rid, env

    async def decision(self, release_id: str) -> dict[str, Any]:
        async def check() -> dict[str, Any] | None:
            row = await self.db.fetchrow(
                "SELECT * FROM billing.gate_decisions WHERE release_id = $1", release_id
            )
            return dict(row) if row else None

        result: dict[str, Any] = await self.bh.eventually(check, what=f"gate decision {release_id}")
        return result

    async def count(self, sql: str, *args: Any) -> int:
        value: int = await self.db.fetchval(sql, *args)
        return value


MakeFlow = Callable[[str | None], Flow]
"""The ``flow`` fixture: a new work order's flow, paid by the account with that external key (None: postpaid)."""


@pytest.fixture
def flow(producer: AIOKafkaProducer, admin_db: asyncpg.Connection, bh: Any) -> MakeFlow:
    def make(key: str | None) -> Flow:
        return Flow(producer, admin_db, bh, key)

    return make


@pytest.fixture
async def credit_flow(flow: MakeFlow, studio: httpx.AsyncClient, bh: Any) -> tuple[Any, Flow]:
    """A CREDIT account with one credit, and the flow of a new work order it pays for."""
    acc = await bh.make_account(studio, wallet=1)
    return acc, flow(acc.external_key)


class TestAcceptance:
    async def test_credit_acceptance_reserves_one_credit_once_despite_duplicates(
        self, svc: httpx.AsyncClient, bh: Any, admin_db: asyncpg.Connection, credit_flow: tuple[Any, Flow]
    ) -> None:
        acc, f = credit_flow
        env, state = await f.accept()
        assert state["acceptance_status"] == "ACCEPTED", state
        assert state["mode"] == "credit"
        assert str(state["account_id"]) == acc.id
        assert state["hold_status"] == "active"
        assert state["acceptance_request_message_id"] == env.message_id
        assert await bh.balance(svc, acc.id) == {"wallet": 1, "reserved": 1, "available": 0}
        hold = await admin_db.fetchrow(
            "SELECT ref_type, ref_id, idempotency_key, expires_at FROM billing.holds WHERE id = $1",
            state["hold_id"],
        )
        assert (hold["ref_type"], hold["ref_id"]) == ("repogen_work_order", f.wo)
        assert hold["idempotency_key"] == f"repogen_accept_reserve:{f.wo}"
        assert hold["expires_at"] is None  # decision 31
        events = await bh.outbox_events(admin_db, BILLING_WORK_ORDER_BILLING, f.wo)
        last = events[-1]["payload"]
        assert last["acceptance"]["status"] == "ACCEPTED"
        assert last["acceptance"]["request_message_id"] == env.message_id
        assert last["mode"] == "CREDIT"
        assert last["hold"]["status"] == "active"
        assert events[-1]["aggregate_version"] == state["billing_version"]
        # The same envelope again (relay re-send) and a re-published request: one effect.
        await bh.publish(
            f.producer,
            StatusChanged(work_order_id=f.wo, from_status="DRAFT", to_status="DATA_PENDING"),
            key=f.wo,
            version=0,
            envelope=env,
        )
        await f.status("DATA_PENDING", "DATA_PENDING")
        await bh.eventually(
            lambda: f.count(
                "SELECT count(*) FROM billing.inbox WHERE message_id = $1", uuid.UUID(env.message_id)
            ),
            what="inbox row",
        )
        await f.billing(lambda s: s["status"] == "DATA_PENDING" and s["source_version"] == 3)
        assert await f.count("SELECT count(*) FROM billing.holds WHERE ref_id = $1", f.wo) == 1
        assert (
            await f.count(
                "SELECT count(*) FROM billing.inbox WHERE message_id = $1", uuid.UUID(env.message_id)
            )
            == 1
        )
        assert await bh.balance(svc, acc.id) == {"wallet": 1, "reserved": 1, "available": 0}

    async def test_insufficient_credits_rejects_with_code(
        self, flow: MakeFlow, studio: httpx.AsyncClient, bh: Any, admin_db: asyncpg.Connection
    ) -> None:
        acc = await bh.make_account(studio, wallet=0)
        f = flow(acc.external_key)
        env, state = await f.accept()
        assert (state["acceptance_status"], state["acceptance_code"]) == ("REJECTED", "INSUFFICIENT_CREDITS")
        assert state["hold_id"] is None
        payload = (await bh.outbox_events(admin_db, BILLING_WORK_ORDER_BILLING, f.wo))[-1]["payload"]
        assert payload["acceptance"]["code"] == "INSUFFICIENT_CREDITS"
        assert payload["acceptance"]["request_message_id"] == env.message_id
        assert payload["acceptance"]["message"]

    async def test_suspended_and_unknown_accounts_reject_account_not_active(
        self, flow: MakeFlow, studio: httpx.AsyncClient, bh: Any
    ) -> None:
        acc = await bh.make_account(studio, wallet=3)
        await studio.patch(f"/v1/control/accounts/{acc.id}/status", json={"status": "suspended"})
        _, state = await flow(acc.external_key).accept()
        assert (state["acceptance_status"], state["acceptance_code"]) == ("REJECTED", "ACCOUNT_NOT_ACTIVE")
        _, unknown = await flow(bh.unique_key()).accept()
        assert unknown["acceptance_code"] == "ACCOUNT_NOT_ACTIVE"
        assert unknown["acceptance_details"]

    async def test_monthly_allowance_rejects_with_limit_exceeded(
        self, flow: MakeFlow, studio: httpx.AsyncClient, bh: Any
    ) -> None:
        acc = await bh.make_account(studio, wallet=5, allowance=1)
        _, first = await flow(acc.external_key).accept()
        assert first["acceptance_status"] == "ACCEPTED"
        _, second = await flow(acc.external_key).accept()
        assert (second["acceptance_status"], second["acceptance_code"]) == ("REJECTED", "LIMIT_EXCEEDED")
        import json

        details = json.loads(second["acceptance_details"])
        assert details["remaining"] == 0
        assert details["allowance"] == 1

    async def test_active_plan_allowance_replaces_the_policy_decision_32(
        self, flow: MakeFlow, studio: httpx.AsyncClient, bh: Any
    ) -> None:
        acc = await bh.make_account(studio, wallet=5)  # the policy sets no allowance (unlimited)
        sub = await studio.post(
            "/v1/control/subscriptions",
            json={
                "tenant_id": acc.tenant_id,
                "account_id": acc.id,
                "plan_name": f"quota-{uuid.uuid4().hex[:10]}",
                "monthly_report_allowance": 1,
            },
        )
        assert sub.status_code == 201, sub.text
        _, first = await flow(acc.external_key).accept()
        assert first["acceptance_status"] == "ACCEPTED"
        _, second = await flow(acc.external_key).accept()
        assert (second["acceptance_status"], second["acceptance_code"]) == ("REJECTED", "LIMIT_EXCEEDED")

    async def test_postpaid_tenant_account_drafts_the_invoice_inv07(
        self, flow: MakeFlow, svc: httpx.AsyncClient, admin_db: asyncpg.Connection
    ) -> None:
        f = flow(None)
        _, state = await f.accept()
        assert state["acceptance_status"] == "ACCEPTED"
        assert state["mode"] == "postpaid"
        account = await svc.get(
            "/v1/billing/accounts/status", params={"external_key": f"v2:tenant:{TEST_TENANT}"}
        )
        assert account.status_code == 200
        assert account.json()["account_id"] == str(state["account_id"])
        assert account.json()["billing_mode"] == "POSTPAID"
        inv = await admin_db.fetchrow(
            "SELECT * FROM billing.service_invoices WHERE id = $1", state["invoice_id"]
        )
        assert inv["status"] == "draft"
        assert inv["is_paid"] is False
        assert inv["notes"] == f"[REPOGEN_WO:{f.wo}] Repogen VALUATION work order for State Bank of India"
        assert inv["total_minor"] == 10000
        assert inv["currency"] == "INR"
        items = await admin_db.fetch(
            "SELECT description, quantity, unit_price_minor FROM billing.service_invoice_items WHERE invoice_id = $1",
            inv["id"],
        )
        assert [(i["description"], int(i["quantity"]), i["unit_price_minor"]) for i in items] == [
            ("Repogen VALUATION work order", 1, 10000)
        ]
        usage = await admin_db.fetchrow(
            "SELECT event_type, payload_json FROM billing.usage_events WHERE idempotency_key = $1",
            f"repogen_accept:{f.wo}",
        )
        assert usage["event_type"] == "repogen_work_accepted"

    async def test_ready_for_render_logs_planned_consumption(self, credit_flow: tuple[Any, Flow]) -> None:
        _, f = credit_flow
        await f.accept()
        await f.status("DATA_PENDING", "READY_FOR_RENDER")
        state = await f.billing(lambda s: s["planned_consumption_logged"])
        assert state["hold_status"] == "active"  # nothing consumed at render
        key = f"v2:repogen_ready_for_render_planned:{f.wo}"
        assert (
            await f.count(
                "SELECT count(*) FROM billing.usage_events WHERE idempotency_key = $1 AND event_type = 'repogen_ready_for_render_planned'",
                key,
            )
            == 1
        )

    async def test_cancel_releases_hold_and_voids_draft(
        self, flow: MakeFlow, svc: httpx.AsyncClient, bh: Any, credit_flow: tuple[Any, Flow]
    ) -> None:
        acc, f = credit_flow
        await f.accept()
        await f.next_work_order_event(WorkOrderCancelled(work_order_id=f.wo, previous_status="DATA_PENDING"))
        state = await f.billing(lambda s: s["hold_status"] == "released")
        assert state["status"] == "CANCELLED"
        assert await bh.balance(svc, acc.id) == {"wallet": 1, "reserved": 0, "available": 1}
        p = flow(None)
        await p.accept()
        await p.status("DATA_PENDING", "CANCELLED")
        voided = await p.billing(lambda s: s["invoice_status"] == "void")
        assert voided["invoice_id"] is not None

    async def test_close_keeps_postpaid_invoice_and_after_release_changes_nothing(
        self, flow: MakeFlow, studio: httpx.AsyncClient, svc: httpx.AsyncClient, bh: Any
    ) -> None:
        p = flow(None)
        await p.accept()
        await p.next_work_order_event(WorkOrderClosed(work_order_id=p.wo, previous_status="DATA_PENDING"))
        closed = await p.billing(lambda s: s["status"] == "CLOSED")
        assert closed["invoice_status"] == "draft"
        acc = await bh.make_account(studio, wallet=1)
        c = flow(acc.external_key)
        await c.accept()
        rid, _ = await c.release("rel-close")
        await c.decision(rid)
        await c.next_work_order_event(WorkOrderClosed(work_order_id=c.wo, previous_status="READY_FOR_RENDER"))
        after = await c.billing(lambda s: s["status"] == "CLOSED")
        assert after["hold_status"] == "consumed"
        assert await bh.balance(svc, acc.id) == {"wallet": 0, "reserved": 0, "available": 0}

    async def test_redelivery_after_a_crash_applies_once(
        self, flow: MakeFlow, studio: httpx.AsyncClient, svc: httpx.AsyncClient, bh: Any, stack: StackInfo
    ) -> None:
        """The handler runs and the process dies before commit; the broker then delivers it: one effect."""
        from billing_service import handlers
        from shared.db.database import Database, Role
        from shared.db.uow import SqlUnitOfWork
        from shared.messaging.envelope import Envelope
        from shared.messaging.outbox import OutboxWriter

        acc = await bh.make_account(studio, wallet=2)
        f = flow(acc.external_key)
        await f.created()
        f.version += 1
        event = StatusChanged(
            work_order_id=f.wo,
            from_status="DRAFT",
            to_status="DATA_PENDING",
            acceptance_request=AcceptanceRequest(
                report_type="VALUATION",
                bank_name="SBI",
                billing_external_key=acc.external_key,
                tenant_id=TEST_TENANT,
            ),
        )
        env = Envelope.new(
            event_type=event.TYPE,
            aggregate_id=f.wo,
            aggregate_version=f.version,
            payload=event.to_payload(),
            tenant_id=TEST_TENANT,
        )
        await f.billing(lambda s: s["source_version"] == 1)
        dsns = stack.dsns["billing"]
        database = Database(dsns["app"], dsns["system"], pool_size=2)
        try:
            async with SqlUnitOfWork(
                database, OutboxWriter("billing"), role=Role.SYSTEM, tenant_id=TEST_TENANT
            ) as uow:
                request = event.acceptance_request
                assert request is not None
                accept = handlers.AcceptWorkOrder(
                    f.wo, event.to_status, request, env.message_id, env.aggregate_version
                )
                plan = await handlers.accept_work_order(uow, accept)
                assert plan.status.value == "ACCEPTED"
                # crash: no commit
        finally:
            await database.dispose()
        assert await f.count("SELECT count(*) FROM billing.holds WHERE ref_id = $1", f.wo) == 0
        await bh.publish(f.producer, event, key=f.wo, version=f.version, envelope=env)
        await bh.publish(f.producer, event, key=f.wo, version=f.version, envelope=env)
        state = await f.billing(lambda s: s["acceptance_status"] == "ACCEPTED")
        assert state["acceptance_request_message_id"] == env.message_id
        assert await f.count("SELECT count(*) FROM billing.holds WHERE ref_id = $1", f.wo) == 1
        assert await bh.balance(svc, acc.id) == {"wallet": 2, "reserved": 1, "available": 1}


class TestReleaseGate:
    async def check_outcome(
        self, f: Flow, bh: Any, admin_db: Any, svc: Any, release_id: str
    ) -> dict[str, Any]:
        decision = await f.decision(release_id)
        gate = [
            e
            for e in await bh.outbox_events(admin_db, BILLING_GATE_OUTCOME, f.wo)
            if e["payload"]["release_id"] == release_id
        ]
        assert len(gate) == 1
        payload = gate[0]["payload"]
        assert payload["decision_hash"] == decision["decision_hash"]
        assert payload["result"] == decision["result"]
        billing = await bh.outbox_events(admin_db, BILLING_WORK_ORDER_BILLING, f.wo)
        assert billing[-1]["payload"]["last_gate"]["release_id"] == release_id
        assert billing[-1]["aggregate_version"] == gate[0]["aggregate_version"]
        replay = await svc.post(f"/v1/billing/gate-decisions/{decision['id']}/replay")
        assert replay.status_code == 200, replay.text
        assert replay.json()["matches"] is True
        result: dict[str, Any] = payload
        return result

    async def test_fac02_credit_consumed_once_for_duplicate_requests(
        self, svc: httpx.AsyncClient, bh: Any, admin_db: asyncpg.Connection, credit_flow: tuple[Any, Flow]
    ) -> None:
        acc, f = credit_flow
        _, accepted = await f.accept()
        rid, env = await f.release("release-credit-1")
        out = await self.check_outcome(f, bh, admin_db, svc, rid)
        assert out["result"] == "CREDIT_CONSUMED"
        assert out["mode"] == "CREDIT"
        assert out["metadata"]["billing_reservation_id"] == str(accepted["hold_id"])
        ledger = await admin_db.fetchrow(
            "SELECT id::text, idempotency_key, delta FROM billing.ledger_entries WHERE hold_id = $1 AND reason = 'consume'",
            accepted["hold_id"],
        )
        assert ledger["idempotency_key"] == "repogen_release_consume:release-credit-1"
        assert ledger["delta"] == -1
        assert out["ledger_entry_ids"] == [ledger["id"]]
        assert out["metadata"]["credit_consume_ledger_id"] == ledger["id"]
        usage = await admin_db.fetchrow(
            "SELECT event_type FROM billing.usage_events WHERE idempotency_key = 'v2:repogen_deliverables_release:release-credit-1'"
        )
        assert usage["event_type"] == "repogen_deliverables_released"
        # duplicate delivery and a re-published request for the same release id: one decision, one consume
        await bh.publish(
            f.producer, ReleaseRequested.model_validate(env.payload), key=f.wo, version=0, envelope=env
        )
        _, again = await f.release("release-credit-1", release_id=rid)
        await bh.eventually(
            lambda: f.count(
                "SELECT count(*) FROM billing.inbox WHERE message_id = $1", uuid.UUID(again.message_id)
            ),
            what="re-published request consumed",
        )
        assert (
            await f.count(
                "SELECT count(*) FROM billing.gate_decisions WHERE work_order_id = $1", uuid.UUID(f.wo)
            )
            == 1
        )
        assert (
            await f.count(
                "SELECT count(*) FROM billing.ledger_entries WHERE hold_id = $1 AND reason = 'consume'",
                accepted["hold_id"],
            )
            == 1
        )
        assert await bh.balance(svc, acc.id) == {"wallet": 0, "reserved": 0, "available": 0}

    async def test_decision9_credit_with_hold_ignores_override(
        self, svc: httpx.AsyncClient, bh: Any, admin_db: asyncpg.Connection, credit_flow: tuple[Any, Flow]
    ) -> None:
        _, f = credit_flow
        await f.accept()
        rid, _ = await f.release("rel-d9", override=True, reason="not needed")
        out = await self.check_outcome(f, bh, admin_db, svc, rid)
        assert (out["result"], out["override_applied"], out["blocked_reason"]) == (
            "CREDIT_CONSUMED",
            False,
            None,
        )

    async def test_fac03_postpaid_unpaid_blocks_then_override(
        self, flow: MakeFlow, svc: httpx.AsyncClient, bh: Any, admin_db: asyncpg.Connection
    ) -> None:
        f = flow(None)
        await f.accept()
        blocked_id, _ = await f.release("release-postpaid-blocked")
        blocked = await self.check_outcome(f, bh, admin_db, svc, blocked_id)
        assert (blocked["result"], blocked["blocked_reason"]) == ("BLOCKED", "invoice_unpaid")
        assert blocked["metadata"]["billing_service_invoice_is_paid"] is False
        over_id, _ = await f.release(
            "release-postpaid-override", override=True, reason="Manual payment proof verified offline"
        )
        over = await self.check_outcome(f, bh, admin_db, svc, over_id)
        assert (over["result"], over["blocked_reason"], over["override_applied"]) == (
            "OVERRIDE",
            "invoice_unpaid_override",
            True,
        )
        kinds = await admin_db.fetch(
            "SELECT event_type FROM billing.usage_events WHERE idempotency_key = ANY($1::text[]) ORDER BY created_at",
            [
                "v2:repogen_deliverables_release:release-postpaid-blocked",
                "v2:repogen_deliverables_release:release-postpaid-override",
            ],
        )
        assert [k["event_type"] for k in kinds] == [
            "repogen_deliverables_release_blocked",
            "repogen_deliverables_released",
        ]

    async def test_fac06_credit_without_reservation(
        self,
        flow: MakeFlow,
        studio: httpx.AsyncClient,
        svc: httpx.AsyncClient,
        bh: Any,
        admin_db: asyncpg.Connection,
    ) -> None:
        acc = await bh.make_account(studio, wallet=0)
        f = flow(acc.external_key)
        _, state = await f.accept()
        assert state["acceptance_status"] == "REJECTED"
        assert state["mode"] == "credit"
        rid, _ = await f.release("fac06-a")
        out = await self.check_outcome(f, bh, admin_db, svc, rid)
        assert (out["result"], out["blocked_reason"]) == ("BLOCKED", "credit_reservation_missing")
        rid, _ = await f.release("fac06-b", override=True, reason="ok")
        out = await self.check_outcome(f, bh, admin_db, svc, rid)
        assert (out["result"], out["blocked_reason"]) == ("OVERRIDE", "credit_reservation_missing_override")

    async def test_fac07_postpaid_without_invoice_and_paid_invoice(
        self, flow: MakeFlow, svc: httpx.AsyncClient, bh: Any, admin_db: asyncpg.Connection
    ) -> None:
        f = flow(None)  # never accepted: billing defaults to POSTPAID without invoice
        rid, _ = await f.release("fac07-a")
        out = await self.check_outcome(f, bh, admin_db, svc, rid)
        assert (out["mode"], out["result"], out["blocked_reason"]) == (
            "POSTPAID",
            "BLOCKED",
            "service_invoice_missing",
        )
        rid, _ = await f.release("fac07-b", override=True, reason="ok")
        out = await self.check_outcome(f, bh, admin_db, svc, rid)
        assert (out["result"], out["blocked_reason"]) == ("OVERRIDE", "service_invoice_missing_override")
        paid = flow(None)
        _, state = await paid.accept()
        # The payment lifecycle is Billing 2; mark the acceptance invoice paid directly.
        await admin_db.execute(
            "UPDATE billing.service_invoices SET status = 'paid', is_paid = true, amount_due_minor = 0, amount_paid_minor = total_minor WHERE id = $1",
            state["invoice_id"],
        )
        for key, override in (("fac07-c", False), ("fac07-d", True)):
            rid, _ = await paid.release(key, override=override, reason="ignored" if override else None)
            out = await self.check_outcome(paid, bh, admin_db, svc, rid)
            assert (out["result"], out["override_applied"]) == ("PAID", False)

    async def test_released_hold_gives_error_with_code(
        self, svc: httpx.AsyncClient, bh: Any, admin_db: asyncpg.Connection, credit_flow: tuple[Any, Flow]
    ) -> None:
        _, f = credit_flow
        _, state = await f.accept()
        rel = await svc.post(
            "/v1/billing/credits/release",
            json={"reservation_id": str(state["hold_id"]), "idempotency_key": "ops-release"},
        )
        assert rel.status_code == 201
        rid, _ = await f.release("after-release")
        out = await self.check_outcome(f, bh, admin_db, svc, rid)
        assert (out["result"], out["error_code"]) == ("ERROR", "RESERVATION_ALREADY_RELEASED")
        missing = await svc.post(f"/v1/billing/gate-decisions/{uuid.uuid4()}/replay")
        assert (missing.status_code, missing.json()["code"]) == (404, "GATE_DECISION_NOT_FOUND")

    async def test_work_order_billing_view_over_http(
        self, gateway: httpx.AsyncClient, credit_flow: tuple[Any, Flow]
    ) -> None:
        _, f = credit_flow
        await f.accept()
        resp = await gateway.get(f"/v1/billing/work-orders/{f.wo}")
        assert resp.status_code == 200, resp.text
        body = resp.json()["work_order_billing"]
        assert body["acceptance"]["status"] == "ACCEPTED"
        assert body["mode"] == "CREDIT"
        assert body["hold"]["status"] == "active"
        assert body["billing_gate_status"]["releasable_without_override"] is True  # FAC-10
        assert body["billing_gate_status"]["reservation_id_present"] is True
