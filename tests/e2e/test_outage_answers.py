"""Issue 19, answers a client can act on, through the gateway on the real stack.

* Postgres away: every service answers 503 ``SERVICE_UNAVAILABLE`` with ``Retry-After`` and the usual
  ``{code, message, details}`` (no traceback, none logged), and answers again once Postgres is back; the
  stream processes ride it out without a restart.
* Work-order events delayed (the workorders stream away, so its outbox is not relayed): linking evidence
  to a work order just created answers 503 ``NOT_YET_CONSISTENT`` with ``Retry-After``, never a 404 that
  would make the client give up; once the stream is back the same request (same idempotency key)
  succeeds.
* The evidence consumer behind on the work order's partition: a client without any token gets the 503
  too (the broker says the consumer has not read everything that could carry the work order).

Every outage is undone in a ``finally`` (``restart_service`` puts the process back under supervision).
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path

import asyncpg
import httpx
import pytest

from devstack.launcher import (
    StackInfo,
    resolve_stack,
    restart_service,
    stack_status,
    stop_service,
    switch_process_mode,
)
from devstack.testing.data import WORK_ORDERS, exterior_photos
from devstack.testing.fixtures import make_token
from devstack.testing.gateway import new_work_order_id
from devstack.testing.polling import eventually

pytestmark = pytest.mark.stack

SERVICES = ("workorders", "evidence", "billing", "factory")


def _reads(wo: str) -> dict[str, str]:
    """One database-backed read of each service about ``wo``."""
    return {
        "workorders": f"{WORK_ORDERS}/{wo}",
        "evidence": f"{WORK_ORDERS}/{wo}/evidence",
        "billing": f"/v1/billing/work-orders/{wo}",
        "factory": f"{WORK_ORDERS}/{wo}/pack",
    }


class _LogTail:
    """What the services' HTTP logs gained since the test started."""

    def __init__(self, stack: StackInfo) -> None:
        # the service's one process (``<s>.log``), or its HTTP process when split (``<s>-http.log``)
        self.files = {s: stack.log_dir / f"{stack.components(s)[0]}.log" for s in SERVICES}
        self.sizes = {s: _size(p) for s, p in self.files.items()}

    def since(self, service: str) -> str:
        with self.files[service].open("rb") as f:
            f.seek(self.sizes[service])
            return f.read().decode("utf-8", "replace")


def _size(path: Path) -> int:
    return path.stat().st_size if path.exists() else 0


async def _around(
    stack: StackInfo, component: str, body: Callable[[], Awaitable[None]], *, restore: str | None = None
) -> None:
    """Run ``body`` while ``component`` is stopped (kept down), and always bring it back."""
    await asyncio.to_thread(stop_service, component, stack.state_dir)
    try:
        await body()
    finally:
        await asyncio.to_thread(restart_service, restore or component, stack.state_dir)


async def test_postgres_away_is_503_with_retry_after_and_no_traceback_then_recovery(
    stack: StackInfo, gateway: httpx.AsyncClient
) -> None:
    wo = await new_work_order_id(gateway)
    reads = _reads(wo)
    logs = _LogTail(stack)
    streams = _stream_pids(stack)
    answers: dict[str, httpx.Response] = {}

    async def while_away() -> None:
        for service, path in reads.items():
            answers[service] = await gateway.get(path, params={"wait": "0"})

    await _around(stack, "postgres", while_away)

    for service, answer in answers.items():
        assert answer.status_code == 503, f"{service}: {answer.status_code} {answer.text}"
        body = answer.json()
        assert set(body) == {"code", "message", "details"}, service
        assert body["code"] == "SERVICE_UNAVAILABLE", f"{service}: {body}"
        assert body["details"]["dependency"] == "database", service
        assert int(answer.headers["Retry-After"]) >= 1, service
        assert "Traceback" not in answer.text, service
        assert answer.headers["x-zenops-service"] == service
        logged = logs.since(service)
        assert "Traceback" not in logged, f"{service} logged a traceback:\n{logged[-3000:]}"
        assert "unhandled error" not in logged, service
        # the first failure is one line (shared.telemetry.outages folds the rest of the outage)
        assert "database unavailable" in logged or "dependency unavailable" in logged, service

    async def all_answer() -> bool:
        statuses = [(await gateway.get(path, params={"wait": "0"})).status_code for path in reads.values()]
        return all(s < 500 for s in statuses)

    assert await eventually(
        all_answer, "every service answering again after postgres came back", within_s=120
    )
    assert (await gateway.get(reads["workorders"])).status_code == 200
    # the stream processes rode the outage out (no supervisor restart, so no crash loop to fear)
    assert _stream_pids(stack) == streams


