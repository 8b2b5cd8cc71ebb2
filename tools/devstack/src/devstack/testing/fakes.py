"""The in-memory unit of work of the fast handler tests (cosmicpython's ``FakeUnitOfWork``).

A handler reaches repositories only through :meth:`UnitOfWork.repo`, so a test hands it a
:class:`FakeUnitOfWork` holding in-memory fakes of the repositories that use case touches. A fake is a
subclass of the real repository that overrides the methods the handlers call with dict/list state and
skips the session (its ``__init__`` takes none), so mypy checks it against the real signatures::

    class FakeWorkOrders(WorkOrderRepository):
        def __init__(self) -> None:
            self.rows: dict[uuid.UUID, WorkOrder] = {}

        async def get(self, work_order_id, *, for_update=False):
            return self.rows.get(work_order_id)

    uow = FakeUnitOfWork(FakeWorkOrders(), tenant_id=TENANT)
    result = await add_comment(uow, AddComment(...))
    assert uow.commits == 0 and uow.events_of("...") == [...]

No Postgres, no Kafka: each test runs in milliseconds.
"""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta
from typing import Any

from shared.db.uow import Repository, RepositoryT, UnitOfWork
from shared.messaging.envelope import Envelope


class FakeUnitOfWork(UnitOfWork):
    """A unit of work over in-memory repository fakes; records commits and the outbox it would write."""

    def __init__(
        self,
        *fakes: Repository,
        tenant_id: str | None = None,
        user_id: str | None = None,
        aud: str | None = None,
    ) -> None:
        super().__init__(tenant_id=tenant_id, user_id=user_id, aud=aud)
        self._fakes: dict[type[Repository], Repository] = {}
        for fake in fakes:
            # Registered under every repository class it stands for (its real class and that one's bases).
            for cls in type(fake).__mro__:
                if isinstance(cls, type) and issubclass(cls, Repository) and cls is not Repository:
                    self._fakes.setdefault(cls, fake)
        self.commits = 0
        self.outbox: list[tuple[str, str, Envelope]] = []
        """``(topic, key, envelope)`` in publication order, as the outbox would hold them."""

    def repo(self, cls: type[RepositoryT]) -> RepositoryT:
        found = self._fakes.get(cls)
        if found is None:
            raise LookupError(f"the handler uses {cls.__name__}: give the FakeUnitOfWork a fake of it")
        return found  # type: ignore[return-value]  # registered under its own classes

    async def commit(self) -> None:
        self.commits += 1

    async def _write(self, *, topic: str, key: str, envelope: Envelope) -> None:
        self.outbox.append((topic, key, envelope))

    def events_of(self, event_type: str) -> list[dict[str, Any]]:
        """The payloads of the published events of ``event_type``, in order."""
        return [envelope.payload for envelope in self.published if envelope.type == event_type]

    async def __aenter__(self) -> FakeUnitOfWork:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        return None


class FakeClock:
    """The database clock of the fakes: starts now and moves one millisecond per reading, so rows written
    one after another order like rows of successive transactions."""

    def __init__(self) -> None:
        self._ticks = itertools.count()
        self._start = datetime.now(UTC)

    def __call__(self) -> datetime:
        return self._start + timedelta(milliseconds=next(self._ticks))
