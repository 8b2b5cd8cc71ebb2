"""Fixtures of the work-orders unit tests: the in-memory repositories and a unit of work over them."""

from __future__ import annotations

import pytest

from devstack.testing.fakes import FakeUnitOfWork
from services.workorders.tests.unit.fakes import TENANT, USER, FakeStore


@pytest.fixture
def store() -> FakeStore:
    """Empty in-memory repositories."""
    return FakeStore.new()


@pytest.fixture
def uow(store: FakeStore) -> FakeUnitOfWork:
    """A unit of work of :data:`TENANT`'s user :data:`USER` over ``store``."""
    return FakeUnitOfWork(*store.repositories(), tenant_id=str(TENANT), user_id=str(USER))
