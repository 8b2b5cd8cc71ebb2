"""The wire shapes of the ops routes (timestamps in the one wire format, ``shared.timestamps``)."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field

from shared.ops.handlers import DeadLetterHandled, Story, trace_id
from shared.ops.operators import MessageOutcome, PartitionPosition
from shared.ops.repository import ActionRecord, DeadLetter, DeadLetterDetail, OutboxBacklog, StoryEvent
from shared.timestamps import iso_utc


def _iso(value: datetime | None) -> str | None:
    return iso_utc(value) if value is not None else None


class OutboxView(BaseModel):
    """The outbox backlog of one service."""

    service: str
    pending: int = Field(description="Rows waiting to be published (not counting those parked behind)")
    oldest_pending_at: str | None
    oldest_pending_age_s: float | None = Field(description="Age of the oldest waiting row, seconds")
    unsendable: int = Field(description="Messages the relay moved aside (see the dead letters)")
    parked_behind_unsendable: int
    published_retained: int = Field(description="Published rows still kept (the story's window)")
    oldest_published_at: str | None
    retention_days: int

    @classmethod
    def of(cls, service: str, backlog: OutboxBacklog, retention_days: int) -> OutboxView:
        return cls(
            service=service,
            pending=backlog.pending,
            oldest_pending_at=_iso(backlog.oldest_pending_at),
            oldest_pending_age_s=backlog.oldest_pending_age_s,
            unsendable=backlog.unsendable,
            parked_behind_unsendable=backlog.parked_behind_unsendable,
            published_retained=backlog.published_retained,
            oldest_published_at=_iso(backlog.oldest_published_at),
            retention_days=retention_days,
        )


class PartitionView(BaseModel):
    """The group's position on one partition."""

    topic: str
    partition: int
    committed: int | None = Field(description="The group's committed offset (null: never committed)")
    end: int = Field(description="The partition's end offset")
    lag: int

    @classmethod
    def of(cls, p: PartitionPosition) -> PartitionView:
        return cls(topic=p.topic, partition=p.partition, committed=p.committed, end=p.end, lag=p.lag)


class ConsumerView(BaseModel):
    """The consumer group of one service: its topics, positions and total lag."""

    service: str
    group: str | None = Field(description="null when the service consumes nothing")
    topics: list[str]
    total_lag: int
    partitions: list[PartitionView]


class DeadLetterView(BaseModel):
    """The head of a blocked key (a consumer's dead letter or an unsendable outbox message)."""

    message_id: str
    kind: str = Field(description="consumer | unsendable")
    consumer: str | None
    topic: str
    key: str
    event_type: str | None
    dead_lettered: bool
    reason: str | None
    detail: str | None
    attempts: int | None
    parked_at: str
    waiting_behind: int = Field(description="Messages of the same key waiting behind it")

    @classmethod
    def of(cls, d: DeadLetter) -> DeadLetterView:
        return cls(
            message_id=d.message_id,
            kind=d.kind,
            consumer=d.consumer,
            topic=d.topic,
            key=d.key,
            event_type=d.event_type,
            dead_lettered=d.dead_lettered,
            reason=d.reason,
            detail=d.detail,
            attempts=d.attempts,
            parked_at=iso_utc(d.parked_at),
            waiting_behind=d.waiting_behind,
        )


class DeadLetterList(BaseModel):
    """The dead letters of one service, oldest first."""

    service: str
    count: int
    items: list[DeadLetterView]


class WaitingView(BaseModel):
    """A message waiting behind a dead letter."""

    message_id: str
    event_type: str | None
    since: str


class DeadLetterDetailView(BaseModel):
    """One parked or unsendable message: its key's head, the envelope, what waits behind."""

    service: str
    message_id: str
    is_head: bool
    head: DeadLetterView
    envelope: dict[str, object]
    trace_id: str | None
    waiting: list[WaitingView]

    @classmethod
    def of(cls, service: str, message_id: str, d: DeadLetterDetail) -> DeadLetterDetailView:
        traceparent = d.envelope.get("traceparent")
        return cls(
            service=service,
            message_id=message_id,
            is_head=d.is_head,
            head=DeadLetterView.of(d.letter),
            envelope=d.envelope,
            trace_id=trace_id(traceparent if isinstance(traceparent, str) else None),
            waiting=[
                WaitingView(message_id=w.message_id, event_type=w.event_type, since=iso_utc(w.since))
                for w in d.waiting
            ],
        )


class OutcomeView(BaseModel):
    """What a replay or discard did to one message."""

    message_id: str
    status: str
    detail: str

    @classmethod
    def of(cls, o: MessageOutcome) -> OutcomeView:
        return cls(message_id=o.message_id, status=o.status, detail=o.detail)


class ActionView(BaseModel):
    """One audited ops write."""

    id: int
    action: str
    target: str
    actor: str
    request_id: str | None
    done: bool = Field(description="The target left its parking (a repeated request changes nothing)")
    outcome: dict[str, object]
    at: str

    @classmethod
    def of(cls, a: ActionRecord) -> ActionView:
        return cls(
            id=a.id,
            action=a.action,
            target=a.target,
            actor=a.actor,
            request_id=a.request_id,
            done=a.done,
            outcome=a.outcome,
            at=iso_utc(a.created_at),
        )


class DeadLetterActionView(BaseModel):
    """The answer of a replay or discard."""

    service: str
    message_id: str
    action: str = Field(description="replay | discard")
    done: bool
    repeated: bool = Field(description="An earlier request handled it; nothing changed now")
    outcomes: list[OutcomeView]
    audit: ActionView

    @classmethod
    def of(cls, service: str, message_id: str, h: DeadLetterHandled) -> DeadLetterActionView:
        return cls(
            service=service,
            message_id=message_id,
            action=h.action.action,
            done=h.action.done,
            repeated=h.repeated,
            outcomes=[OutcomeView.of(o) for o in h.outcomes],
            audit=ActionView.of(h.action),
        )


class ActionList(BaseModel):
    """The audit of the ops writes, newest first."""

    service: str
    items: list[ActionView]


class StoryEventView(BaseModel):
    """One message about the work order, as this service saw it."""

    service: str
    at: str
    direction: str = Field(description="published | pending | unsendable | consumed | parked")
    event_type: str
    topic: str
    key: str | None
    message_id: str
    aggregate_id: str | None
    aggregate_version: int | None
    trace_id: str | None
    traceparent: str | None
    correlation_id: str | None
    consumer: str | None
    outcome: str | None

    @classmethod
    def of(cls, service: str, e: StoryEvent) -> StoryEventView:
        return cls(
            service=service,
            at=iso_utc(e.at),
            direction=e.direction,
            event_type=e.event_type,
            topic=e.topic,
            key=e.key,
            message_id=e.message_id,
            aggregate_id=e.aggregate_id,
            aggregate_version=e.aggregate_version,
            trace_id=trace_id(e.traceparent),
            traceparent=e.traceparent,
            correlation_id=e.correlation_id,
            consumer=e.consumer,
            outcome=e.outcome,
        )


class StoryView(BaseModel):
    """A service's part of a work order's story and the window it covers (its retention)."""

    service: str
    work_order_id: str
    window_start: str = Field(description="Messages older than this may be gone (the retention)")
    retention_days: int
    events: list[StoryEventView]

    @classmethod
    def of(cls, service: str, story: Story) -> StoryView:
        return cls(
            service=service,
            work_order_id=story.work_order_id,
            window_start=iso_utc(story.window_start),
            retention_days=story.retention_days,
            events=[StoryEventView.of(service, e) for e in story.events],
        )
