"""Issue 18 item 5: the system figures of ``make bench`` (beside the spine figures of :mod:`bench.run`).

* ``rss``          - (e) resident memory of the stack's Python processes and of its JVMs, separately
  (psutil over each launcher process and its children), at idle and after the load;
* ``credits``      - (c) billing ``reserve`` + ``consume`` pairs per second (service token, straight to
  the billing HTTP service, ``credits_clients`` closed-loop clients), set against ``pgbench -N``;
* ``lifecycle``    - (b) the whole lifecycle through the gateway (create → contract → evidence + OCR →
  DATA_PENDING → READY_FOR_RENDER → DOCX → release request answered by the gate) as work orders per
  second, closed loop at increasing concurrency; the knee is the last level that still added ≥ 10 %;
* ``release_gate`` - (a) the release-gate round trip at a fixed open-loop rate: ``POST
  …/release-deliverables?wait=`` at the gateway → the 201 that carries billing's stored outcome, on the
  work orders the lifecycle produced (POSTPAID, unpaid: every request is a real gate check, answered
  BLOCKED, and the work order may be released again).

See ``bench/README.md`` for the targets and how to read them.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import httpx
import psutil

from bench.datasize import DataSizes, bench_data_size, data_size_rows
from devstack import catalog
from devstack.catalog import PROCESS_MODES
from devstack.launcher import StackInfo, stack_status
from devstack.testing import flows
from devstack.testing.data import SBI_WORK_ORDER, TEST_TENANT, dev_login_body


@dataclass(frozen=True)
class SystemConfig:
    """Knobs of the system figures (defaults: a few minutes on a loaded 2-core box)."""

    credits_clients: int = 8
    credits_seconds: float = 10.0
    lifecycle_levels: tuple[int, ...] = (1, 2, 4)
    lifecycle_per_level: int = 2
    gate_rate: float = 20.0
    gate_seconds: float = 10.0
    gate_wait_ms: int = 30_000
    data: DataSizes = field(default_factory=DataSizes)
    #: how long the stack's CPU is watched at idle (item 3: RSS and CPU at idle and under load)
    cpu_idle_seconds: float = 5.0


def _summary(samples_s: Sequence[float]) -> dict[str, float | int]:
    from bench.run import _latency_summary

    return _latency_summary(samples_s)


# ------------------------------------------------------------------------------------------------ (e) RSS


def _kind(proc: psutil.Process) -> str:
    try:
        name = proc.name().lower()
        exe = " ".join(proc.cmdline()[:1]).lower()
    except (psutil.NoSuchProcess, psutil.AccessDenied):
        return "gone"
    if "java" in name or exe.endswith("java"):
        return "jvm"
    if "python" in name or "python" in exe:
        return "python"
    if "postgres" in name:
        return "postgres"
    return "other"


def _tree(root: psutil.Process, components: set[int]) -> list[psutil.Process]:
    """``root`` and its descendants, without the subtrees of other launcher components (the supervisor
    is the parent of the services it restarts: they are counted under their own names)."""
    found = [root]
    try:
        children = root.children()
    except psutil.NoSuchProcess:
        return found
    for child in children:
        if child.pid not in components:
            found += _tree(child, components)
    return found


def _component_processes(info: StackInfo) -> list[tuple[str, str, psutil.Process]]:
    """(launcher component, kind, process) for every process of every component's tree."""
    rows = [row for row in stack_status(info.state_dir) if row.pid is not None]
    components = {int(row.pid) for row in rows if row.pid is not None}
    found: list[tuple[str, str, psutil.Process]] = []
    for row in rows:
        try:
            tree = _tree(psutil.Process(row.pid), components)
        except psutil.NoSuchProcess:
            continue
        for proc in tree:
            kind = _kind(proc)
            if kind != "gone":
                found.append((row.name, kind, proc))
    return found


def _platform_names() -> set[str]:
    """The platform's own processes (each service: one process, or two when split; the gateway, the
    console), apart from the dev stack's tooling (supervisor, provider simulator, embedded Postgres's
    wrapper), which a deployment does not run."""
    return {name for spec in catalog.SERVICES for m in PROCESS_MODES for name in spec.components(m)}


def _split_python(python: dict[str, Any], unit: str) -> None:
    platform = _platform_names()
    procs = python["processes"]
    python[f"platform_{unit}"] = round(sum(v for k, v in procs.items() if k in platform), 1)
    python[f"tooling_{unit}"] = round(sum(v for k, v in procs.items() if k not in platform), 1)


