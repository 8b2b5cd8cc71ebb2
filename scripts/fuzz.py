"""`make fuzz`: schemathesis against the gateway's merged OpenAPI, once per audience, on the running stack.

Each JWT audience (domain.md §10: web, a web valuer, studio, portal, worker) gets a valid dev token signed
with the stack's secret, and every run also carries the stack's studio service token, so the generated
requests pass authentication and reach the services' validation and handlers; the ``service`` run
carries the service token alone. Every audience has its own subject, so each has its own rate-limit
bucket at the edge. Every operation of the document is checked with ``not_a_server_error``,
``status_code_conformance`` and ``response_schema_conformance`` (plus whatever ``ZENOPS_FUZZ_CHECKS``
adds). One verdict line per audience; the exit status is non-zero when any audience found a failure.

Each failure is attributed from the response: an answer that carries ``x-zenops-service`` came from that
service (its own document must describe it), any other answer came from the gateway itself.
``--findings FILE`` writes them as a Markdown table. The stack must be running (`make fuzz` starts it).

    python -m scripts.fuzz [--max-examples N] [--audience web ...] [--checks a,b] [--seed N]
                           [--phases p,q] [--paths REGEX] [--findings FILE]
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import shutil
import subprocess
import sys
import time
import uuid
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from devstack.launcher import StackInfo, resolve_stack
from shared.auth.tokens import issue_dev_token

TENANT = "11111111-1111-1111-1111-111111111111"
DEFAULT_CHECKS = ("not_a_server_error", "status_code_conformance", "response_schema_conformance")
ALL_PHASES = ("examples", "coverage", "fuzzing", "stateful")
#: the gateway, when the answer carries no ``x-zenops-service``
GATEWAY = "gateway"


@dataclass(frozen=True)
class Audience:
    """Who the generated requests claim to be (``aud=None``: the service token only, no JWT)."""

    name: str
    aud: str | None
    roles: tuple[str, ...] = ()
    capabilities: tuple[str, ...] = ()
    tenant_id: str | None = TENANT

    @property
    def user_id(self) -> str:
        """A user of its own per audience: its own rate-limit bucket at the edge."""
        return str(uuid.uuid5(uuid.NAMESPACE_URL, f"zenops-fuzz:{self.name}"))


AUDIENCES: dict[str, Audience] = {
    a.name: a
    for a in (
        Audience("web", "web", ("super_admin", "repogen_factory"), ("*",)),
        Audience("web-valuer", "web", ("valuer",), ("attendance.write", "masterdata.read")),
        Audience("studio", "studio", ("super_admin",), ("*",)),
        Audience("portal", "portal", ("portal_user",)),
        Audience("worker", "worker"),
        Audience("service", None, tenant_id=None),
    )
}


@dataclass(frozen=True)
class Finding:
    """One failed check: which operation, which check, what status, why, and who answered."""

    audience: str
    operation: str
    check: str
    status: int | None
    reason: str
    source: str

    @property
    def by_gateway(self) -> bool:
        """The gateway answered (its edge, its own routes) rather than a service behind it."""
        return self.source == GATEWAY


@dataclass(frozen=True)
class FuzzRun:
    """The outcome of one audience's schemathesis run."""

    audience: str
    returncode: int
    seconds: float
    output: str
    findings: tuple[Finding, ...] = ()

    @property
    def ok(self) -> bool:
        """No check failed and schemathesis itself did not fail."""
        return self.returncode == 0 and not self.findings

    def verdict(self) -> str:
        """The one line ``make fuzz`` prints for this audience."""
        if self.ok:
            return f"== fuzz as {self.audience}: ok in {self.seconds:.0f} s"
        ours = sum(f.by_gateway for f in self.findings)
        return (
            f"== fuzz as {self.audience}: FAILED (exit {self.returncode}, {len(self.findings)} failed "
            f"check(s), {ours} answered by the gateway) in {self.seconds:.0f} s"
        )


def _schemathesis() -> str:
    exe = shutil.which("st") or str(Path(sys.executable).with_name("st"))
    if not Path(exe).exists():
        raise SystemExit("schemathesis is not installed: run `make tools`")
    return exe


def auth_headers(info: StackInfo, audience: Audience) -> list[str]:
    """The ``--header`` values of an audience: its JWT (if any) and the stack's service token."""
    headers = [f"x-service-token: {info.secrets.service_token}"]
    if audience.aud is not None:
        token = issue_dev_token(
            info.secrets.jwt_secret,
            sub=audience.user_id,
            aud=audience.aud,
            tenant_id=audience.tenant_id,
            user_id=audience.user_id,
            roles=audience.roles,
            capabilities=audience.capabilities,
        )
        headers.insert(0, f"Authorization: Bearer {token}")
    return headers


def _error_body(response: dict[str, Any]) -> dict[str, Any]:
    content = response.get("content") or {}
    raw = content.get("$base64") if isinstance(content, dict) else None
    try:
        body = json.loads(base64.b64decode(raw)) if raw else None
    except ValueError:
        return {}
    return body if isinstance(body, dict) and isinstance(body.get("code"), str) else {}


def _response_source(response: dict[str, Any]) -> str:
    for name, values in (response.get("headers") or {}).items():
        if name.lower() == "x-zenops-service" and values:
            return str(values[0])
    body = _error_body(response)
    if body.get("code") == "UPSTREAM_ERROR" and isinstance(body.get("details"), dict):
        # a service's failure without a JSON body, wrapped by the gateway (decision 21)
        return str(body["details"].get("service", GATEWAY))
    return GATEWAY


