"""The services of the stack (the launcher's registry builds their processes from these) and the topics.

Conventions every service package follows:

* the whole service, HTTP app and stream app in one process and one event loop (the default ``combined``
  process mode, issue 18 item 3): ``python -m <package>.main serve --host 127.0.0.1 --port <port>``,
  answering ``GET /healthz`` with 200 once ready;
* in the ``split`` process mode (``ZENOPS_PROCESS_MODE=split``, to scale them apart), two processes:
  the HTTP app ``uvicorn <package>.main:create_app --factory --http <HTTP_PROTOCOL> --loop uvloop --host
  127.0.0.1 --port <port>`` and the stream app (consumers + outbox relay) ``python -m <package>.main stream``;
* services without a stream app (the gateway, the console) run the HTTP app's command in both modes;
* migrations (Alembic, run as the schema owner): ``python -m <package>.main migrate``.
"""

from __future__ import annotations

import importlib
import os
from dataclasses import dataclass

__all__ = [
    "CONSOLE",
    "FALLBACK_COMPACTED_TOPICS",
    "FALLBACK_TOPICS",
    "GATEWAY",
    "HTTP_LOOP",
    "HTTP_PROTOCOL",
    "PROCESS_MODES",
    "PROCESS_MODE_ENV",
    "SERVICES",
    "ServiceSpec",
    "db_services",
    "kafka_topics",
    "process_mode_from_env",
    "service",
]


#: uvicorn's ``--http`` of every HTTP process (also in deploy/compose.yaml, checked by tests/deploy)
HTTP_PROTOCOL = "shared.uvicorn_protocol:JsonErrorsHttpToolsProtocol"
#: uvicorn's ``--loop`` of every HTTP process: uvloop, named so a missing uvloop fails at start-up instead
#: of silently falling back to asyncio's loop (issue 18 item 3; the stream processes run on it too)
HTTP_LOOP = "uvloop"
#: how a service with a stream app runs: ``combined`` (one process, the default) or ``split`` (two)
PROCESS_MODE_ENV = "ZENOPS_PROCESS_MODE"
PROCESS_MODES = ("combined", "split")


def process_mode_from_env() -> str:
    """``$ZENOPS_PROCESS_MODE`` (``combined`` when unset); ``ValueError`` for anything else."""
    mode = os.environ.get(PROCESS_MODE_ENV, "").strip().lower() or PROCESS_MODES[0]
    if mode not in PROCESS_MODES:
        raise ValueError(f"{PROCESS_MODE_ENV}={mode!r}: expected one of {', '.join(PROCESS_MODES)}")
    return mode


@dataclass(frozen=True)
class ServiceSpec:
    """One service of the stack.

    ``schema`` is its Postgres schema (``None`` for the gateway, which owns no tables);
    ``default_port`` the HTTP port tried first; ``has_stream`` whether a stream process runs too;
    ``upstream`` whether the gateway proxies to it (the console is a client of the gateway instead).
    """

    name: str
    package: str
    default_port: int
    has_stream: bool
    schema: str | None
    upstream: bool = True

    @property
    def has_db(self) -> bool:
        """Whether the service owns a schema (and so gets DB URLs and migrations)."""
        return self.schema is not None

    def http_command(self, port: int) -> list[str]:
        """Arguments after the Python interpreter that start the HTTP app on ``port``.

        ``--http`` names uvicorn's httptools protocol with JSON protocol errors and bounded request
        heads (``shared.uvicorn_protocol``: a URL uvicorn cannot parse answers ``{code, message,
        details}`` too, never plain text).
        """
        return [
            "-m",
            "uvicorn",
            f"{self.package}.main:create_app",
            "--factory",
            "--http",
            HTTP_PROTOCOL,
            "--loop",
            HTTP_LOOP,
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
        ]

    def serve_command(self, port: int, host: str = "127.0.0.1") -> list[str]:
        """Arguments after the Python interpreter that start the whole service on ``port``: the HTTP app
        (the options of :meth:`http_command`, see ``shared.serve``) and, in the combined process mode,
        the stream app in the same process."""
        return ["-m", f"{self.package}.main", "serve", "--host", host, "--port", str(port)]

    def components(self, mode: str) -> tuple[str, ...]:
        """The names of its supervised processes in process mode ``mode``: ``<name>`` for the whole
        service in one process, ``<name>-http`` and ``<name>-stream`` when split; ``<name>-http`` for a
        service without a stream app, in both modes."""
        if not self.has_stream:
            return (f"{self.name}-http",)
        return (f"{self.name}-http", f"{self.name}-stream") if mode == "split" else (self.name,)

    def stream_command(self) -> list[str]:
        """Arguments after the Python interpreter that start the stream app."""
        return ["-m", f"{self.package}.main", "stream"]

    @property
    def migrations_dir(self) -> str:
        """Its Alembic script directory, relative to the repository root."""
        return f"services/{self.name}/migrations"

    def migrate_command(self) -> list[str]:
        """Arguments after the Python interpreter that apply this service's migrations."""
        return ["-m", f"{self.package}.main", "migrate"]