def stack_rss(info: StackInfo) -> dict[str, Any]:
    """RSS in MB of every launcher component's process tree, summed per kind (python, jvm, postgres)."""
    per_kind: dict[str, dict[str, float]] = {"python": {}, "jvm": {}, "postgres": {}, "other": {}}
    for name, kind, proc in _component_processes(info):
        try:
            rss = proc.memory_info().rss / 2**20
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            continue
        bucket = per_kind[kind]
        bucket[name] = round(bucket.get(name, 0.0) + rss, 1)
    result: dict[str, Any] = {
        kind: {"total_mb": round(sum(procs.values()), 1), "processes": procs}
        for kind, procs in per_kind.items()
        if procs
    }
    if "python" in result:
        _split_python(result["python"], "mb")
    return result


#: CPU seconds (user + system) so far of each process: (component, kind, pid) → seconds
CpuSnapshot = dict[tuple[str, str, int], float]


def cpu_snapshot(info: StackInfo) -> CpuSnapshot:
    """The CPU time each process of the stack has used so far (read again later: :func:`cpu_usage`)."""
    snapshot: CpuSnapshot = {}
    for name, kind, proc in _component_processes(info):
        try:
            times = proc.cpu_times()
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            continue
        snapshot[(name, kind, proc.pid)] = times.user + times.system
    return snapshot


def cpu_usage(before: CpuSnapshot, after: CpuSnapshot, wall_s: float) -> dict[str, Any]:
    """Mean CPU between two snapshots in % of one core, per kind and component (a process started in
    between, a restarted service or a CPU pool's worker, counts from zero; one that ended is lost)."""
    per_kind: dict[str, dict[str, float]] = {"python": {}, "jvm": {}, "postgres": {}, "other": {}}
    for (name, kind, pid), seconds in after.items():
        used = max(0.0, seconds - before.get((name, kind, pid), 0.0))
        bucket = per_kind[kind]
        bucket[name] = bucket.get(name, 0.0) + used
    result: dict[str, Any] = {"wall_s": round(wall_s, 1)}
    for kind, procs in per_kind.items():
        if procs:
            pct = {name: round(100 * used / wall_s, 1) for name, used in procs.items()}
            result[kind] = {"total_pct": round(sum(pct.values()), 1), "processes": pct}
    if "python" in result:
        _split_python(result["python"], "pct")
    return result


# -------------------------------------------------------------------------------------------- (c) credits


async def bench_credits(info: StackInfo, cfg: SystemConfig) -> dict[str, Any]:
    """``credits_clients`` loops of reserve → consume for ``credits_seconds``, each on its own CREDIT
    account (as V1's partners are: one account's holds serialise on its balance row, which would measure
    that lock instead of billing)."""
    studio_headers = {"authorization": f"Bearer {info.secrets.studio_admin_token}"}
    accounts: list[str] = []
    async with httpx.AsyncClient(base_url=info.urls["gateway"], headers=studio_headers, timeout=60) as studio:
        for _ in range(cfg.credits_clients):
            key = f"v2:external:bench-{uuid.uuid4().hex[:12]}"
            account = await flows.credit_account(
                studio,
                tenant_id=TEST_TENANT,
                external_key=key,
                display_name="bench credits",
                credits=1_000_000,
                grant_key_prefix="bench:grant:",
            )
            accounts.append(account)
    pairs: list[float] = []
    failures: list[str] = []
    limits = httpx.Limits(max_connections=cfg.credits_clients * 2)
    headers = {"x-service-token": info.secrets.service_token}
    async with httpx.AsyncClient(
        base_url=info.urls["billing"], headers=headers, timeout=60, limits=limits
    ) as billing:
        stop_at = time.perf_counter() + cfg.credits_seconds

        async def client(n: int) -> None:
            account, i = accounts[n], 0
            while time.perf_counter() < stop_at:
                i += 1
                ref = f"bench-{n}-{i}-{uuid.uuid4().hex[:8]}"
                t0 = time.perf_counter()
                held = await billing.post(
                    "/v1/billing/credits/reserve",
                    json={
                        "account_id": account,
                        "amount": 1,
                        "ref_type": "bench",
                        "ref_id": ref,
                        "idempotency_key": f"r:{ref}",
                    },
                )
                if held.status_code != 201:
                    failures.append(f"reserve {held.status_code}: {held.text[:200]}")
                    continue
                used = await billing.post(
                    "/v1/billing/credits/consume",
                    json={
                        "account_id": account,
                        "reservation_id": held.json()["id"],
                        "idempotency_key": f"c:{ref}",
                    },
                )
                if used.status_code != 201:
                    failures.append(f"consume {used.status_code}: {used.text[:200]}")
                    continue
                pairs.append(time.perf_counter() - t0)

        started = time.perf_counter()
        await asyncio.gather(*(client(n) for n in range(cfg.credits_clients)))
        elapsed = time.perf_counter() - started
    return {
        "clients": cfg.credits_clients,
        "accounts": len(accounts),
        "seconds": round(elapsed, 2),
        "pairs": len(pairs),
        "pairs_per_s": round(len(pairs) / elapsed, 1),
        "pair": _summary(pairs),
        "failures": len(failures),
        "failure_samples": failures[:3],
    }


