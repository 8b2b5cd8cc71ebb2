"""add_comment: the stored comment and the work order's version; 404 for an unknown work order."""

from __future__ import annotations

import uuid

import pytest

from devstack.testing.fakes import FakeUnitOfWork
from services.workorders.tests.unit.fakes import USER, FakeStore
from workorders_service.domain.errors import WorkOrderNotFound
from workorders_service.handlers.add_comment import AddComment, add_comment


@pytest.mark.parametrize(
    ("user_id", "author"),
    [(str(USER), USER), (None, None), ("not-a-uuid", None)],
    ids=["user", "anonymous", "not-a-uuid"],
)
async def test_stores_the_comment_and_answers_the_version(
    store: FakeStore, uow: FakeUnitOfWork, user_id: str | None, author: uuid.UUID | None
) -> None:
    wo = store.work_orders.add(version=4)

    added = await add_comment(
        uow, AddComment(wo.id, user_id, "JUSTIFICATION", "market rate from two brokers")
    )

    assert added.work_order_version == 4
    assert await store.work_orders.comments(wo.id) == [added.comment]
    comment = added.comment
    assert (comment.comment_type, comment.body, comment.created_by_user_id) == (
        "JUSTIFICATION",
        "market rate from two brokers",
        author,
    )
    assert comment.note_id is None
    assert uow.published == []
    assert store.work_orders.rows[wo.id].version == 4


async def test_an_unknown_work_order_is_404(store: FakeStore, uow: FakeUnitOfWork) -> None:
    missing = uuid.uuid4()
    with pytest.raises(WorkOrderNotFound) as raised:
        await add_comment(uow, AddComment(missing, str(USER), "NOTES", "hello"))
    assert raised.value.status == 404
    assert await store.work_orders.comments(missing) == []
