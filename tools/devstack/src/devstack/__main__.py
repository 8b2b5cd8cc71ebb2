"""``python -m devstack up|down|status|env``: run the whole stack on one machine.

``make up`` / ``make down`` call this. ``env [SERVICE]`` prints ``export`` lines for running a service
or tests by hand: ``eval "$(uv run python -m devstack env workorders)"``.
"""

from __future__ import annotations

import argparse
import shlex
import sys
from pathlib import Path

from devstack import catalog
from devstack.launcher import (
    StackError,
    default_state_dir,
    resolve_stack,
    stack_status,
    start_stack,
    stop_stack,
)
from devstack.postgres import PostgresError


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m devstack", description=__doc__)
    parser.add_argument(
        "--state-dir", type=Path, default=None, help="default: $ZENOPS_STATE_DIR or <repo>/.zenops"
    )
    sub = parser.add_subparsers(dest="command", required=True)
    up = sub.add_parser("up", help="start Postgres, Kafka, migrations and the services (idempotent)")
    up.add_argument("--no-services", action="store_true", help="start only Postgres and Kafka")
    up.add_argument("--only", default=None, help="comma-separated services to start, e.g. gateway,workorders")
    sub.add_parser("down", help="stop everything `up` started")
    sub.add_parser("status", help="show what runs")
    env = sub.add_parser("env", help="print export lines for a service's environment")
    env.add_argument("service", nargs="?", choices=[s.name for s in catalog.SERVICES])
    return parser


def _up(state_dir: Path, *, services: bool, only: tuple[str, ...] | None) -> None:
    info = start_stack(state_dir, services=services, only=only)
    pg = info.postgres
    print(
        f"postgres    {pg.host}:{pg.port}/{pg.database}" + ("" if info.postgres_embedded else "  (external)")
    )
    print(f"kafka       {info.kafka_bootstrap}" + ("" if info.kafka_embedded else "  (external)"))
    if services:
        for spec in catalog.SERVICES:  # gateway first
            if spec.name in info.urls and (only is None or spec.name in only):
                print(f"{spec.name:<12}{info.urls[spec.name]}")
    print(f"logs        {info.log_dir}")
    print("stop with `make down` (python -m devstack down)")


def _status(state_dir: Path) -> int:
    rows = stack_status(state_dir)
    for row in rows:
        print(f"{row.name:<18}{'up' if row.running else 'down':<6}{row.detail}")
    return 0 if all(r.running for r in rows) else 3


def _env(state_dir: Path, service: str | None) -> None:
    info = resolve_stack(state_dir)
    for key, value in sorted(info.env(service).items()):
        print(f"export {key}={shlex.quote(value)}")


def main(argv: list[str] | None = None) -> int:
    """Entry point; returns the process exit code."""
    args = _parser().parse_args(argv)
    state_dir: Path = (args.state_dir or default_state_dir()).resolve()
    try:
        if args.command == "up":
            only = tuple(n.strip() for n in args.only.split(",") if n.strip()) if args.only else None
            unknown = set(only or ()) - {s.name for s in catalog.SERVICES}
            if unknown:
                print(f"unknown services: {', '.join(sorted(unknown))}", file=sys.stderr)
                return 2
            _up(state_dir, services=not args.no_services, only=only)
        elif args.command == "down":
            stop_stack(state_dir)
            print(f"stopped (state kept in {state_dir})")
        elif args.command == "status":
            return _status(state_dir)
        elif args.command == "env":
            _env(state_dir, args.service)
    except (StackError, PostgresError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
