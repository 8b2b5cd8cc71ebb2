"""The release gate: decide a release request once, consume in the same transaction, publish; and
replay a stored decision from its stored inputs."""

from __future__ import annotations

from dataclasses import dataclass

from opentelemetry import trace

from billing_service.domain.accounts import BillingMode
from billing_service.domain.errors import BillingError, GateDecisionNotFound
from billing_service.domain.gate import (
    GateDecision,
    GateInputs,
    consume_idempotency_key,
    decide_gate,
    decision_hash,
    gate_error,
    release_metadata,
    release_usage_event_type,
    release_usage_key,
)
from billing_service.domain.ledger import ConsumeHold, Hold, HoldStatus
from billing_service.handlers._common import iso, new_id, record_usage, utcnow
from billing_service.handlers.credits import ConsumeAccountHold, consume_credit
from billing_service.handlers.projections import emit_work_order_billing
from billing_service.repositories import (
    GateDecisionRepository,
    InvoiceRepository,
    LedgerRepository,
    NewGateDecision,
    WorkOrderReference,
    WorkOrderRepository,
    WorkOrderRow,
)
from shared.contracts.billing import GateDecided, LastGate
from shared.contracts.factory import ReleaseRequested
from shared.db.uow import UnitOfWork
from shared.validation import JsonObject

#: the tenant of a stub row for a work order billing never heard of
UNKNOWN_TENANT = "00000000-0000-0000-0000-000000000000"

_tracer = trace.get_tracer("billing_service.release_gate")


@dataclass(frozen=True, slots=True)
class DecideRelease:
    """A ``release_requested`` from factory."""

    event: ReleaseRequested
    message_id: str
    tenant_id: str | None


def inputs_from_plain(plain: JsonObject) -> GateInputs:
    """Rebuild stored gate inputs (``GateInputs.as_plain`` form)."""
    hold_status = plain.get("hold_status")
    return GateInputs(
        mode=BillingMode(str(plain["mode"]).lower()),
        hold_id=plain.get("hold_id"),
        hold_status=HoldStatus(str(hold_status).lower()) if hold_status else None,
        invoice_id=plain.get("invoice_id"),
        invoice_status=plain.get("invoice_status"),
        invoice_is_paid=plain.get("invoice_is_paid"),
        override=bool(plain.get("override")),
        override_reason=plain.get("override_reason"),
    )


def redecide(inputs: GateInputs, consume_error_code: str | None) -> GateDecision:
    """The decision for stored inputs, including a recorded consume failure."""
    decision = decide_gate(inputs)
    if decision.consume_hold_id is not None and consume_error_code is not None:
        return gate_error(consume_error_code)
    return decision


async def _work_order(uow: UnitOfWork, command: DecideRelease) -> WorkOrderRow:
    work_orders = uow.repo(WorkOrderRepository)
    wo = await work_orders.get(command.event.work_order_id, lock=True)
    if wo is not None:
        return wo
    # Unknown to billing: decide as POSTPAID without invoice (domain.md §6 step 7), on a stub row.
    await work_orders.upsert(
        WorkOrderReference.unknown(command.event.work_order_id, command.tenant_id or UNKNOWN_TENANT)
    )
    return await work_orders.require(command.event.work_order_id, lock=True)


async def _inputs(
    uow: UnitOfWork, wo: WorkOrderRow, event: ReleaseRequested
) -> tuple[GateInputs, Hold | None]:
    hold = await uow.repo(LedgerRepository).hold(wo.hold_id) if wo.hold_id else None
    invoice = await uow.repo(InvoiceRepository).get(wo.invoice_id) if wo.invoice_id else None
    inputs = GateInputs(
        mode=BillingMode(wo.mode) if wo.mode else BillingMode.POSTPAID,
        hold_id=hold.id if hold else None,
        hold_status=hold.status if hold else None,
        invoice_id=invoice.id if invoice else None,
        invoice_status=invoice.status.upper() if invoice else None,
        invoice_is_paid=invoice.is_paid if invoice else None,
        override=event.override,
        override_reason=event.override_reason,
    ).normalized()
    return inputs, hold


async def decide_release(uow: UnitOfWork, command: DecideRelease) -> GateDecided | None:
    """The gate decision as one span (``gate decide``) with its outcome as attributes (issue 17):
    ``zenops.gate.result`` (or ``ALREADY_DECIDED``), the blocked reason and error code when any."""
    event = command.event
    with _tracer.start_as_current_span(
        "gate decide",
        attributes={
            "zenops.work_order_id": event.work_order_id,
            "zenops.release_id": event.release_id,
            **({"zenops.tenant_id": command.tenant_id} if command.tenant_id else {}),
        },
    ) as span:
        outcome = await _decide_release(uow, command)
        if outcome is None:
            span.set_attribute("zenops.gate.result", "ALREADY_DECIDED")
            return None
        span.set_attribute("zenops.gate.result", outcome.result)
        span.set_attribute("zenops.gate.decision_id", outcome.decision_id)
        if outcome.blocked_reason:
            span.set_attribute("zenops.gate.blocked_reason", outcome.blocked_reason)
        if outcome.error_code:
            span.set_attribute("zenops.error_code", outcome.error_code)
        return outcome


