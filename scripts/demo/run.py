"""``make demo``: seed 000's operator checklist end to end through the gateway, every gate path.

Three work orders go through the factory at once, each as its own operator (dev login):

* **CREDIT** — on a partner account created through the control plane (studio) with credits granted
  and its policy set to CREDIT: acceptance reserves a credit, the release consumes the hold
  (``CREDIT_CONSUMED``); then the V1 step (:mod:`scripts.demo.v1`) on the same account;
* **POSTPAID, paid** — on the tenant's default POSTPAID account: the release is ``BLOCKED`` while the
  acceptance invoice is unpaid, then ``PAID`` once it is issued and paid (:mod:`scripts.demo.payment`);
* **POSTPAID, override** — released unpaid with an ``OVERRIDE`` and its reason.

Each one: contract patch, the evidence that satisfies the SBI profile, field links, OCR, DATA_PENDING,
READY_FOR_RENDER, the pack and its DOCX (SHA-256 checked), the release, the export bundle and the
evidence pack verified. A live board shows the lanes; a summary table ends the run. Exit status 1 when
anything fails (each failure is named).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import os
import secrets
import sys
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

import httpx
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from devstack.launcher import resolve_stack
from devstack.testing import flows
from devstack.testing.data import SBI_WORK_ORDER, TEST_TENANT, TEST_USER
from scripts.demo.flow import Produced, produce
from scripts.demo.gates import Released, release_after_payment, release_with_credit, release_with_override
from scripts.demo.progress import Board, Steps
from scripts.demo.v1 import V1Outcome, v1_step
from scripts.demo.verify import Verified, verify_outputs
from v1_bridge import BridgeConfig, normalize_key

T = TypeVar("T")

CREDIT, PAID, OVERRIDE, V1 = "credit", "paid", "override", "v1"
#: the lanes in order: key, title, operator (a user of the demo tenant), expected gate outcomes
LANES: tuple[tuple[str, str, str, list[str]], ...] = (
    (CREDIT, "CREDIT", TEST_USER, ["CREDIT_CONSUMED"]),
    (PAID, "POSTPAID -> PAID", "44444444-4444-4444-4444-444444444444", ["BLOCKED", "PAID"]),
    (OVERRIDE, "POSTPAID -> OVERRIDE", "55555555-5555-5555-5555-555555555555", ["OVERRIDE"]),
)
#: credits granted to the CREDIT account: one for the work order, one for V1's commission
CREDITS_GRANTED = 2


@dataclass(frozen=True)
class DemoSettings:
    """Where the demo runs: the gateway, and for the V1 step the service token and broker V1 uses."""

    gateway_url: str
    service_token: str
    kafka_bootstrap: str = ""
    zipkin_url: str = ""
    tenant_id: str = TEST_TENANT
    #: the dev stack's payment provider simulator (the POSTPAID invoice is paid there); "" = pay by transfer
    provider_sim_url: str = ""
    #: the operator console (``make up`` starts it); printed at the end for the operator to take over
    console_url: str = ""

    @classmethod
    def of_stack(cls) -> DemoSettings:
        """The running dev stack's (``make up``); ``ZENOPS_GATEWAY_URL``/``ZENOPS_ZIPKIN_URL`` win."""
        info = resolve_stack()
        return cls(
            gateway_url=os.environ.get("ZENOPS_GATEWAY_URL")
            or info.urls.get("gateway", "http://127.0.0.1:8080"),
            service_token=info.secrets.service_token,
            kafka_bootstrap=info.kafka_bootstrap,
            zipkin_url=os.environ.get("ZENOPS_ZIPKIN_URL") or info.tracing.zipkin_url or "",
            provider_sim_url=os.environ.get("ZENOPS_PROVIDER_SIM_URL") or info.provider_sim_url or "",
            console_url=info.urls.get("console", ""),
        )

    def trace_url(self, trace_id: str) -> str:
        """Where a trace opens: the embedded Zipkin's UI (``make up``), else the id."""
        if not trace_id:
            return "(no x-trace-id header)"
        if not self.zipkin_url:
            return trace_id  # tracing off, or spans sent to ZENOPS_OTLP_ENDPOINT: look it up there
        return f"{self.zipkin_url.rstrip('/')}/zipkin/traces/{trace_id}"


@dataclass
class WorkOrderOutcome:
    """One lane's work order: produced, released through the gate, verified."""

    lane: str
    title: str
    expected: list[str]
    produced: Produced
    released: Released
    verified: Verified


