"""The refill scheduler of the stream process on fakes: a pass refills the due once and commits; a
failing pass is survived and the next tick runs."""

from __future__ import annotations

import asyncio
from contextlib import AbstractAsyncContextManager
from dataclasses import replace
from datetime import timedelta

import pytest

from billing_service.handlers._common import utcnow
from billing_service.handlers.subscriptions import CreateSubscription, create_subscription
from billing_service.repositories import PlanUpsert
from billing_service.scheduler import refill_tick, run_refill_scheduler
from devstack.testing.fakes import FakeUnitOfWork
from services.billing.tests.unit.fakes import TENANT, FakeBilling
from shared.db.uow import UnitOfWork


async def test_a_tick_refills_the_due_once_and_commits(billing: FakeBilling, uow: FakeUnitOfWork) -> None:
    billing.account()
    row = await create_subscription(
        uow, CreateSubscription(TENANT, PlanUpsert("gold", monthly_credit_allowance=4))
    )
    billing.subscriptions.subs[row.id] = replace(row, next_refill_at=utcnow() - timedelta(minutes=5))
    commits = uow.commits
    first = await refill_tick(lambda: uow, 7)
    second = await refill_tick(lambda: uow, 7)
    assert (first.refilled, second.refilled) == (1, 0)
    assert [e.delta for e in billing.ledger.entry_rows] == [4]
    assert uow.commits == commits + 2


async def test_a_failing_pass_does_not_stop_the_scheduler() -> None:
    calls: list[int] = []

    def open_uow() -> AbstractAsyncContextManager[UnitOfWork]:
        calls.append(1)
        if len(calls) == 1:
            raise RuntimeError("database away")
        raise asyncio.CancelledError  # the process stops during the second tick

    with pytest.raises(asyncio.CancelledError):
        await run_refill_scheduler(open_uow, 7, 0)
    assert len(calls) == 2
