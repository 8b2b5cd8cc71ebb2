"""Versioned contracts of every topic (architecture §3.1): the only thing services share."""

from __future__ import annotations

from shared.contracts.base import Contract, Event, MoneyMinor
from shared.contracts.billing import AccountStatus, GateDecided, WorkOrderBilling
from shared.contracts.evidence import EvidenceState, OcrRequested
from shared.contracts.factory import (
    GenerationRequested,
    PackCreated,
    PackFailed,
    PackGenerated,
    ReleaseRecorded,
    ReleaseRequested,
)
from shared.contracts.v1 import V1UsageEvent
from shared.contracts.workorders import (
    ContractSnapshotted,
    ReadinessChanged,
    ReadyForRender,
    StatusChanged,
    WorkOrderCancelled,
    WorkOrderClosed,
    WorkOrderCreated,
    WorkOrderReopened,
)

EVENTS: tuple[type[Event], ...] = (
    WorkOrderCreated,
    ContractSnapshotted,
    ReadinessChanged,
    StatusChanged,
    ReadyForRender,
    WorkOrderReopened,
    WorkOrderCancelled,
    WorkOrderClosed,
    EvidenceState,
    OcrRequested,
    WorkOrderBilling,
    GateDecided,
    AccountStatus,
    PackCreated,
    PackGenerated,
    PackFailed,
    ReleaseRecorded,
    ReleaseRequested,
    GenerationRequested,
    V1UsageEvent,
)


def event_model(topic: str, event_type: str) -> type[Event] | None:
    """The payload model of ``event_type`` on ``topic`` (``None`` for unknown types: readers skip them)."""
    for model in EVENTS:
        if topic == model.TOPIC and event_type == model.TYPE:
            return model
    return None


__all__ = ["EVENTS", "Contract", "Event", "MoneyMinor", "event_model"]
