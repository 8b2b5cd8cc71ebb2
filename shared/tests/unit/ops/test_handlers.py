"""The ops handlers (``shared.ops.handlers``) on an in-memory ops repository and parking operator: the
dead-letter lookups, replay/discard audited and idempotent, 404/409, the story and its window."""

from __future__ import annotations

import itertools
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from devstack.testing.fakes import FakeClock, FakeUnitOfWork
from shared.ops.errors import DeadLetterAlreadyHandled, DeadLetterNotFound, DeadLetterNotHead, StoryNotFound
from shared.ops.handlers import (
    HandleDeadLetter,
    ListDeadLetters,
    TellStory,
    handle_dead_letter,
    list_actions,
    list_dead_letters,
    show_dead_letter,
    show_outbox,
    tell_story,
    trace_id,
)
from shared.ops.operators import MessageOutcome
from shared.ops.repository import (
    ActionRecord,
    DeadLetter,
    DeadLetterDetail,
    OpsRepository,
    OutboxBacklog,
    StoryEvent,
    WaitingMessage,
)

WO = "6f1c1c1c-1c1c-4c1c-8c1c-1c1c1c1c1c1c"
TRACEPARENT = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"


@dataclass
class Parked:
    """A row of ``parked_messages`` or ``unsendable_messages``."""

    message_id: str
    kind: str
    topic: str
    key: str
    at: datetime


class FakeOps(OpsRepository):
    """Parked and unsendable messages, story events and the audit in memory (the SQL's semantics: the
    head of a key is its oldest row; the audit is append-only)."""

    def __init__(self, clock: FakeClock) -> None:
        self.clock = clock
        self.parked: list[Parked] = []
        self.events: list[StoryEvent] = []
        self.audit: list[ActionRecord] = []
        self.locks = 0
        self._ids = itertools.count(1)

    def park(self, kind: str = "consumer", key: str = WO) -> str:
        message_id = str(uuid.uuid4())
        self.parked.append(Parked(message_id, kind, "workorders.work-order.v1", key, self.clock()))
        return message_id

    def _head(self, row: Parked) -> Parked:
        return next(p for p in self.parked if (p.kind, p.topic, p.key) == (row.kind, row.topic, row.key))

    def _fake_letter(self, head: Parked) -> DeadLetter:
        waiting = (
            sum(1 for p in self.parked if (p.kind, p.topic, p.key) == (head.kind, head.topic, head.key)) - 1
        )
        consumer = "billing" if head.kind == "consumer" else None
        return DeadLetter(
            head.message_id,
            head.kind,
            consumer,
            head.topic,
            head.key,
            "created",
            True,
            "boom",
            None,
            None,
            head.at,
            waiting,
        )

    async def outbox_backlog(self) -> OutboxBacklog:
        return OutboxBacklog(3, self.clock(), 1.5, 1, 2, 10, None)

    async def dead_letters(self, *, kind: str | None, limit: int) -> list[DeadLetter]:
        heads = [p for p in self.parked if self._head(p) is p and kind in (None, p.kind)]
        return [self._fake_letter(h) for h in heads][:limit]

    async def dead_letter(self, message_id: str, *, waiting_limit: int = 100) -> DeadLetterDetail | None:
        row = next((p for p in self.parked if p.message_id == message_id), None)
        if row is None:
            return None
        head = self._head(row)
        is_head = head is row
        behind = [
            p
            for p in self.parked
            if (p.kind, p.topic, p.key) == (row.kind, row.topic, row.key) and p is not head
        ]
        waiting = (
            [WaitingMessage(p.message_id, "created", p.at) for p in behind][:waiting_limit] if is_head else []
        )
        return DeadLetterDetail(
            self._fake_letter(head), is_head, head.message_id, {"type": "created"}, waiting
        )

    async def story(self, work_order_id: str, *, limit: int) -> list[StoryEvent]:
        about = [e for e in self.events if work_order_id in (e.key, e.aggregate_id)]
        return sorted(about, key=lambda e: (e.at, e.message_id))[:limit]

    async def lock_actions(self) -> None:
        self.locks += 1

    async def done_action(self, target: str) -> ActionRecord | None:
        return next((a for a in self.audit if a.target == target and a.done), None)

    async def actions(self, *, limit: int) -> list[ActionRecord]:
        return list(reversed(self.audit))[:limit]

    async def record_action(
        self,
        *,
        action: str,
        target: str,
        actor: str,
        request_id: str | None,
        done: bool,
        outcome: dict[str, Any],
    ) -> ActionRecord:
        record = ActionRecord(next(self._ids), action, target, actor, request_id, done, outcome, self.clock())
        self.audit.append(record)
        return record


