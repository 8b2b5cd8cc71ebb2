"""The wire shapes this client reads and writes on Kafka: its own copy of V2's contracts.

V1 embeds this package without V2's ``shared`` library (which brings SQLAlchemy, FastAPI and the
services' settings), so the two event schemas it needs are restated here and a test
(``tests/unit/test_contract_snapshot.py``) validates them against V2's committed AsyncAPI snapshot
(``docs/asyncapi.json``): a drift on either side fails that test.

- ``v1.billing-events.v1`` (key: external account key) — :class:`V1UsageEvent` in an :class:`Envelope`
  of type ``v1_usage_event``; V2 billing stores it once per V1 idempotency key.
- ``billing.account-status.v1`` (key: account id, compacted) — :class:`AccountStatusEvent`.
"""

from __future__ import annotations

import time
import uuid
from datetime import UTC, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

V1_BILLING_EVENTS = "v1.billing-events.v1"
BILLING_ACCOUNT_STATUS = "billing.account-status.v1"
V1_USAGE_EVENT = "v1_usage_event"
ACCOUNT_STATUS = "account_status"
#: the namespace of message ids derived from V1 idempotency keys (a re-send is the same message)
MESSAGE_NAMESPACE = uuid.UUID("6f1c1d9e-5d7a-4c55-9a53-1b0d2f3a7c01")
MAX_KEY = 256


class V1UsageEvent(BaseModel):
    """The body of one V1 billing event (domain.md §8.2)."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    source_system: Literal["v1"] = "v1"
    event_type: str = Field(min_length=1, max_length=64)
    external_account_key: str = Field(min_length=1, max_length=MAX_KEY)
    payload_json: dict[str, Any] = Field(default_factory=dict)
    idempotency_key: str = Field(min_length=1, max_length=MAX_KEY)


def _now_iso() -> str:
    """ISO-8601 UTC with milliseconds, as V2 stamps ``occurred_at`` (``2024-01-31T10:00:00.000Z``)."""
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class Envelope(BaseModel):
    """Metadata + payload of one message (architecture §3); readers ignore unknown fields."""

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
    def of_usage_event(cls, event: V1UsageEvent, *, correlation_id: str | None = None) -> Envelope:
        """The envelope V2's billing consumer expects for a V1 event.

        - ``message_id``: a uuid5 of the V1 idempotency key, so a re-sent event is the same message
          (V2's inbox drops it before its usage-key check even runs);
        - ``aggregate_id`` = the Kafka key = the external account key;
        - ``aggregate_version``: V1 has no per-account versions, so the send time in epoch
          milliseconds (monotonic enough per key; V2 does not version-check this topic);
        - ``tenant_id`` null: V2 finds the account (and its tenant) by the external key.
        """
        return cls(
            message_id=str(uuid.uuid5(MESSAGE_NAMESPACE, event.idempotency_key)),
            type=V1_USAGE_EVENT,
            version=1,
            occurred_at=_now_iso(),
            tenant_id=None,
            aggregate_id=event.external_account_key,
            aggregate_version=time.time_ns() // 1_000_000,
            correlation_id=correlation_id or str(uuid.uuid4()),
            payload=event.model_dump(mode="json"),
        )

    def to_bytes(self) -> bytes:
        return self.model_dump_json().encode()


class Balances(BaseModel):
    """An account's credits: ``available = wallet - reserved``."""

    model_config = ConfigDict(extra="ignore")

    wallet: int = 0
    reserved: int = 0
    available: int = 0


class AccountStatusEvent(BaseModel):
    """``account_status`` on ``billing.account-status.v1``: the §7.1 status view of one account."""

    model_config = ConfigDict(extra="ignore")

    account_id: str
    tenant_id: str | None
    external_key: str
    account_type: str
    display_name: str
    status: str
    billing_mode: str
    payment_terms_days: int | None = None
    credit: Balances
    view: dict[str, Any] = Field(default_factory=dict)

    def status_view(self) -> dict[str, Any]:
        """The same JSON the HTTP status route answers (the event's ``view``, else built from its fields)."""
        if self.view:
            return dict(self.view)
        return {
            "account_id": self.account_id,
            "tenant_id": self.tenant_id,
            "external_key": self.external_key,
            "account_type": self.account_type,
            "display_name": self.display_name,
            "account_status": self.status,
            "billing_mode": self.billing_mode,
            "payment_terms_days": self.payment_terms_days,
            "credit": self.credit.model_dump(),
        }
