"""The embedded trace store: Zipkin's server (one executable jar from Maven Central) with its web UI.

``make up`` runs it as one more supervised process (``zipkin`` in :func:`devstack.launcher.registry`) on
its own port (``ports.json``, 9411 when free), in memory (the last :data:`MAX_SPANS` spans), bound to
127.0.0.1. The jar is pinned by SHA-256 (:data:`ARTIFACT`) and cached like the Kafka jars under the user
cache folder (``<cache>/zipkin/<version>/``); ``make install`` fetches it (``python -m devstack.zipkin
fetch``).

The services send their spans to it with OpenTelemetry's Zipkin JSON exporter
(``ZENOPS_ZIPKIN_ENDPOINT`` = ``<url>/api/v2/spans``): the OTLP receiver module for Zipkin
(``io.zipkin.contrib.otel:zipkin-module-otel``) is not published on Maven Central (docs/decisions.md,
issue 17). Switches, read by ``make up``:

* ``ZENOPS_TRACING=off``: no trace store, spans are created (ids in logs and messages) but not exported;
* ``ZENOPS_OTLP_ENDPOINT=<url>``: the services export OTLP/HTTP to that collector (e.g.
  ``http://127.0.0.1:4318/v1/traces``) and no Zipkin is started.

``python -m devstack.zipkin run --port N`` is the supervised command: it finds Java 17+ like the broker
does and becomes the JVM (``exec``), so the supervisor watches, restarts and stops the JVM itself.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from devstack.java import JavaNotFoundError, find_java
from devstack.kafka import MAVEN_REPOSITORY_ENV, KafkaNodeError, _download, _sha256, default_cache_dir
from devstack.kafka_artifacts import MAVEN_CENTRAL, Artifact

__all__ = [
    "ARTIFACT",
    "DEFAULT_PORT",
    "OTLP_ENV",
    "TRACING_ENV",
    "ZIPKIN_VERSION",
    "Tracing",
    "ensure_jar",
    "java_command",
    "tracing_from_env",
]

ZIPKIN_VERSION = "3.5.1"
ARTIFACT = Artifact(
    "io.zipkin",
    "zipkin-server",
    ZIPKIN_VERSION,
    "7ac633a6832647e71e50012a5e3e91fbc7054414955261724526030faf271d8d",
    classifier="exec",
)
"""Zipkin's server, the Spring Boot executable jar (UI, API and the in-memory store in one file)."""

DEFAULT_PORT = 9411
MAX_SPANS = 60_000
"""Spans the in-memory store keeps (the oldest traces go first): a few hundred releases of a dev stack
(~200 spans each, the database's included), small enough that the heap below never fills with them (a
full test run sends well over 100,000, and a fuller store made the JVM collect garbage instead of
answering queries)."""

TRACING_ENV = "ZENOPS_TRACING"
OTLP_ENV = "ZENOPS_OTLP_ENDPOINT"

ZIPKIN = "zipkin"
OTLP = "otlp"
OFF = "off"

_JVM_OPTS = (
    # A small heap and the C1 compiler only: it starts in ~4 s instead of ~14 s and serves a dev stack.
    "-Xms64m",
    "-Xmx512m",
    "-XX:TieredStopAtLevel=1",
    "-XX:+UseSerialGC",
    "-XX:+ExitOnOutOfMemoryError",
    "-Djava.awt.headless=true",
)


