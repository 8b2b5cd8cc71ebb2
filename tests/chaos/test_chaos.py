"""The short chaos run of ``make test`` (issue 19 item 3): a dozen work orders through the gateway while a
handful of the stack's processes are SIGKILLed in turn; nothing lost, doubled or stuck afterwards.

It runs on a stack of its own (``$ZENOPS_CHAOS_STATE_DIR``, default ``<repo>/.zenops-chaos-test``), so
the kills never disturb the session's shared stack. Its HTTP ports are chosen at random once (kept in
its ``ports.json``) so it never races another stack for the default ones. ``make chaos`` is the long
version against ``make up``'s stack.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from devstack import catalog
from devstack.launcher import StackInfo, repo_root, start_stack, stop_stack
from devstack.postgres import _free_port
from scripts.chaos.orders import EXPECTED_GATE, Plan
from scripts.chaos.report import render
from scripts.chaos.run import Options, run_chaos

pytestmark = [pytest.mark.stack, pytest.mark.chaos]

#: the processes (HTTP + consumers + relay, one per service) of both sides of the release saga, the edge and
#: the database; ``make chaos`` kills every process of the stack, workorders and the broker included
SHORT_KILLS = ("billing", "factory", "gateway-http", "postgres")


def _state_dir() -> Path:
    env = os.environ.get("ZENOPS_CHAOS_STATE_DIR")
    return Path(env) if env else repo_root() / ".zenops-chaos-test"


@pytest.fixture(scope="module")
def chaos_stack() -> Iterator[StackInfo]:
    """A whole stack of its own (no trace store), stopped afterwards unless ``ZENOPS_KEEP_STACK=1``."""
    state_dir = _state_dir().resolve()
    state_dir.mkdir(parents=True, exist_ok=True)
    ports = state_dir / "ports.json"
    if not ports.exists():
        ports.write_text(json.dumps({spec.name: _free_port() for spec in catalog.SERVICES}), encoding="utf-8")
    tracing = os.environ.get("ZENOPS_TRACING")
    os.environ["ZENOPS_TRACING"] = "off"
    try:
        info = start_stack(state_dir, services=True)
    except BaseException:
        if os.environ.get("ZENOPS_KEEP_STACK") != "1":
            stop_stack(state_dir)
        raise
    finally:
        if tracing is None:
            os.environ.pop("ZENOPS_TRACING", None)
        else:
            os.environ["ZENOPS_TRACING"] = tracing
    try:
        yield info
    finally:
        if os.environ.get("ZENOPS_KEEP_STACK") != "1":
            stop_stack(state_dir)


@pytest.mark.timeout(900)
async def test_work_orders_survive_sigkills_of_the_stack(chaos_stack: StackInfo) -> None:
    options = Options(orders=6, concurrency=6, duration_s=30.0, kills=SHORT_KILLS, seed=19)
    report = await run_chaos(chaos_stack, options, progress=False)
    lines: list[str] = []
    render(report, lines.append)
    printed = "\n".join(lines)

    assert report.violations == [], printed
    assert [k.target for k in report.kills] == list(SHORT_KILLS), printed
    assert all(k.back_after_s is not None for k in report.kills), printed
    assert {o.plan for o in report.orders} == set(Plan), printed
    assert [o.release_result for o in report.orders] == [EXPECTED_GATE[o.plan] for o in report.orders], (
        printed
    )
    credit = sum(1 for o in report.orders if o.plan is Plan.CREDIT)
    assert (report.books.consumed, report.books.reserved) == (credit, 0), printed
    assert report.books.wallet == report.books.granted - credit, printed
