"""Versioned contracts of every topic (architecture §3.1): the only thing services share."""

from __future__ import annotations

from shared.contracts import billing, evidence, factory, v1, workorders
from shared.contracts.base import Contract, Event, MoneyMinor

EVENTS: tuple[type[Event], ...] = (
    workorders.WorkOrderCreated,
    workorders.ContractSnapshotted,
    workorders.ReadinessChanged,
    workorders.StatusChanged,
    workorders.ReadyForRender,
    workorders.WorkOrderReopened,
    workorders.WorkOrderCancelled,
    workorders.WorkOrderClosed,
    evidence.EvidenceState,
    evidence.OcrRequested,
    evidence.DocumentUploaded,
    billing.WorkOrderBilling,
    billing.GateDecided,
    billing.AccountStatus,
    factory.PackCreated,
    factory.PackGenerated,
    factory.PackFailed,
    factory.ReleaseRecorded,
    factory.ReleaseRequested,
    factory.GenerationRequested,
    v1.V1UsageEvent,
)


def event_model(topic: str, event_type: str) -> type[Event] | None:
    """The payload model of ``event_type`` on ``topic`` (``None`` for unknown types: readers skip them)."""
    for model in EVENTS:
        if topic == model.TOPIC and event_type == model.TYPE:
            return model
    return None


__all__ = ["EVENTS", "Contract", "Event", "MoneyMinor", "event_model"]
