"""Server time per console page on the demo data (issue 20, item 5): ``python -m bench.console_pages``.

Starts (or reuses) the bench stack like ``bench.run`` (``.zenops-bench`` or ``$ZENOPS_STATE_DIR``), runs
the demo flow once through the gateway (``scripts.demo``: a released SBI work order) plus a few more
work orders, signs in to the console with the dev login and requests each page ``--requests`` times in
turn. The figure is the console's own ``Server-Timing: app;dur=`` (its gateway calls plus rendering),
p50/p99 per page, against the target of 300 ms p99; nothing is asserted. Results go to
``bench/results/console-latest.json``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import re
import sys
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

from devstack.launcher import StackInfo, repo_root, stack_status, start_stack, stop_stack
from devstack.testing import flows
from devstack.testing.data import DEMO_CONTRACT_PATCH, SBI_WORK_ORDER
from scripts.demo import run_flow

TARGET_P99_MS = 300.0
RESULTS_DIR = Path(__file__).resolve().parent / "results"
_TIMING = re.compile(r"app;dur=([0-9.]+)")
_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def _say(message: str) -> None:
    print(f"[bench] {message}", file=sys.stderr, flush=True)


def _state_dir() -> Path:
    env = os.environ.get("ZENOPS_STATE_DIR", "").strip()
    return Path(env).resolve() if env else repo_root() / ".zenops-bench"


def _already_running(state_dir: Path) -> bool:
    if not (state_dir / "pids.json").exists():
        return False
    try:
        rows = stack_status(state_dir)
    except Exception:
        return False
    return all(r.running for r in rows) and any(r.name.endswith("-http") for r in rows)


def summary(samples_ms: Sequence[float]) -> dict[str, float | int]:
    """Count, p50 and p99 (nearest rank) of ``samples_ms``."""
    ordered = sorted(samples_ms)
    if not ordered:
        return {"count": 0, "p50_ms": 0.0, "p99_ms": 0.0}

    def rank(q: float) -> float:
        return round(ordered[min(len(ordered) - 1, max(0, math.ceil(q / 100 * len(ordered)) - 1))], 1)

    return {"count": len(ordered), "p50_ms": rank(50), "p99_ms": rank(99)}


async def seed(gateway_url: str, extra: int) -> str:
    """The demo's released work order (its id) plus ``extra`` drafts with a contract, for the queue."""
    async with httpx.AsyncClient(base_url=gateway_url, timeout=120) as client:
        result = await run_flow(client)
        for n in range(extra):
            wo = (await flows.create_work_order(client, {**SBI_WORK_ORDER, "bank_name": f"Bench Bank {n}"}))[
                "work_order_id"
            ]
            await flows.patch_contract(client, wo, DEMO_CONTRACT_PATCH)
    return str(result["work_order_id"])


async def measure(console_url: str, wo: str, requests: int) -> dict[str, Any]:
    """p50/p99 of each page's server time, the pages requested round-robin ``requests`` times."""
    pages = {
        "queue": "/work-orders",
        "queue_filtered": "/work-orders?status=READY_FOR_RENDER&bank_type=SBI&readiness=ready",
        "work_order": f"/work-orders/{wo}",
        "pack_fragment": f"/work-orders/{wo}/fragments/pack",
        "snapshot_diff": f"/work-orders/{wo}/diff?a=1&b=2",
    }
    async with httpx.AsyncClient(base_url=console_url, timeout=60) as console:
        login = await console.get("/login")
        csrf = _CSRF.search(login.text)
        if csrf is None:
            raise SystemExit("the console's sign-in page has no CSRF field")
        signed = await console.post(
            "/login/dev", data={"csrf_token": csrf.group(1), "role": "factory_operator"}
        )
        if signed.status_code != 303:
            raise SystemExit(f"dev login to the console failed: {signed.status_code}")
        samples: dict[str, list[float]] = {name: [] for name in pages}
        failures = 0
        for _ in range(requests):
            for name, path in pages.items():
                resp = await console.get(path)
                timing = _TIMING.search(resp.headers.get("server-timing", ""))
                if resp.status_code != 200 or timing is None:
                    failures += 1
                    continue
                samples[name].append(float(timing.group(1)))
    figures = {name: summary(values) for name, values in samples.items()}
    return {"pages": figures, "failures": failures, "target_p99_ms": TARGET_P99_MS}


def render(result: dict[str, Any]) -> str:
    lines = [
        f"{'console page':<16}{'n':>5}{'p50 ms':>10}{'p99 ms':>10}  (target p99 <= {TARGET_P99_MS:.0f} ms)"
    ]
    for name, fig in result["pages"].items():
        p99 = float(fig.get("p99_ms", 0.0))
        flag = "" if p99 <= TARGET_P99_MS else "  over target"
        lines.append(f"{name:<16}{fig.get('count', 0):>5}{fig.get('p50_ms', 0.0):>10}{p99:>10}{flag}")
    return "\n".join(lines)


def run(requests: int, extra: int, *, keep_stack: bool) -> dict[str, Any]:
    state_dir = _state_dir()
    reused = _already_running(state_dir)
    _say(f"{'reusing' if reused else 'starting'} the stack in {state_dir}")
    info: StackInfo = start_stack(state_dir, services=True, migrate=not reused)
    try:
        _say("seeding the demo data through the gateway")
        wo = asyncio.run(seed(info.urls["gateway"], extra))
        _say(f"measuring {requests} rounds of console pages")
        t0 = time.monotonic()
        result = asyncio.run(measure(info.urls["console"], wo, requests))
        result["timestamp"] = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
        result["seconds"] = round(time.monotonic() - t0, 1)
        return result
    finally:
        if not reused and not keep_stack:
            _say("stopping the stack")
            stop_stack(state_dir)


def main(argv: Sequence[str] | None = None) -> int:
    """CLI entry point."""
    parser = argparse.ArgumentParser(prog="python -m bench.console_pages", description=__doc__.split("\n")[0])
    parser.add_argument("--requests", type=int, default=50, help="rounds over the pages (default 50)")
    parser.add_argument("--work-orders", type=int, default=10, help="extra work orders for the queue")
    parser.add_argument("--keep-stack", action="store_true", help="leave a stack this run started running")
    parser.add_argument("--results-dir", type=Path, default=RESULTS_DIR)
    args = parser.parse_args(argv)
    result = run(
        max(1, min(args.requests, 1000)), max(0, min(args.work_orders, 100)), keep_stack=args.keep_stack
    )
    args.results_dir.mkdir(parents=True, exist_ok=True)
    path = args.results_dir / "console-latest.json"
    path.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    print(render(result))
    print(f"results: {path}")
    return 1 if result["failures"] else 0


if __name__ == "__main__":
    sys.exit(main())
