"""`make fuzz`: schemathesis against the gateway's merged OpenAPI, once per audience, on the running stack.

Each audience (domain.md §10) gets a valid dev token signed with the stack's secret, so the generated
requests pass authentication and reach the services' validation and handlers; the service-token routes
get the stack's studio service token. Every run checks ``not_a_server_error`` (no route answers 5xx to
any input) plus whatever ``ZENOPS_FUZZ_CHECKS`` adds. The stack must be running (`make fuzz` starts it).

    python -m scripts.fuzz [--max-examples N] [--audience web ...] [--checks a,b] [--seed N]
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from shared.auth.tokens import issue_dev_token
from shared.devstack.launcher import StackInfo, resolve_stack

TENANT = "11111111-1111-1111-1111-111111111111"
USER = "33333333-3333-3333-3333-333333333333"
DEFAULT_CHECKS = ("not_a_server_error",)


@dataclass(frozen=True)
class Audience:
    """Who the generated requests claim to be."""

    name: str
    aud: str
    roles: tuple[str, ...]
    capabilities: tuple[str, ...]
    tenant_id: str | None = TENANT


AUDIENCES: dict[str, Audience] = {
    a.name: a
    for a in (
        Audience("web", "web", ("super_admin", "repogen_factory"), ("*",)),
        Audience("web-valuer", "web", ("valuer",), ("attendance.write", "masterdata.read")),
        Audience("studio", "studio", ("super_admin",), ("*",)),
        Audience("portal", "portal", ("portal_user",), ()),
        Audience("worker", "worker", (), ()),
    )
}


@dataclass(frozen=True)
class FuzzRun:
    audience: str
    returncode: int
    seconds: float
    output: str


def _schemathesis() -> str:
    exe = shutil.which("st") or str(Path(sys.executable).with_name("st"))
    if not Path(exe).exists():
        raise SystemExit("schemathesis is not installed: run `make tools`")
    return exe


def fuzz_audience(
    info: StackInfo,
    audience: Audience,
    *,
    max_examples: int,
    checks: Sequence[str] = DEFAULT_CHECKS,
    seed: int | None = None,
    phases: Sequence[str] = ("examples", "coverage", "fuzzing", "stateful"),
    report_dir: Path | None = None,
    timeout_s: float = 1800,
    include_path_regex: str | None = None,
) -> FuzzRun:
    """One schemathesis run against the gateway as ``audience``."""
    token = issue_dev_token(
        info.secrets.jwt_secret,
        sub=USER,
        aud=audience.aud,
        tenant_id=audience.tenant_id,
        user_id=USER,
        roles=audience.roles,
        capabilities=audience.capabilities,
    )
    gateway = info.urls["gateway"]
    cmd = [
        _schemathesis(),
        "run",
        f"{gateway}/openapi.json",
        "--url",
        gateway,
        "--checks",
        ",".join(checks),
        "--max-examples",
        str(max_examples),
        "--phases",
        ",".join(phases),
        "--header",
        f"Authorization: Bearer {token}",
        "--header",
        f"x-service-token: {info.secrets.service_token}",
        "--request-timeout",
        "30",
        "--workers",
        "2",
        "--rate-limit",
        "auto",
        "--generation-database",
        "none",
        "--no-color",
        "--output-sanitize",
        "true",
    ]
    if seed is not None:
        cmd += ["--seed", str(seed)]
    if include_path_regex:
        cmd += ["--include-path-regex", include_path_regex]
    if report_dir is not None:
        cmd += ["--report", "junit", "--report-dir", str(report_dir / audience.name)]
    started = time.monotonic()
    result = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout_s, check=False)
    return FuzzRun(
        audience.name, result.returncode, time.monotonic() - started, result.stdout + result.stderr
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--max-examples", type=int, default=int(os.environ.get("ZENOPS_FUZZ_EXAMPLES", "50")))
    parser.add_argument("--audience", action="append", choices=sorted(AUDIENCES), default=None)
    parser.add_argument(
        "--checks",
        default=os.environ.get("ZENOPS_FUZZ_CHECKS", ",".join(DEFAULT_CHECKS)),
        help="comma-separated schemathesis checks (not_a_server_error is always included)",
    )
    parser.add_argument("--seed", type=int, default=None)
    parser.add_argument("--phases", default="examples,coverage,fuzzing,stateful")
    parser.add_argument("--report-dir", type=Path, default=Path(".zenops/fuzz"))
    parser.add_argument("--paths", default=None, help="only operations whose path matches this regex")
    args = parser.parse_args(argv)
    checks = sorted({*DEFAULT_CHECKS, *(c.strip() for c in args.checks.split(",") if c.strip())})
    info = resolve_stack()
    failed = []
    for name in args.audience or list(AUDIENCES):
        run = fuzz_audience(
            info,
            AUDIENCES[name],
            max_examples=args.max_examples,
            checks=checks,
            seed=args.seed,
            phases=args.phases.split(","),
            report_dir=args.report_dir,
            include_path_regex=args.paths,
        )
        verdict = "ok" if run.returncode == 0 else f"FAILED (exit {run.returncode})"
        print(f"== fuzz as {name}: {verdict} in {run.seconds:.0f} s")
        if run.returncode != 0:
            print(run.output[-20_000:])
            failed.append(name)
    print(
        f"fuzz: {len(failed)} audience(s) failed: {', '.join(failed)}" if failed else "fuzz: all audiences ok"
    )
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
