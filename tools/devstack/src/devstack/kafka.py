"""Embedded single-node Apache Kafka (KRaft) for development, tests and CI, without Docker.

The broker is the official ``kafka_2.13`` jar set from Maven Central, pinned in
:mod:`devstack.kafka_artifacts`, verified by SHA-256 and cached per version under the user cache
directory (``<cache>/kafka/<version>/libs``). It runs as a detached JVM in its own session, so it outlives
the command that started it. POSIX only (it uses process groups and ``fcntl`` locks).

Layout inside the state directory::

    <state_dir>/kafka/node.json          ports and cluster id, chosen once and kept across restarts
    <state_dir>/kafka/kafka.pid          pid (and process group id) of the running broker
    <state_dir>/kafka/server.properties  generated broker configuration
    <state_dir>/kafka/log4j2.properties  generated logging configuration
    <state_dir>/kafka/data               log dirs and KRaft metadata (formatted once)
    <state_dir>/logs/kafka.log           JVM stdout/stderr
    <state_dir>/logs/kafka-server.log    broker log (log4j2, INFO)

Setting ``ZENOPS_KAFKA_BOOTSTRAP`` switches to an external cluster: :func:`resolve_bootstrap` then
returns it and starts nothing.

CLI: ``python -m devstack.kafka fetch`` pre-downloads the jars (CI caches them); ``start`` and
``stop`` drive a node for a state directory.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import concurrent.futures
import contextlib
import fcntl
import functools
import hashlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
import uuid
from collections.abc import Awaitable, Callable, Collection, Iterator, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, TypeVar

import platformdirs
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import KafkaError, TopicAlreadyExistsError

from devstack.java import JavaNotFoundError, find_java
from devstack.kafka_artifacts import ARTIFACTS, KAFKA_VERSION, MAVEN_CENTRAL, Artifact
from shared.messaging.kafka import MAX_MESSAGE_BYTES

__all__ = [
    "BOOTSTRAP_ENV",
    "DLQ_SUFFIX",
    "MAVEN_REPOSITORY_ENV",
    "KafkaNode",
    "KafkaNodeError",
    "default_cache_dir",
    "ensure_jars",
    "ensure_topics",
    "external_bootstrap",
    "resolve_bootstrap",
]

BOOTSTRAP_ENV = "ZENOPS_KAFKA_BOOTSTRAP"
"""Environment variable naming an external cluster's bootstrap servers; when set, no broker is started."""

MAVEN_REPOSITORY_ENV = "ZENOPS_MAVEN_REPOSITORY"
"""Optional Maven 2 repository URL (a mirror of Maven Central) to download the pinned jars from."""

DLQ_SUFFIX = ".dlq"
"""Suffix of the dead-letter topic :func:`ensure_topics` creates beside every topic."""

_APP_NAME = "zenops-repogen"
_DOWNLOAD_WORKERS = 8
_DOWNLOAD_ATTEMPTS = 3
_CHUNK = 1 << 20
_JVM_OPTS = (
    # Sized for a 2-core / 24 GiB box: the log cleaner's dedupe buffer (lowered below) must fit the heap.
    "-Xms256m",
    "-Xmx768m",
    "-XX:+UseG1GC",
    "-XX:MaxGCPauseMillis=20",
    "-XX:InitiatingHeapOccupancyPercent=35",
    "-XX:+ExplicitGCInvokesConcurrent",
    "-XX:+ExitOnOutOfMemoryError",
    "-Djava.awt.headless=true",
)
_LOG_TAIL_LINES = 60
_TOPIC_TIMEOUT = 30.0

_T = TypeVar("_T")


class KafkaNodeError(RuntimeError):
    """The embedded broker could not be downloaded, formatted, started or stopped."""


# --------------------------------------------------------------------------------------------- jars


def default_cache_dir() -> Path:
    """The per-user cache directory the broker jars are kept in (``platformdirs`` user cache dir)."""
    return Path(platformdirs.user_cache_dir(_APP_NAME))


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        while chunk := fh.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def _manifest() -> str:
    return "".join(f"{a.filename} {a.sha256}\n" for a in ARTIFACTS)