GATEWAY = ServiceSpec(
    name="gateway", package="gateway_service", default_port=8080, has_stream=False, schema=None
)
#: the operator console (issue 20): server-rendered pages that call only the gateway
CONSOLE = ServiceSpec(
    name="console",
    package="console_service",
    default_port=8090,
    has_stream=False,
    schema=None,
    upstream=False,
)

# Order matters: migrations and start-up follow it, and the gateway comes first in printed URLs.
SERVICES: tuple[ServiceSpec, ...] = (
    GATEWAY,
    ServiceSpec(
        name="workorders",
        package="workorders_service",
        default_port=8081,
        has_stream=True,
        schema="workorders",
    ),
    ServiceSpec(
        name="evidence", package="evidence_service", default_port=8082, has_stream=True, schema="evidence"
    ),
    ServiceSpec(
        name="factory", package="factory_service", default_port=8083, has_stream=True, schema="factory"
    ),
    ServiceSpec(
        name="billing", package="billing_service", default_port=8084, has_stream=True, schema="billing"
    ),
    CONSOLE,
)


def service(name: str) -> ServiceSpec:
    """The spec of service ``name``; raises ``KeyError`` for unknown names."""
    for spec in SERVICES:
        if spec.name == name:
            return spec
    raise KeyError(name)


def db_services() -> tuple[str, ...]:
    """Schemas to provision, one per service that owns data."""
    return tuple(spec.schema for spec in SERVICES if spec.schema is not None)


# Used only until ``shared.contracts.topics`` exists; that module is the source of truth.
FALLBACK_TOPICS: tuple[str, ...] = (
    "workorders.work-order.v1",
    "evidence.work-order-evidence.v1",
    "evidence.ocr-jobs.v1",
    "evidence.documents.v1",
    "billing.work-order-billing.v1",
    "billing.gate-outcome.v1",
    "billing.account-status.v1",
    "factory.pack.v1",
    "factory.release-requested.v1",
    "factory.generation-jobs.v1",
    "v1.billing-events.v1",
)
FALLBACK_COMPACTED_TOPICS: tuple[str, ...] = (
    "billing.work-order-billing.v1",
    "billing.account-status.v1",
    "evidence.documents.v1",
)


def kafka_topics() -> tuple[tuple[str, ...], tuple[str, ...]]:
    """``(all_topics, compacted_topics)`` from ``shared.contracts.topics``, else the fallback lists.

    Imported lazily so the launcher works before the contracts exist. Dead-letter topics are not
    listed: ``ensure_topics`` adds ``<topic>.dlq`` for each.
    """
    try:
        module = importlib.import_module("shared.contracts.topics")
    except ImportError:
        module = None
    topics = tuple(_topic_name(t) for t in getattr(module, "ALL_TOPICS", FALLBACK_TOPICS))
    compacted = tuple(_topic_name(t) for t in getattr(module, "COMPACTED_TOPICS", FALLBACK_COMPACTED_TOPICS))
    return topics, tuple(sorted(compacted))


def _topic_name(topic: object) -> str:
    name = topic if isinstance(topic, str) else getattr(topic, "name", topic)
    return str(name)
