"""The evidence state of one work order: reading it whole, publishing it, and the rules every write shares.

Every change of a work order's evidence (items, profile, field links, OCR job state, annexure order)
goes through :func:`publish_state`, which bumps the per-work-order ``evidence_version`` and emits ONE
``evidence_state`` event carrying the whole state and the system notes of that change.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

from evidence_service import views
from evidence_service.domain.errors import WorkOrderLocked, WorkOrderNotFound
from evidence_service.domain.notes import SystemNote
from evidence_service.domain.profiles import select_default
from evidence_service.records import (
    Document,
    EvidenceItem,
    FieldLink,
    OcrJob,
    Profile,
    ProfileItem,
    WorkOrder,
)
from evidence_service.repositories import Repositories
from shared.contracts.evidence import EvidenceState, SelectedProfile
from shared.contracts.evidence import SystemNote as NoteContract
from shared.db.uow import UnitOfWork
from shared.domain.checklist import evaluate_checklist, suggest_for_missing_fields
from shared.domain.readiness import evaluate
from shared.timestamps import iso_utc, utc_now_iso


@dataclass(frozen=True)
class WorkOrderCommand:
    """What every use case on one work order names: the caller's tenant and the work order."""

    tenant_id: str
    work_order_id: uuid.UUID

    @property
    def tenant(self) -> uuid.UUID:
        """The tenant as the repositories take it."""
        return uuid.UUID(self.tenant_id)


LOCKED_STATUSES: Final = frozenset({"READY_FOR_RENDER", "CLOSED", "CANCELLED"})
"""Decision 29: from READY_FOR_RENDER on the evidence is frozen (terminal statuses included)."""


def ensure_unlocked(wo: WorkOrder) -> None:
    """409 ``WORK_ORDER_LOCKED`` once the work order reached READY_FOR_RENDER (decision 29)."""
    if wo.status in LOCKED_STATUSES:
        raise WorkOrderLocked(
            f"work order {wo.work_order_id} is {wo.status}: evidence is locked",
            {"work_order_id": str(wo.work_order_id), "status": wo.status},
        )


async def work_order_of(
    repos: Repositories, tenant_id: uuid.UUID, work_order_id: uuid.UUID, *, for_update: bool = False
) -> WorkOrder:
    """The projected work order (row-locked with ``for_update``), else 404 ``WORK_ORDER_NOT_FOUND``."""
    wo = await repos.work_orders.get(tenant_id, work_order_id, for_update=for_update)
    if wo is None:
        raise WorkOrderNotFound(work_order_id)
    return wo


async def locked_work_order(uow: UnitOfWork, command: WorkOrderCommand) -> tuple[Repositories, WorkOrder]:
    """The repositories and the command's work order, row-locked until the unit of work ends.

    Every use case that may change a work order's evidence holds this lock, so its versions never
    interleave; 404 ``WORK_ORDER_NOT_FOUND`` when the projection does not know the work order.
    """
    repos = Repositories.of(uow)
    return repos, await work_order_of(repos, command.tenant, command.work_order_id, for_update=True)


def base_contract(wo: WorkOrder) -> dict[str, Any]:
    """The contract readiness is evaluated on: the latest snapshot's, else the §1.5 step 1 base."""
    if isinstance(wo.latest_contract, Mapping):
        return dict(wo.latest_contract)
    return {
        "meta": {"report_type": wo.report_type, "bank_type": wo.bank_type},
        "party": {"bank_name": wo.bank_name},
        "property": {"floors": []},
        "annexures": {
            "items": [],
            "image_grouping_default": {"min_images_per_page": 2, "max_images_per_page": 4},
        },
    }


def format_rule_warnings(warnings: Sequence[Any]) -> list[str]:
    """Rule-run warnings as readiness reads them: ``"<CODE>: <message>"`` (domain.md §3.3)."""
    out: list[str] = []
    for warning in warnings:
        if isinstance(warning, Mapping):
            out.append(f"{warning.get('code')}: {warning.get('message')}")
        elif isinstance(warning, str):
            out.append(warning)
    return out


def evidence_for_rules(items: Sequence[EvidenceItem]) -> list[dict[str, Any]]:
    """The plain mappings readiness, the checklist and the annexure order match on."""
    return [
        {
            "id": str(item.id),
            "evidence_type": item.evidence_type,
            "doc_type": item.doc_type,
            "tags": item.tags,
            "annexure_order": item.annexure_order,
            "created_at": item.created_at,
        }
        for item in items
    ]


@dataclass(frozen=True)
class WorkOrderEvidence:
    """Everything the API answers with and the event carries, computed from one read of the rows."""

    wo: WorkOrder
    items: list[EvidenceItem]
    documents: Mapping[uuid.UUID, Document]
    profile: Profile | None
    profile_items: list[ProfileItem]
    links: list[FieldLink]
    jobs: list[OcrJob]
    checklist: list[views.ChecklistRow]
    readiness: views.Readiness
    linked_field_keys: list[str]

    @property
    def work_order_id(self) -> str:
        """The work order id as the wire shows it."""
        return str(self.wo.work_order_id)

    @property
    def evidence_version(self) -> int:
        """The version of this state."""
        return int(self.wo.evidence_version)

    def document_of(self, item: EvidenceItem) -> Document | None:
        """The visible document of an item."""
        return self.documents.get(item.document_id) if item.document_id is not None else None

    def suggestions(self) -> list[views.Suggestion]:
        """Checklist items that could back the fields still lacking a link (§4.6)."""
        rows = [row.model_dump() for row in self.checklist]
        found = suggest_for_missing_fields(self.readiness.missing_field_evidence_links, rows)
        return [views.Suggestion.model_validate(suggestion) for suggestion in found]

    def annexure_order(self) -> dict[str, int]:
        """Item id → annexure position, for the items that have one."""
        return {str(item.id): item.annexure_order for item in self.items if item.annexure_order is not None}