def _atomic_write(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


def _download(artifact: Artifact, libs: Path, repository: str) -> None:
    url = artifact.url(repository)
    target = libs / artifact.filename
    last_error: Exception | None = None
    for attempt in range(_DOWNLOAD_ATTEMPTS):
        if attempt:
            time.sleep(2**attempt)
        # A unique temporary name in the same directory: concurrent fetchers never see partial jars and
        # the final rename is atomic.
        tmp = libs / f".{artifact.filename}.{os.getpid()}.{uuid.uuid4().hex[:8]}.part"
        try:
            digest = hashlib.sha256()
            request = urllib.request.Request(url, headers={"User-Agent": f"{_APP_NAME}-devstack"})  # noqa: S310  pinned Maven URL, checked against its sha256
            with urllib.request.urlopen(request, timeout=60) as response, tmp.open("wb") as out:  # noqa: S310  same request
                while chunk := response.read(_CHUNK):
                    digest.update(chunk)
                    out.write(chunk)
            if digest.hexdigest() != artifact.sha256:
                raise KafkaNodeError(
                    f"SHA-256 mismatch for {url}: expected {artifact.sha256}, got {digest.hexdigest()}"
                )
            os.replace(tmp, target)
            return
        except KafkaNodeError:
            raise
        except OSError as exc:
            last_error = exc
        finally:
            tmp.unlink(missing_ok=True)
    raise KafkaNodeError(f"downloading {url} failed after {_DOWNLOAD_ATTEMPTS} attempts: {last_error}")


def ensure_jars(cache_dir: Path | None = None) -> Path:
    """Make sure the pinned broker jars are in the cache and return the ``libs`` directory.

    Missing or corrupt jars are downloaded in parallel from Maven Central (or ``ZENOPS_MAVEN_REPOSITORY``)
    and checked against their pinned SHA-256. Jars not in the pinned list are removed, so ``libs/*`` is
    exactly the broker's classpath. ``cache_dir`` defaults to :func:`default_cache_dir`.
    """
    libs = (cache_dir or default_cache_dir()) / "kafka" / KAFKA_VERSION / "libs"
    marker = libs / ".verified"
    manifest = _manifest()
    with contextlib.suppress(OSError):
        if marker.read_text(encoding="utf-8") == manifest and all(
            (libs / a.filename).is_file() for a in ARTIFACTS
        ):
            return libs

    libs.mkdir(parents=True, exist_ok=True)
    missing = [
        a for a in ARTIFACTS if not (libs / a.filename).is_file() or _sha256(libs / a.filename) != a.sha256
    ]
    repository = os.environ.get(MAVEN_REPOSITORY_ENV) or MAVEN_CENTRAL
    if missing:
        with concurrent.futures.ThreadPoolExecutor(max_workers=_DOWNLOAD_WORKERS) as pool:
            futures = [pool.submit(_download, a, libs, repository) for a in missing]
            for future in concurrent.futures.as_completed(futures):
                future.result()
    wanted = {a.filename for a in ARTIFACTS}
    for stray in libs.glob("*.jar"):
        if stray.name not in wanted:
            stray.unlink(missing_ok=True)
    _atomic_write(marker, manifest)
    return libs


# --------------------------------------------------------------------------------------------- node


@dataclass(frozen=True)
class _NodeInfo:
    port: int
    controller_port: int
    cluster_id: str
    kafka_version: str


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _new_cluster_id() -> str:
    """A KRaft cluster id: 16 random bytes in URL-safe base64 without padding, like Kafka's Uuid."""
    while True:
        cluster_id = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode("ascii").rstrip("=")
        # An id starting with "-" is read as an option by the storage tool's parser (Kafka's own
        # Uuid.randomUuid() rejects those too).
        if not cluster_id.startswith("-"):
            return cluster_id


def _port_open(port: int, timeout: float = 0.5) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=timeout):
            return True
    except OSError:
        return False


def _run_async(factory: Callable[[], Awaitable[_T]]) -> _T:
    """Run a coroutine to completion from sync code, even when the caller's thread has a running loop."""

    async def main() -> _T:
        return await factory()

    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, main()).result()


def _tail(path: Path, lines: int = _LOG_TAIL_LINES) -> str:
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return f"(no {path.name})"
    return "\n".join(text.splitlines()[-lines:]) or f"({path.name} is empty)"


