"""``python -m scripts.chaos`` (``make chaos``): see :mod:`scripts.chaos`. Exit 1 on any violation."""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path

from devstack.launcher import resolve_stack
from scripts.chaos.kills import DEFAULT_TARGETS
from scripts.chaos.report import render
from scripts.chaos.run import Options, run_chaos


def _parser() -> argparse.ArgumentParser:
    defaults = Options()
    parser = argparse.ArgumentParser(prog="python -m scripts.chaos", description=__doc__)
    parser.add_argument("--orders", type=int, default=defaults.orders, help="work orders to drive")
    parser.add_argument("--concurrency", type=int, default=defaults.concurrency, help="concurrent clients")
    parser.add_argument(
        "--duration",
        type=float,
        default=defaults.duration_s,
        help="seconds over which the orders start and the kills are spread",
    )
    parser.add_argument(
        "--kill",
        default=",".join(DEFAULT_TARGETS),
        help="comma-separated processes to SIGKILL in turn ('' for none); default: all of them",
    )
    parser.add_argument("--seed", type=int, default=defaults.seed, help="plans, kill timing and jitter")
    parser.add_argument(
        "--state-dir",
        type=Path,
        default=None,
        help="the stack's state dir (default: $ZENOPS_STATE_DIR or .zenops)",
    )
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run once against the running stack, print the report; 0 when every invariant held."""
    args = _parser().parse_args(argv)
    if not 1 <= args.orders <= 1000 or not 1 <= args.concurrency <= 64 or args.duration < 0:
        print("--orders 1..1000, --concurrency 1..64, --duration >= 0", file=sys.stderr)
        return 2
    options = Options(
        orders=args.orders,
        concurrency=args.concurrency,
        duration_s=args.duration,
        kills=tuple(name.strip() for name in args.kill.split(",") if name.strip()),
        seed=args.seed,
    )
    info = resolve_stack(args.state_dir)
    try:
        report = asyncio.run(run_chaos(info, options))
    except (RuntimeError, ValueError) as error:
        print(f"chaos: {error}", file=sys.stderr)
        return 2
    render(report)
    return 1 if report.violations else 0


if __name__ == "__main__":
    sys.exit(main())
