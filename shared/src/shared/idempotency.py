"""HTTP idempotency (architecture §5): same key + same parameters → the stored response; different
parameters → 409 ``IDEMPOTENCY_KEY_REUSED``.

Used inside the request's unit of work: :meth:`IdempotencyStore.begin` takes a transaction-scoped
advisory lock on (scope, key) so two concurrent requests with one key are serialized, then returns the
stored response if there is one; :meth:`IdempotencyStore.save` stores the response in the same
transaction as the effect, so a crash never leaves one without the other.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from shared.errors import IdempotencyKeyReused
from shared.stable_json import stable_dumps


def request_hash(params: Mapping[str, Any]) -> str:
    """SHA-256 of the canonical JSON of the parameters that define the request."""
    return hashlib.sha256(stable_dumps(dict(params)).encode()).hexdigest()


@dataclass(frozen=True)
class StoredResponse:
    status_code: int
    body: Any
    headers: dict[str, str]


class IdempotencyStore:
    """Stored responses in ``<schema>.idempotency_keys``."""

    def __init__(self, schema: str) -> None:
        self.schema = schema

    async def begin(
        self, session: AsyncSession, *, scope: str, key: str, params: Mapping[str, Any]
    ) -> StoredResponse | None:
        await session.execute(
            text("SELECT pg_advisory_xact_lock(hashtextextended(:k, 0))"),
            {"k": f"{self.schema}|{scope}|{key}"},
        )
        row = (
            await session.execute(
                text(
                    f"SELECT request_hash, status_code, response::text, headers::text "
                    f"FROM {self.schema}.idempotency_keys WHERE scope = :s AND key = :k"
                ),
                {"s": scope, "k": key},
            )
        ).first()
        if row is None:
            return None
        if row[0] != request_hash(params):
            raise IdempotencyKeyReused(
                "idempotency key was already used with different parameters",
                details={"idempotency_key": key},
            )
        return StoredResponse(status_code=int(row[1]), body=json.loads(row[2]), headers=json.loads(row[3]))

    async def save(
        self,
        session: AsyncSession,
        *,
        scope: str,
        key: str,
        params: Mapping[str, Any],
        status_code: int,
        body: Any,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        await session.execute(
            text(
                f"INSERT INTO {self.schema}.idempotency_keys (scope, key, request_hash, status_code, response, headers) "
                "VALUES (:s, :k, :h, :c, CAST(:b AS jsonb), CAST(:hd AS jsonb))"
            ),
            {
                "s": scope,
                "k": key,
                "h": request_hash(params),
                "c": status_code,
                "b": json.dumps(body, default=str),
                "hd": json.dumps(dict(headers or {})),
            },
        )
