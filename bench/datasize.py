"""Issue 18 item 5 (d): cost against data size: the release-gate round trip and ``GET
/v1/repogen/work-orders`` with a small and with a large data set, loaded by a generator.

The generator writes straight into the services' real tables as the owner (the admin connection), one
``INSERT … SELECT … FROM generate_series`` each: work orders of the test tenant into
``workorders.work_orders`` and net-zero ledger entries (``adjustment`` +1 / -1, so every balance check
still adds up) of one generated account of the same tenant into ``billing.ledger_entries``. It tops the
tables up to each size (rows already there count), measures, then deletes what it generated.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import asyncpg
import httpx

from devstack.launcher import StackInfo
from devstack.testing.data import TEST_TENANT
from devstack.testing.gateway import create_account

#: marks the generated rows (work orders' bank name, ledger entries' ref_type) for the clean-up
GENERATED = "bench-generated"


@dataclass(frozen=True)
class DataSizes:
    """The two sizes compared, and how many requests measure each (closed loop, one at a time)."""

    small_ledger: int = 10_000
    small_work_orders: int = 10_000
    large_ledger: int = 1_000_000
    large_work_orders: int = 100_000
    requests: int = 30


async def _top_up(conn: asyncpg.Connection, account: str, ledger: int, work_orders: int) -> dict[str, Any]:
    t0 = time.perf_counter()
    have_wo = int(await conn.fetchval("SELECT count(*) FROM workorders.work_orders"))
    await conn.execute(
        """INSERT INTO workorders.work_orders (id, tenant_id, source_type, report_type, bank_name, bank_type,
               status, created_at, updated_at)
           SELECT gen_random_uuid(), $1::uuid, 'TENANT', 'VALUATION', $2, 'OTHER',
                  (ARRAY['DRAFT','EVIDENCE_PENDING','DATA_PENDING','CLOSED'])[1 + i % 4],
                  now() - i * interval '1 minute', now() - i * interval '1 minute'
           FROM generate_series(1, $3::int) AS i""",
        TEST_TENANT,
        GENERATED,
        max(0, work_orders - have_wo),
    )
    have_ledger = int(await conn.fetchval("SELECT count(*) FROM billing.ledger_entries"))
    await conn.execute(
        """INSERT INTO billing.ledger_entries (id, tenant_id, account_id, delta, reason, ref_type, ref_id,
               idempotency_key)
           SELECT gen_random_uuid(), $1::uuid, $2::uuid, CASE WHEN i % 2 = 0 THEN 1 ELSE -1 END,
                  'adjustment', $3, i::text, $3 || ':' || gen_random_uuid()
           FROM generate_series(1, $4::int) AS i""",
        TEST_TENANT,
        account,
        GENERATED,
        # an even count keeps the generated rows' sum at zero
        2 * (max(0, ledger - have_ledger) // 2),
    )
    await conn.execute("ANALYZE workorders.work_orders")
    await conn.execute("ANALYZE billing.ledger_entries")
    return {
        "work_orders": int(await conn.fetchval("SELECT count(*) FROM workorders.work_orders")),
        "ledger_entries": int(await conn.fetchval("SELECT count(*) FROM billing.ledger_entries")),
        "load_seconds": round(time.perf_counter() - t0, 1),
    }


async def _timed(requests: int, call: Any) -> tuple[list[float], list[str]]:
    latencies: list[float] = []
    failures: list[str] = []
    for _ in range(requests):
        t0 = time.perf_counter()
        try:
            status = await call()
        except httpx.HTTPError as exc:
            failures.append(f"{type(exc).__name__}: {exc}")
            continue
        if status in (200, 201):
            latencies.append(time.perf_counter() - t0)
        else:
            failures.append(f"status {status}")
    return latencies, failures


async def _measure(info: StackInfo, sizes: DataSizes, work_orders: Sequence[str]) -> dict[str, Any]:
    from bench.system import _operator, _release, _summary

    client = await _operator(info)
    try:
        listed, list_failures = await _timed(
            sizes.requests,
            lambda: _status(client.get("/v1/repogen/work-orders", params={"limit": 50})),
        )
        rotation = iter(list(work_orders) * sizes.requests)

        async def gate() -> int:
            status, _ = await _release(client, next(rotation), 30_000)
            return status

        gated, gate_failures = await _timed(sizes.requests if work_orders else 0, gate)
    finally:
        await client.aclose()
    return {
        "list": _summary(listed),
        "gate": _summary(gated),
        "failures": len(list_failures) + len(gate_failures),
        "failure_samples": (list_failures + gate_failures)[:3],
    }


async def _status(request: Any) -> int:
    resp: httpx.Response = await request
    return resp.status_code


async def bench_data_size(info: StackInfo, sizes: DataSizes, work_orders: Sequence[str]) -> dict[str, Any]:
    """Gate and list latency at the small size, then at the large one; the ratios large / small."""
    studio_headers = {"authorization": f"Bearer {info.secrets.studio_admin_token}"}
    async with httpx.AsyncClient(base_url=info.urls["gateway"], headers=studio_headers, timeout=60) as studio:
        account = await create_account(
            studio,
            display_name="bench generated ledger",
            external_key=f"v2:external:gen-{uuid.uuid4().hex[:12]}",
        )
    conn = await asyncpg.connect(info.admin_dsn, command_timeout=1800)
    try:
        result: dict[str, Any] = {}
        for name, ledger, wos in (
            ("small", sizes.small_ledger, sizes.small_work_orders),
            ("large", sizes.large_ledger, sizes.large_work_orders),
        ):
            loaded = await _top_up(conn, account, ledger, wos)
            result[name] = {"rows": loaded, **await _measure(info, sizes, work_orders)}
        await conn.execute("DELETE FROM workorders.work_orders WHERE bank_name = $1", GENERATED)
        await conn.execute("DELETE FROM billing.ledger_entries WHERE ref_type = $1", GENERATED)
    finally:
        await conn.close()
    for what in ("list", "gate"):
        small, large = result["small"][what].get("p50_ms"), result["large"][what].get("p50_ms")
        ok = isinstance(small, float) and isinstance(large, float) and small > 0
        result[f"{what}_p50_large_vs_small"] = round(large / small, 2) if ok else None
    result["requests_per_size"] = sizes.requests
    return result


def data_size_rows(result: dict[str, Any]) -> list[tuple[str, str, str]]:
    """Table rows: list and gate latency at both sizes with their ratio beside the 1.2 target."""
    rows: list[tuple[str, str, str]] = []
    small, large = result["small"], result["large"]
    for what, label in (("list", "GET work-orders list"), ("gate", "release gate (closed loop)")):
        ratio = result.get(f"{what}_p50_large_vs_small")
        rows.append(
            (
                f"{label}: {small['rows']['work_orders']:,} → {large['rows']['work_orders']:,} WOs, "
                f"{small['rows']['ledger_entries']:,} → {large['rows']['ledger_entries']:,} ledger",
                f"p50 {small[what]['p50_ms']} → {large[what]['p50_ms']} ms",
                (f"×{ratio}; " if ratio is not None else "") + "target ≤ ×1.2",
            )
        )
    return rows
