"""V1's client of ZenOps V2 billing (domain.md §8): external keys, usage events on
``v1.billing-events.v1`` with V1's idempotency keys, account status with a fail-open cache, and credit
holds that never raise into V1. See ``clients/v1_bridge/README.md``."""

from v1_bridge.client import BillingBridge, BridgeConfig, FlowOutcome
from v1_bridge.contracts import AccountStatusEvent, Envelope, V1UsageEvent
from v1_bridge.keys import (
    ParsedKey,
    accepted_by_v2,
    commission_account_key,
    invoice_account_key,
    invoice_event_key,
    normalize_key,
    parse_key,
)
from v1_bridge.publisher import HttpEventPublisher, KafkaEventPublisher
from v1_bridge.sources import HttpStatusSource, TopicStatusSource
from v1_bridge.status import AccountStatus, StatusCache, StatusEnvelope, StatusUnavailable, fallback_status

__all__ = [
    "AccountStatus",
    "AccountStatusEvent",
    "BillingBridge",
    "BridgeConfig",
    "Envelope",
    "FlowOutcome",
    "HttpEventPublisher",
    "HttpStatusSource",
    "KafkaEventPublisher",
    "ParsedKey",
    "StatusCache",
    "StatusEnvelope",
    "StatusUnavailable",
    "TopicStatusSource",
    "V1UsageEvent",
    "accepted_by_v2",
    "commission_account_key",
    "fallback_status",
    "invoice_account_key",
    "invoice_event_key",
    "normalize_key",
    "parse_key",
]