def parse_findings(audience: str, events: Iterable[str]) -> Iterator[Finding]:
    """Every failed check of a schemathesis NDJSON event stream (``--report ndjson``)."""
    for line in events:
        finished = json.loads(line).get("ScenarioFinished") if line.strip() else None
        if not finished:
            continue
        recorder = finished.get("recorder") or {}
        interactions = recorder.get("interactions") or {}
        for case_id, checks in (recorder.get("checks") or {}).items():
            response = (interactions.get(case_id) or {}).get("response") or {}
            for check in checks:
                if check.get("status") != "failure":
                    continue
                failure = (check.get("failure_info") or {}).get("failure") or {}
                message = " ".join(str(failure.get("message", "")).split("\n")[0].split())
                code = _error_body(response).get("code")
                reason = f"{failure.get('title', '')}: {message[:160]}" + (f" [{code}]" if code else "")
                yield Finding(
                    audience=audience,
                    operation=str(failure.get("operation") or recorder.get("label")),
                    check=str(check.get("name")),
                    status=response.get("status_code"),
                    reason=reason,
                    source=_response_source(response) if response else GATEWAY,
                )


def fuzz_audience(
    info: StackInfo,
    audience: Audience,
    *,
    max_examples: int,
    checks: Sequence[str] = DEFAULT_CHECKS,
    seed: int | None = None,
    phases: Sequence[str] = ALL_PHASES,
    report_dir: Path,
    timeout_s: float = 1800,
    include_path_regex: str | None = None,
    workers: int = 2,
) -> FuzzRun:
    """One schemathesis run against the gateway as ``audience``; findings from its NDJSON report."""
    gateway = info.urls["gateway"]
    out = report_dir / audience.name
    shutil.rmtree(out, ignore_errors=True)
    ndjson = out / "events.ndjson"
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
        *(arg for header in auth_headers(info, audience) for arg in ("--header", header)),
        "--request-timeout",
        "30",
        "--workers",
        str(workers),
        "--rate-limit",
        "auto",
        "--generation-database",
        "none",
        "--no-color",
        "--output-sanitize",
        "true",
        "--report",
        "junit,ndjson",
        "--report-dir",
        str(out),
        "--report-ndjson-path",
        str(ndjson),
    ]
    if seed is not None:
        cmd += ["--seed", str(seed)]
    if include_path_regex:
        cmd += ["--include-path-regex", include_path_regex]
    started = time.monotonic()
    env = {**os.environ, "SCHEMATHESIS_HOOKS": str(Path(__file__).with_name("fuzz_hooks.py"))}
    result = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout_s, check=False, env=env)  # noqa: S603  argv built above, no shell
    findings = (
        tuple(parse_findings(audience.name, ndjson.read_text().splitlines())) if ndjson.exists() else ()
    )
    return FuzzRun(
        audience.name, result.returncode, time.monotonic() - started, result.stdout + result.stderr, findings
    )


def findings_markdown(findings: Iterable[Finding]) -> str:
    """The findings as a Markdown table, one row per (source, operation, check, status, reason)."""
    rows: dict[tuple[str, str, str, str, str], set[str]] = {}
    for f in findings:
        method, _, path = f.operation.partition(" ")
        key = (f.source, f"{method} {path}", f.check, str(f.status), f.reason.replace("|", "\\|"))
        rows.setdefault(key, set()).add(f.audience)
    lines = [
        "| service | operation | check | status | reason | audiences |",
        "|---|---|---|---|---|---|",
    ]
    for (source, operation, check, status, reason), audiences in sorted(rows.items()):
        lines.append(
            f"| {source} | `{operation}` | {check} | {status} | {reason} | {', '.join(sorted(audiences))} |"
        )
    return "\n".join(lines) + "\n"


def main(argv: Sequence[str] | None = None) -> int:
    """Fuzz every audience, print a verdict line each, exit 1 when any failed."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--max-examples", type=int, default=int(os.environ.get("ZENOPS_FUZZ_EXAMPLES", "50")))
    parser.add_argument("--audience", action="append", choices=sorted(AUDIENCES), default=None)
    parser.add_argument(
        "--checks",
        default=os.environ.get("ZENOPS_FUZZ_CHECKS", ",".join(DEFAULT_CHECKS)),
        help="comma-separated schemathesis checks (the three default checks are always included)",
    )
    parser.add_argument("--seed", type=int, default=None)
    parser.add_argument("--phases", default=",".join(ALL_PHASES))
    parser.add_argument("--report-dir", type=Path, default=Path(".zenops/fuzz"))
    parser.add_argument("--paths", default=None, help="only operations whose path matches this regex")
    parser.add_argument("--findings", type=Path, default=None, help="write the failed checks here (Markdown)")
    parser.add_argument("-v", "--verbose", action="store_true", help="print schemathesis' output of failures")
    args = parser.parse_args(argv)
    checks = sorted({*DEFAULT_CHECKS, *(c.strip() for c in args.checks.split(",") if c.strip())})
    info = resolve_stack()
    runs = []
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
        print(run.verdict(), flush=True)
        if not run.ok and args.verbose:
            print(run.output[-20_000:])
        runs.append(run)
    findings = [f for run in runs for f in run.findings]
    if args.findings is not None:
        title = (
            f"# make fuzz findings ({time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}; checks {', '.join(checks)};"
            f" phases {args.phases}; max examples {args.max_examples}; seed {args.seed})\n\n"
            "`service` is who answered: a service (its own /openapi.json must describe the answer) or the"
            " gateway (its edge, its merged document or its own routes).\n\n"
        )
        args.findings.parent.mkdir(parents=True, exist_ok=True)
        args.findings.write_text(title + findings_markdown(findings))
    elif findings:
        print(findings_markdown(findings))
    failed = [run.audience for run in runs if not run.ok]
    print(
        f"fuzz: {len(failed)} audience(s) failed: {', '.join(failed)}" if failed else "fuzz: all audiences ok"
    )
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