async def load_evidence(repos: Repositories, wo: WorkOrder) -> WorkOrderEvidence:
    """Read the whole evidence state of one work order and derive checklist and readiness."""
    tenant, wo_id = wo.tenant_id, wo.work_order_id
    items = await repos.items.of_work_order(tenant, wo_id)
    documents = await repos.documents.by_ids(tenant, (i.document_id for i in items if i.document_id))
    profile = await repos.profiles.get(tenant, wo.evidence_profile_id) if wo.evidence_profile_id else None
    profile_items = await repos.profiles.items(tenant, profile.id) if profile else []
    links = await repos.links.of_work_order(tenant, wo_id)
    jobs = await repos.jobs.of_work_order(tenant, wo_id)
    requirements = [views.ProfileItemView.of(item).model_dump() for item in profile_items]
    rule_items = evidence_for_rules(items)
    checklist = [
        views.ChecklistRow.model_validate(row) for row in evaluate_checklist(requirements, rule_items)
    ]
    linked = list(dict.fromkeys(link.field_key for link in links))
    readiness = evaluate(
        wo.report_type,
        base_contract(wo),
        rule_items,
        format_rule_warnings(wo.rule_warnings or []),
        evidence_profile_requirements=requirements or None,
        field_evidence_linked_keys=linked,
    )
    return WorkOrderEvidence(
        wo,
        items,
        documents,
        profile,
        profile_items,
        links,
        jobs,
        checklist,
        views.Readiness.model_validate(readiness),
        linked,
    )


def _note_contract(note: SystemNote, actor: str | None) -> NoteContract:
    # kind and comment_type are additive fields (contracts allow extras; readers ignore them).
    return NoteContract.model_validate(
        {
            "note_id": note.id,
            "body": note.body,
            "created_by_user_id": actor,
            "created_at": utc_now_iso(),
            "kind": note.kind.value,
            "comment_type": note.comment_type,
        }
    )


NoteFactory = Callable[[int], SystemNote | None]
"""Builds the note of a change from the evidence version the change gets (its stable discriminator)."""


async def publish_state(
    uow: UnitOfWork,
    repos: Repositories,
    work_order: WorkOrder,
    *,
    notes: Sequence[NoteFactory] = (),
    actor: str | None = None,
) -> WorkOrderEvidence:
    """Bump ``evidence_version`` and emit one ``evidence_state`` with the whole state (architecture §3.1).

    The caller holds the work order's row lock (``FOR UPDATE``), so versions never interleave;
    ``work_order`` names it (the state is read afresh).
    """
    tenant, work_order_id = work_order.tenant_id, work_order.work_order_id
    version = await repos.work_orders.bump_evidence_version(tenant, work_order_id)
    evidence = await load_evidence(repos, await work_order_of(repos, tenant, work_order_id))
    wo, profile = evidence.wo, evidence.profile
    built = [n for n in (factory(version) for factory in notes) if n is not None]
    state = EvidenceState(
        work_order_id=str(work_order_id),
        evidence_version=version,
        items=[view.model_dump() for view in views.evidence_items(evidence)],
        profile=(
            SelectedProfile(
                id=str(profile.id),
                name=profile.name,
                report_type=profile.report_type,
                bank_type=profile.bank_type,
                value_slab=profile.value_slab,
                chosen_by="operator" if wo.profile_chosen_by == "operator" else "auto",
                items=[views.ProfileItemView.of(item).model_dump() for item in evidence.profile_items],
            )
            if profile is not None
            else None
        ),
        field_evidence_links=[views.FieldLinkView.of(link).model_dump() for link in evidence.links],
        linked_field_keys=evidence.linked_field_keys,
        ocr_jobs=[views.job_view(job).model_dump() for job in evidence.jobs],
        checklist=[row.model_dump() for row in evidence.checklist],
        annexure_order=evidence.annexure_order(),
        notes=[_note_contract(n, actor) for n in built],
    )
    # Additive: the readiness evidence computed with this state (workorders recomputes its own).
    state = EvidenceState.model_validate({**state.model_dump(), "readiness": evidence.readiness.model_dump()})
    await uow.emit(
        state, aggregate_id=str(work_order_id), aggregate_version=version, tenant_id=str(wo.tenant_id)
    )
    return evidence


async def choose_default(repos: Repositories, wo: WorkOrder) -> uuid.UUID | None:
    """The default profile for the work order's current report type, bank and slab (decision 4)."""
    await repos.profiles.ensure_defaults(wo.tenant_id)
    profiles = await repos.profiles.for_report_type(wo.tenant_id, wo.report_type)
    candidates = [
        {
            "id": str(p.id),
            "report_type": p.report_type,
            "bank_type": p.bank_type,
            "value_slab": p.value_slab,
            "name": p.name,
            "is_default": p.is_default,
            "created_at": iso_utc(p.created_at),
        }
        for p in profiles
    ]
    chosen = select_default(candidates, wo.report_type, wo.bank_type, wo.value_slab)
    return None if chosen is None else uuid.UUID(str(chosen["id"]))
