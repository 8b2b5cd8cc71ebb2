"""The dev-stack launcher behind ``make up|down|status|restart``: Postgres, Kafka, migrations, services.

Every process it runs is one entry of :func:`registry`; the state dir's supervisor
(:mod:`devstack.watch`) starts the entries ``up`` asks for and restarts those that die. Everything is
recorded in the state directory (default ``<repo>/.zenops``, overridden by ``$ZENOPS_STATE_DIR``), and
``stop_stack`` stops exactly those processes, nothing else:

* ``pids.json``   - per process: pid (= its process group), start time (guards against pid reuse),
  command and log; the supervisor's own record; ``supervised`` (name -> request id: what the
  supervisor keeps running); whether Postgres/Kafka are embedded (started here) or external;
* ``supervisor.json`` - the supervisor's view per process (state, restarts, last exit);
* ``ports.json``  - HTTP port per service, chosen once so restarts keep URLs stable;
* ``logs/``       - ``postgres.log``, Kafka's log, ``<name>.log`` (a service in one process, the default
  ``combined`` process mode), ``<name>-http.log`` and ``<name>-stream.log`` (the gateway and the console;
  a service in the ``split`` mode), ``<name>-migrate.log``, ``supervisor.log``.

Process mode (issue 18 item 3): ``up`` runs each service with a stream app as one process ``<name>``
(``python -m <pkg>.main serve``: HTTP app and stream app on one event loop) unless
``ZENOPS_PROCESS_MODE=split``, which runs ``<name>-http`` and ``<name>-stream`` instead; the mode is kept
in ``pids.json`` per service (:func:`switch_process_mode` changes one service's).

External servers: ``$ZENOPS_PG_ADMIN_DSN`` (provision only, start nothing) and
``$ZENOPS_KAFKA_BOOTSTRAP`` (create topics only). The same functions serve pytest fixtures:
:func:`start_stack` returns a :class:`StackInfo`; :func:`stop_stack` undoes it.
"""

from __future__ import annotations

import contextlib
import dataclasses
import fcntl
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from devstack import catalog
from devstack.catalog import ServiceSpec
from devstack.postgres import (
    PgEndpoint,
    PostgresNode,
    Secrets,
    _file_lock,
    _free_port,
    _pid_alive,
    _port_is_free,
    _run_sync,
    endpoint_from_dsn,
    external_admin_dsn,
    provision,
    service_dsns,
)
from devstack.supervisor import Http, ProcState, Supervised
from devstack.zipkin import Tracing, tracing_from_env

__all__ = [
    "KAFKA_BOOTSTRAP_ENV",
    "LAUNCHER_LOCK",
    "STATE_DIR_ENV",
    "ComponentStatus",
    "ProcessRecord",
    "StackError",
    "StackInfo",
    "default_state_dir",
    "registry",
    "repo_root",
    "resolve_stack",
    "restart_service",
    "service_env",
    "service_names",
    "spawn",
    "stack_status",
    "start_stack",
    "stop_service",
    "stop_stack",
    "switch_process_mode",
    "try_lock",
    "uptime_of",
    "wait_up",
]

STATE_DIR_ENV = "ZENOPS_STATE_DIR"
LAUNCHER_LOCK = ".launcher.lock"
SUPERVISOR_VIEW = "supervisor.json"
KAFKA_BOOTSTRAP_ENV = "ZENOPS_KAFKA_BOOTSTRAP"
ZIPKIN_PORT_KEY = "zipkin"
PROVIDER_SIM_KEY = "provider-sim"
"""The payment provider simulator's entry in ``ports.json`` and the registry (dev only: the launcher is)."""
"""The embedded Zipkin's entry in ``ports.json`` (beside the services' HTTP ports)."""

_HEALTH_TIMEOUT = 90.0
_MIGRATE_TIMEOUT = 300.0
_STOP_GRACE = 10.0


class StackError(RuntimeError):
    """A stack component failed to start or stop; the message names the log to read."""


def _say(message: str) -> None:
    print(f"[devstack] {message}", file=sys.stderr, flush=True)  # noqa: T201  the launcher's progress lines for the CLI user


# ------------------------------------------------------------------------------------------- locations


def repo_root(start: Path | None = None) -> Path:
    """The workspace root: the nearest directory holding ``uv.lock``, from ``start`` or this file."""
    for origin in (start or Path.cwd(), Path(__file__).resolve()):
        for candidate in (origin, *origin.parents):
            if (candidate / "uv.lock").is_file():
                return candidate
    raise StackError("cannot find the repository root (no uv.lock above the current directory)")


def default_state_dir() -> Path:
    """``$ZENOPS_STATE_DIR`` if set, else ``<repo>/.zenops``."""
    env = os.environ.get(STATE_DIR_ENV, "").strip()
    return Path(env).resolve() if env else repo_root() / ".zenops"


# --------------------------------------------------------------------------------------------- records


@dataclass(frozen=True)
class ProcessRecord:
    """A process the launcher started, as stored in ``pids.json``."""

    name: str
    pid: int
    start_ticks: int
    log: str
    command: list[str] = field(default_factory=list)

    def is_alive(self) -> bool:
        """Alive and still the same process (not a recycled pid)."""
        return _pid_alive(self.pid) and _start_ticks(self.pid) == self.start_ticks


def uptime_of(pid: int | None) -> float | None:
    """Seconds since process ``pid`` started, from ``/proc`` (``None`` when it does not exist)."""
    ticks = _start_ticks(pid) if pid else None
    if ticks is None:
        return None
    with contextlib.suppress(OSError, ValueError):
        booted = float(Path("/proc/uptime").read_text().split()[0])
        return max(0.0, booted - ticks / os.sysconf("SC_CLK_TCK"))
    return None