async def _decide_release(uow: UnitOfWork, command: DecideRelease) -> GateDecided | None:
    """Decide a release: consume in this (inbox) transaction, store inputs + hash, publish the outcome.

    A release id is decided once (UNIQUE); a redelivered request with a new message id changes nothing.
    """
    event = command.event
    if await uow.repo(GateDecisionRepository).by_release(event.release_id) is not None:
        return None
    wo = await _work_order(uow, command)
    inputs, hold = await _inputs(uow, wo, event)
    decision = decide_gate(inputs)
    consume_error: str | None = None
    error_message: str | None = None
    entry_ids: list[str] = []
    if decision.consume_hold_id is not None and hold is not None:
        try:
            consume = ConsumeHold(
                idempotency_key=consume_idempotency_key(event.idempotency_key), hold_id=hold.id
            )
            applied = await consume_credit(uow, ConsumeAccountHold(hold.account_id, consume))
            entry_ids = list(applied.outcome.result.entry_ids)
        except BillingError as exc:
            consume_error = exc.code
            error_message = exc.message
            decision = gate_error(exc.code)
    account_id = wo.account_id
    usage_id: str | None = None
    if account_id is not None and decision.error_code is None:
        usage = await record_usage(
            uow,
            release_usage_event_type(decision),
            release_usage_key(event.idempotency_key),
            {
                "repogen_work_order_id": event.work_order_id,
                "assignment_id": wo.assignment_id,
                "report_pack_id": event.pack_id,
                "release_id": event.release_id,
                "billing_gate_result": decision.result.value,
                "override": event.override,
            },
            account_id=account_id,
            tenant_id=wo.tenant_id,
        )
        usage_id = usage.id
    digest = decision_hash(inputs, decision)
    blocked_reason = decision.blocked_reason.value if decision.blocked_reason else None
    last_gate = LastGate(
        release_id=event.release_id,
        result=decision.result.value,
        blocked_reason=blocked_reason,
        error_code=decision.error_code,
        decided_at=iso(utcnow()) or "",
    )
    version = await uow.repo(WorkOrderRepository).record_gate(
        event.work_order_id,
        last_gate.model_dump(mode="json"),
        has_successful_release=wo.has_successful_release or decision.successful,
    )
    decision_id = new_id()
    await uow.repo(GateDecisionRepository).add(
        NewGateDecision(
            id=decision_id,
            tenant_id=wo.tenant_id,
            work_order_id=event.work_order_id,
            release_id=event.release_id,
            idempotency_key=event.idempotency_key,
            request_message_id=command.message_id,
            account_id=account_id,
            mode=inputs.mode.value,
            inputs=dict(inputs.as_plain()),
            outcome=dict(decision.as_plain()),
            consume_error_code=consume_error,
            result=decision.result.value,
            blocked_reason=blocked_reason,
            error_code=decision.error_code,
            ledger_entry_ids=entry_ids,
            usage_event_id=usage_id,
            decision_hash=digest,
            billing_version=version,
        )
    )
    outcome = GateDecided(
        decision_id=decision_id,
        release_id=event.release_id,
        work_order_id=event.work_order_id,
        idempotency_key=event.idempotency_key,
        mode="CREDIT" if inputs.mode is BillingMode.CREDIT else "POSTPAID",
        result=decision.result.value,
        blocked_reason=blocked_reason,
        error_code=decision.error_code,
        error_message=error_message,
        override_applied=decision.override_applied,
        ledger_entry_ids=entry_ids,
        usage_event_id=usage_id,
        decision_hash=digest,
        metadata=release_metadata(
            inputs, decision, account_id=account_id, consume_ledger_id=entry_ids[0] if entry_ids else None
        ),
    )
    await uow.emit(
        outcome,
        aggregate_id=event.work_order_id,
        aggregate_version=version,
        tenant_id=wo.tenant_id,
        causation_id=command.message_id,
    )
    await emit_work_order_billing(uow, event.work_order_id, version, command.message_id)
    return outcome


@dataclass(frozen=True, slots=True)
class ReplayGateDecision:
    """Re-decide the stored decision ``decision_id`` (or of release id ``decision_id``)."""

    decision_id: str


@dataclass(frozen=True, slots=True)
class DecisionRecord:
    """A gate outcome (``GateDecision.as_plain``) and its hash."""

    outcome: JsonObject
    decision_hash: str


@dataclass(frozen=True, slots=True)
class GateReplay:
    """A stored decision beside its re-decision from the stored inputs (also the wire shape)."""

    decision_id: str
    release_id: str
    work_order_id: str
    inputs: JsonObject
    stored: DecisionRecord
    replayed: DecisionRecord
    matches: bool


async def replay_gate_decision(uow: UnitOfWork, command: ReplayGateDecision) -> GateReplay:
    """Re-decide a stored decision from its stored inputs."""
    row = await uow.repo(GateDecisionRepository).get(command.decision_id)
    if row is None:
        raise GateDecisionNotFound(details={"decision_id": command.decision_id})
    inputs = inputs_from_plain(row.inputs)
    decision = redecide(inputs, row.consume_error_code)
    stored = DecisionRecord(row.outcome, row.decision_hash)
    replayed = DecisionRecord(dict(decision.as_plain()), decision_hash(inputs, decision))
    return GateReplay(
        row.id, row.release_id, row.work_order_id, row.inputs, stored, replayed, replayed == stored
    )
