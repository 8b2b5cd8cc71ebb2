"""Composition root of the factory service."""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from factory_service.settings import SCHEMA, Settings
from shared.blobstore import BlobStore
from shared.container import ServiceContainer


@lru_cache(maxsize=1)
def settings() -> Settings:
    return Settings()


@lru_cache(maxsize=1)
def container() -> ServiceContainer[Any]:
    return ServiceContainer.create(settings(), SCHEMA)


@lru_cache(maxsize=1)
def blobs() -> BlobStore:
    """Artifacts and evidence documents, content-addressed by SHA-256 (architecture §2)."""
    return BlobStore(settings().blob_dir)
