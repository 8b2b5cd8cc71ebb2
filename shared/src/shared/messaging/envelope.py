"""The envelope carried by every message (architecture §3)."""

from __future__ import annotations

import os
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from shared.telemetry.context import request_id_var
from shared.telemetry.tracing import current_traceparent
from shared.timestamps import utc_now_iso


class Envelope(BaseModel):
    """Metadata + payload of one event. Readers ignore unknown fields (forward compatibility)."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    message_id: str
    type: str
    version: int = 1
    occurred_at: str
    tenant_id: str | None = None
    aggregate_id: str
    aggregate_version: int = Field(ge=0)
    correlation_id: str | None = None
    causation_id: str | None = None
    traceparent: str | None = None
    payload: dict[str, Any] = Field(default_factory=dict)

    @classmethod
    def new(
        cls,
        *,
        event_type: str,
        aggregate_id: str,
        aggregate_version: int,
        payload: dict[str, Any],
        tenant_id: str | None = None,
        version: int = 1,
        correlation_id: str | None = None,
        causation_id: str | None = None,
        message_id: str | None = None,
    ) -> Envelope:
        """A fresh envelope stamped with the active trace context and request id."""
        return cls(
            message_id=message_id or new_uuid(),
            type=event_type,
            version=version,
            occurred_at=utc_now_iso(),
            tenant_id=tenant_id,
            aggregate_id=aggregate_id,
            aggregate_version=aggregate_version,
            correlation_id=correlation_id or request_id_var.get() or new_uuid(),
            causation_id=causation_id,
            traceparent=current_traceparent(),
            payload=payload,
        )

    def to_bytes(self) -> bytes:
        return self.model_dump_json().encode()


def new_uuid() -> str:
    """A random (version 4) UUID as text, like ``str(uuid.uuid4())`` without building the UUID object
    (two per event on the writer's hot path)."""
    raw = bytearray(os.urandom(16))
    raw[6] = raw[6] & 0x0F | 0x40  # version 4
    raw[8] = raw[8] & 0x3F | 0x80  # RFC 4122 variant
    h = raw.hex()
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"
