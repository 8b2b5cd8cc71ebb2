"""The chaos run: many work orders through the gateway while the stack's processes are SIGKILLed in turn.

:func:`run_chaos` sets up a fresh tenant (its POSTPAID tenant account is created on first use) and a
CREDIT account through the control plane (created, credits granted, policy ``credit``), then starts the
work orders at a steady pace over ``duration_s`` with ``concurrency`` clients, while the killer SIGKILLs
each target in turn (spread over the same window) and waits for the supervisor to bring it back. Once
every order settled it waits for the stack to drain, checks the books (:mod:`scripts.chaos.checks`)
and returns a :class:`Report`; ``report.violations`` empty means nothing was lost, doubled or stuck.
"""

from __future__ import annotations

import asyncio
import dataclasses
import random
import time
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

import asyncpg
import httpx

from devstack.launcher import StackInfo
from devstack.testing.flows import credit_account
from scripts.chaos.checks import Books, Stuck, check_orders, read_metrics, stuck_now, wait_drained
from scripts.chaos.client import RetryingClient, RetryStats
from scripts.chaos.duplicates import resent_on_topics
from scripts.chaos.kills import DEFAULT_TARGETS, Kill, Killer, default_targets, known_targets
from scripts.chaos.orders import Order, Plan, drive
from shared.auth.tokens import issue_dev_token

__all__ = ["Options", "Report", "run_chaos"]

#: credits granted beyond what the CREDIT orders need: the end balance must be exactly this
SPARE_CREDITS = 3


@dataclass(frozen=True)
class Options:
    """What ``make chaos`` takes (``python -m scripts.chaos --help``)."""

    orders: int = 40
    concurrency: int = 6
    duration_s: float = 240.0
    kills: tuple[str, ...] = DEFAULT_TARGETS
    seed: int = 19
    order_timeout_s: float = 900.0
    recovery_timeout_s: float = 300.0
    drain_timeout_s: float = 180.0


@dataclass
class Report:
    """Everything the run observed and found; :mod:`scripts.chaos.report` prints it."""

    options: Options
    tenant_id: str = ""
    credit_account_id: str | None = None
    orders: list[Order] = field(default_factory=list)
    kills: list[Kill] = field(default_factory=list)
    stats: RetryStats = field(default_factory=RetryStats)
    books: Books = field(default_factory=Books)
    stuck_before: Stuck = field(default_factory=Stuck)
    stuck_after: Stuck = field(default_factory=Stuck)
    duplicates_metric: float = -1.0
    resent: Counter[str] = field(default_factory=Counter)
    violations: list[str] = field(default_factory=list)
    seconds: float = 0.0


def plans(count: int, rng: random.Random) -> list[Plan]:
    """``count`` plans, both billing modes: half CREDIT, the rest POSTPAID paid or overridden, shuffled."""
    cycle = (Plan.CREDIT, Plan.POSTPAID_PAID, Plan.CREDIT, Plan.POSTPAID_OVERRIDE)
    chosen = [cycle[i % len(cycle)] for i in range(count)]
    rng.shuffle(chosen)
    return chosen


def _operator_token(info: StackInfo, tenant_id: str, user_id: str) -> str:
    return issue_dev_token(
        info.secrets.jwt_secret,
        sub=user_id,
        aud="web",
        tenant_id=tenant_id,
        user_id=user_id,
        roles=("super_admin", "repogen_factory"),
        capabilities=("*",),
    )


