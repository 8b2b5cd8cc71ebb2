"""``workorders.work-order.v1`` — key: work order id."""

from __future__ import annotations

from typing import Any, ClassVar, Literal

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


class WorkOrderCreated(Event):
    """A work order was created: the full serialized work order incl. ``billing_external_key``."""

    TOPIC: ClassVar[str] = WORKORDERS_WORK_ORDER
    TYPE: ClassVar[str] = "created"

    work_order: WorkOrderView


class ContractSnapshotted(Event):
    """A contract snapshot was taken: snapshot id + version, contract, derived, rule warnings, selectors."""

    TOPIC: ClassVar[str] = WORKORDERS_WORK_ORDER
    TYPE: ClassVar[str] = "contract_snapshotted"

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


class ReadinessChanged(Event):
    """Readiness was recomputed; ``evidence_version`` is the evidence state it used."""

    TOPIC: ClassVar[str] = WORKORDERS_WORK_ORDER
    TYPE: ClassVar[str] = "readiness_changed"

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


class StatusChanged(Event):
    """The status moved; into DATA_PENDING it carries the acceptance request for billing."""

    TOPIC: ClassVar[str] = WORKORDERS_WORK_ORDER
    TYPE: ClassVar[str] = "status_changed"

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


class ReadyForRender(Event):
    """The work order is ready for render: the frozen export bundle, its hash and the template selector."""

    TOPIC: ClassVar[str] = WORKORDERS_WORK_ORDER
    TYPE: ClassVar[str] = "ready_for_render"

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


class WorkOrderReopened(Event):
    """A rendered work order was reopened; ``render_generation`` counts the renders."""

    TOPIC: ClassVar[str] = WORKORDERS_WORK_ORDER
    TYPE: ClassVar[str] = "reopened"

    work_order_id: str
    note: str
    actor_user_id: str | None = None
    render_generation: int


class WorkOrderCancelled(Event):
    """The work order was cancelled."""

    TOPIC: ClassVar[str] = WORKORDERS_WORK_ORDER
    TYPE: ClassVar[str] = "cancelled"

    work_order_id: str
    previous_status: WorkOrderStatus
    note: str | None = None
    actor_user_id: str | None = None


class WorkOrderClosed(Event):
    """The work order was closed."""

    TOPIC: ClassVar[str] = WORKORDERS_WORK_ORDER
    TYPE: ClassVar[str] = "closed"

    work_order_id: str
    previous_status: WorkOrderStatus
    note: str | None = None
    actor_user_id: str | None = None