def _stream_pids(stack: StackInfo) -> dict[str, int | None]:
    """The pids of the processes running the stream apps (each service's one process by default)."""
    names = {resolve_stack(stack.state_dir).components(s)[-1] for s in SERVICES}
    return {row.name: row.pid for row in stack_status(stack.state_dir) if row.name in names}


async def _stream_away(stack: StackInfo, service: str, body: Callable[[], Awaitable[None]]) -> None:
    """Run ``body`` while ``service``'s stream app is down and its HTTP app serves: the service runs in
    the split process mode meanwhile (its stream process stopped), then in its former mode again."""
    mode = resolve_stack(stack.state_dir).process_mode(service)
    if mode != "split":
        await asyncio.to_thread(switch_process_mode, service, "split", stack.state_dir)
    try:
        await _around(stack, f"{service}-stream", body)
    finally:
        if mode != "split":
            await asyncio.to_thread(switch_process_mode, service, mode, stack.state_dir)


async def test_linking_evidence_while_work_order_events_wait_is_503_then_the_retry_succeeds(
    stack: StackInfo, gateway: httpx.AsyncClient
) -> None:
    key = str(uuid.uuid4())
    link = {"items": exterior_photos(1, prefix="outage")}
    first: dict[str, httpx.Response] = {}

    async def while_away() -> None:
        wo = await new_work_order_id(gateway)  # its `created` event stays in the workorders outbox
        first["wo"] = httpx.Response(200, text=wo)
        # the gateway attaches the client's token of the new work order (workorders:work-order:<wo>:1)
        first["link"] = await gateway.post(
            f"{WORK_ORDERS}/{wo}/evidence/link", json=link, headers={"Idempotency-Key": key}
        )

    await _stream_away(stack, "workorders", while_away)
    wo = first["wo"].text
    answer = first["link"]
    assert answer.status_code == 503, answer.text
    assert answer.json()["code"] == "NOT_YET_CONSISTENT"
    assert answer.json()["details"]["reason"] == "TOKEN_NOT_REACHED"
    assert answer.json()["details"]["id"] == wo
    assert int(answer.headers["Retry-After"]) >= 1

    async def linked() -> httpx.Response | None:
        retry = await gateway.post(
            f"{WORK_ORDERS}/{wo}/evidence/link", json=link, headers={"Idempotency-Key": key}
        )
        if retry.status_code == 503:
            assert retry.json()["code"] == "NOT_YET_CONSISTENT", retry.text
            return None
        return retry

    retried = await eventually(
        linked, "the evidence link to succeed once work-order events flow", within_s=120
    )
    assert retried.status_code == 201, retried.text
    assert len(retried.json()["evidence_items"]) == 1


async def test_a_consumer_behind_on_the_work_orders_partition_is_503_even_without_a_token(
    stack: StackInfo, gateway: httpx.AsyncClient, admin_db: asyncpg.Connection
) -> None:
    # a client of its own, straight to the evidence service: no gateway, no consistency tokens
    headers = {"authorization": f"Bearer {make_token(stack, user_id=str(uuid.uuid4()))}"}
    async with httpx.AsyncClient(base_url=stack.urls["evidence"], headers=headers, timeout=60) as direct:
        answers: dict[str, httpx.Response] = {}

        async def while_away() -> None:
            wo = await new_work_order_id(gateway)

            async def relayed() -> bool:
                published = await admin_db.fetchval(
                    "SELECT count(*) FROM workorders.outbox WHERE key = $1 AND published_at IS NOT NULL", wo
                )
                return bool(published)

            await eventually(relayed, "the created event on the broker", within_s=60)
            answers[wo] = await direct.get(f"{WORK_ORDERS}/{wo}/evidence")

        await _stream_away(stack, "evidence", while_away)
        ((wo, answer),) = answers.items()
        assert answer.status_code == 503, answer.text
        assert answer.json()["code"] == "NOT_YET_CONSISTENT"
        assert answer.json()["details"]["reason"] == "CONSUMER_BEHIND"
        assert int(answer.headers["Retry-After"]) >= 1

        async def seen() -> bool:
            return (await direct.get(f"{WORK_ORDERS}/{wo}/evidence")).status_code == 200

        assert await eventually(seen, "the evidence state once the consumer caught up", within_s=120)
        # caught up, an unknown work order is a plain 404 again
        unknown = await direct.get(f"{WORK_ORDERS}/{uuid.uuid4()}/evidence")
        assert (unknown.status_code, unknown.json()["code"]) == (404, "WORK_ORDER_NOT_FOUND")
