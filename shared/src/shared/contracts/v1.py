"""``v1.billing-events.v1`` — key: external account key. Published by the legacy V1 system."""

from __future__ import annotations

from typing import Any, ClassVar, Literal

from shared.contracts.base import Event
from shared.contracts.topics import V1_BILLING_EVENTS


class V1UsageEvent(Event):
    """domain.md §8.2 event body, with V1's own idempotency key."""

    TOPIC: ClassVar[str] = V1_BILLING_EVENTS
    TYPE: ClassVar[str] = "v1_usage_event"

    source_system: Literal["v1"] = "v1"
    event_type: str
    external_account_key: str
    payload_json: dict[str, Any] = {}
    idempotency_key: str
