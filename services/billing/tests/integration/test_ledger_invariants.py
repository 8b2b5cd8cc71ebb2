"""The ledger invariants under concurrency and over random operation sequences, against the real DB."""

from __future__ import annotations

import asyncio
import uuid
from collections import Counter
from datetime import UTC, datetime
from typing import Any

import asyncpg
import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from billing_service import handlers
from billing_service.domain.accounts import (
    AccountStatus,
    AccountType,
    AccountUpsert,
    BillingMode,
    PolicyChange,
)
from billing_service.domain.credit_book import CreditBook
from billing_service.domain.errors import BillingError
from billing_service.domain.ledger import (
    ConsumeHold,
    CreditAccount,
    GrantCredits,
    ReleaseHold,
    ReserveCredit,
)
from devstack.launcher import StackInfo
from devstack.testing.fixtures import TEST_TENANT
from shared.db.database import Database, Role
from shared.db.uow import SqlUnitOfWork
from shared.messaging.outbox import OutboxWriter

pytestmark = pytest.mark.stack


async def invariant_violations(admin_db: asyncpg.Connection, account_id: str) -> list[str]:
    """The books of one account checked from the rows themselves."""
    aid = uuid.UUID(account_id)
    b = await admin_db.fetchrow(
        "SELECT wallet, reserved, available FROM billing.balances WHERE account_id = $1", aid
    )
    wallet = await admin_db.fetchval(
        "SELECT coalesce(sum(delta), 0) FROM billing.ledger_entries WHERE account_id = $1 "
        "AND reason IN ('grant', 'topup', 'adjustment', 'consume')",
        aid,
    )
    reserved = await admin_db.fetchval(
        "SELECT coalesce(sum(amount), 0) FROM billing.holds WHERE account_id = $1 AND status = 'active'", aid
    )
    twice = await admin_db.fetchval(
        "SELECT count(*) FROM (SELECT hold_id FROM billing.ledger_entries WHERE account_id = $1 "
        "AND reason IN ('consume', 'release') GROUP BY hold_id HAVING count(*) > 1) x",
        aid,
    )
    problems = []
    if b["wallet"] != wallet:
        problems.append(f"wallet {b['wallet']} != ledger {wallet}")
    if b["reserved"] != reserved:
        problems.append(f"reserved {b['reserved']} != holds {reserved}")
    if b["wallet"] - b["reserved"] != b["available"] or min(b) < 0:
        problems.append(f"bad balance {dict(b)}")
    if twice:
        problems.append(f"{twice} holds resolved twice")
    return problems


class TestConcurrency:
    async def test_50_concurrent_reserves_against_10_credits(
        self, direct: httpx.AsyncClient, studio: httpx.AsyncClient, bh: Any, admin_db: asyncpg.Connection
    ) -> None:
        acc = await bh.make_account(studio, wallet=10)

        async def one(i: int) -> Any:
            return await direct.post(
                "/v1/billing/credits/reserve",
                json={
                    "account_id": acc.id,
                    "ref_type": "load",
                    "ref_id": f"r-{i}",
                    "idempotency_key": f"k-{i}",
                },
            )

        responses = await asyncio.gather(*(one(i) for i in range(50)))
        codes = Counter(r.status_code for r in responses)
        assert codes == {201: 10, 409: 40}, codes
        assert {r.json()["code"] for r in responses if r.status_code == 409} == {"INSUFFICIENT_CREDITS"}
        assert await bh.balance(direct, acc.id) == {"wallet": 10, "reserved": 10, "available": 0}
        active = await admin_db.fetchval(
            "SELECT count(*) FROM billing.holds WHERE account_id = $1 AND status = 'active'",
            uuid.UUID(acc.id),
        )
        assert active == 10
        assert await invariant_violations(admin_db, acc.id) == []

    async def test_concurrent_same_key_reserves_make_one_hold(
        self, direct: httpx.AsyncClient, studio: httpx.AsyncClient, bh: Any
    ) -> None:
        acc = await bh.make_account(studio, wallet=5)
        body = {"account_id": acc.id, "ref_type": "load", "ref_id": "same", "idempotency_key": "same"}
        responses = await asyncio.gather(
            *(direct.post("/v1/billing/credits/reserve", json=body) for _ in range(20))
        )
        assert {r.status_code for r in responses} == {201}
        assert len({r.json()["id"] for r in responses}) == 1
        assert await bh.balance(direct, acc.id) == {"wallet": 5, "reserved": 1, "available": 4}

    async def test_concurrent_consume_and_release_resolve_a_hold_once(
        self, direct: httpx.AsyncClient, studio: httpx.AsyncClient, bh: Any, admin_db: asyncpg.Connection
    ) -> None:
        acc = await bh.make_account(studio, wallet=10)
        holds = []
        for i in range(10):
            resp = await direct.post(
                "/v1/billing/credits/reserve",
                json={
                    "account_id": acc.id,
                    "ref_type": "race",
                    "ref_id": f"h-{i}",
                    "idempotency_key": f"h-{i}",
                },
            )
            holds.append(resp.json()["id"])
        calls = []
        for hold in holds:
            calls.append(
                direct.post(
                    "/v1/billing/credits/consume",
                    json={"reservation_id": hold, "idempotency_key": f"c-{hold}"},
                )
            )
            calls.append(
                direct.post(
                    "/v1/billing/credits/release",
                    json={"reservation_id": hold, "idempotency_key": f"r-{hold}"},
                )
            )
        responses = await asyncio.gather(*calls)
        for i in range(10):
            pair = responses[2 * i : 2 * i + 2]
            assert sorted(r.status_code for r in pair) == [201, 409]
        b = await bh.balance(direct, acc.id)
        assert b["reserved"] == 0
        assert b["wallet"] + 0 == b["available"]
        assert await invariant_violations(admin_db, acc.id) == []


