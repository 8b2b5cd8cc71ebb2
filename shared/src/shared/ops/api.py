"""``/v1/ops/<service>/…``: the ops routes every service serves (issue 17), mounted by
:class:`shared.runtime.ServiceDefinition`; a service adds its own under the same prefix (billing's gate
replay).

=====================================================  =========================================
``GET  /v1/ops/<s>/outbox``                            the outbox backlog (pending, oldest age, …)
``GET  /v1/ops/<s>/consumer``                          the consumer group's positions and lag
``GET  /v1/ops/<s>/dead-letters?kind=&limit=``         dead letters and unsendable messages (heads)
``GET  /v1/ops/<s>/dead-letters/{message_id}``        one of them, its envelope, what waits behind
``POST /v1/ops/<s>/dead-letters/{message_id}/replay``  replay it and what waits behind (audited)
``POST /v1/ops/<s>/dead-letters/{message_id}/discard`` drop it, let the rest flow (audited)
``GET  /v1/ops/<s>/actions?limit=``                    the audit of those writes
``GET  /v1/ops/<s>/work-orders/{id}/story?limit=``     the service's part of a work order's story
=====================================================  =========================================

Callers: the service token, or a studio caller with ``ops.read`` (reads) / ``ops.write`` (writes) or
super_admin (:mod:`shared.ops.auth`); the gateway checks the same before forwarding.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request

from shared.api import Bearer, ContainerDep, ServiceTokenHeader, errors
from shared.auth.principal import Principal
from shared.container import ServiceContainer
from shared.messaging.consumer import Subscription
from shared.messaging.kafka import asyncpg_dsn
from shared.ops import handlers, views
from shared.ops.auth import OPS_READ, OPS_WRITE, ops_principal
from shared.ops.errors import (
    BrokerUnavailable,
    DeadLetterAlreadyHandled,
    DeadLetterNotFound,
    DeadLetterNotHead,
    StoryNotFound,
)
from shared.ops.operators import KafkaOperator
from shared.telemetry.context import request_id_var
from shared.validation import MAX_PAGE_LIMIT

#: the most messages one story answers
MAX_STORY_EVENTS = 2000


async def ops_caller(request: Request, c: ContainerDep, _t: ServiceTokenHeader, _b: Bearer) -> Principal:
    """The service token or a studio caller (:func:`shared.ops.auth.ops_principal`)."""
    return await ops_principal(c.auth, request)


OpsCaller = Annotated[Principal, Depends(ops_caller)]
Limit = Annotated[int, Query(ge=1, le=MAX_PAGE_LIMIT)]
StoryLimit = Annotated[int, Query(ge=1, le=MAX_STORY_EVENTS)]
Kind = Annotated[Literal["consumer", "unsendable"] | None, Query()]


def _story_not_found(work_order_id: str) -> StoryNotFound:
    return StoryNotFound(details={"work_order_id": work_order_id[:64]})


def ops_router(
    service: str, subscriptions: Callable[[ServiceContainer[Any]], Iterable[Subscription]]
) -> APIRouter:
    """The ops routes of ``service`` (its consumer group is named like the service)."""
    router = APIRouter(prefix=f"/v1/ops/{service}", tags=["ops"])

    def operator(c: ServiceContainer[Any]) -> KafkaOperator:
        settings = c.settings
        return KafkaOperator(
            bootstrap=settings.kafka_bootstrap,
            consumer_name=settings.service_name,
            schema=c.schema,
            db=c.db,
            outbox=c.outbox,
            system_dsn=asyncpg_dsn(settings.db_system_url.get_secret_value()),
            subscriptions=lambda: subscriptions(c),
        )

    @router.get("/outbox", response_model=views.OutboxView)
    async def ops_outbox(who: OpsCaller, c: ContainerDep) -> views.OutboxView:
        """The outbox backlog: rows waiting, the oldest one's age, rows moved aside or parked behind."""
        who.require(OPS_READ)
        async with c.system_uow() as uow:
            backlog = await handlers.show_outbox(uow)
        return views.OutboxView.of(service, backlog, c.settings.messaging_retention_days)

    @router.get("/consumer", response_model=views.ConsumerView, responses=errors(BrokerUnavailable))
    async def ops_consumer(who: OpsCaller, c: ContainerDep) -> views.ConsumerView:
        """The consumer group's committed offsets, end offsets and lag per partition."""
        who.require(OPS_READ)
        topics = sorted({s.topic for s in subscriptions(c)})
        if not topics:
            return views.ConsumerView(service=service, group=None, topics=[], total_lag=0, partitions=[])
        group = c.settings.service_name
        positions = await operator(c).positions(group, topics)
        return views.ConsumerView(
            service=service,
            group=group,
            topics=topics,
            total_lag=sum(p.lag for p in positions),
            partitions=[views.PartitionView.of(p) for p in positions],
        )

    @router.get("/dead-letters", response_model=views.DeadLetterList)
    async def ops_dead_letters(
        who: OpsCaller, c: ContainerDep, kind: Kind = None, limit: Limit = 100
    ) -> views.DeadLetterList:
        """The heads of the blocked keys: consumer dead letters (parked keys) and unsendable messages."""
        who.require(OPS_READ)
        async with c.system_uow() as uow:
            letters = await handlers.list_dead_letters(uow, handlers.ListDeadLetters(kind, limit))
        return views.DeadLetterList(
            service=service, count=len(letters), items=[views.DeadLetterView.of(d) for d in letters]
        )

    @router.get(
        "/dead-letters/{message_id}",
        response_model=views.DeadLetterDetailView,
        responses=errors(DeadLetterNotFound),
    )
    async def ops_dead_letter(message_id: str, who: OpsCaller, c: ContainerDep) -> views.DeadLetterDetailView:
        """One parked or unsendable message: its envelope, its key's head, what waits behind it."""
        who.require(OPS_READ)
        async with c.system_uow() as uow:
            found = await handlers.show_dead_letter(uow, message_id)
        return views.DeadLetterDetailView.of(service, str(uuid.UUID(message_id)), found)

    def write_route(discard: bool) -> Callable[..., Any]:
        async def handle(message_id: str, who: OpsCaller, c: ContainerDep) -> views.DeadLetterActionView:
            who.require(OPS_WRITE)
            command = handlers.HandleDeadLetter(
                message_id, discard=discard, actor=f"{who.kind}:{who.sub}", request_id=request_id_var.get()
            )
            async with c.system_uow() as uow:
                handled = await handlers.handle_dead_letter(uow, operator(c), command)
            return views.DeadLetterActionView.of(service, str(uuid.UUID(message_id)), handled)

        return handle

    for verb, discard, what in (
        ("replay", False, "Replay the dead letter and the messages of its key waiting behind it, in order."),
        ("discard", True, "Drop the dead letter; the messages of its key waiting behind it then flow."),
    ):
        router.add_api_route(
            f"/dead-letters/{{message_id}}/{verb}",
            write_route(discard),
            methods=["POST"],
            response_model=views.DeadLetterActionView,
            responses=errors(
                DeadLetterNotFound, DeadLetterNotHead, DeadLetterAlreadyHandled, BrokerUnavailable
            ),
            name=f"ops_{verb}_dead_letter_{service}",
            description=f"{what} Audited; a repeated request answers the audited outcome and changes nothing.",
        )

    @router.get("/actions", response_model=views.ActionList)
    async def ops_actions(who: OpsCaller, c: ContainerDep, limit: Limit = 100) -> views.ActionList:
        """The audit of the replays and discards, newest first."""
        who.require(OPS_READ)
        async with c.system_uow() as uow:
            actions = await handlers.list_actions(uow, limit)
        return views.ActionList(service=service, items=[views.ActionView.of(a) for a in actions])

    @router.get(
        "/work-orders/{work_order_id}/story",
        response_model=views.StoryView,
        responses=errors(StoryNotFound),
    )
    async def ops_story(
        work_order_id: str, who: OpsCaller, c: ContainerDep, limit: StoryLimit = 500
    ) -> views.StoryView:
        """The messages about the work order this service published or consumed, oldest first, with the
        trace id of each; the window is the service's retention (``messaging_retention_days``)."""
        who.require(OPS_READ)
        try:
            wo = uuid.UUID(work_order_id)
        except ValueError:
            raise _story_not_found(work_order_id) from None
        command = handlers.TellStory(wo, c.settings.messaging_retention_days, limit)
        async with c.system_uow() as uow:
            story = await handlers.tell_story(uow, command)
        return views.StoryView.of(service, story)

    return router
