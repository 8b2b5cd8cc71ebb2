"""The unit of work: one transaction, its tenant context, its repositories and the outbox rows it writes.

Only the unit of work commits; repositories never do (house style). Events added with :meth:`publish`
are written to the service's outbox table in the same transaction as the state change.

Handlers are written against :class:`UnitOfWork` and reach every repository through
:meth:`UnitOfWork.repo`, never through a session, so the same handler runs on :class:`SqlUnitOfWork`
(production: Postgres) and on an in-memory fake in the fast handler tests (``devstack.testing.fakes``).
"""

from __future__ import annotations

import contextlib
import uuid
from abc import ABC, abstractmethod
from collections.abc import Mapping
from contextlib import AbstractContextManager
from types import TracebackType
from typing import Any, Self, TypeVar

from opentelemetry import trace
from opentelemetry.trace import SpanKind
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from shared.contracts.base import Event
from shared.db.database import Database, Role
from shared.messaging.envelope import Envelope
from shared.messaging.outbox import OutboxWriter
from shared.telemetry.tracing import TENANT_ID, WORK_ORDER_ID, recording

_tracer = trace.get_tracer("shared.outbox")

RepositoryT = TypeVar("RepositoryT", bound="Repository")


class Repository:
    """Base of every repository: the SQL of one aggregate, inside the caller's transaction (never commits).

    A unit of work builds each repository once per transaction with :meth:`bind`; a repository that
    needs more than the session (e.g. the tenant of the transaction) overrides :meth:`bind`.
    """

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    @classmethod
    def bind(cls, uow: SqlUnitOfWork) -> Self:
        """This repository over ``uow``'s session."""
        return cls(uow.session)


class UnitOfWork(ABC):
    """What a handler may do with a transaction: reach repositories, publish events, commit.

    ``tenant_id``/``user_id``/``aud`` are the transaction's caller context; ``published`` lists the
    envelopes written so far (in order).
    """

    def __init__(
        self,
        *,
        tenant_id: uuid.UUID | str | None = None,
        user_id: uuid.UUID | str | None = None,
        aud: str | None = None,
    ) -> None:
        self.tenant_id = str(tenant_id) if tenant_id else None
        self.user_id = str(user_id) if user_id else None
        self.aud = aud or None
        self.published: list[Envelope] = []

    @abstractmethod
    def repo(self, cls: type[RepositoryT]) -> RepositoryT:
        """The transaction's instance of repository ``cls`` (the same one for every call)."""

    @abstractmethod
    async def commit(self) -> None:
        """Make the state changes and the published events durable, together."""

    @abstractmethod
    async def _write(self, *, topic: str, key: str, envelope: Envelope) -> None:
        """Store one outgoing event with the transaction."""

    async def publish(
        self,
        *,
        topic: str,
        key: str,
        event_type: str,
        payload: Mapping[str, Any],
        aggregate_id: str,
        aggregate_version: int,
        tenant_id: str | None = None,
        correlation_id: str | None = None,
        causation_id: str | None = None,
        version: int = 1,
    ) -> Envelope:
        """Write one event to the outbox inside this transaction and return its envelope.

        The write is a PRODUCER span (``outbox <topic>``); the envelope carries its ``traceparent``, so
        the relay's publish and every consumer's handler span are its children. When nothing records
        spans (``shared.telemetry.tracing.recording``) there is no span: the envelope carries the
        context it is written in (the request's or the handled message's), same trace id.
        """
        tenant = tenant_id if tenant_id is not None else self.tenant_id
        span = (
            contextlib.nullcontext()
            if not recording()
            else self._outbox_span(topic, event_type, aggregate_id, tenant, payload)
        )
        with span:
            envelope = Envelope.new(
                event_type=event_type,
                version=version,
                tenant_id=tenant,
                aggregate_id=aggregate_id,
                aggregate_version=aggregate_version,
                payload=dict(payload),
                correlation_id=correlation_id,
                causation_id=causation_id,
            )
            await self._write(topic=topic, key=key, envelope=envelope)
        self.published.append(envelope)
        return envelope

    @staticmethod
    def _outbox_span(
        topic: str, event_type: str, aggregate_id: str, tenant: str | None, payload: Mapping[str, Any]
    ) -> AbstractContextManager[Any]:
        """The PRODUCER span ``outbox <topic>`` the envelope's ``traceparent`` comes from."""
        work_order = payload.get("work_order_id")
        return _tracer.start_as_current_span(
            f"outbox {topic}",
            kind=SpanKind.PRODUCER,
            attributes={
                "messaging.system": "kafka",
                "messaging.destination.name": topic,
                "messaging.operation.type": "create",
                "zenops.event_type": event_type,
                "zenops.aggregate_id": aggregate_id,
                **({TENANT_ID: tenant} if tenant else {}),
                **({WORK_ORDER_ID: str(work_order)} if work_order else {}),
            },
        )

    async def emit(
        self,
        event: Event,
        *,
        aggregate_id: str,
        aggregate_version: int,
        key: str | None = None,
        tenant_id: str | None = None,
        causation_id: str | None = None,
    ) -> Envelope:
        """Publish a contract event on its topic (key defaults to the aggregate id)."""
        return await self.publish(
            topic=event.TOPIC,
            key=key or aggregate_id,
            event_type=event.TYPE,
            payload=event.to_payload(),
            aggregate_id=aggregate_id,
            aggregate_version=aggregate_version,
            tenant_id=tenant_id,
            causation_id=causation_id,
        )