class KafkaNode:
    """One single-node KRaft broker (broker and controller in one JVM) kept in a state directory.

    Ports and the cluster id are chosen on first use and stored in ``<state_dir>/kafka/node.json``, so a
    restart keeps both the address and the data. ``cache_dir`` is where the jars are cached (see
    :func:`ensure_jars`).
    """

    def __init__(self, state_dir: Path, *, cache_dir: Path | None = None) -> None:
        self.state_dir = Path(state_dir)
        self.cache_dir = cache_dir
        self.kafka_dir = self.state_dir / "kafka"
        self.data_dir = self.kafka_dir / "data"
        self.logs_dir = self.state_dir / "logs"
        self.node_file = self.kafka_dir / "node.json"
        self.pid_file = self.kafka_dir / "kafka.pid"
        self.server_properties = self.kafka_dir / "server.properties"
        self.log4j_config = self.kafka_dir / "log4j2.properties"
        self.stdout_log = self.logs_dir / "kafka.log"
        self.server_log = self.logs_dir / "kafka-server.log"
        self._proc: subprocess.Popen[bytes] | None = None

    # -- public API --------------------------------------------------------------------------------

    @property
    def bootstrap(self) -> str:
        """Bootstrap servers of this node, ``127.0.0.1:<port>`` (ports are chosen on first access)."""
        return f"127.0.0.1:{self._info().port}"

    @property
    def cluster_id(self) -> str:
        """The KRaft cluster id this node's data directory is formatted with."""
        return self._info().cluster_id

    def start(self, *, timeout: float = 60.0) -> str:
        """Start the broker if it is not running and return its bootstrap servers.

        Idempotent: a running broker (pid alive and port answering) is left alone. Otherwise the jars are
        fetched if needed, the data directory is formatted if it never was, the JVM is started detached
        and the call waits until the broker answers a metadata request. ``timeout`` bounds that wait (not
        the download). Raises :class:`KafkaNodeError` with the tail of the logs on failure.
        """
        with self._lock():
            info = self._info()
            pid = self._read_pid()
            if pid is not None and self._is_our_process(pid):
                if _port_open(info.port):
                    return self.bootstrap
                # Alive but not listening: another launcher is still starting it, or it hangs.
                self._wait_ready(pid, info, time.monotonic() + timeout)
                return self.bootstrap
            self.pid_file.unlink(missing_ok=True)

            java = find_java()
            libs = ensure_jars(self.cache_dir)
            self.logs_dir.mkdir(parents=True, exist_ok=True)
            self._write_configs(info)
            if not (self.data_dir / "meta.properties").is_file():
                self._format(java, libs, info)
            pid = self._spawn(java, libs)
            try:
                self._wait_ready(pid, info, time.monotonic() + timeout)
            except BaseException:
                # Never leave a half-started broker holding the ports.
                self._terminate(pid, timeout=10.0)
                raise
            return self.bootstrap

    def stop(self, *, timeout: float = 20.0) -> None:
        """Stop the broker: SIGTERM to its process group, wait up to ``timeout`` seconds, then SIGKILL."""
        with self._lock():
            pid = self._read_pid()
            if pid is not None and self._is_our_process(pid):
                self._terminate(pid, timeout=timeout)
            self.pid_file.unlink(missing_ok=True)
            self._proc = None

    def is_running(self) -> bool:
        """Whether this node's broker process is alive and its client port accepts connections."""
        if not self.node_file.is_file():
            return False
        pid = self._read_pid()
        return pid is not None and self._is_our_process(pid) and _port_open(self._info().port)

    def pid(self) -> int | None:
        """The broker JVM's pid while it runs, else ``None`` (the supervisor's view of this node)."""
        pid = self._read_pid()
        return pid if pid is not None and self._is_our_process(pid) else None

    # -- state -------------------------------------------------------------------------------------

    @contextlib.contextmanager
    def _lock(self) -> Iterator[None]:
        # Serialises start/stop across processes (parallel test workers, a launcher and a fixture).
        self.kafka_dir.mkdir(parents=True, exist_ok=True)
        with (self.kafka_dir / ".lock").open("a") as fh:
            fcntl.flock(fh, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(fh, fcntl.LOCK_UN)

    def _info(self) -> _NodeInfo:
        try:
            raw: dict[str, Any] = json.loads(self.node_file.read_text(encoding="utf-8"))
            return _NodeInfo(
                port=int(raw["port"]),
                controller_port=int(raw["controller_port"]),
                cluster_id=str(raw["cluster_id"]),
                kafka_version=str(raw.get("kafka_version", KAFKA_VERSION)),
            )
        except FileNotFoundError:
            pass
        port = _free_port()
        controller_port = _free_port()
        while controller_port == port:
            controller_port = _free_port()
        cluster_id = _new_cluster_id()
        info = _NodeInfo(port, controller_port, cluster_id, KAFKA_VERSION)
        self.kafka_dir.mkdir(parents=True, exist_ok=True)
        _atomic_write(self.node_file, json.dumps(asdict(info), indent=2) + "\n")
        return info

    def _read_pid(self) -> int | None:
        try:
            return int(self.pid_file.read_text(encoding="utf-8").strip())
        except (OSError, ValueError):
            return None

    def _is_our_process(self, pid: int) -> bool:
        if self._proc is not None and self._proc.pid == pid:
            return self._proc.poll() is None
        # Reap it if it is our child from an earlier Popen we no longer track; a zombie looks alive.
        with contextlib.suppress(ChildProcessError, OSError):
            os.waitpid(pid, os.WNOHANG)
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        except PermissionError:
            pass
        proc = Path("/proc") / str(pid)
        if not proc.exists():
            return True  # no procfs: trust the pid file
        try:
            stat = (proc / "stat").read_text()
            if stat.rsplit(")", 1)[1].split()[0] == "Z":
                return False
            cmdline = (proc / "cmdline").read_bytes().split(b"\0")
        except OSError:
            return False
        # Guards against pid reuse: the process must be a broker started with this node's config.
        return b"kafka.Kafka" in cmdline and str(self.server_properties).encode() in cmdline

    # -- configuration -----------------------------------------------------------------------------

    def _write_configs(self, info: _NodeInfo) -> None:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        props = {
            "process.roles": "broker,controller",
            "node.id": "1",
            "controller.quorum.bootstrap.servers": f"127.0.0.1:{info.controller_port}",
            "listeners": f"PLAINTEXT://127.0.0.1:{info.port},CONTROLLER://127.0.0.1:{info.controller_port}",
            "advertised.listeners": f"PLAINTEXT://127.0.0.1:{info.port}",
            "controller.listener.names": "CONTROLLER",
            "inter.broker.listener.name": "PLAINTEXT",
            "listener.security.protocol.map": "PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT",
            "log.dirs": str(self.data_dir),
            "auto.create.topics.enable": "false",
            "num.partitions": "3",
            "default.replication.factor": "1",
            "min.insync.replicas": "1",
            "offsets.topic.replication.factor": "1",
            # Fewer internal partitions: the first consumer group and transaction start faster.
            "offsets.topic.num.partitions": "10",
            "transaction.state.log.replication.factor": "1",
            "transaction.state.log.min.isr": "1",
            "transaction.state.log.num.partitions": "10",
            "share.coordinator.state.topic.replication.factor": "1",
            "share.coordinator.state.topic.min.isr": "1",
            "group.initial.rebalance.delay.ms": "0",
            # Tests use short session timeouts to see consumer failures quickly.
            "group.min.session.timeout.ms": "1000",
            # The default 128 MiB buffer does not fit comfortably in the small heap.
            "log.cleaner.dedupe.buffer.size": "16777216",
            "num.network.threads": "2",
            "num.io.threads": "4",
            "num.recovery.threads.per.data.dir": "2",
            # Set deliberately, equal to every producer's max_request_size (shared.messaging.kafka).
            "message.max.bytes": str(MAX_MESSAGE_BYTES),
        }
        text = "".join(f"{key}={value}\n" for key, value in props.items())
        _atomic_write(self.server_properties, "# Generated by devstack.kafka; edits are lost.\n" + text)
        log4j = f"""\
# Generated by devstack.kafka; edits are lost.
status = warn
appender.file.type = File
appender.file.name = FILE
appender.file.fileName = {self.server_log}
appender.file.append = true
appender.file.layout.type = PatternLayout
appender.file.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = INFO
rootLogger.appenderRef.file.ref = FILE
"""
        _atomic_write(self.log4j_config, log4j)

    def _java_cmd(self, java: Path, libs: Path, *main: str) -> list[str]:
        return [
            str(java),
            *_JVM_OPTS,
            "-cp",
            f"{libs}{os.sep}*",
            f"-Dlog4j2.configurationFile={self.log4j_config}",
            *main,
        ]

    def _format(self, java: Path, libs: Path, info: _NodeInfo) -> None:
        cmd = [
            *self._java_cmd(java, libs, "kafka.tools.StorageTool", "format", "--standalone"),
            "-t",
            info.cluster_id,
            "-c",
            str(self.server_properties),
        ]
        try:
            result = subprocess.run(cmd, capture_output=True, text=True, timeout=120, check=False)  # noqa: S603  java argv built here, no shell
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise KafkaNodeError(f"formatting {self.data_dir} failed: {exc}") from exc
        if result.returncode != 0:
            raise KafkaNodeError(
                f"formatting {self.data_dir} failed (exit {result.returncode}):\n"
                f"{result.stdout[-2000:]}\n{result.stderr[-2000:]}"
            )

    # -- process -----------------------------------------------------------------------------------

    def _spawn(self, java: Path, libs: Path) -> int:
        cmd = self._java_cmd(java, libs, "kafka.Kafka", str(self.server_properties))
        with self.stdout_log.open("ab") as out:
            out.write(
                f"\n==== {time.strftime('%Y-%m-%d %H:%M:%S')} starting Kafka {KAFKA_VERSION}\n".encode()
            )
            out.flush()
            # A new session: the broker outlives this process and its terminal, and stop() can signal
            # the whole group.
            self._proc = subprocess.Popen(  # noqa: S603  java argv built here, no shell
                cmd,
                cwd=self.kafka_dir,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                close_fds=True,
            )
        _atomic_write(self.pid_file, f"{self._proc.pid}\n")
        return self._proc.pid

    def _failure(self, reason: str) -> KafkaNodeError:
        return KafkaNodeError(
            f"Kafka at {self.state_dir} {reason}.\n"
            f"--- {self.stdout_log} (tail) ---\n{_tail(self.stdout_log)}\n"
            f"--- {self.server_log} (tail) ---\n{_tail(self.server_log)}"
        )

    def _wait_ready(self, pid: int, info: _NodeInfo, deadline: float) -> None:
        bootstrap = f"127.0.0.1:{info.port}"
        while True:
            if not self._is_our_process(pid):
                raise self._failure(f"exited during start (pid {pid})")
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise self._failure(f"did not become ready in time (pid {pid} still running)")
            # The data-plane listener opens only once the broker is unfenced; a cheap TCP check first
            # keeps aiokafka from logging connection errors while the JVM boots.
            budget = min(remaining, 5.0)
            if _port_open(info.port) and _run_async(
                functools.partial(_probe_within, bootstrap, info.cluster_id, budget)
            ):
                return
            time.sleep(0.2)

    def _wait_exit(self, pid: int, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while self._is_our_process(pid):
            if time.monotonic() >= deadline:
                return False
            time.sleep(0.1)
        return True

    def _terminate(self, pid: int, *, timeout: float) -> None:
        for sig, wait in ((signal.SIGTERM, timeout), (signal.SIGKILL, 10.0)):
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(pid, sig)
            if self._wait_exit(pid, wait):
                return
        raise KafkaNodeError(f"Kafka (pid {pid}) did not exit after SIGKILL")


async def _probe_cluster(bootstrap: str, cluster_id: str) -> bool:
    """Whether ``bootstrap`` answers metadata with a broker, for the expected cluster id.

    Unbounded by itself: callers wrap it in a timeout.
    """
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=5000)
    try:
        await admin.start()
        meta = await admin.describe_cluster()
    except (KafkaError, OSError):
        return False
    finally:
        with contextlib.suppress(Exception):
            await admin.close()
    # A foreign broker that grabbed our port after a restart must not count as ready.
    return bool(meta.get("brokers")) and meta.get("cluster_id") in (None, cluster_id)


async def _probe_within(bootstrap: str, cluster_id: str, seconds: float) -> bool:
    try:
        async with asyncio.timeout(seconds):
            return await _probe_cluster(bootstrap, cluster_id)
    except TimeoutError:
        return False


# --------------------------------------------------------------------------------------------- API


def external_bootstrap() -> str | None:
    """The external cluster's bootstrap servers from ``ZENOPS_KAFKA_BOOTSTRAP``, or ``None`` if unset."""
    value = os.environ.get(BOOTSTRAP_ENV, "").strip()
    return value or None


def resolve_bootstrap(
    state_dir: Path, *, cache_dir: Path | None = None, start: bool = True, timeout: float = 60.0
) -> str:
    """Bootstrap servers to use: ``ZENOPS_KAFKA_BOOTSTRAP`` if set, else the embedded node of ``state_dir``.

    With ``start`` (the default) the embedded node is started if needed; without it only its address is
    returned.
    """
    external = external_bootstrap()
    if external is not None:
        return external
    node = KafkaNode(state_dir, cache_dir=cache_dir)
    return node.start(timeout=timeout) if start else node.bootstrap


async def ensure_topics(
    bootstrap: str,
    topics: Sequence[str],
    *,
    partitions: int = 3,
    compacted: Collection[str] = (),
) -> None:
    """Create every topic and its ``<topic>.dlq`` (replication factor 1), ignoring those that exist.

    Topics named in ``compacted`` get ``cleanup.policy=compact``; dead-letter topics keep the default
    delete policy so that every failed message is retained, unless named in ``compacted`` themselves.
    Returns once every partition of every topic has a leader (bounded, 30 s).
    """
    wanted: dict[str, None] = {}
    for topic in topics:
        wanted[topic] = None
        if not topic.endswith(DLQ_SUFFIX):
            wanted[topic + DLQ_SUFFIX] = None
    if not wanted:
        return
    compacted_set = set(compacted)
    new_topics = [
        NewTopic(
            name,
            num_partitions=partitions,
            replication_factor=1,
            topic_configs={"cleanup.policy": "compact"} if name in compacted_set else {},
        )
        for name in wanted
    ]
    deadline = time.monotonic() + _TOPIC_TIMEOUT
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=int(_TOPIC_TIMEOUT * 1000))
    await admin.start()
    try:
        response = await admin.create_topics(new_topics, timeout_ms=int(_TOPIC_TIMEOUT * 1000))
        failures = [
            f"{name}: error {code} {rest[0] if rest else ''}".rstrip()
            for name, code, *rest in response.topic_errors
            if code not in (0, TopicAlreadyExistsError.errno)
        ]
        if failures:
            raise KafkaNodeError("creating topics failed: " + "; ".join(failures))
        await _wait_for_leaders(admin, list(wanted), deadline)
    finally:
        await admin.close()


