"""The content-addressed blob store shared by evidence (documents) and factory (artifacts).

A local directory in dev (``ZENOPS_BLOB_DIR``), laid out ``<root>/<aa>/<bb>/<sha256>``; outside any web
root. Writes are atomic (temporary file + rename) and idempotent (same bytes → same key).
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from pathlib import Path


class BlobStore:
    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    def _path(self, key: str) -> Path:
        if len(key) != 64 or any(c not in "0123456789abcdef" for c in key):
            raise ValueError(f"not a sha256 blob key: {key!r}")
        return self.root / key[:2] / key[2:4] / key

    def put(self, data: bytes) -> str:
        """Store ``data``; returns its SHA-256 (the key)."""
        key = hashlib.sha256(data).hexdigest()
        path = self._path(key)
        if path.exists():
            return key
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(data)
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, path)
        finally:
            if os.path.exists(tmp):
                os.unlink(tmp)
        return key

    def get(self, key: str) -> bytes | None:
        """The bytes under ``key``, or ``None`` (also for malformed keys)."""
        try:
            return self._path(key).read_bytes()
        except (ValueError, FileNotFoundError):
            return None

    def exists(self, key: str) -> bool:
        try:
            return self._path(key).exists()
        except ValueError:
            return False
