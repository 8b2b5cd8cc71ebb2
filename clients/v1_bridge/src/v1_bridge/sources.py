"""Where account statuses come from: V2's HTTP routes, or the compacted ``billing.account-status.v1``.

Both raise :class:`~v1_bridge.status.StatusUnavailable` on any failure; the
:class:`~v1_bridge.status.StatusCache` in front of them turns that into the fail-open envelope.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import uuid
from typing import Any

import httpx
from aiokafka import AIOKafkaConsumer, TopicPartition
from pydantic import ValidationError

from v1_bridge.contracts import ACCOUNT_STATUS, BILLING_ACCOUNT_STATUS, AccountStatusEvent, Envelope
from v1_bridge.status import StatusUnavailable

log = logging.getLogger(__name__)


def _is_uuid(value: str) -> bool:
    try:
        uuid.UUID(value)
    except ValueError:
        return False
    return True


class HttpStatusSource:
    """``GET /v1/billing/accounts/<uuid>/status`` for an account id, else
    ``GET /v1/billing/accounts/status?external_key=<key>`` (§8.2), with ``x-service-token``."""

    def __init__(self, http: httpx.AsyncClient) -> None:
        self._http = http

    async def fetch(self, key: str) -> dict[str, Any]:
        if _is_uuid(key):
            request = self._http.get(f"/v1/billing/accounts/{key}/status")
        else:
            request = self._http.get("/v1/billing/accounts/status", params={"external_key": key})
        try:
            resp = await request
        except httpx.HTTPError as exc:
            raise StatusUnavailable(f"v2 unreachable: {type(exc).__name__}: {exc}") from exc
        if resp.status_code >= 400:
            raise StatusUnavailable(f"v2 answered {resp.status_code}: {_error_code(resp)}")
        try:
            body = resp.json()
        except ValueError as exc:
            raise StatusUnavailable("v2 answered a body that is not JSON") from exc
        if not isinstance(body, dict):
            raise StatusUnavailable("v2 answered a status that is not an object")
        return body


def _error_code(resp: httpx.Response) -> str:
    with contextlib.suppress(ValueError, AttributeError):
        return str(resp.json().get("code") or "")
    return ""


class TopicStatusSource:
    """The statuses of every account, read from the compacted ``billing.account-status.v1`` topic.

    A background task reads the topic from its beginning (no consumer group, nothing committed) and
    keeps the last status per external key and per account id. Until it has read up to the end
    offsets it found at start, lookups raise (the cache then falls back), so a fresh process never
    answers a half-read state as the truth. Use as ``async with TopicStatusSource(bootstrap):``.
    """

    def __init__(
        self, bootstrap: str, *, topic: str = BILLING_ACCOUNT_STATUS, client_id: str = "v1-bridge"
    ) -> None:
        self._bootstrap = bootstrap
        self._topic = topic
        self._client_id = client_id
        self._by_key: dict[str, dict[str, Any]] = {}
        self._caught_up = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._consumer: AIOKafkaConsumer | None = None

    @property
    def caught_up(self) -> bool:
        """Whether the topic was read up to the end offsets seen at start."""
        return self._caught_up.is_set()

    async def start(self) -> None:
        consumer = AIOKafkaConsumer(
            bootstrap_servers=self._bootstrap,
            client_id=self._client_id,
            group_id=None,
            enable_auto_commit=False,
            auto_offset_reset="earliest",
        )
        await consumer.start()
        self._consumer = consumer
        self._task = asyncio.create_task(self._follow(consumer), name="v1-bridge-account-status")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task
        if self._consumer is not None:
            await self._consumer.stop()

    async def __aenter__(self) -> TopicStatusSource:
        await self.start()
        return self

    async def __aexit__(self, *_exc: object) -> None:
        await self.stop()

    async def wait_caught_up(self, timeout_s: float = 30.0) -> bool:
        """Wait until the initial read is done (or ``timeout_s`` passes); whether it is."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._caught_up.wait(), timeout_s)
        return self.caught_up

    async def _follow(self, consumer: AIOKafkaConsumer) -> None:
        """Read the topic for as long as the source runs; a failure is logged and the read starts over
        after a pause (lookups fail open meanwhile)."""
        while True:
            try:
                await self._run(consumer)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning(
                    "reading the account-status topic failed; retrying",
                    extra={"error": repr(exc)[:300]},
                    exc_info=True,
                )
                await asyncio.sleep(5.0)

    async def _run(self, consumer: AIOKafkaConsumer) -> None:
        # Without a group every partition of the topic is assigned; with nothing committed the read
        # starts at the earliest offset (auto_offset_reset).
        consumer.subscribe(topics=[self._topic])
        targets: dict[TopicPartition, int] | None = None
        while True:
            batches = await consumer.getmany(timeout_ms=500)
            for records in batches.values():
                for record in records:
                    self.apply(record.value)
            if self._caught_up.is_set():
                continue
            assigned = sorted(consumer.assignment(), key=lambda tp: tp.partition)
            if not assigned:
                continue
            if targets is None:
                targets = await consumer.end_offsets(assigned)
            positions = {tp: await consumer.position(tp) for tp in assigned}
            if all(positions[tp] >= targets.get(tp, 0) for tp in assigned):
                self._caught_up.set()

    def apply(self, value: bytes | None) -> None:
        """Take one record of the topic into the table (unknown types and bad records are skipped)."""
        if not value:
            return
        try:
            envelope = Envelope.model_validate_json(value)
            if envelope.type != ACCOUNT_STATUS:
                return
            event = AccountStatusEvent.model_validate(envelope.payload)
        except (ValidationError, json.JSONDecodeError) as exc:
            log.warning("skipping an unreadable account-status record", extra={"error": repr(exc)[:300]})
            return
        view = event.status_view()
        self._by_key[event.external_key] = view
        self._by_key[event.account_id] = view

    def known(self, key: str) -> dict[str, Any] | None:
        """The last status read for an external key or account id (whether caught up or not)."""
        found = self._by_key.get(key)
        return dict(found) if found is not None else None

    async def fetch(self, key: str) -> dict[str, Any]:
        if not self._caught_up.is_set():
            raise StatusUnavailable("account-status topic not read to its end yet")
        found = self._by_key.get(key)
        if found is None:
            raise StatusUnavailable(f"no account {key} on {self._topic}")
        return dict(found)