# ------------------------------------------------------------------------------------------ (b) lifecycle


class _Quiet:
    """The demo flow's step reporter, silenced (the bench prints its own table)."""

    def step(self, message: str) -> None:
        del message

    def note(self, message: str) -> None:
        del message


async def _operator(info: StackInfo) -> httpx.AsyncClient:
    """A gateway client logged in as a fresh factory operator of the test tenant (the gateway's rate limit
    is per subject: one user per lifecycle keeps it out of the figure)."""
    client = httpx.AsyncClient(base_url=info.urls["gateway"], timeout=120)
    await flows.dev_login(client, dev_login_body("super_admin", "repogen_factory", user_id=str(uuid.uuid4())))
    return client


async def _release(client: httpx.AsyncClient, wo: str, wait_ms: int) -> tuple[int, dict[str, Any]]:
    resp = await client.post(
        f"/v1/repogen/work-orders/{wo}/release-deliverables",
        json={"idempotency_key": f"bench:release:{uuid.uuid4().hex}"},
        params={"wait": wait_ms},
    )
    body: dict[str, Any] = (
        resp.json() if resp.headers.get("content-type", "").startswith("application/json") else {}
    )
    return resp.status_code, body


async def _one_lifecycle(info: StackInfo, cfg: SystemConfig) -> str:
    from scripts.demo.flow import produce

    client = await _operator(info)
    try:
        made = await produce(client, _Quiet(), SBI_WORK_ORDER, within_s=300)
        status, body = await _release(client, made.work_order_id, cfg.gate_wait_ms)
        if status != 201:
            raise flows.FlowError(f"release of {made.work_order_id} answered {status}: {body}")
        return made.work_order_id
    finally:
        await client.aclose()


def knee(levels: Sequence[dict[str, Any]], gain: float = 1.10) -> int | None:
    """The concurrency after which more concurrency stopped adding ``gain`` (10 %) throughput."""
    best: dict[str, Any] | None = None
    for level in levels:
        if best is not None and level["wo_per_s"] < best["wo_per_s"] * gain:
            return int(best["concurrency"])
        best = level
    return int(best["concurrency"]) if best is not None else None


async def bench_lifecycle(info: StackInfo, cfg: SystemConfig) -> tuple[dict[str, Any], list[str]]:
    """Closed loop at each concurrency level; returns the figure and the work orders it produced."""
    produced: list[str] = []
    levels: list[dict[str, Any]] = []
    failures: list[str] = []
    for concurrency in cfg.lifecycle_levels:
        total = concurrency * cfg.lifecycle_per_level
        todo = iter(range(total))
        durations: list[float] = []

        async def worker(todo: Iterator[int], durations: list[float]) -> None:
            for _ in todo:
                t0 = time.perf_counter()
                try:
                    produced.append(await _one_lifecycle(info, cfg))
                    durations.append(time.perf_counter() - t0)
                except (flows.FlowError, httpx.HTTPError, TimeoutError) as exc:
                    failures.append(f"{type(exc).__name__}: {str(exc)[:200]}")

        started = time.perf_counter()
        await asyncio.gather(*(worker(todo, durations) for _ in range(concurrency)))
        elapsed = time.perf_counter() - started
        levels.append(
            {
                "concurrency": concurrency,
                "work_orders": len(durations),
                "seconds": round(elapsed, 1),
                "wo_per_s": round(len(durations) / elapsed, 3),
                "lifecycle": _summary(durations),
            }
        )
    best = max(levels, key=lambda lv: lv["wo_per_s"])
    return {
        "levels": levels,
        "saturation_wo_per_s": best["wo_per_s"],
        "knee_concurrency": knee(levels),
        "failures": len(failures),
        "failure_samples": failures[:3],
    }, produced