def _start_ticks(pid: int) -> int | None:
    """Process start time in clock ticks since boot (``/proc/<pid>/stat`` field 22)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # The command name may contain spaces or parentheses; fields resume after the last ')'.
    return int(stat.rsplit(")", 1)[1].split()[19])


@contextlib.contextmanager
def try_lock(path: Path) -> Iterator[bool]:
    """Take the exclusive ``flock`` on ``path`` if free; yields whether it was taken (never waits)."""
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            yield False
            return
        try:
            yield True
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)


class _State:
    """Read/modify/write of ``pids.json`` and ``ports.json`` under a lock."""

    def __init__(self, state_dir: Path) -> None:
        self.dir = state_dir
        self.pids_file = state_dir / "pids.json"
        self.ports_file = state_dir / "ports.json"
        self.log_dir = state_dir / "logs"

    @contextlib.contextmanager
    def locked(self) -> Iterator[None]:
        with _file_lock(self.dir / LAUNCHER_LOCK):
            yield

    def _read(self, path: Path) -> dict[str, Any]:
        if not path.exists():
            return {}
        data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
        return data

    def _write(self, path: Path, data: Mapping[str, Any]) -> None:
        tmp = path.with_name(f".{path.name}.tmp")
        tmp.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n", encoding="utf-8")
        os.replace(tmp, path)

    def pids(self) -> dict[str, Any]:
        data = self._read(self.pids_file)
        data.setdefault("processes", {})
        return data

    def processes(self) -> dict[str, ProcessRecord]:
        return {name: ProcessRecord(**raw) for name, raw in self.pids()["processes"].items()}

    def record_process(self, record: ProcessRecord) -> None:
        data = self.pids()
        data["processes"][record.name] = dataclasses.asdict(record)
        self._write(self.pids_file, data)

    def forget_process(self, name: str) -> None:
        data = self.pids()
        data["processes"].pop(name, None)
        self._write(self.pids_file, data)

    def record_component(self, name: str, *, embedded: bool) -> None:
        """Note whether Postgres/Kafka were started here (``down`` stops only those)."""
        data = self.pids()
        data[name] = {"embedded": embedded}
        self._write(self.pids_file, data)

    def forget_components(self) -> None:
        data = self.pids()
        data.pop("kafka", None)
        data.pop("postgres", None)
        data.pop("tracing", None)
        self._write(self.pids_file, data)

    def record_tracing(self, tracing: Tracing) -> None:
        """Note where ``up`` sent the spans, so the supervisor and ``env`` see the same choice."""
        data = self.pids()
        data["tracing"] = tracing.as_record()
        self._write(self.pids_file, data)

    def tracing(self) -> Tracing:
        """The tracing ``up`` chose (``ZENOPS_TRACING``/``ZENOPS_OTLP_ENDPOINT`` before any ``up``)."""
        raw = self.pids().get("tracing")
        chosen = Tracing(raw["mode"], raw.get("endpoint", "")) if raw else tracing_from_env()
        port = self.ports().get(ZIPKIN_PORT_KEY)
        return dataclasses.replace(chosen, port=port) if chosen.mode == "zipkin" else chosen

    def ports(self) -> dict[str, int]:
        return {k: int(v) for k, v in self._read(self.ports_file).items()}

    def save_ports(self, ports: Mapping[str, int]) -> None:
        self._write(self.ports_file, dict(ports))

    # What the supervisor keeps running: name -> request id. A new id (from `up` or `restart`)
    # tells the supervisor to start it now and forget its failures.
    def supervised(self) -> dict[str, int]:
        return {k: int(v) for k, v in self.pids().get("supervised", {}).items()}

    def request(self, names: Iterable[str]) -> dict[str, int]:
        data = self.pids()
        wanted = data.setdefault("supervised", {})
        # Never reused, not even after `down`: a stale supervisor.json cannot match a new request.
        request = time.time_ns() // 1000
        for name in names:
            wanted[name] = request
        self._write(self.pids_file, data)
        return {k: int(v) for k, v in wanted.items()}

    def unsupervise(self, names: Iterable[str]) -> None:
        data = self.pids()
        wanted = data.setdefault("supervised", {})
        for name in names:
            wanted.pop(name, None)
        self._write(self.pids_file, data)

    def unsupervise_all(self) -> None:
        data = self.pids()
        data.pop("supervised", None)
        self._write(self.pids_file, data)

    def process_modes(self) -> dict[str, str]:
        """Per service with a stream app: ``combined`` or ``split`` (what ``up`` or a switch chose)."""
        return {k: str(v) for k, v in self.pids().get("process_modes", {}).items()}

    def record_process_modes(self, modes: Mapping[str, str]) -> None:
        data = self.pids()
        data["process_modes"] = {**data.get("process_modes", {}), **modes}
        self._write(self.pids_file, data)

    def supervisor(self) -> ProcessRecord | None:
        raw = self.pids().get("supervisor")
        return ProcessRecord(**raw) if raw else None

    def record_supervisor(self, record: ProcessRecord | None) -> None:
        data = self.pids()
        if record is None:
            data.pop("supervisor", None)
        else:
            data["supervisor"] = dataclasses.asdict(record)
        self._write(self.pids_file, data)

    def supervisor_view(self) -> dict[str, dict[str, Any]]:
        """The supervisor's last published snapshot (``supervisor.json``)."""
        try:
            return self._read(self.dir / SUPERVISOR_VIEW)
        except (OSError, ValueError):
            return {}

    def publish_supervisor_view(self, view: Mapping[str, Any]) -> None:
        self._write(self.dir / SUPERVISOR_VIEW, view)


# ------------------------------------------------------------------------------------------- stack info