async def _wait_for_leaders(admin: AIOKafkaAdminClient, names: list[str], deadline: float) -> None:
    # Creation returns before leaders are visible in metadata; producers would see transient errors.
    while True:
        described = await admin.describe_topics(names)
        pending = [
            str(t["topic"])
            for t in described
            if t["error_code"] != 0
            or not t["partitions"]
            or any(p["error_code"] != 0 or p["leader"] < 0 for p in t["partitions"])
        ]
        if not pending:
            return
        if time.monotonic() >= deadline:
            raise KafkaNodeError(f"topics without leaders after creation: {', '.join(sorted(pending))}")
        await asyncio.sleep(0.1)


# --------------------------------------------------------------------------------------------- CLI


def _main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m devstack.kafka", description=__doc__.split("\n")[0])
    parser.add_argument("--cache-dir", type=Path, default=None, help="jar cache (default: user cache dir)")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("fetch", help="download and verify the pinned broker jars")
    for name in ("start", "stop", "status"):
        cmd = sub.add_parser(name, help=f"{name} the embedded broker of a state directory")
        cmd.add_argument("--state-dir", type=Path, required=True)
    args = parser.parse_args(argv)

    began = time.monotonic()
    try:
        if args.command == "fetch":
            libs = ensure_jars(args.cache_dir)
            print(
                f"{len(ARTIFACTS)} jars for Kafka {KAFKA_VERSION} in {libs} ({time.monotonic() - began:.1f}s)"
            )
            return 0
        node = KafkaNode(args.state_dir, cache_dir=args.cache_dir)
        if args.command == "start":
            print(f"Kafka ready at {node.start()} ({time.monotonic() - began:.1f}s)")
        elif args.command == "stop":
            node.stop()
            print("Kafka stopped")
        else:
            running = node.is_running()
            print(f"Kafka at {node.bootstrap}: {'running' if running else 'stopped'}")
            return 0 if running else 1
    except (KafkaNodeError, JavaNotFoundError) as exc:
        print(str(exc), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(_main())
