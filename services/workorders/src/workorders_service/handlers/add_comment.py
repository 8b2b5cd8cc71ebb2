"""Add an operator comment to a work order."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from shared.db.uow import UnitOfWork
from shared.validation import uuid_or_none
from workorders_service.domain.model import Comment
from workorders_service.handlers.common import existing_work_order
from workorders_service.repositories import WorkOrderRepository


@dataclass(frozen=True)
class AddComment:
    """A comment of ``comment_type`` by ``user_id`` on one work order."""

    work_order_id: uuid.UUID
    user_id: str | None
    comment_type: str
    body: str


@dataclass(frozen=True)
class CommentAdded:
    """The stored comment and the work order's version at that time (for the consistency token)."""

    comment: Comment
    work_order_version: int


async def add_comment(uow: UnitOfWork, command: AddComment) -> CommentAdded:
    """Insert the comment (404 when the work order does not exist)."""
    repo = uow.repo(WorkOrderRepository)
    wo = await existing_work_order(repo, command.work_order_id)
    comment = await repo.insert_comment(
        wo,
        comment_type=command.comment_type,
        body=command.body,
        created_by_user_id=uuid_or_none(command.user_id),
    )
    return CommentAdded(comment, wo.version)
