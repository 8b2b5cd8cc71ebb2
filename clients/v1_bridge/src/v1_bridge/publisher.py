"""Sending V1 usage events to V2: on ``v1.billing-events.v1`` (Kafka), or ``POST /v1/billing/events``.

Both publishers are fail-open: :meth:`publish` answers whether the event left, logs the failure and
never raises into V1's flow. A re-send of the same idempotency key is harmless (same message id, and
V2 stores one usage event per V1 key).
"""

from __future__ import annotations

import logging
from typing import Protocol

import httpx
from aiokafka import AIOKafkaProducer

from v1_bridge.contracts import V1_BILLING_EVENTS, Envelope, V1UsageEvent

log = logging.getLogger(__name__)

#: V2's broker and producers accept records up to 1 MiB
MAX_MESSAGE_BYTES = 1024 * 1024


class EventPublisher(Protocol):
    """Sends one V1 usage event; True when V2 has it (Kafka ack / HTTP 2xx)."""

    async def publish(self, event: V1UsageEvent) -> bool: ...


class KafkaEventPublisher:
    """Publishes on ``v1.billing-events.v1`` keyed by the external account key, in V2's envelope.

    Use as ``async with KafkaEventPublisher(bootstrap) as events:`` (or ``start``/``stop``).
    """

    def __init__(
        self,
        bootstrap: str,
        *,
        topic: str = V1_BILLING_EVENTS,
        client_id: str = "v1-bridge",
        timeout_s: float = 5.0,
    ) -> None:
        self._topic = topic
        self._producer = AIOKafkaProducer(
            bootstrap_servers=bootstrap,
            client_id=client_id,
            acks="all",
            enable_idempotence=True,
            max_request_size=MAX_MESSAGE_BYTES,
            request_timeout_ms=int(max(0.5, timeout_s) * 1000),
        )
        self.last_envelope: Envelope | None = None

    async def start(self) -> None:
        await self._producer.start()

    async def stop(self) -> None:
        await self._producer.stop()

    async def __aenter__(self) -> KafkaEventPublisher:
        await self.start()
        return self

    async def __aexit__(self, *_exc: object) -> None:
        await self.stop()

    async def publish(self, event: V1UsageEvent) -> bool:
        envelope = Envelope.of_usage_event(event)
        headers = [("x-zenops-event-type", envelope.type.encode())]
        try:
            await self._producer.send_and_wait(
                self._topic,
                value=envelope.to_bytes(),
                key=event.external_account_key.encode(),
                headers=headers,
            )
        except Exception as exc:
            log.warning(
                "v1 billing event not published",
                extra={"idempotency_key": event.idempotency_key, "error": repr(exc)[:300]},
            )
            return False
        self.last_envelope = envelope
        return True


class HttpEventPublisher:
    """``POST /v1/billing/events`` (the original V1 path), for a V1 without access to the broker."""

    def __init__(self, http: httpx.AsyncClient) -> None:
        self._http = http

    async def publish(self, event: V1UsageEvent) -> bool:
        body = {
            "source_system": event.source_system,
            "event_type": event.event_type,
            "idempotency_key": event.idempotency_key,
            "payload_json": event.payload_json,
            "external_account_key": event.external_account_key,
        }
        try:
            resp = await self._http.post("/v1/billing/events", json=body)
        except httpx.HTTPError as exc:
            log.warning(
                "v1 billing event not sent",
                extra={"idempotency_key": event.idempotency_key, "error": repr(exc)},
            )
            return False
        if resp.status_code >= 400:
            log.warning(
                "v1 billing event refused",
                extra={
                    "idempotency_key": event.idempotency_key,
                    "status": resp.status_code,
                    "body": resp.text[:300],
                },
            )
            return False
        return True