@dataclass(frozen=True)
class StackInfo:
    """Everything a test or a developer needs to talk to a running stack."""

    state_dir: Path
    postgres: PgEndpoint
    admin_dsn: str
    dsns: dict[str, dict[str, str]]
    kafka_bootstrap: str
    urls: dict[str, str]
    secrets: Secrets
    postgres_embedded: bool
    kafka_embedded: bool
    #: where the services' spans go (:mod:`devstack.zipkin`): the embedded Zipkin, a collector, nowhere
    tracing: Tracing = field(default_factory=Tracing)
    #: the payment provider simulator's port (:mod:`devstack.provider_sim`), once chosen
    provider_sim_port: int | None = None
    #: per service with a stream app, ``combined`` (one process) or ``split``; absent: ``combined``
    process_modes: Mapping[str, str] = field(default_factory=dict)

    def process_mode(self, service: str) -> str:
        """How ``service`` runs: ``combined`` (HTTP + stream in one process) or ``split``."""
        return self.process_modes.get(service, catalog.PROCESS_MODES[0])

    def components(self, service: str) -> tuple[str, ...]:
        """The supervised process names of ``service`` in its current process mode."""
        return catalog.service(service).components(self.process_mode(service))

    @property
    def provider_sim_url(self) -> str | None:
        """Base URL of the provider simulator (both providers' API base in dev)."""
        return f"http://127.0.0.1:{self.provider_sim_port}" if self.provider_sim_port else None

    def payment_env(self) -> dict[str, str]:
        """The provider keys and webhook secrets billing and the simulator share (dev only)."""
        s = self.secrets
        env = {
            "ZENOPS_STRIPE_SECRET_KEY": f"sk_test_{s.stripe_secret_key}",
            "ZENOPS_RAZORPAY_KEY_ID": f"rzp_test_{s.razorpay_key_id[:14]}",
            "ZENOPS_RAZORPAY_KEY_SECRET": s.razorpay_key_secret,
            "ZENOPS_STRIPE_WEBHOOK_SECRET": f"whsec_{s.stripe_webhook_secret}",
            "ZENOPS_RAZORPAY_WEBHOOK_SECRET": s.razorpay_webhook_secret,
        }
        if self.provider_sim_url:
            env["ZENOPS_STRIPE_API_BASE"] = self.provider_sim_url
            env["ZENOPS_RAZORPAY_API_BASE"] = self.provider_sim_url
        return env

    @property
    def log_dir(self) -> Path:
        """Directory with every component's log."""
        return self.state_dir / "logs"

    @property
    def blob_dir(self) -> Path:
        """Where services store uploaded files and artifacts."""
        return self.state_dir / "blobs"

    def env(self, service: str | None = None) -> dict[str, str]:
        """Environment of one service process (or, for ``None``, the variables common to all)."""
        return service_env(self, catalog.service(service) if service else None)


#: ports of the local dev servers a browser client of the gateway is usually served from (the original
#: web app's Next.js/CRA 3000, Vite 5173 and its preview 4173)
DEV_CORS_PORTS = (3000, 4173, 5173)
CORS_ORIGINS_ENV = "ZENOPS_CORS_ORIGINS"


def cors_origins(info: StackInfo) -> str:
    """The gateway's ``ZENOPS_CORS_ORIGINS`` in the dev stack (issue 20): the console's origin and the
    usual local dev servers, as ``localhost`` and ``127.0.0.1``; ``$ZENOPS_CORS_ORIGINS`` when set
    (e.g. the original web app on another port)."""
    explicit = os.environ.get(CORS_ORIGINS_ENV)
    if explicit is not None:
        return explicit
    origins = []
    console = info.urls.get(catalog.CONSOLE.name)
    if console:
        origins += [console, console.replace("://127.0.0.1:", "://localhost:")]
    for port in DEV_CORS_PORTS:
        origins += [f"http://localhost:{port}", f"http://127.0.0.1:{port}"]
    return ",".join(dict.fromkeys(origins))


def service_env(info: StackInfo, spec: ServiceSpec | None) -> dict[str, str]:
    """The ``ZENOPS_*`` variables a service process reads through pydantic-settings."""
    env = {
        "ZENOPS_ENV": "dev",
        "ZENOPS_KAFKA_BOOTSTRAP": info.kafka_bootstrap,
        "ZENOPS_BLOB_DIR": str(info.blob_dir),
        "ZENOPS_JWT_SECRET": info.secrets.jwt_secret,
        "ZENOPS_SERVICE_TOKEN": info.secrets.service_token,
        "ZENOPS_STUDIO_ADMIN_TOKEN": info.secrets.studio_admin_token,
        "ZENOPS_WEBHOOK_SECRET": info.secrets.webhook_secret,
        "ZENOPS_STATE_DIR": str(info.state_dir),
        **info.tracing.service_env(),
    }
    if spec is not None and spec.name == "factory" and catalog.GATEWAY.name in info.urls:
        # where the QR code of every report page points (the gateway's public /v1/verify route)
        env["ZENOPS_PUBLIC_BASE_URL"] = info.urls[catalog.GATEWAY.name]
    if spec is not None and spec.name == "billing":
        # the dev stack's payment rails: the provider simulator, and a janitor that asks it often
        env.update(info.payment_env())
        env.setdefault("ZENOPS_PAYMENT_JANITOR_INTERVAL_S", "2")
        env.setdefault("ZENOPS_PAYMENT_JANITOR_PENDING_AFTER_MINUTES", "0.1")
    if spec is None or spec is catalog.GATEWAY:
        for upstream in catalog.SERVICES:
            if upstream.upstream and upstream is not catalog.GATEWAY and upstream.name in info.urls:
                env[f"ZENOPS_UPSTREAM_{upstream.name.upper()}_URL"] = info.urls[upstream.name]
        env[CORS_ORIGINS_ENV] = cors_origins(info)
    if spec is catalog.CONSOLE:
        # the console's only backend, and the key of its session cookies
        env["ZENOPS_GATEWAY_URL"] = info.urls.get(catalog.GATEWAY.name, "http://127.0.0.1:8080")
        env["ZENOPS_CONSOLE_SECRET"] = info.secrets.console_secret
    if spec is not None:
        env["ZENOPS_SERVICE_NAME"] = spec.name
        if spec.has_stream:
            env[catalog.PROCESS_MODE_ENV] = info.process_mode(spec.name)
        if spec.schema is not None:
            dsns = info.dsns[spec.schema]
            env["ZENOPS_DB_OWNER_URL"] = dsns["owner"]
            env["ZENOPS_DB_APP_URL"] = dsns["app"]
            env["ZENOPS_DB_SYSTEM_URL"] = dsns["system"]
    return env


