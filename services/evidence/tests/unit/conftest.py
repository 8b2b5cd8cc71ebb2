"""Fixtures of the fast handler tests: in-memory repositories and a unit of work over them."""

from __future__ import annotations

from pathlib import Path

import pytest

from devstack.testing.data import TEST_TENANT, TEST_USER
from devstack.testing.fakes import FakeUnitOfWork
from services.evidence.tests.unit.fakes import Fakes
from shared.blobstore import BlobStore


@pytest.fixture
def fakes() -> Fakes:
    """Empty fakes of every evidence repository."""
    return Fakes()


@pytest.fixture
def uow(fakes: Fakes) -> FakeUnitOfWork:
    """A unit of work of the test tenant and user over ``fakes``."""
    return FakeUnitOfWork(*fakes.all(), tenant_id=TEST_TENANT, user_id=TEST_USER)


@pytest.fixture
def blobs(tmp_path: Path) -> BlobStore:
    """A blob store in the test's temporary directory."""
    return BlobStore(tmp_path / "blobs")
