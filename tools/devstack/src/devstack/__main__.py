"""``python -m devstack up|down|status|restart|logs|env``: run the whole stack on one machine.

``make up|down|status|restart S=..|logs S=..|env`` call this. ``env [SERVICE]`` prints ``export``
lines: ``eval "$(uv run python -m devstack env)"`` (the stack) or ``... env workorders`` (one service).
"""

from __future__ import annotations

import argparse
import os
import shlex
import sys
from pathlib import Path

from devstack import catalog
from devstack.kafka import KafkaNodeError
from devstack.launcher import (
    ComponentStatus,
    StackError,
    StackInfo,
    default_state_dir,
    registry,
    resolve_stack,
    restart_service,
    service_names,
    stack_status,
    start_stack,
    stop_service,
    stop_stack,
)
from devstack.postgres import PostgresError


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m devstack", description=__doc__)
    parser.add_argument(
        "--state-dir", type=Path, default=None, help="default: $ZENOPS_STATE_DIR or <repo>/.zenops"
    )
    sub = parser.add_subparsers(dest="command", required=True)
    up = sub.add_parser("up", help="start what is missing (migrating only schemas that are behind)")
    up.add_argument("--no-services", action="store_true", help="start only Postgres and Kafka")
    up.add_argument("--only", default=None, help="comma-separated services to start, e.g. gateway,workorders")
    sub.add_parser("down", help="stop the supervisor, then everything `up` started")
    sub.add_parser("status", help="one line per process; exit code 3 unless all are UP")
    restart = sub.add_parser("restart", help="restart a service's processes (or postgres, kafka)")
    restart.add_argument("service", choices=service_names())
    stop = sub.add_parser("stop", help="stop a service's processes (or postgres, kafka) and keep them down")
    stop.add_argument("service", choices=service_names())
    logs = sub.add_parser("logs", help="tail a service's log files")
    logs.add_argument("service", choices=service_names())
    logs.add_argument("-f", "--follow", action="store_true")
    logs.add_argument("-n", "--lines", type=int, default=40)
    env = sub.add_parser("env", help="print export lines: the stack's environment, or one service's")
    env.add_argument("service", nargs="?", choices=[s.name for s in catalog.SERVICES])
    sub.add_parser("supervise", help="(internal) the supervisor process `up` starts")
    return parser


def _up(state_dir: Path, *, services: bool, only: tuple[str, ...] | None) -> None:
    info = start_stack(state_dir, services=services, only=only)
    pg = info.postgres
    print(
        f"postgres    {pg.host}:{pg.port}/{pg.database}" + ("" if info.postgres_embedded else " (external)")
    )
    print(f"kafka       {info.kafka_bootstrap}" + ("" if info.kafka_embedded else "  (external)"))
    if services:
        for spec in catalog.SERVICES:  # gateway first
            if spec.name in info.urls and (only is None or spec.name in only):
                print(f"{spec.name:<12}{info.urls[spec.name]}")
    tracing = info.tracing
    if services and tracing.zipkin_url:
        print(f"tracing     {tracing.zipkin_url}/zipkin/  (Zipkin UI; ZENOPS_TRACING=off to skip it)")
    elif tracing.mode == "otlp":
        print(f"tracing     OTLP to {tracing.endpoint}  (ZENOPS_OTLP_ENDPOINT)")
    else:
        print("tracing     off (spans are not exported)")
    print(f"logs        {info.log_dir}  (make logs S=<service>; supervisor.log for restarts)")
    print("supervised: a process that dies is restarted. make status | restart S=.. | env | down")


def _duration(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    minutes, secs = divmod(int(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m" if hours else f"{minutes}m{secs:02d}s" if minutes else f"{secs}s"


def _status_line(row: ComponentStatus) -> str:
    pid = str(row.pid) if row.pid else "-"
    where = " ".join(part for part in (row.url, f"({row.detail})" if row.detail else "") if part)
    return f"{row.name:<18}{row.state.value:<12}{pid:<9}{_duration(row.uptime):<9}{row.restarts:<10}{where}"


def _status(state_dir: Path) -> int:
    rows = stack_status(state_dir)
    print(f"{'PROCESS':<18}{'STATE':<12}{'PID':<9}{'UPTIME':<9}{'RESTARTS':<10}URL (last exit)")
    for row in rows:
        print(_status_line(row))
    return 0 if all(r.running for r in rows) else 3


def _stack_env(info: StackInfo) -> dict[str, str]:
    """The running stack's environment: what every service reads plus where each one is."""
    env = info.env(None)
    env["ZENOPS_PG_DSN"] = info.admin_dsn
    # the payment providers' webhook secrets (sign a test delivery) and the provider simulator's URL
    payments = info.payment_env()
    env["ZENOPS_STRIPE_WEBHOOK_SECRET"] = payments["ZENOPS_STRIPE_WEBHOOK_SECRET"]
    env["ZENOPS_RAZORPAY_WEBHOOK_SECRET"] = payments["ZENOPS_RAZORPAY_WEBHOOK_SECRET"]
    if info.provider_sim_url:
        env["ZENOPS_PROVIDER_SIM_URL"] = info.provider_sim_url
    if info.tracing.zipkin_url:
        # the trace store's base URL: API under /api/v2, UI under /zipkin/ (`zenops trace` reads it)
        env["ZENOPS_ZIPKIN_URL"] = info.tracing.zipkin_url
    for spec in catalog.SERVICES:
        if spec.name in info.urls:
            env[f"ZENOPS_{spec.name.upper()}_URL"] = info.urls[spec.name]
        if spec.schema is not None:
            for kind, dsn in info.dsns[spec.schema].items():
                env[f"ZENOPS_{spec.name.upper()}_DB_{kind.upper()}_URL"] = dsn
    return env


def _env(state_dir: Path, service: str | None) -> None:
    info = resolve_stack(state_dir)
    env = info.env(service) if service else _stack_env(info)
    for key, value in sorted(env.items()):
        print(f"export {key}={shlex.quote(value)}")


def _logs(state_dir: Path, service: str, *, follow: bool, lines: int) -> int:
    info = resolve_stack(state_dir)
    files = [path for e in registry(info) if e.service == service for path in e.logs]
    if service == "supervisor":
        files = [info.log_dir / "supervisor.log"]
    elif service in {s.name for s in catalog.SERVICES}:
        files.append(info.log_dir / f"{service}-migrate.log")
    files = [f for f in files if f.exists()]
    if not files:
        print(f"no logs for {service} in {info.log_dir}", file=sys.stderr)
        return 1
    os.execvp("tail", ["tail", "-n", str(lines), *(["-F"] if follow else []), *map(str, files)])  # noqa: S606, S607  this CLI becomes tail from PATH, fixed argv, no shell


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
        elif args.command == "restart":
            names = restart_service(args.service, state_dir)
            print(f"restarted {', '.join(names)}")
        elif args.command == "stop":
            names = stop_service(args.service, state_dir)
            print(f"stopped {', '.join(names)} (kept down until `restart`)")
        elif args.command == "logs":
            return _logs(state_dir, args.service, follow=args.follow, lines=args.lines)
        elif args.command == "env":
            _env(state_dir, args.service)
        elif args.command == "supervise":
            from devstack import watch

            return watch.main(state_dir)
    except (StackError, PostgresError, KafkaNodeError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