async def run_chaos(info: StackInfo, options: Options, *, progress: bool = True) -> Report:
    """One chaos run on the stack ``info`` describes (see the module docstring)."""
    if options.kills == DEFAULT_TARGETS:  # "all of them", in the stack's process mode
        options = dataclasses.replace(options, kills=default_targets(info))
    unknown = set(options.kills) - set(known_targets(info))
    if unknown:
        raise ValueError(f"unknown kill targets {sorted(unknown)}; this stack has {known_targets(info)}")
    rng = random.Random(options.seed)  # noqa: S311  jitter and shuffles, not secrets
    report = Report(options)
    run = uuid.uuid4().hex[:10]
    report.tenant_id = tenant_id = str(uuid.uuid4())
    gateway = info.urls["gateway"]
    started = time.monotonic()
    since_ms = int(time.time() * 1000)
    since = datetime.now(UTC)
    say = _printer(progress, started)

    killer = Killer(info, started_at=started, recovery_timeout_s=options.recovery_timeout_s)
    sick = await killer.all_healthy(known_targets(info), within_s=options.recovery_timeout_s)
    if sick:
        raise RuntimeError(f"the stack is not healthy before the run: {sick}")
    conn = await asyncpg.connect(info.admin_dsn)
    try:
        report.stuck_before = await stuck_now(conn, await read_metrics(info))
    finally:
        await conn.close()

    chosen = plans(options.orders, rng)
    credit_orders = sum(1 for p in chosen if p is Plan.CREDIT)
    granted = credit_orders + SPARE_CREDITS
    studio_headers = {"authorization": f"Bearer {info.secrets.studio_admin_token}"}
    async with httpx.AsyncClient(base_url=gateway, headers=studio_headers, timeout=60) as http:
        studio = RetryingClient(http, report.stats, rng)
        account_id = (
            await credit_account(
                studio,
                tenant_id=tenant_id,
                external_key=f"v1:partner:chaos{run}",
                display_name=f"Chaos {run}",
                credits=granted,
                grant_key_prefix=f"chaos-{run}-grant-",
            )
            if credit_orders
            else None
        )
    report.credit_account_id = account_id
    account_key = f"v1:partner:chaos{run}"
    report.orders = [
        Order(i, plan, f"chaos-{run}", account_key if plan is Plan.CREDIT else None)
        for i, plan in enumerate(chosen)
    ]
    say(
        f"tenant {tenant_id}: {options.orders} orders ({credit_orders} CREDIT on account {account_id} "
        f"with {granted} credits), {options.concurrency} clients, kills {', '.join(options.kills)}"
    )

    queue: asyncio.Queue[Order] = asyncio.Queue()
    pace = options.duration_s / max(1, options.orders)

    async def feed() -> None:
        for order in report.orders:
            await queue.put(order)
            await asyncio.sleep(pace)

    async def worker(n: int) -> None:
        user = str(uuid.UUID(int=rng.getrandbits(128), version=4))
        headers = {"authorization": f"Bearer {_operator_token(info, tenant_id, user)}"}
        async with httpx.AsyncClient(base_url=gateway, headers=headers, timeout=90) as http:
            client = RetryingClient(http, report.stats, random.Random(options.seed * 1000 + n))  # noqa: S311
            while True:
                order = await queue.get()
                try:
                    await drive(client, order, within_s=options.order_timeout_s)
                    outcome = order.release_result or f"FAILED at {order.step}: {order.error}"
                    say(f"order {order.index:>3} {order.plan.value:<17} {outcome} in {order.seconds:.0f} s")
                finally:
                    queue.task_done()

    async def kills() -> None:
        gap = options.duration_s / max(1, len(options.kills))
        for target in options.kills:
            await asyncio.sleep(gap * (0.5 + rng.random() / 2))
            sick = await killer.all_healthy(known_targets(info), within_s=options.recovery_timeout_s)
            if sick:
                say(f"not all healthy before killing {target}: {sick}")
            say(f"SIGKILL {target}")
            kill = await killer.kill(target)
            back = f"back after {kill.back_after_s:.1f} s" if kill.back_after_s is not None else kill.note
            say(f"        {target} (pid {kill.pid}) {back}")

    workers = [asyncio.create_task(worker(n)) for n in range(options.concurrency)]
    killing = asyncio.create_task(kills())
    try:
        await feed()
        await queue.join()
        await killing
    finally:
        for task in (*workers, killing):
            task.cancel()
        await asyncio.gather(*workers, killing, return_exceptions=True)
    report.kills = killer.kills
    for kill in report.kills:
        if kill.back_after_s is None:
            report.violations.append(f"kill {kill.target}: {kill.note}")
    say("all orders settled; waiting for the stack to drain")

    conn = await asyncpg.connect(info.admin_dsn)
    try:
        report.stuck_after = await wait_drained(info, conn, within_s=options.drain_timeout_s)
        violations, report.books = await check_orders(
            conn, report.orders, credit_account_id=account_id, granted=granted, since=since
        )
        report.violations += violations
    finally:
        await conn.close()
    report.violations += _stuck_violations(report.stuck_before, report.stuck_after)
    metrics = await read_metrics(info)
    report.duplicates_metric = metrics["duplicates"]
    report.resent = await resent_on_topics(info.kafka_bootstrap, since_ms)
    report.seconds = time.monotonic() - started
    return report


def _stuck_violations(before: Stuck, after: Stuck) -> list[str]:
    found: list[str] = []
    for schema, rows in after.outbox.items():
        if rows:
            found.append(f"{schema}: {rows} outbox rows never published")
    for schema, rows in after.unsendable.items():
        if rows > before.unsendable.get(schema, 0):
            found.append(f"{schema}: {rows - before.unsendable.get(schema, 0)} new unsendable messages")
    for schema, rows in after.parked.items():
        if rows > before.parked.get(schema, 0):
            found.append(f"{schema}: {rows - before.parked.get(schema, 0)} new parked messages")
    if after.dlq > before.dlq:
        found.append(f"{after.dlq - before.dlq} new dead letters")
    if after.lag:
        found.append(f"consumer lag {after.lag} after the drain wait")
    return found


def _printer(enabled: bool, started: float) -> Callable[[str], None]:
    def say(message: str) -> None:
        if enabled:
            print(f"[{time.monotonic() - started:7.1f}s] {message}", flush=True)

    return say