@dataclass
class FakeOperator:
    """The parking mechanisms: a consumer replay re-applies the key's rows in order (``failing`` ones fail
    and stop it); discard drops the head first; an unsendable replay publishes."""

    ops: FakeOps
    failing: set[str] = field(default_factory=set)
    calls: list[tuple[str, str, str, bool]] = field(default_factory=list)

    def _rows(self, kind: str, topic: str, key: str) -> list[Parked]:
        return [p for p in self.ops.parked if (p.kind, p.topic, p.key) == (kind, topic, key)]

    async def replay_consumer(self, topic: str, key: str, *, discard: bool) -> list[MessageOutcome]:
        self.calls.append(("consumer", topic, key, discard))
        outcomes = []
        for index, row in enumerate(self._rows("consumer", topic, key)):
            if index == 0 and discard:
                outcomes.append(MessageOutcome(row.message_id, "discarded"))
            elif row.message_id in self.failing:
                break
            else:
                outcomes.append(MessageOutcome(row.message_id, "applied"))
            self.ops.parked.remove(row)
        return outcomes

    async def replay_unsendable(self, topic: str, key: str, *, discard: bool) -> list[MessageOutcome]:
        self.calls.append(("unsendable", topic, key, discard))
        outcomes = []
        for row in self._rows("unsendable", topic, key):
            outcomes.append(MessageOutcome(row.message_id, "discarded" if discard else "published"))
            self.ops.parked.remove(row)
        return outcomes


@pytest.fixture
def ops() -> FakeOps:
    return FakeOps(FakeClock())


@pytest.fixture
def uow(ops: FakeOps) -> FakeUnitOfWork:
    return FakeUnitOfWork(ops)


@pytest.fixture
def operator(ops: FakeOps) -> FakeOperator:
    return FakeOperator(ops)


def _handle(message_id: str, *, discard: bool = False) -> HandleDeadLetter:
    return HandleDeadLetter(message_id, discard=discard, actor="studio_admin:studio-admin", request_id="r-1")


class TestLookups:
    async def test_the_outbox_backlog(self, uow: FakeUnitOfWork) -> None:
        backlog = await show_outbox(uow)
        assert (backlog.pending, backlog.unsendable, backlog.parked_behind_unsendable) == (3, 1, 2)

    async def test_one_dead_letter_per_blocked_key(self, ops: FakeOps, uow: FakeUnitOfWork) -> None:
        head = ops.park()
        ops.park()
        moved = ops.park("unsendable", key="other")
        letters = await list_dead_letters(uow, ListDeadLetters())
        assert [(d.message_id, d.waiting_behind) for d in letters] == [(head, 1), (moved, 0)]
        assert [d.message_id for d in await list_dead_letters(uow, ListDeadLetters("unsendable"))] == [moved]
        assert len(await list_dead_letters(uow, ListDeadLetters(limit=1))) == 1

    async def test_show_names_the_head_of_a_waiting_message(self, ops: FakeOps, uow: FakeUnitOfWork) -> None:
        head, behind = ops.park(), ops.park()
        shown = await show_dead_letter(uow, head)
        assert (shown.is_head, [w.message_id for w in shown.waiting]) == (True, [behind])
        waiting = await show_dead_letter(uow, behind)
        assert (waiting.is_head, waiting.head_message_id) == (False, head)

    @pytest.mark.parametrize("message_id", ["nope", "", "1' OR 1=1", str(uuid.uuid4())])
    async def test_an_unknown_or_malformed_id_is_404(self, uow: FakeUnitOfWork, message_id: str) -> None:
        with pytest.raises(DeadLetterNotFound):
            await show_dead_letter(uow, message_id)


