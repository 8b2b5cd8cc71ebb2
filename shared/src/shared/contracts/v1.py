"""``v1.billing-events.v1`` — key: external account key. Published by the legacy V1 system."""

from __future__ import annotations

from typing import Any, Literal

from shared.contracts.base import Event
from shared.contracts.topics import V1_BILLING_EVENTS


class V1UsageEvent(Event, topic=V1_BILLING_EVENTS, type="v1_usage_event"):
    """domain.md §8.2 event body, with V1's own idempotency key."""

    source_system: Literal["v1"] = "v1"
    event_type: str
    external_account_key: str
    payload_json: dict[str, Any] = {}
    idempotency_key: str
