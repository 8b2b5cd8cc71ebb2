"""The topic catalogue (architecture §3.1). A breaking change makes a new ``vN+1`` topic."""

from __future__ import annotations

WORKORDERS_WORK_ORDER = "workorders.work-order.v1"
EVIDENCE_WORK_ORDER_EVIDENCE = "evidence.work-order-evidence.v1"
EVIDENCE_OCR_JOBS = "evidence.ocr-jobs.v1"
EVIDENCE_DOCUMENTS = "evidence.documents.v1"
BILLING_WORK_ORDER_BILLING = "billing.work-order-billing.v1"
BILLING_GATE_OUTCOME = "billing.gate-outcome.v1"
BILLING_ACCOUNT_STATUS = "billing.account-status.v1"
FACTORY_PACK = "factory.pack.v1"
FACTORY_RELEASE_REQUESTED = "factory.release-requested.v1"
FACTORY_GENERATION_JOBS = "factory.generation-jobs.v1"
V1_BILLING_EVENTS = "v1.billing-events.v1"

ALL_TOPICS: tuple[str, ...] = (
    WORKORDERS_WORK_ORDER,
    EVIDENCE_WORK_ORDER_EVIDENCE,
    EVIDENCE_OCR_JOBS,
    EVIDENCE_DOCUMENTS,
    BILLING_WORK_ORDER_BILLING,
    BILLING_GATE_OUTCOME,
    BILLING_ACCOUNT_STATUS,
    FACTORY_PACK,
    FACTORY_RELEASE_REQUESTED,
    FACTORY_GENERATION_JOBS,
    V1_BILLING_EVENTS,
)

# Latest-state streams: a reader only needs the newest record per key.
COMPACTED_TOPICS: frozenset[str] = frozenset(
    {BILLING_WORK_ORDER_BILLING, BILLING_ACCOUNT_STATUS, EVIDENCE_DOCUMENTS}
)


def dlq(topic: str) -> str:
    """The dead-letter topic of ``topic``."""
    return f"{topic}.dlq"