OPS = st.lists(
    st.one_of(
        st.tuples(st.just("grant"), st.integers(-1, 3), st.sampled_from(["g1", "g2", "k1"])),
        st.tuples(
            st.just("reserve"),
            st.integers(0, 3),
            st.sampled_from(["a", "b", "c"]),
            st.sampled_from(["k1", "k2", "k3"]),
            st.booleans(),
        ),
        st.tuples(
            st.just("consume"),
            st.sampled_from(["a", "b", "c"]),
            st.sampled_from(["c1", "c2", "k1"]),
            st.sampled_from([None, 1, 2]),
        ),
        st.tuples(st.just("release"), st.sampled_from(["a", "b", "c"]), st.sampled_from(["r1", "r2", "k2"])),
    ),
    min_size=1,
    max_size=12,
)


async def _run_sequence(stack: StackInfo, ops: list[tuple[Any, ...]]) -> None:
    dsns = stack.dsns["billing"]
    database = Database(dsns["app"], dsns["system"], pool_size=2)
    outbox = OutboxWriter("billing")
    try:
        async with SqlUnitOfWork(database, outbox, role=Role.SYSTEM) as uow:
            key = f"v1:partner:prop{uuid.uuid4().hex[:10]}"
            account_id = await handlers.ensure_account(
                uow, AccountUpsert(TEST_TENANT, AccountType.EXTERNAL_ASSOCIATE, "prop", key)
            )
            await handlers.change_account_policy(
                uow,
                handlers.ChangeAccountPolicy(
                    account_id, PolicyChange(billing_mode=BillingMode.CREDIT, force_enable_credit=True)
                ),
            )
            await uow.commit()
        book = CreditBook(CreditAccount(account_id, AccountStatus.ACTIVE, BillingMode.CREDIT))
        counter = iter(range(10**6))

        def ids() -> str:
            return f"m-{next(counter)}"

        now = datetime.now(UTC)
        for op in ops:
            model_error: str | None = None
            db_error: str | None = None
            try:
                if op[0] == "grant":
                    book, _ = book.grant(GrantCredits(op[2], op[1]), ids)
                elif op[0] == "reserve":
                    book, _ = book.reserve(ReserveCredit(op[3], "prop", op[2], op[1], op[4]), now, ids)
                elif op[0] == "consume":
                    book, _ = book.consume(
                        ConsumeHold(op[2], ref_type="prop", ref_id=op[1], amount=op[3]), now, ids
                    )
                else:
                    book, _ = book.release(ReleaseHold(op[2], ref_type="prop", ref_id=op[1]), now, ids)
            except BillingError as exc:
                model_error = exc.code
            try:
                async with SqlUnitOfWork(database, outbox, role=Role.SYSTEM) as uow:
                    if op[0] == "grant":
                        await handlers.grant_credits(
                            uow, handlers.GrantAccountCredits(account_id, GrantCredits(op[2], op[1]))
                        )
                    elif op[0] == "reserve":
                        await handlers.reserve_credit(
                            uow,
                            handlers.ReserveAccountCredit(
                                account_id, ReserveCredit(op[3], "prop", op[2], op[1], op[4])
                            ),
                        )
                    elif op[0] == "consume":
                        await handlers.consume_credit(
                            uow,
                            handlers.ConsumeAccountHold(
                                account_id, ConsumeHold(op[2], ref_type="prop", ref_id=op[1], amount=op[3])
                            ),
                        )
                    else:
                        await handlers.release_credit(
                            uow,
                            handlers.ReleaseAccountHold(
                                account_id, ReleaseHold(op[2], ref_type="prop", ref_id=op[1])
                            ),
                        )
                    await uow.commit()
            except BillingError as exc:
                db_error = exc.code
            assert db_error == model_error, (op, db_error, model_error)
            conn = await asyncpg.connect(stack.admin_dsn)
            try:
                b = await conn.fetchrow(
                    "SELECT wallet, reserved, available FROM billing.balances WHERE account_id = $1",
                    uuid.UUID(account_id),
                )
                assert (b["wallet"], b["reserved"], b["available"]) == (
                    book.balance.wallet,
                    book.balance.reserved,
                    book.balance.available,
                ), op
                assert await invariant_violations(conn, account_id) == []
            finally:
                await conn.close()
    finally:
        await database.dispose()


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(ops=OPS)
def test_random_sequences_match_the_model_and_keep_the_invariants(
    stack: StackInfo, ops: list[tuple[Any, ...]]
) -> None:
    asyncio.run(_run_sequence(stack, ops))