# ---------------------------------------------------------------------------------------- (a) gate


async def bench_release_gate(
    info: StackInfo, cfg: SystemConfig, work_orders: Sequence[str]
) -> dict[str, Any]:
    """Release requests at ``gate_rate``/s for ``gate_seconds`` (open loop), each on an idle work order of
    ``work_orders`` (a work order with a pending release refuses another); latency = POST → 201 with the
    gate's stored outcome. A request that found no idle work order waited for one: counted and timed."""
    if not work_orders:
        return {"skipped": "no rendered work orders (the lifecycle figure produced none)"}
    idle: asyncio.Queue[str] = asyncio.Queue()
    for wo in work_orders:
        idle.put_nowait(wo)
    latencies: list[float] = []
    pool_waits: list[float] = []
    outcomes: dict[str, int] = {}
    failures: list[str] = []
    clients = [await _operator(info) for _ in range(max(1, int(cfg.gate_rate // 8) + 1))]

    async def one(i: int) -> None:
        t_due = time.perf_counter()
        wo = await idle.get()
        t0 = time.perf_counter()
        if t0 - t_due > 0.001:
            pool_waits.append(t0 - t_due)
        try:
            status, body = await _release(clients[i % len(clients)], wo, cfg.gate_wait_ms)
            if status == 201:
                latencies.append(time.perf_counter() - t0)
                result = str((body.get("release") or {}).get("billing_gate_result"))
                outcomes[result] = outcomes.get(result, 0) + 1
            else:
                failures.append(f"{status}: {str(body)[:200]}")
        except httpx.HTTPError as exc:
            failures.append(f"{type(exc).__name__}: {exc}")
        finally:
            idle.put_nowait(wo)

    try:
        total = int(cfg.gate_rate * cfg.gate_seconds)
        loop = asyncio.get_running_loop()
        start = loop.time()
        tasks: list[asyncio.Task[None]] = []
        for i in range(total):
            delay = start + i / cfg.gate_rate - loop.time()
            if delay > 0:
                await asyncio.sleep(delay)
            tasks.append(asyncio.create_task(one(i)))
        offered_s = loop.time() - start
        await asyncio.gather(*tasks)
    finally:
        for client in clients:
            await client.aclose()
    return {
        "rate_per_s": cfg.gate_rate,
        "seconds": cfg.gate_seconds,
        "requests": total,
        "achieved_rate_per_s": round(total / offered_s, 2) if offered_s > 0 else None,
        "work_orders": len(work_orders),
        "round_trip": _summary(latencies),
        "outcomes": outcomes,
        "waited_for_idle_work_order": len(pool_waits),
        "pool_wait": _summary(pool_waits),
        "failures": len(failures),
        "failure_samples": failures[:3],
        "tenant": TEST_TENANT,
    }


# ------------------------------------------------------------------------------------------ orchestration

#: the figures of this module, in the order a run measures them (``--figures`` selects among these and
#: the spine figures of :mod:`bench.run`)
SYSTEM_FIGURES = ("rss", "credits", "lifecycle", "gate", "datasize")

#: issue 18's targets, printed beside each figure
TARGETS = {
    "release_gate_p99_ms": 100.0,
    "release_gate_rate_per_s": 20.0,
    "lifecycle_wo_per_s": 10.0,
    "credits_vs_pgbench": 0.3,
    "python_rss_idle_mb": 700.0,
}


def tracing_sampling(info: StackInfo) -> dict[str, Any]:
    """What the services trace during the run: the exporter mode of the stack and the sampler's ratio
    (every request's root span is sampled, ``ParentBased(QuietRoots)``; ``off`` records none of them)."""
    mode = info.tracing.mode
    if mode == "off":
        # no exporter: every span is dropped (non-recording; ids kept for logs and messages)
        return {"mode": mode, "sampler": "DropAll(tracing off)", "ratio": 0.0, "exported": False}
    return {"mode": mode, "sampler": "ParentBased(QuietRoots)", "ratio": 1.0, "exported": True}


def run_system(info: StackInfo, cfg: SystemConfig, figures: Sequence[str]) -> dict[str, Any]:
    """The selected system figures (each its own event loop, like the spine figures)."""
    result: dict[str, Any] = {"tracing": tracing_sampling(info)}
    if "rss" in figures:
        result["rss_idle"] = stack_rss(info)
        before, started = cpu_snapshot(info), time.monotonic()
        time.sleep(cfg.cpu_idle_seconds)
        result["cpu_idle"] = cpu_usage(before, cpu_snapshot(info), time.monotonic() - started)
    # CPU under load is watched only with the RSS figure and some load to watch
    watch_load = "rss" in figures and bool({"credits", "lifecycle", "gate", "datasize"} & set(figures))
    load_before, load_started = (cpu_snapshot(info), time.monotonic()) if watch_load else ({}, 0.0)
    if "credits" in figures:
        result["credits"] = asyncio.run(bench_credits(info, cfg))
    produced: list[str] = []
    if {"lifecycle", "gate", "datasize"} & set(figures):
        levels = cfg.lifecycle_levels if "lifecycle" in figures else (max(cfg.lifecycle_levels),)
        lifecycle, produced = asyncio.run(bench_lifecycle(info, replace(cfg, lifecycle_levels=levels)))
        if "lifecycle" in figures:
            result["lifecycle"] = lifecycle
    if "gate" in figures:
        result["release_gate"] = asyncio.run(bench_release_gate(info, cfg, produced))
    if "datasize" in figures:
        result["data_size"] = asyncio.run(bench_data_size(info, cfg.data, produced))
    if watch_load:
        result["cpu_under_load"] = cpu_usage(load_before, cpu_snapshot(info), time.monotonic() - load_started)
    if "rss" in figures:
        result["rss_after_load"] = stack_rss(info)
    return result


def system_rows(result: dict[str, Any], pgbench_tps: float | None) -> list[tuple[str, str, str]]:
    """Table rows: figure, value, target (with the ratio where the target is one)."""
    rows: list[tuple[str, str, str]] = []
    gate = result.get("release_gate")
    if gate and "round_trip" in gate:
        rt = gate["round_trip"]
        rows.append(
            (
                f"release gate round trip @ {gate['rate_per_s']:g}/s ({gate['work_orders']} WOs)",
                f"p50 {rt['p50_ms']:.0f} / p99 {rt['p99_ms']:.0f} ms",
                f"target p99 ≤ {TARGETS['release_gate_p99_ms']:.0f} ms @ {TARGETS['release_gate_rate_per_s']:g}/s",
            )
        )
    life = result.get("lifecycle")
    if life:
        rows.append(
            (
                f"whole lifecycle, levels {[lv['concurrency'] for lv in life['levels']]}",
                f"{life['saturation_wo_per_s']:.2f} WO/s",
                f"knee at {life['knee_concurrency']}; target ≥ {TARGETS['lifecycle_wo_per_s']:g} WO/s",
            )
        )
    credits = result.get("credits")
    if credits:
        ratio = credits["pairs_per_s"] / pgbench_tps if pgbench_tps else None
        rows.append(
            (
                f"billing reserve+consume ({credits['clients']} clients)",
                f"{credits['pairs_per_s']:,.1f} pairs/s",
                (f"{ratio:.3f} × pgbench; " if ratio is not None else "")
                + f"target ≥ {TARGETS['credits_vs_pgbench']:g} ×",
            )
        )
    if result.get("data_size"):
        rows += data_size_rows(result["data_size"])
    for key, label in (("rss_idle", "at idle"), ("rss_after_load", "after the load")):
        rss = result.get(key)
        if rss:
            jvm = rss.get("jvm", {}).get("total_mb", 0.0)
            python = rss["python"]
            rows.append(
                (
                    f"RSS {label}: Python processes (JVMs beside)",
                    f"{python['total_mb']:,.0f} MB",
                    f"platform {python.get('platform_mb', 0.0):,.0f} MB + dev tooling "
                    f"{python.get('tooling_mb', 0.0):,.0f} MB; JVMs {jvm:,.0f} MB; "
                    f"target Python ≤ {TARGETS['python_rss_idle_mb']:.0f} MB at idle",
                )
            )
    for key, label in (("cpu_idle", "at idle"), ("cpu_under_load", "under the system load")):
        cpu = result.get(key)
        if cpu and "python" in cpu:
            python = cpu["python"]
            rows.append(
                (
                    f"CPU {label} ({cpu['wall_s']:g} s), % of one core",
                    f"Python {python['total_pct']:.0f} %",
                    f"platform {python.get('platform_pct', 0.0):.0f} % + dev tooling "
                    f"{python.get('tooling_pct', 0.0):.0f} %; JVMs {cpu.get('jvm', {}).get('total_pct', 0.0):.0f} %; "
                    f"Postgres {cpu.get('postgres', {}).get('total_pct', 0.0):.0f} %",
                )
            )
    return rows
