"""Wire shapes of the factory's HTTP answers and the functions that map typed results to them."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel

from factory_service.domain.release import billing_gate_status
from factory_service.handlers.common import download_url
from factory_service.handlers.pack_queries import PackLink
from factory_service.records import ArtifactFields, JobFields, PackFields, ReleaseRecord

ReleaseView = ReleaseRecord
"""A release shows every stored fact (``org_id`` is the tenant)."""


class ArtifactView(ArtifactFields):
    download_url: str


class PackView(PackFields):
    artifacts: list[ArtifactView]


class JobView(JobFields):
    pass


class BillingGateStatusView(BaseModel):
    """``billing_gate_status`` of the pack view (§5.3, FAC-10) with the billing projection's version."""

    mode: Literal["CREDIT", "POSTPAID"] | None
    reservation_id_present: bool
    service_invoice_id: str | None
    service_invoice_status: str | None
    service_invoice_is_paid: bool | None
    releasable_without_override: bool
    source_version: int | None


class PackLinkView(BaseModel):
    """The pack link view (domain.md §5.3)."""

    work_order_id: str
    work_order_status: str
    readiness_score: int | None
    value_slab: str
    template_selector: str
    pack_state: str
    pack: PackView | None
    generation_job: JobView | None
    deliverable_releases: list[ReleaseView]
    billing_gate_status: BillingGateStatusView
    pack_state_version: int | None


class ReleaseListView(BaseModel):
    items: list[ReleaseView]


class PackCreationView(BaseModel):
    idempotent: bool
    queue_enqueued: bool
    pack_link: PackLinkView


class ReleaseOutcomeView(BaseModel):
    """A settled release request (201): ``recorded_release_id`` only when the key was recorded as a
    link to a prior success."""

    idempotent: bool
    blocked: bool
    pack_link: PackLinkView
    release: ReleaseView
    recorded_release_id: str | None = None


class ReleasePendingView(ReleaseOutcomeView):
    """Billing has not decided within the wait budget (202): poll ``poll_url``."""

    status: Literal["PENDING"]
    poll_url: str


def pack_link_view(link: PackLink) -> PackLinkView:
    """The pack link view of a typed pack link."""
    gate = billing_gate_status(link.billing.state if link.billing else None)
    pack: PackView | None = None
    if link.pack is not None:
        artifacts = [
            ArtifactView(
                **a.model_dump(include=set(ArtifactFields.model_fields)), download_url=download_url(a.id)
            )
            for a in link.artifacts
        ]
        pack = PackView(**link.pack.model_dump(include=set(PackFields.model_fields)), artifacts=artifacts)
    return PackLinkView(
        work_order_id=link.work_order.work_order_id,
        work_order_status=link.work_order.status,
        readiness_score=link.work_order.readiness_score,
        value_slab=link.work_order.value_slab,
        template_selector=link.work_order.template_selector,
        pack_state="PENDING" if link.pack is None else link.pack.status.upper(),
        pack=pack,
        generation_job=JobView(**link.job.model_dump(include=set(JobFields.model_fields)))
        if link.job
        else None,
        deliverable_releases=link.releases,
        billing_gate_status=BillingGateStatusView(
            **gate, source_version=link.billing.source_version if link.billing else None
        ),
        pack_state_version=link.pack_state_version,
    )