# ------------------------------------------------------------------------------------------------ kafka


def _kafka_node(state_dir: Path) -> Any:
    # Imported lazily: the Kafka module pulls in Java discovery and artifact downloads.
    from devstack.kafka import KafkaNode

    return KafkaNode(state_dir)


def _external_kafka(state_dir: Path) -> str | None:
    """``$ZENOPS_KAFKA_BOOTSTRAP`` unless it merely echoes this state dir's own broker.

    ``eval "$(make env)"`` exports the embedded broker's address; a later ``make up`` in that shell
    must still start (not skip) the embedded broker.
    """
    value = os.environ.get(KAFKA_BOOTSTRAP_ENV, "").strip()
    if not value:
        return None
    with contextlib.suppress(Exception):
        node = _kafka_node(state_dir)
        # Only compare with a node that exists: reading `bootstrap` of a new node would choose ports.
        if node.node_file.is_file() and str(node.bootstrap) == value:
            return None
    return value


# ------------------------------------------------------------------------------------------- processes


def _python() -> str:
    return sys.executable


def _tail(path: Path, lines: int = 40) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log yet)"


def spawn(
    name: str, args: Iterable[str], env: Mapping[str, str], log: Path
) -> tuple[ProcessRecord, subprocess.Popen[bytes]]:
    """Start ``python <args>`` detached, appending to ``log``; the record to keep in ``pids.json``."""
    args = list(args)
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("ab") as out:
        out.write(f"\n=== {time.strftime('%Y-%m-%d %H:%M:%S')} starting {name}: {' '.join(args)}\n".encode())
        out.flush()
        # Own session: survives the launcher, and `down` can signal the whole group (uvicorn workers,
        # helper subprocesses) without touching anything else.
        proc = subprocess.Popen(  # noqa: S603  this interpreter with the catalog's module argv, no shell
            [_python(), *args],
            cwd=repo_root(),
            env={**os.environ, **env},
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    ticks = _start_ticks(proc.pid)
    return ProcessRecord(name=name, pid=proc.pid, start_ticks=ticks or 0, log=str(log), command=args), proc


def _terminate(record: ProcessRecord, grace: float = _STOP_GRACE) -> None:
    """SIGTERM the recorded process group, wait up to ``grace`` seconds, then SIGKILL it."""
    if not record.is_alive():
        return
    # Only a group we created (pid == pgid from start_new_session) is signalled as a group.
    try:
        is_leader = os.getpgid(record.pid) == record.pid
    except ProcessLookupError:
        return
    send: Callable[[int], None] = (
        (lambda sig: os.killpg(record.pid, sig)) if is_leader else (lambda sig: os.kill(record.pid, sig))
    )
    with contextlib.suppress(ProcessLookupError):
        send(signal.SIGTERM)
    deadline = time.monotonic() + grace
    while record.is_alive() and time.monotonic() < deadline:
        time.sleep(0.1)
    with contextlib.suppress(ProcessLookupError):
        if record.is_alive():
            send(signal.SIGKILL)
        elif is_leader:
            # The leader left; reap stragglers of its group so no child keeps a port or a file.
            os.killpg(record.pid, signal.SIGKILL)


def _choose_zipkin_port(state: _State, running: Mapping[str, ProcessRecord]) -> int:
    """The embedded Zipkin's port, chosen once (9411 when free) and kept in ``ports.json``."""
    from devstack.zipkin import DEFAULT_PORT

    ports = state.ports()
    port = ports.get(ZIPKIN_PORT_KEY)
    if port is None:
        taken = set(ports.values())
        port = _free_port(preferred=DEFAULT_PORT if DEFAULT_PORT not in taken else None)
        state.save_ports({**ports, ZIPKIN_PORT_KEY: port})
    record = running.get(ZIPKIN_PORT_KEY)
    if not (record is not None and record.is_alive()) and not _port_is_free("127.0.0.1", port):
        raise StackError(
            f"port {port} of zipkin (kept in {state.ports_file}) is in use by a process this launcher did "
            "not record; stop it, remove the entry from ports.json, or set ZENOPS_TRACING=off"
        )
    return port


def _choose_sim_port(state: _State) -> int:
    """The provider simulator's port, chosen once and kept in ``ports.json``."""
    ports = state.ports()
    port = ports.get(PROVIDER_SIM_KEY)
    if port is None:
        port = _free_port()
        state.save_ports({**ports, PROVIDER_SIM_KEY: port})
    return port


def _choose_ports(
    state: _State, specs: tuple[ServiceSpec, ...], running: Mapping[str, ProcessRecord]
) -> dict[str, int]:
    ports = state.ports()
    taken = set(ports.values())
    for spec in specs:
        if spec.name in ports:
            continue
        preferred = spec.default_port if spec.default_port not in taken else None
        ports[spec.name] = _free_port(preferred=preferred)
        taken.add(ports[spec.name])
    state.save_ports(ports)
    for spec in specs:
        names = {*spec.components("combined"), *spec.components("split")}
        if any(key in running and running[key].is_alive() for key in names):
            continue
        if not _port_is_free("127.0.0.1", ports[spec.name]):
            raise StackError(
                f"port {ports[spec.name]} of {spec.name} (kept in {state.ports_file}) is in use by a "
                "process this launcher did not record; stop it or remove the entry from ports.json"
            )
    return ports


# -------------------------------------------------------------------------------------------- registry


def registry(info: StackInfo) -> tuple[Supervised, ...]:
    """Every process the launcher runs for ``info``, in start order: one entry each.

    A new component (a trace store, a console, a replica) is one more entry here; ``up``, the
    supervisor, ``status``, ``restart`` and ``logs`` then handle it like the others. External
    Postgres/Kafka are not ours to restart and are left out.
    """
    logs = info.log_dir
    entries: list[Supervised] = []
    if info.postgres_embedded:
        pg = info.postgres
        entries.append(
            Supervised(
                "postgres",
                "postgres",
                logs=(logs / "postgres.log",),
                node=PostgresNode(info.state_dir),
                url=f"postgresql://{pg.host}:{pg.port}/{pg.database}",
            )
        )
    if info.kafka_embedded:
        entries.append(
            Supervised(
                "kafka",
                "kafka",
                logs=(logs / "kafka.log", logs / "kafka-server.log"),
                node=_kafka_node(info.state_dir),
                url=info.kafka_bootstrap,
            )
        )
    zipkin = info.tracing.zipkin_url
    if zipkin and info.tracing.port is not None:
        entries.append(
            Supervised(
                ZIPKIN_PORT_KEY,
                ZIPKIN_PORT_KEY,
                logs=(logs / "zipkin.log",),
                command=("-m", "devstack.zipkin", "run", "--port", str(info.tracing.port)),
                health=Http(zipkin, path="/health"),
                url=f"{zipkin}/zipkin/",
            )
        )
    sim = info.provider_sim_url
    gateway = info.urls.get(catalog.GATEWAY.name)
    if sim and info.provider_sim_port is not None and gateway:
        entries.append(
            Supervised(
                PROVIDER_SIM_KEY,
                PROVIDER_SIM_KEY,
                logs=(logs / f"{PROVIDER_SIM_KEY}.log",),
                command=("-m", "devstack.provider_sim", "run", "--port", str(info.provider_sim_port)),
                env={**info.payment_env(), "ZENOPS_PROVIDER_SIM_WEBHOOK_BASE": gateway},
                health=Http(sim),
                url=sim,
            )
        )
    for spec in catalog.SERVICES:
        url = info.urls.get(spec.name)
        if url is None:
            continue  # no port chosen yet: never started
        env = info.env(spec.name)
        port = int(url.rsplit(":", 1)[1])
        if spec.has_stream and info.process_mode(spec.name) == "combined":
            entries.append(
                Supervised(
                    spec.name,
                    spec.name,
                    logs=(logs / f"{spec.name}.log",),
                    command=tuple(spec.serve_command(port)),
                    env=env,
                    health=Http(url),
                    url=url,
                )
            )
            continue
        entries.append(
            Supervised(
                f"{spec.name}-http",
                spec.name,
                logs=(logs / f"{spec.name}-http.log",),
                command=tuple(spec.http_command(port)),
                env=env,
                health=Http(url),
                url=url,
            )
        )
        if spec.has_stream:
            entries.append(
                Supervised(
                    f"{spec.name}-stream",
                    spec.name,
                    logs=(logs / f"{spec.name}-stream.log",),
                    command=tuple(spec.stream_command()),
                    env=env,
                )
            )
    return tuple(entries)


def service_names() -> tuple[str, ...]:
    """What ``restart S=`` and ``logs S=`` accept."""
    return (
        "postgres",
        "kafka",
        *(s.name for s in catalog.SERVICES),
        ZIPKIN_PORT_KEY,
        PROVIDER_SIM_KEY,
        "supervisor",
    )


def entry_pid(entry: Supervised, records: Mapping[str, ProcessRecord]) -> int | None:
    """The live pid of a registry entry, if it runs."""
    if entry.node is not None:
        return entry.node.pid()
    record = records.get(entry.name)
    return record.pid if record is not None and record.is_alive() else None


# ---------------------------------------------------------------------------------------- start / stop


def _resolve_postgres(state_dir: Path) -> tuple[PgEndpoint, str, PostgresNode | None]:
    external = external_admin_dsn()
    if external:
        return endpoint_from_dsn(external), external, None
    node = PostgresNode(state_dir)
    return node.endpoint, node.admin_dsn(), node


def resolve_stack(state_dir: Path | None = None) -> StackInfo:
    """Describe the stack of ``state_dir`` from its saved state, without starting anything."""
    state_dir = (state_dir or default_state_dir()).resolve()
    state_dir.mkdir(parents=True, exist_ok=True)
    secrets = Secrets.load_or_create(state_dir)
    endpoint, admin, node = _resolve_postgres(state_dir)
    bootstrap = _external_kafka(state_dir)
    kafka_embedded = bootstrap is None
    if bootstrap is None:
        try:
            bootstrap = str(_kafka_node(state_dir).bootstrap)
        except Exception:
            bootstrap = ""
    state = _State(state_dir)
    ports = state.ports()
    return StackInfo(
        state_dir=state_dir,
        postgres=endpoint,
        admin_dsn=admin,
        dsns={schema: service_dsns(endpoint, schema, secrets) for schema in catalog.db_services()},
        kafka_bootstrap=bootstrap,
        urls={
            spec.name: f"http://127.0.0.1:{ports[spec.name]}"
            for spec in catalog.SERVICES
            if spec.name in ports
        },
        secrets=secrets,
        postgres_embedded=node is not None,
        kafka_embedded=kafka_embedded,
        tracing=state.tracing(),
        provider_sim_port=ports.get(PROVIDER_SIM_KEY),
        process_modes=state.process_modes(),
    )


def start_stack(
    state_dir: Path | None = None,
    *,
    services: bool = True,
    only: tuple[str, ...] | None = None,
    migrate: bool | None = None,
    kafka_timeout: float = 120.0,
    health_timeout: float = _HEALTH_TIMEOUT,
) -> StackInfo:
    """Start what is missing of Postgres, Kafka and, if ``services``, every service process.

    Idempotent: running components are kept; a service's migrations run only when its schema is
    behind its head revision. The processes are handed to the state dir's supervisor (started here
    if needed), which starts them and keeps them running; this call waits until they are healthy.
    ``only`` restricts the services started (by name); ``migrate`` defaults to ``services``.
    Raises :class:`StackError` naming the log to read.
    """
    state_dir = (state_dir or default_state_dir()).resolve()
    state_dir.mkdir(parents=True, exist_ok=True)
    state = _State(state_dir)
    state.log_dir.mkdir(parents=True, exist_ok=True)
    (state_dir / "blobs").mkdir(parents=True, exist_ok=True)
    migrate = services if migrate is None else migrate
    timings: dict[str, float] = {}

    with state.locked():
        secrets = Secrets.load_or_create(state_dir)

        t0 = time.monotonic()
        endpoint, admin_dsn, pg_node = _resolve_postgres(state_dir)
        # Recorded before starting so `down` cleans up even if start-up fails half-way.
        state.record_component("postgres", embedded=pg_node is not None)
        if pg_node is not None:
            pg_node.start()
        provision(admin_dsn, catalog.db_services(), secrets)
        timings["postgres"] = time.monotonic() - t0

        t0 = time.monotonic()
        bootstrap = _external_kafka(state_dir)
        kafka_embedded = bootstrap is None
        if bootstrap is None:
            state.record_component("kafka", embedded=True)
            bootstrap = str(_kafka_node(state_dir).start(timeout=kafka_timeout))
        else:
            state.record_component("kafka", embedded=False)
        from devstack.kafka import ensure_topics

        all_topics, compacted = catalog.kafka_topics()
        _run_sync(lambda: ensure_topics(bootstrap, list(all_topics), compacted=tuple(compacted)))
        timings["kafka"] = time.monotonic() - t0

        specs = tuple(s for s in catalog.SERVICES if only is None or s.name in only)
        records = state.processes()
        ports = _choose_ports(state, catalog.SERVICES, records) if services else state.ports()
        tracing = tracing_from_env()
        state.record_tracing(tracing)
        if services and tracing.mode == "zipkin":
            tracing = dataclasses.replace(tracing, port=_choose_zipkin_port(state, records))
        sim_port = _choose_sim_port(state) if services else state.ports().get(PROVIDER_SIM_KEY)
        if services:
            # the process mode of `up`: every service with a stream app, combined unless the env says split
            mode = catalog.process_mode_from_env()
            state.record_process_modes({s.name: mode for s in specs if s.has_stream})
        info = StackInfo(
            state_dir=state_dir,
            postgres=endpoint,
            admin_dsn=admin_dsn,
            dsns={schema: service_dsns(endpoint, schema, secrets) for schema in catalog.db_services()},
            kafka_bootstrap=bootstrap,
            urls={s.name: f"http://127.0.0.1:{ports[s.name]}" for s in catalog.SERVICES if s.name in ports},
            secrets=secrets,
            postgres_embedded=pg_node is not None,
            kafka_embedded=kafka_embedded,
            tracing=tracing,
            provider_sim_port=sim_port,
            process_modes=state.process_modes(),
        )

        if migrate:
            t0 = time.monotonic()
            from devstack.migrations import schemas_behind

            behind = schemas_behind(info, tuple(spec for spec in specs if spec.has_db))
            _migrate(info, behind)
            timings["migrations" if behind else "migrations (none behind)"] = time.monotonic() - t0

        # The trace store starts with the services, in parallel with them (its JVM takes a few seconds).
        names = {spec.name for spec in specs} | {ZIPKIN_PORT_KEY, PROVIDER_SIM_KEY} if services else set()
        wanted = tuple(e for e in registry(info) if e.node is not None or e.service in names)
        # a service switched to the other process mode: its processes of the former mode go first
        _stop_other_mode(state, info, specs)
        records = state.processes()
        # Only what is not running (or not yet supervised) gets a new request: the supervisor keeps
        # the rest as they are, restart counts included.
        supervised = state.supervised()
        missing = [e.name for e in wanted if e.name not in supervised or entry_pid(e, records) is None]
        requests = {name: n for name, n in state.request(missing).items() if name in missing}
        _ensure_supervisor(state)

    t0 = time.monotonic()
    wait_up(state, wanted, requests, time.monotonic() + health_timeout)
    timings["services" if services else "supervisor"] = time.monotonic() - t0
    _say("ready in " + ", ".join(f"{k} {v:.1f}s" for k, v in timings.items()))
    return info


def _stop_other_mode(state: _State, info: StackInfo, specs: Iterable[ServiceSpec]) -> list[str]:
    """Stop and unsupervise the processes of ``specs`` that belong to the process mode they no longer
    run in (``<name>`` after a switch to split, ``<name>-http``/``-stream`` after one to combined); the
    names stopped. Call with the state locked."""
    records = state.processes()
    stale = [
        name
        for spec in specs
        if spec.has_stream
        for name in {*spec.components("combined"), *spec.components("split")}
        - set(spec.components(info.process_mode(spec.name)))
    ]
    state.unsupervise(stale)
    for name in sorted(stale, key=lambda n: not n.endswith("-stream")):
        if name in records:
            _terminate(records[name])
            state.forget_process(name)
    return [name for name in stale if name in records]


def switch_process_mode(
    service: str, mode: str, state_dir: Path | None = None, *, health_timeout: float = _HEALTH_TIMEOUT
) -> list[str]:
    """Run ``service`` in process mode ``mode`` (``combined``: one process; ``split``: ``<name>-http`` and
    ``<name>-stream``) from now on: its processes of the other mode are stopped and the supervisor starts
    the new ones; waits until they are healthy and returns their names. Until the next ``up``, which
    applies ``$ZENOPS_PROCESS_MODE`` to every service again. For tests that need one half of a service
    down while the other half serves (an outage of the stream app alone), and to show both modes work."""
    if mode not in catalog.PROCESS_MODES:
        raise StackError(f"unknown process mode {mode!r} (known: {', '.join(catalog.PROCESS_MODES)})")
    spec = catalog.service(service)
    if not spec.has_stream:
        raise StackError(f"{service} has no stream app: it runs one process in every mode")
    info = resolve_stack(state_dir)
    state = _State(info.state_dir)
    with state.locked():
        state.record_process_modes({service: mode})
        info = dataclasses.replace(info, process_modes=state.process_modes())
        _stop_other_mode(state, info, (spec,))
        entries = tuple(e for e in registry(info) if e.service == service)
        requests = state.request(e.name for e in entries)
        _ensure_supervisor(state)
    wait_up(state, entries, requests, time.monotonic() + health_timeout)
    return [e.name for e in entries]


def _migrate(info: StackInfo, specs: tuple[ServiceSpec, ...]) -> None:
    """Run these services' migrations as their owner roles, in parallel (schemas are independent)."""
    running: list[tuple[ServiceSpec, Path, subprocess.Popen[bytes]]] = []
    for spec in specs:
        log = info.log_dir / f"{spec.name}-migrate.log"
        with log.open("ab") as out:
            out.write(f"\n=== {time.strftime('%Y-%m-%d %H:%M:%S')} migrate {spec.package}\n".encode())
            out.flush()
            proc = subprocess.Popen(  # noqa: S603  this interpreter with the catalog's migrate argv, no shell
                [_python(), *spec.migrate_command()],
                cwd=repo_root(),
                env={**os.environ, **info.env(spec.name)},
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        running.append((spec, log, proc))
    deadline = time.monotonic() + _MIGRATE_TIMEOUT
    failures: list[str] = []
    for spec, log, proc in running:
        try:
            code: int | str = proc.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
            code = f"timeout after {_MIGRATE_TIMEOUT:.0f}s"
        if code != 0:
            failures.append(f"migrations of {spec.name} failed ({code}); log {log}:\n{_tail(log)}")
    if failures:
        raise StackError("\n\n".join(failures))


# ------------------------------------------------------------------------------------------ supervisor


def _ensure_supervisor(state: _State) -> ProcessRecord:
    """The state dir's supervisor, started detached unless it runs (call with the state locked)."""
    current = state.supervisor()
    if current is not None and current.is_alive():
        return current
    args = ["-m", "devstack", "--state-dir", str(state.dir), "supervise"]
    record, _ = spawn("supervisor", args, {}, state.log_dir / "supervisor.log")
    state.record_supervisor(record)
    return record


def _stop_supervisor(state: _State, grace: float) -> None:
    """Stop the supervisor first, so nothing restarts what ``down``/``restart`` stop next."""
    record = state.supervisor()
    if record is not None:
        _terminate(record, grace)
    (state.dir / SUPERVISOR_VIEW).unlink(missing_ok=True)


def wait_up(
    state: _State, entries: Iterable[Supervised], requests: Mapping[str, int], deadline: float
) -> None:
    """Wait until every entry runs and is healthy; fail fast when one exits during start-up.

    ``requests`` holds the request ids just given to the entries (re)started now: only the
    supervisor's view of those requests can report a start-up failure.
    """
    pending = list(entries)
    while pending:
        records = state.processes()
        view = state.supervisor_view()
        supervisor = state.supervisor()
        if supervisor is None or not supervisor.is_alive():
            log = state.log_dir / "supervisor.log"
            raise StackError(f"the supervisor exited; log {log}:\n{_tail(log)}")
        for entry in list(pending):
            seen = view.get(entry.name, {})
            if seen.get("request") == requests.get(entry.name) and (
                seen.get("state") == ProcState.CRASH_LOOP or int(seen.get("restarts", 0)) > 0
            ):
                raise StackError(
                    f"{entry.name} exited during start-up ({seen.get('last_exit')}); log {entry.logs[0]}:\n"
                    f"{_tail(entry.logs[0])}"
                )
            if _healthy(entry, records):
                pending.remove(entry)
        if pending and time.monotonic() > deadline:
            names = ", ".join(e.name for e in pending)
            raise StackError(
                f"not healthy in time: {names}; logs:\n"
                + "\n".join(f"--- {e.logs[0]}\n{_tail(e.logs[0], 15)}" for e in pending)
            )
        if pending:
            time.sleep(0.2)


def _healthy(entry: Supervised, records: Mapping[str, ProcessRecord]) -> bool:
    if entry.node is not None:
        return entry.node.is_running()
    pid = entry_pid(entry, records)
    uptime = uptime_of(pid)
    return uptime is not None and entry.health.ok(uptime)


def stop_stack(state_dir: Path | None = None, *, grace: float = _STOP_GRACE) -> None:
    """Stop what :func:`start_stack` recorded: the supervisor, services, Kafka, Postgres. Never more."""
    state_dir = (state_dir or default_state_dir()).resolve()
    state = _State(state_dir)
    if not state.pids_file.exists():
        return
    _stop_supervisor(state, grace)
    with state.locked():
        state.record_supervisor(None)
        state.unsupervise_all()
        records = state.processes()
        # Stream apps first so they stop consuming before the HTTP apps go away.
        for record in sorted(records.values(), key=lambda r: (not r.name.endswith("-stream"), r.name)):
            _terminate(record, grace)
            state.forget_process(record.name)
        data = state.pids()
        if data.get("kafka", {}).get("embedded"):
            with contextlib.suppress(ImportError):
                _kafka_node(state_dir).stop()
        if data.get("postgres", {}).get("embedded"):
            PostgresNode(state_dir).stop()
        state.forget_components()


def restart_service(
    service: str, state_dir: Path | None = None, *, health_timeout: float = _HEALTH_TIMEOUT
) -> list[str]:
    """Stop ``service``'s processes (the service's one process, or HTTP + stream when split; or the
    node) and let the supervisor start them.

    Waits until they are healthy again; returns the restarted process names.
    """
    info = resolve_stack(state_dir)
    state = _State(info.state_dir)
    if service == "supervisor":
        with state.locked():
            _stop_supervisor(state, _STOP_GRACE)
            _ensure_supervisor(state)
        return ["supervisor"]
    # a service (its process, or its HTTP + stream processes) or one process by name (``workorders-stream``)
    entries = tuple(e for e in registry(info) if service in (e.service, e.name))
    if not entries:
        raise StackError(f"nothing to restart for {service!r} (known: {', '.join(service_names())})")
    with state.locked():
        records = state.processes()
        for entry in sorted(entries, key=lambda e: not e.name.endswith("-stream")):
            if entry.node is not None:
                entry.node.stop()
            elif entry.name in records:
                _terminate(records[entry.name])
                state.forget_process(entry.name)
        requests = state.request(e.name for e in entries)
        _ensure_supervisor(state)
    wait_up(state, entries, requests, time.monotonic() + health_timeout)
    return [e.name for e in entries]


def stop_service(service: str, state_dir: Path | None = None) -> list[str]:
    """Stop ``service``'s processes (HTTP + stream, or the node; or the one process so named, e.g.
    ``workorders-stream``) and keep them down: the supervisor no
    longer restarts them until :func:`restart_service` (``make restart S=<service>``) or ``up`` asks.

    For outage drills and tests (the workorders stream away: its events wait in the outbox; postgres
    away: requests answer 503). Returns the stopped process names.
    """
    info = resolve_stack(state_dir)
    state = _State(info.state_dir)
    entries = tuple(e for e in registry(info) if service in (e.service, e.name))
    if not entries:
        raise StackError(f"nothing to stop for {service!r} (known: {', '.join(service_names())})")
    with state.locked():
        state.unsupervise(e.name for e in entries)
        records = state.processes()
        for entry in sorted(entries, key=lambda e: not e.name.endswith("-stream")):
            if entry.node is not None:
                entry.node.stop()
            elif entry.name in records:
                _terminate(records[entry.name])
                state.forget_process(entry.name)
    return [e.name for e in entries]


# ------------------------------------------------------------------------------------------------ status


@dataclass(frozen=True)
class ComponentStatus:
    """One line of ``status``."""

    name: str
    state: ProcState
    pid: int | None = None
    uptime: float | None = None
    restarts: int = 0
    url: str = ""
    detail: str = ""

    @property
    def running(self) -> bool:
        """Whether it is up."""
        return self.state is ProcState.UP


def stack_status(state_dir: Path | None = None) -> list[ComponentStatus]:
    """One row per registered process (and the supervisor), as the supervisor sees it."""
    info = resolve_stack(state_dir)
    state = _State(info.state_dir)
    records = state.processes()
    supervisor = state.supervisor()
    watching = supervisor is not None and supervisor.is_alive()
    view = state.supervisor_view() if watching else {}
    rows = [
        ComponentStatus(
            "supervisor",
            ProcState.UP if watching else ProcState.STOPPED,
            pid=supervisor.pid if watching and supervisor else None,
            uptime=uptime_of(supervisor.pid) if watching and supervisor else None,
            url=str(state.log_dir / "supervisor.log"),
        )
    ]
    if not info.postgres_embedded:
        rows.append(ComponentStatus("postgres", ProcState.UP, detail=f"external {info.postgres}"))
    if not info.kafka_embedded:
        rows.append(ComponentStatus("kafka", ProcState.UP, detail=f"external {info.kafka_bootstrap}"))
    if info.tracing.mode == "otlp":
        rows.append(ComponentStatus("tracing", ProcState.UP, detail=f"external OTLP {info.tracing.endpoint}"))
    for entry in registry(info):
        pid = entry_pid(entry, records)
        seen = view.get(entry.name, {})
        if pid is None:
            known = seen.get("state") in (ProcState.RESTARTING, ProcState.CRASH_LOOP)
            proc_state = ProcState(seen["state"]) if known else ProcState.STOPPED
        else:
            # The supervisor's view may be a tick behind: ask the health check itself unless UP.
            up = seen.get("state") == ProcState.UP or _healthy(entry, records)
            proc_state = ProcState.UP if up else ProcState.STARTING
        rows.append(
            ComponentStatus(
                entry.name,
                proc_state,
                pid=pid,
                uptime=uptime_of(pid),
                restarts=int(seen.get("restarts", 0)),
                url=entry.url,
                detail=str(seen.get("last_exit", "")),
            )
        )
    return rows
