"""``workorders.work-order.v1`` — key: work order id."""

from __future__ import annotations

from typing import Any, Literal

from shared.contracts.base import Contract, Event
from shared.contracts.topics import WORKORDERS_WORK_ORDER

WorkOrderStatus = Literal[
    "DRAFT", "EVIDENCE_PENDING", "DATA_PENDING", "READY_FOR_RENDER", "CANCELLED", "CLOSED"
]


class WorkOrderView(Contract):
    """The serialized work order (domain.md §1.8) plus ``billing_external_key``."""

    id: str
    org_id: str
    source_type: str
    source_ref_id: str | None = None
    assignment_id: str | None = None
    report_type: str
    bank_name: str
    bank_type: str
    value_slab: str
    template_selector: str
    status: WorkOrderStatus
    billing_external_key: str | None = None
    evidence_profile_id: str | None = None
    created_by_user_id: str | None = None
    created_at: str
    updated_at: str


class Readiness(Contract):
    """Readiness as computed by :func:`shared.domain.readiness.evaluate`."""

    completeness_score: int
    missing_fields: list[str]
    missing_evidence: list[str]
    missing_field_evidence_links: list[str] = []
    warnings: list[str] = []
    required_evidence_minimums: dict[str, int] = {}


class WorkOrderCreated(Event, topic=WORKORDERS_WORK_ORDER, type="created"):
    """A work order was created: the full serialized work order incl. ``billing_external_key``."""

    work_order: WorkOrderView


class ContractSnapshotted(Event, topic=WORKORDERS_WORK_ORDER, type="contract_snapshotted"):
    """A contract snapshot was taken: snapshot id + version, contract, derived, rule warnings, selectors."""

    work_order_id: str
    snapshot_id: str
    snapshot_version: int
    contract: dict[str, Any]
    derived: dict[str, Any]
    rule_warnings: list[dict[str, Any]]
    value_slab: str
    template_selector: str
    report_type: str
    bank_type: str


class ReadinessChanged(Event, topic=WORKORDERS_WORK_ORDER, type="readiness_changed"):
    """Readiness was recomputed; ``evidence_version`` is the evidence state it used."""

    work_order_id: str
    readiness: Readiness
    evidence_version: int
    snapshot_version: int | None = None


class AcceptanceRequest(Contract):
    """What billing needs to accept a work order into production (architecture §4)."""

    report_type: str
    bank_name: str
    billing_external_key: str | None = None
    tenant_id: str


class StatusChanged(Event, topic=WORKORDERS_WORK_ORDER, type="status_changed"):
    """The status moved; into DATA_PENDING it carries the acceptance request for billing."""

    work_order_id: str
    from_status: WorkOrderStatus
    to_status: WorkOrderStatus
    note: str | None = None
    actor_user_id: str | None = None
    acceptance_request: AcceptanceRequest | None = None
    reopen: bool = False
    has_successful_release: bool = False
    # Set when the change reverts a rejected acceptance: billing must not react to it.
    revert_of_rejected_acceptance: bool = False


class ReadyForRender(Event, topic=WORKORDERS_WORK_ORDER, type="ready_for_render"):
    """The work order is ready for render: the frozen export bundle, its hash and the template selector."""

    work_order_id: str
    export_bundle: dict[str, Any]
    export_bundle_hash: str
    snapshot_version: int
    template_selector: str
    value_slab: str
    report_type: str
    bank_type: str
    assignment_id: str | None = None
    # 1 for the first render; +1 after every reopen (decision 29).
    render_generation: int = 1
    actor_user_id: str | None = None
    readiness_score: int | None = None


class WorkOrderReopened(Event, topic=WORKORDERS_WORK_ORDER, type="reopened"):
    """A rendered work order was reopened; ``render_generation`` counts the renders."""

    work_order_id: str
    note: str
    actor_user_id: str | None = None
    render_generation: int


class WorkOrderEnded(Event):
    """The fields of both ways a work order ends (cancelled, closed)."""

    work_order_id: str
    previous_status: WorkOrderStatus
    note: str | None = None
    actor_user_id: str | None = None


class WorkOrderCancelled(WorkOrderEnded, topic=WORKORDERS_WORK_ORDER, type="cancelled"):
    """The work order was cancelled."""


class WorkOrderClosed(WorkOrderEnded, topic=WORKORDERS_WORK_ORDER, type="closed"):
    """The work order was closed."""