class SqlUnitOfWork(UnitOfWork):
    """``async with SqlUnitOfWork(db, outbox, role=..., tenant_id=...) as uow: ...; await uow.commit()``.

    Leaving the block without :meth:`commit` rolls back. The tenant id, user id and audience are set
    with ``set_config(..., is_local => true)`` (``app.tenant_id``, ``app.user_id``, ``app.aud``, domain.md
    §0) so they last exactly one transaction, which is what the row-level-security policies read. The
    app role's audience policies fail closed: a transaction that names no audience sees no audience-
    scoped rows.
    """

    def __init__(
        self,
        db: Database,
        outbox: OutboxWriter,
        *,
        role: Role = Role.APP,
        tenant_id: uuid.UUID | str | None = None,
        user_id: uuid.UUID | str | None = None,
        aud: str | None = None,
    ) -> None:
        super().__init__(tenant_id=tenant_id, user_id=user_id, aud=aud)
        self._db = db
        self._outbox = outbox
        self.role = role
        self._session: AsyncSession | None = None
        self._committed = False
        self._repositories: dict[type[Repository], Repository] = {}
        # events published in this transaction, not written yet: one multi-row INSERT at commit
        self._pending: list[tuple[str, str, Envelope]] = []
        self._wrote = False

    @property
    def schema(self) -> str:
        """The service schema of this unit of work (the one its outbox is in)."""
        return self._outbox.schema

    @property
    def session(self) -> AsyncSession:
        if self._session is None:
            raise RuntimeError("unit of work used outside its 'async with' block")
        return self._session

    async def __aenter__(self) -> Self:
        self._session = self._db.session(self.role)
        await self._session.begin()
        if self.tenant_id or self.user_id or self.aud:
            await self._session.execute(
                text(
                    "SELECT set_config('app.tenant_id', :t, true), set_config('app.user_id', :u, true), "
                    "set_config('app.aud', :a, true)"
                ),
                {"t": self.tenant_id or "", "u": self.user_id or "", "a": self.aud or ""},
            )
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        session = self.session
        try:
            if not self._committed:
                await session.rollback()
        finally:
            await session.close()
            self._session = None
            self._repositories.clear()
            self._pending.clear()

    async def commit(self) -> None:
        if self._pending or self._wrote:
            await self._flush(wake=True)
        await self.session.commit()
        self._committed = True

    async def _flush(self, *, wake: bool = False) -> None:
        """Write the pending events (one statement, in publish order), waking the relay on commit."""
        pending, self._pending = self._pending, []
        await self._outbox.write_many(self.session, pending, wake=wake)

    def repo(self, cls: type[RepositoryT]) -> RepositoryT:
        found = self._repositories.get(cls)
        if found is None:
            found = self._repositories[cls] = cls.bind(self)
        return found  # type: ignore[return-value]  # keyed by its own class

    async def _write(self, *, topic: str, key: str, envelope: Envelope) -> None:
        self._wrote = True
        if self.session.in_nested_transaction():
            # inside a savepoint the row is written at once, so rolling the savepoint back drops it;
            # what was published before it is written first, keeping the publish order
            if self._pending:
                await self._flush()
            await self._outbox.write(self.session, topic=topic, key=key, envelope=envelope)
            return
        self._pending.append((topic, key, envelope))
