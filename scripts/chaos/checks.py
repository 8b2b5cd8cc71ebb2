"""The books after the storm: what must hold once every order settled, read with SQL as the owner.

* every order reached its end state: released through the gate with its plan's result, the work order
  in ``READY_FOR_RENDER``, the factory's release row PAID/CREDIT_CONSUMED/OVERRIDE, exactly ONE
  non-blocked gate decision per work order (a retried release decided twice would be a double);
* credits: per CREDIT work order exactly one hold, consumed, and exactly one ``consume`` ledger entry;
  the account's wallet = granted − consumed; the ledger's wallet deltas sum to the wallet; ``reserved``
  = the active holds; ``wallet − reserved = available``; no hold left active for a released work order;
* POSTPAID: one acceptance invoice per work order, and for the paid plan exactly one payment;
* nothing stuck: every service's outbox drained, nothing unsendable, nothing parked, no dead letter
  (beyond what the stack held before the run) and the consumer groups caught up.
"""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import asyncpg
import httpx

from devstack import catalog
from devstack.launcher import StackInfo
from scripts.chaos.orders import EXPECTED_GATE, Order, Plan

__all__ = ["Books", "Stuck", "check_orders", "read_metrics", "stuck_now", "wait_drained"]

SCHEMAS: tuple[str, ...] = catalog.db_services()
_WALLET_REASONS = ("grant", "topup", "adjustment", "consume")


@dataclass
class Stuck:
    """Per schema: outbox rows not yet published, unsendable rows, parked messages; DLQ and lag."""

    outbox: dict[str, int] = field(default_factory=dict)
    unsendable: dict[str, int] = field(default_factory=dict)
    parked: dict[str, int] = field(default_factory=dict)
    dlq: int = 0
    lag: int = 0

    def total(self) -> int:
        """Everything waiting (what "drained" means: 0)."""
        return sum(self.outbox.values()) + self.lag


@dataclass
class Books:
    """What the checks read, for the report."""

    granted: int = 0
    wallet: int = 0
    reserved: int = 0
    available: int = 0
    ledger_wallet_sum: int = 0
    consumed: int = 0
    active_holds: int = 0
    stale_absorbed: int = 0


async def stuck_now(conn: asyncpg.Connection, metrics: dict[str, float]) -> Stuck:
    """What waits right now in every schema, plus the DLQ size and the consumer lag from ``/metrics``."""
    stuck = Stuck()
    for s in SCHEMAS:
        stuck.outbox[s] = int(
            await conn.fetchval(f"SELECT count(*) FROM {s}.outbox WHERE published_at IS NULL")
        )
        stuck.unsendable[s] = int(await conn.fetchval(f"SELECT count(*) FROM {s}.unsendable_messages"))
        stuck.parked[s] = int(await conn.fetchval(f"SELECT count(*) FROM {s}.parked_messages"))
    stuck.dlq = int(metrics.get("dlq", 0))
    stuck.lag = int(metrics.get("lag", 0))
    return stuck


_SAMPLE = re.compile(r"^(?P<name>[a-zA-Z_:][a-zA-Z0-9_:]*)(?P<labels>\{[^}]*\})?\s+(?P<value>\S+)")
_TOPIC = re.compile(r'topic="([^"]*)"')


async def read_metrics(info: StackInfo) -> dict[str, float]:
    """From every service's ``/metrics``: the DLQ size (per topic once), the total consumer lag, and
    the duplicates the inboxes absorbed (any counter named ``*duplicate*``, when the stack has one;
    ``-1`` when none exists)."""
    dlq: dict[str, float] = {}
    lag = 0.0
    duplicates = -1.0
    async with httpx.AsyncClient(timeout=15) as http:
        for spec in catalog.SERVICES:
            url = info.urls.get(spec.name)
            if url is None or not spec.has_stream:
                continue
            try:
                text = (await http.get(f"{url}/metrics")).text
            except httpx.HTTPError:
                continue
            for line in text.splitlines():
                match = _SAMPLE.match(line)
                if match is None:
                    continue
                name, labels = match["name"], match["labels"] or ""
                try:
                    value = float(match["value"])
                except ValueError:
                    continue
                if name == "zenops_dlq_messages":
                    topic = _TOPIC.search(labels)
                    key = topic.group(1) if topic else labels
                    dlq[key] = max(dlq.get(key, 0.0), value)
                elif name == "zenops_consumer_lag":
                    lag += max(0.0, value)
                elif "duplicate" in name and not name.endswith(("_created", "_bucket")):
                    duplicates = max(duplicates, 0.0) + value
    return {"dlq": sum(dlq.values()), "lag": lag, "duplicates": duplicates}


async def wait_drained(info: StackInfo, conn: asyncpg.Connection, *, within_s: float) -> Stuck:
    """Wait until every outbox is empty and every consumer caught up; what is left at the deadline."""
    deadline = time.monotonic() + within_s
    while True:
        stuck = await stuck_now(conn, await read_metrics(info))
        if stuck.total() == 0 or time.monotonic() > deadline:
            return stuck
        await asyncio.sleep(1.0)


async def _one(conn: asyncpg.Connection, sql: str, *args: Any) -> int:
    return int(await conn.fetchval(sql, *args) or 0)


