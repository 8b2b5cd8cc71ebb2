"""The use cases of the ops routes: a command + ``async def verb_noun(uow, command)`` each.

Reads go through :class:`~shared.ops.repository.OpsRepository`; a replay or discard goes through a
:class:`~shared.ops.operators.ParkingOperator` (the service's own parking mechanisms) and is audited in
``ops_actions`` in the same unit of work, under a per-schema lock, so a repeated request (a retry, a
second operator) changes nothing twice: it answers the audited outcome.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from shared.db.uow import UnitOfWork
from shared.ops.errors import DeadLetterAlreadyHandled, DeadLetterNotFound, DeadLetterNotHead, StoryNotFound
from shared.ops.operators import MessageOutcome, ParkingOperator
from shared.ops.repository import (
    CONSUMER,
    ActionRecord,
    DeadLetter,
    DeadLetterDetail,
    OpsRepository,
    OutboxBacklog,
    StoryEvent,
)

REPLAY = "replay"
DISCARD = "discard"
#: the statuses after which a message left its parking for good
SETTLED = frozenset({"applied", "duplicate", "stale", "ignored", "discarded", "published"})


def message_id_or_404(value: str) -> str:
    """A dead letter's id is its message id, a uuid; anything else names nothing (404)."""
    try:
        return str(uuid.UUID(value))
    except ValueError:
        raise DeadLetterNotFound(details={"message_id": value[:64]}) from None


async def show_outbox(uow: UnitOfWork) -> OutboxBacklog:
    """The outbox backlog of the service."""
    return await uow.repo(OpsRepository).outbox_backlog()


@dataclass(frozen=True, slots=True)
class ListDeadLetters:
    """The heads of the blocked keys, oldest first; ``kind`` ``consumer``/``unsendable`` or both."""

    kind: str | None = None
    limit: int = 100


async def list_dead_letters(uow: UnitOfWork, command: ListDeadLetters) -> list[DeadLetter]:
    """Dead letters and unsendable messages, one per blocked key."""
    return await uow.repo(OpsRepository).dead_letters(kind=command.kind, limit=command.limit)


async def show_dead_letter(uow: UnitOfWork, message_id: str) -> DeadLetterDetail:
    """One parked or unsendable message with its envelope (404 when there is none)."""
    found = await uow.repo(OpsRepository).dead_letter(message_id_or_404(message_id))
    if found is None:
        raise DeadLetterNotFound(details={"message_id": message_id})
    return found


@dataclass(frozen=True, slots=True)
class HandleDeadLetter:
    """Replay (``discard`` False) or discard the dead letter ``message_id``, the head of its key."""

    message_id: str
    discard: bool
    actor: str
    request_id: str | None = None


@dataclass(frozen=True, slots=True)
class DeadLetterHandled:
    """What a replay/discard did: the audited action, and whether it is an earlier one answered again."""

    action: ActionRecord
    repeated: bool
    outcomes: list[MessageOutcome] = field(default_factory=list)


def _outcomes(record: ActionRecord) -> list[MessageOutcome]:
    raw = record.outcome.get("outcomes")
    items = raw if isinstance(raw, list) else []
    return [
        MessageOutcome(str(o.get("message_id", "")), str(o.get("status", "")), str(o.get("detail", "")))
        for o in items
        if isinstance(o, dict)
    ]


async def handle_dead_letter(
    uow: UnitOfWork, operator: ParkingOperator, command: HandleDeadLetter
) -> DeadLetterHandled:
    """Replay or discard a dead letter through the service's parking mechanism, audited.

    The head is replayed (re-applied by the consumer, or sent again by the relay) with the messages
    waiting behind it, in order; discard drops the head and lets the rest flow. Done once the head left
    its parking; until then each attempt is audited and a later one may try again. A message already
    handled answers the audited outcome (``repeated``), or 409 when it asks for the other action.
    """
    message_id = message_id_or_404(command.message_id)
    action = DISCARD if command.discard else REPLAY
    repo = uow.repo(OpsRepository)
    await repo.lock_actions()
    done = await repo.done_action(message_id)
    if done is not None:
        if done.action != action:
            raise DeadLetterAlreadyHandled(
                f"dead letter {message_id} was already handled by {done.action}",
                details={"message_id": message_id, "action": done.action, "at": done.created_at.isoformat()},
            )
        return DeadLetterHandled(done, repeated=True, outcomes=_outcomes(done))
    found = await repo.dead_letter(message_id)
    if found is None:
        raise DeadLetterNotFound(details={"message_id": message_id})
    if not found.is_head:
        raise DeadLetterNotHead(
            f"dead letter {message_id} waits behind {found.head_message_id}: replay or discard that one",
            details={"message_id": message_id, "head_message_id": found.head_message_id},
        )
    letter = found.letter
    if letter.kind == CONSUMER:
        outcomes = await operator.replay_consumer(letter.topic, letter.key, discard=command.discard)
    else:
        outcomes = await operator.replay_unsendable(letter.topic, letter.key, discard=command.discard)
    settled = any(o.message_id == message_id and o.status in SETTLED for o in outcomes)
    outcome: dict[str, Any] = {
        "kind": letter.kind,
        "consumer": letter.consumer,
        "topic": letter.topic,
        "key": letter.key,
        "outcomes": [{"message_id": o.message_id, "status": o.status, "detail": o.detail} for o in outcomes],
    }
    record = await repo.record_action(
        action=action,
        target=message_id,
        actor=command.actor,
        request_id=command.request_id,
        done=settled,
        outcome=outcome,
    )
    await uow.commit()
    return DeadLetterHandled(record, repeated=False, outcomes=outcomes)


async def list_actions(uow: UnitOfWork, limit: int) -> list[ActionRecord]:
    """The audit of the ops writes, newest first."""
    return await uow.repo(OpsRepository).actions(limit=limit)


@dataclass(frozen=True, slots=True)
class TellStory:
    """The messages about ``work_order_id`` this service holds (at most ``limit``)."""

    work_order_id: uuid.UUID
    retention_days: int
    limit: int = 500


@dataclass(frozen=True, slots=True)
class Story:
    """A work order's messages as one service saw them, and the window its retention covers."""

    work_order_id: str
    window_start: datetime
    retention_days: int
    events: list[StoryEvent]


async def tell_story(uow: UnitOfWork, command: TellStory) -> Story:
    """The service's part of a work order's story, oldest first (404 when it holds nothing about it)."""
    wo = str(command.work_order_id)
    events = await uow.repo(OpsRepository).story(wo, limit=command.limit)
    if not events:
        raise StoryNotFound(
            f"no message about work order {wo} in the last {command.retention_days} days",
            details={"work_order_id": wo, "retention_days": command.retention_days},
        )
    start = datetime.now(UTC) - timedelta(days=command.retention_days)
    return Story(wo, start, command.retention_days, events)


def trace_id(traceparent: str | None) -> str | None:
    """The trace id of a W3C ``traceparent`` (``00-<trace id>-<span id>-<flags>``), when well formed."""
    parts = (traceparent or "").split("-")
    if len(parts) == 4 and len(parts[1]) == 32 and parts[1] != "0" * 32:
        try:
            int(parts[1], 16)
        except ValueError:
            return None
        return parts[1]
    return None