class TestReplayAndDiscard:
    async def test_replay_applies_the_key_in_order_and_is_audited(
        self, ops: FakeOps, uow: FakeUnitOfWork, operator: FakeOperator
    ) -> None:
        head, behind = ops.park(), ops.park()
        handled = await handle_dead_letter(uow, operator, _handle(head))
        assert [(o.message_id, o.status) for o in handled.outcomes] == [
            (head, "applied"),
            (behind, "applied"),
        ]
        assert (handled.repeated, handled.action.done, handled.action.action) == (False, True, "replay")
        assert ops.parked == []
        assert uow.commits == 1
        assert ops.locks == 1
        [audited] = await list_actions(uow, 10)
        assert (audited.target, audited.actor, audited.request_id) == (
            head,
            "studio_admin:studio-admin",
            "r-1",
        )
        assert audited.outcome["outcomes"][0] == {"message_id": head, "status": "applied", "detail": ""}

    async def test_a_repeated_replay_changes_nothing(
        self, ops: FakeOps, uow: FakeUnitOfWork, operator: FakeOperator
    ) -> None:
        head = ops.park()
        first = await handle_dead_letter(uow, operator, _handle(head))
        again = await handle_dead_letter(uow, operator, _handle(head))
        assert again.repeated
        assert again.action == first.action
        assert [(o.message_id, o.status) for o in again.outcomes] == [(head, "applied")]
        assert len(operator.calls) == 1
        assert len(ops.audit) == 1

    async def test_discard_after_replay_is_a_conflict(
        self, ops: FakeOps, uow: FakeUnitOfWork, operator: FakeOperator
    ) -> None:
        head = ops.park()
        await handle_dead_letter(uow, operator, _handle(head))
        with pytest.raises(DeadLetterAlreadyHandled) as raised:
            await handle_dead_letter(uow, operator, _handle(head, discard=True))
        assert raised.value.details["action"] == "replay"
        assert len(operator.calls) == 1

    async def test_discard_drops_the_head_and_the_rest_flows(
        self, ops: FakeOps, uow: FakeUnitOfWork, operator: FakeOperator
    ) -> None:
        head, behind = ops.park(), ops.park()
        handled = await handle_dead_letter(uow, operator, _handle(head, discard=True))
        assert [(o.message_id, o.status) for o in handled.outcomes] == [
            (head, "discarded"),
            (behind, "applied"),
        ]
        assert handled.action.done
        assert operator.calls == [("consumer", "workorders.work-order.v1", WO, True)]

    async def test_a_replay_that_fails_again_is_audited_not_done_and_may_be_retried(
        self, ops: FakeOps, uow: FakeUnitOfWork, operator: FakeOperator
    ) -> None:
        head = ops.park()
        operator.failing.add(head)
        failed = await handle_dead_letter(uow, operator, _handle(head))
        assert (failed.action.done, failed.outcomes, len(ops.parked)) == (False, [], 1)
        operator.failing.clear()
        retried = await handle_dead_letter(uow, operator, _handle(head))
        assert (retried.repeated, retried.action.done) == (False, True)
        assert [a.done for a in ops.audit] == [False, True]

    async def test_an_unsendable_message_goes_through_the_relay_mechanism(
        self, ops: FakeOps, uow: FakeUnitOfWork, operator: FakeOperator
    ) -> None:
        moved = ops.park("unsendable")
        handled = await handle_dead_letter(uow, operator, _handle(moved))
        assert [(o.message_id, o.status) for o in handled.outcomes] == [(moved, "published")]
        assert operator.calls[0][0] == "unsendable"

    async def test_a_message_behind_the_head_is_409(
        self, ops: FakeOps, uow: FakeUnitOfWork, operator: FakeOperator
    ) -> None:
        head, behind = ops.park(), ops.park()
        with pytest.raises(DeadLetterNotHead) as raised:
            await handle_dead_letter(uow, operator, _handle(behind))
        assert raised.value.details["head_message_id"] == head
        assert operator.calls == []
        assert ops.audit == []
        assert uow.commits == 0

    @pytest.mark.parametrize("message_id", ["x", str(uuid.uuid4())])
    async def test_an_unknown_dead_letter_is_404_and_changes_nothing(
        self, uow: FakeUnitOfWork, ops: FakeOps, operator: FakeOperator, message_id: str
    ) -> None:
        with pytest.raises(DeadLetterNotFound):
            await handle_dead_letter(uow, operator, _handle(message_id))
        assert operator.calls == []
        assert ops.audit == []
        assert uow.commits == 0


class TestStory:
    def _event(self, at: datetime, direction: str, key: str = WO) -> StoryEvent:
        return StoryEvent(
            at,
            direction,
            "created",
            "workorders.work-order.v1",
            key,
            str(uuid.uuid4()),
            key,
            1,
            TRACEPARENT,
            None,
            None,
            None,
        )

    async def test_the_story_is_in_time_order_with_its_window(
        self, ops: FakeOps, uow: FakeUnitOfWork
    ) -> None:
        now = datetime.now(UTC)
        later, earlier = self._event(now, "consumed"), self._event(now - timedelta(seconds=5), "published")
        ops.events = [later, earlier, self._event(now, "published", key=str(uuid.uuid4()))]
        story = await tell_story(uow, TellStory(uuid.UUID(WO), 30))
        assert [e.direction for e in story.events] == ["published", "consumed"]
        assert story.retention_days == 30
        assert timedelta(days=30) - (now - story.window_start) < timedelta(minutes=1)
        limited = await tell_story(uow, TellStory(uuid.UUID(WO), 30, limit=1))
        assert limited.events == [earlier]

    async def test_nothing_about_it_is_404(self, uow: FakeUnitOfWork) -> None:
        with pytest.raises(StoryNotFound):
            await tell_story(uow, TellStory(uuid.uuid4(), 7))

    @pytest.mark.parametrize(
        ("traceparent", "expected"),
        [
            (TRACEPARENT, "4bf92f3577b34da6a3ce929d0e0e4736"),
            (None, None),
            ("junk", None),
            ("00-" + "0" * 32 + "-00f067aa0ba902b7-01", None),
            ("00-zzf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", None),
        ],
    )
    def test_trace_id_of_a_traceparent(self, traceparent: str | None, expected: str | None) -> None:
        assert trace_id(traceparent) == expected