async def check_orders(
    conn: asyncpg.Connection,
    orders: Sequence[Order],
    *,
    credit_account_id: str | None,
    granted: int,
    since: datetime,
) -> tuple[list[str], Books]:
    """The per-order and per-account invariants; the violations found (empty: all hold)."""
    violations: list[str] = []
    books = Books(granted=granted)
    for order in orders:
        label = f"order {order.index} ({order.plan.value}, {order.work_order_id or 'not created'})"
        if order.error is not None:
            violations.append(f"{label}: the client stopped at {order.step}: {order.error}")
        wo = order.work_order_id
        if wo is None:
            continue
        violations += [f"{label}: {v}" for v in await _order_violations(conn, order, wo)]
    if credit_account_id is not None:
        violations += await _account_violations(conn, orders, credit_account_id, books)
    books.stale_absorbed = sum(
        [
            await _one(
                conn, f"SELECT count(*) FROM {s}.inbox WHERE outcome = 'stale' AND processed_at >= $1", since
            )
            for s in SCHEMAS
        ]
    )
    return violations, books


async def _order_violations(conn: asyncpg.Connection, order: Order, wo: str) -> list[str]:
    found: list[str] = []
    expected = EXPECTED_GATE[order.plan]
    status = await conn.fetchval("SELECT status FROM workorders.work_orders WHERE id = $1::uuid", wo)
    if status != "READY_FOR_RENDER":
        found.append(f"work order status {status}, expected READY_FOR_RENDER")
    decisions = await conn.fetch(
        "SELECT result FROM billing.gate_decisions WHERE work_order_id = $1::uuid AND result <> 'BLOCKED'",
        wo,
    )
    results = [r["result"] for r in decisions]
    if results != [expected]:
        found.append(f"gate decisions {results}, expected exactly one {expected}")
    releases = await conn.fetch(
        "SELECT billing_gate_result FROM factory.deliverable_releases "
        "WHERE work_order_id = $1::uuid AND billing_gate_result NOT IN ('BLOCKED', 'ERROR')",
        wo,
    )
    release_results = [r["billing_gate_result"] for r in releases]
    if release_results != [expected]:
        found.append(f"factory releases {release_results}, expected exactly one {expected}")
    active = await _one(
        conn, "SELECT count(*) FROM billing.holds WHERE ref_id = $1 AND status = 'active'", wo
    )
    if active:
        found.append(f"{active} hold(s) still active after the release")
    if order.plan is Plan.CREDIT:
        holds = await conn.fetch("SELECT id, status FROM billing.holds WHERE ref_id = $1", wo)
        if [h["status"] for h in holds] != ["consumed"]:
            found.append(f"holds {[h['status'] for h in holds]}, expected exactly one consumed")
        consumes = await _one(
            conn, "SELECT count(*) FROM billing.ledger_entries WHERE ref_id = $1 AND reason = 'consume'", wo
        )
        if consumes != 1:
            found.append(f"{consumes} consume ledger entries, expected 1")
    else:
        invoices = await conn.fetch(
            "SELECT id, is_paid, status FROM billing.service_invoices WHERE work_order_id = $1::uuid", wo
        )
        if len(invoices) != 1:
            found.append(f"{len(invoices)} acceptance invoices, expected 1")
        if order.plan is Plan.POSTPAID_PAID and invoices:
            payments = await _one(
                conn,
                "SELECT count(*) FROM billing.service_invoice_payments WHERE invoice_id = $1",
                invoices[0]["id"],
            )
            if payments != 1 or not invoices[0]["is_paid"]:
                found.append(f"invoice paid={invoices[0]['is_paid']} with {payments} payments, expected 1")
    return found


async def _account_violations(
    conn: asyncpg.Connection, orders: Sequence[Order], account_id: str, books: Books
) -> list[str]:
    found: list[str] = []
    balance = await conn.fetchrow(
        "SELECT wallet, reserved, available FROM billing.balances WHERE account_id = $1::uuid", account_id
    )
    if balance is None:
        return [f"credit account {account_id}: no balance row"]
    books.wallet, books.reserved, books.available = (
        int(balance["wallet"]),
        int(balance["reserved"]),
        int(balance["available"]),
    )
    books.ledger_wallet_sum = await _one(
        conn,
        "SELECT COALESCE(sum(delta), 0) FROM billing.ledger_entries "
        "WHERE account_id = $1::uuid AND reason = ANY($2::text[])",
        account_id,
        list(_WALLET_REASONS),
    )
    books.consumed = await _one(
        conn,
        "SELECT count(*) FROM billing.holds WHERE account_id = $1::uuid AND status = 'consumed'",
        account_id,
    )
    books.active_holds = await _one(
        conn,
        "SELECT COALESCE(sum(amount), 0) FROM billing.holds WHERE account_id = $1::uuid AND status = 'active'",
        account_id,
    )
    released = sum(1 for o in orders if o.plan is Plan.CREDIT and o.release_result == "CREDIT_CONSUMED")
    prefix = f"credit account {account_id}"
    if books.ledger_wallet_sum != books.wallet:
        found.append(
            f"{prefix}: ledger wallet deltas sum to {books.ledger_wallet_sum}, wallet is {books.wallet}"
        )
    if books.reserved != books.active_holds:
        found.append(f"{prefix}: reserved {books.reserved} but active holds hold {books.active_holds}")
    if books.wallet - books.reserved != books.available:
        found.append(
            f"{prefix}: wallet - reserved != available ({books.wallet}, {books.reserved}, {books.available})"
        )
    if books.consumed != released:
        found.append(f"{prefix}: {books.consumed} holds consumed for {released} released CREDIT work orders")
    if books.wallet != books.granted - books.consumed:
        found.append(
            f"{prefix}: wallet {books.wallet} != granted {books.granted} - consumed {books.consumed} "
            "(a credit lost or consumed twice)"
        )
    return found