@dataclass
class DemoResult:
    """What the demo did, lane by lane, and every failure."""

    work_orders: dict[str, WorkOrderOutcome] = field(default_factory=dict)
    v1: V1Outcome | None = None
    credit_account: tuple[str, str] | None = None
    failures: dict[str, str] = field(default_factory=dict)
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return not self.failures and len(self.work_orders) == len(LANES) and self.v1 is not None


@contextlib.asynccontextmanager
async def operator(
    settings: DemoSettings, user_id: str, *, aud: str = "web"
) -> AsyncIterator[httpx.AsyncClient]:
    """A client on the gateway logged in (dev login) as ``user_id`` of the demo tenant; ``aud="studio"``
    for the control plane."""
    async with httpx.AsyncClient(base_url=settings.gateway_url, timeout=60) as client:
        roles = ["super_admin", "repogen_factory"]
        body = {
            "aud": aud,
            "tenant_id": settings.tenant_id,
            "user_id": user_id,
            "sub": user_id,
            "roles": roles,
            "capabilities": ["*"],
        }
        await flows.dev_login(client, body)
        yield client


async def credit_account(studio: httpx.AsyncClient, steps: Steps, tenant_id: str) -> tuple[str, str]:
    """A partner account of the tenant created through the control plane, credits granted, policy
    CREDIT: its id and its V1 key (``v1:partner:<id>``)."""
    key = normalize_key("external_associate", secrets.randbelow(9 * 10**8) + 10**8)
    steps.step(f"control plane: CREDIT account {key} with {CREDITS_GRANTED} credits")
    account_id = await flows.credit_account(
        studio,
        tenant_id=tenant_id,
        external_key=key,
        display_name=f"Demo partner {key}",
        credits=CREDITS_GRANTED,
        grant_key_prefix="demo-grant-",
    )
    steps.note(f"account {account_id}")
    return account_id, key


Release = Callable[[httpx.AsyncClient, Steps, Produced], Awaitable[Released]]
RELEASES: dict[str, Release] = {
    CREDIT: release_with_credit,
    PAID: release_after_payment,
    OVERRIDE: release_with_override,
}


async def work_order_lane(
    settings: DemoSettings,
    board: Board,
    lane: str,
    *,
    work_order: dict[str, Any] | None = None,
) -> WorkOrderOutcome:
    """One work order from creation to a verified release along the lane's gate path."""
    _, title, user, expected = next(entry for entry in LANES if entry[0] == lane)
    steps = board.steps(lane)
    async with operator(settings, user) as client:
        made = await produce(client, steps, work_order)
        release = RELEASES[lane]
        if lane == PAID:
            release = functools.partial(release_after_payment, provider_sim_url=settings.provider_sim_url)
        released = await release(client, steps, made)
        if released.outcomes != expected:
            raise flows.FlowError(f"gate outcomes {released.outcomes}, expected {expected}")
        verified = await verify_outputs(client, steps, made)
    outcome = WorkOrderOutcome(lane, title, expected, made, released, verified)
    board.done(lane, f"{' -> '.join(released.outcomes)}; DOCX {made.docx_sha256[:16]}…")
    return outcome


async def _guarded(board: Board, result: DemoResult, lane: str, work: Awaitable[T]) -> T | None:
    try:
        return await work
    except Exception as error:  # every lane reports its own failure; the others go on
        board.failed(lane, error)
        result.failures[lane] = f"{type(error).__name__}: {error}"
        return None


async def run_demo(settings: DemoSettings, board: Board) -> DemoResult:
    """Every lane at once; the result names what each did and what failed."""
    started = time.monotonic()
    result = DemoResult()
    for lane, title, _, _ in LANES:
        board.lane(lane, title)
    board.lane(V1, "V1 bridge")
    v1_config = BridgeConfig(
        base_url=settings.gateway_url,
        service_token=settings.service_token,
        kafka_bootstrap=settings.kafka_bootstrap,
        timeout_s=30,
    )

    async def credit_then_v1() -> None:
        steps = board.steps(CREDIT)
        async with operator(settings, str(uuid.UUID(int=0)), aud="studio") as studio:
            result.credit_account = await credit_account(studio, steps, settings.tenant_id)
        body = {**SBI_WORK_ORDER, "billing_external_key": result.credit_account[1]}
        outcome = await _guarded(
            board, result, CREDIT, work_order_lane(settings, board, CREDIT, work_order=body)
        )
        if outcome is None:
            return
        result.work_orders[CREDIT] = outcome
        v1 = await _guarded(board, result, V1, v1_step(v1_config, board.steps(V1), result.credit_account[1]))
        if v1 is not None:
            result.v1 = v1
            credit = v1.credit_after
            board.done(V1, f"commission held and consumed; wallet {credit['wallet']}")

    async def postpaid(lane: str) -> None:
        outcome = await _guarded(board, result, lane, work_order_lane(settings, board, lane))
        if outcome is not None:
            result.work_orders[lane] = outcome

    async def credit_lane() -> None:
        await _guarded(board, result, CREDIT, credit_then_v1())

    await asyncio.gather(credit_lane(), postpaid(PAID), postpaid(OVERRIDE))
    result.seconds = time.monotonic() - started
    return result