@dataclass(frozen=True)
class Tracing:
    """Where the services' spans go: the embedded Zipkin (``zipkin``), a collector (``otlp``) or nowhere.

    ``endpoint`` is the OTLP/HTTP traces URL of ``otlp``; ``port`` the embedded Zipkin's port, once chosen.
    """

    mode: str = OFF
    endpoint: str = ""
    port: int | None = None

    @property
    def zipkin_url(self) -> str:
        """The embedded Zipkin's base URL (API ``/api/v2/...``, UI ``/zipkin/``); ``""`` without one."""
        return f"http://127.0.0.1:{self.port}" if self.mode == ZIPKIN and self.port else ""

    def service_env(self) -> dict[str, str]:
        """The exporter settings of every service process (``shared.telemetry.configure_tracing``).

        Empty values override what a shell may still export from an earlier ``eval "$(make env)"``.
        """
        if self.mode == ZIPKIN and self.zipkin_url:
            return {"ZENOPS_ZIPKIN_ENDPOINT": f"{self.zipkin_url}/api/v2/spans"}
        if self.mode == OTLP:
            return {"ZENOPS_OTEL_EXPORTER_ENDPOINT": self.endpoint, "ZENOPS_ZIPKIN_ENDPOINT": ""}
        return {"ZENOPS_ZIPKIN_ENDPOINT": "", "ZENOPS_OTEL_EXPORTER_ENDPOINT": ""}

    def as_record(self) -> dict[str, str]:
        """What ``pids.json`` keeps (the port lives in ``ports.json``)."""
        return {"mode": self.mode, "endpoint": self.endpoint}


def tracing_from_env(environ: Mapping[str, str] | None = None) -> Tracing:
    """The choice of ``ZENOPS_TRACING`` / ``ZENOPS_OTLP_ENDPOINT`` (default: the embedded Zipkin)."""
    env = os.environ if environ is None else environ
    if env.get(TRACING_ENV, "").strip().lower() in {"off", "0", "false", "no"}:
        return Tracing(OFF)
    endpoint = env.get(OTLP_ENV, "").strip()
    if endpoint:
        return Tracing(OTLP, endpoint=endpoint)
    return Tracing(ZIPKIN)


def ensure_jar(cache_dir: Path | None = None) -> Path:
    """The pinned Zipkin jar in the cache (downloaded and SHA-256 checked when missing or corrupt)."""
    folder = (cache_dir or default_cache_dir()) / "zipkin" / ZIPKIN_VERSION
    jar = folder / ARTIFACT.filename
    marker = folder / ".verified"
    with contextlib.suppress(OSError):
        if jar.is_file() and marker.read_text(encoding="utf-8") == ARTIFACT.sha256:
            return jar
    folder.mkdir(parents=True, exist_ok=True)
    if not jar.is_file() or _sha256(jar) != ARTIFACT.sha256:
        _download(ARTIFACT, folder, os.environ.get(MAVEN_REPOSITORY_ENV) or MAVEN_CENTRAL)
    marker.write_text(ARTIFACT.sha256, encoding="utf-8")
    return jar


def java_command(java: Path, jar: Path, port: int) -> list[str]:
    """The JVM's argv: the in-memory store on 127.0.0.1:``port``."""
    return [
        str(java),
        *_JVM_OPTS,
        "-jar",
        str(jar),
        f"--armeria.ports[0].port={port}",
        "--armeria.ports[0].ip=127.0.0.1",
        "--armeria.ports[0].protocols[0]=http",
    ]


def _run(port: int, cache_dir: Path | None) -> int:
    java = find_java()
    jar = ensure_jar(cache_dir)
    env = {**os.environ, "STORAGE_TYPE": "mem", "MEM_MAX_SPANS": str(MAX_SPANS), "JAVA_OPTS": ""}
    argv = java_command(java, jar, port)
    print(f"zipkin {ZIPKIN_VERSION} on http://127.0.0.1:{port}/zipkin/ ({jar})", flush=True)
    os.execve(argv[0], argv, env)  # noqa: S606  becomes the JVM: argv built here, no shell


def _main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m devstack.zipkin", description=__doc__.split("\n")[0])
    parser.add_argument("--cache-dir", type=Path, default=None, help="jar cache (default: user cache dir)")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("fetch", help="download and verify the pinned Zipkin jar")
    run = sub.add_parser("run", help="run Zipkin in the foreground (what the supervisor starts)")
    run.add_argument("--port", type=int, default=DEFAULT_PORT)
    args = parser.parse_args(argv)
    began = time.monotonic()
    try:
        if args.command == "fetch":
            jar = ensure_jar(args.cache_dir)
            print(f"Zipkin {ZIPKIN_VERSION} in {jar} ({time.monotonic() - began:.1f}s)")
            return 0
        return _run(args.port, args.cache_dir)
    except (KafkaNodeError, JavaNotFoundError) as exc:
        print(str(exc), file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(_main())