def _rupees(value: Any) -> str:
    """An amount in the Indian grouping the reports print (35,00,000)."""
    try:
        whole = f"{int(value)}"
    except (TypeError, ValueError):
        return str(value)
    head, tail = whole[:-3], whole[-3:]
    groups: list[str] = []
    while len(head) > 2:
        groups.insert(0, head[-2:])
        head = head[:-2]
    if head:
        groups.insert(0, head)
    return "₹ " + ",".join([*groups, tail])


def summary(result: DemoResult, settings: DemoSettings) -> Table:
    """The final table: work orders, FMV, readiness, DOCX SHA-256, gate outcomes, checks, trace URLs."""
    table = Table(title="make demo: summary", title_justify="left", show_lines=True)
    table.add_column("path", no_wrap=True)
    table.add_column("work order", no_wrap=True)
    table.add_column("FMV", no_wrap=True)
    table.add_column("readiness", justify="right")
    table.add_column("DOCX SHA-256", min_width=64, overflow="fold")
    table.add_column("gate")
    table.add_column("verified")
    table.add_column("release trace", overflow="fold")
    for lane, title, _, expected in LANES:
        outcome = result.work_orders.get(lane)
        if outcome is None:
            failure = "FAILED (below)" if lane in result.failures else "not run"
            table.add_row(
                title, "-", "-", "-", "-", f"[red]{failure}[/] (expected {' -> '.join(expected)})", "-", "-"
            )
            continue
        made, released, verified = outcome.produced, outcome.released, outcome.verified
        traces = "\n".join(settings.trace_url(r.trace_id) for r in released.releases)
        table.add_row(
            title,
            made.work_order_id,
            _rupees(made.fmv),
            f"{made.readiness_score}",
            made.docx_sha256,
            " -> ".join(released.outcomes),
            f"bundle ✓, {verified.checksums_verified}/{len(verified.evidence_pack_files) - 1} checksums ✓",
            traces,
        )
    if result.v1 is not None:
        before, after = result.v1.credit_before, result.v1.credit_after
        table.add_row(
            "V1 bridge",
            result.v1.account_key,
            "-",
            "-",
            "-",
            "hold -> consumed",
            f"wallet {before['wallet']} -> {after['wallet']}, 2 usage events",
            "-",
        )
    else:
        failure = "FAILED (below)" if V1 in result.failures else "not run: the CREDIT lane failed"
        table.add_row("V1 bridge", "-", "-", "-", "-", f"[red]{failure}[/]", "-", "-")
    return table


def main() -> int:
    """Run the demo on the running dev stack; 0 when every lane did what it should, else 1."""
    # a log (not a terminal) gets the whole table on one line per row rather than folded at 80 columns
    console = Console(soft_wrap=True, width=None if Console().is_terminal else 240)
    try:
        settings = DemoSettings.of_stack()
    except Exception as error:  # no stack: say so, briefly
        console.print(f"[red]no running stack[/] ({escape(str(error))}): run `make up` first")
        return 1
    console.print(f"make demo on {settings.gateway_url}: three work orders, every billing gate path, V1")
    with Board(console) as board:
        result = asyncio.run(run_demo(settings, board))
    console.print(summary(result, settings))
    if not settings.zipkin_url:
        console.print(
            "release trace: trace ids (tracing is off or goes to ZENOPS_OTLP_ENDPOINT: look them up there)"
        )
    if not result.ok:
        for lane, failure in result.failures.items():
            console.print(f"[bold red]FAILED[/] {lane}: {escape(failure)}", soft_wrap=True)
        return 1
    console.print(f"[green]all gate paths released and verified[/] in {result.seconds:.1f} s")
    if settings.console_url:
        console.print(
            f"operator console: {settings.console_url} (dev sign-in: pick a role; take a new work order from"
            " creation to a released DOCX with clicks and file drops)"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
