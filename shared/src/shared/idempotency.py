"""HTTP idempotency (architecture §5): same key + same parameters → the stored response; different
parameters → 409 ``IDEMPOTENCY_KEY_REUSED``.

Routes use one flow, :meth:`IdempotencyStore.run_once`, inside the request's unit of work: it takes a
transaction-scoped advisory lock on (scope, key) so two concurrent requests with one key are serialized,
answers the stored response if there is one, else runs the effect and stores its answer in the same
transaction, so a crash never leaves one without the other. Without a key the effect simply runs.
:meth:`IdempotencyStore.begin` and :meth:`IdempotencyStore.save` are its two halves, for the rare route
whose answer is settled in a later transaction.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from fastapi.responses import JSONResponse
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from shared.errors import IdempotencyKeyReused
from shared.stable_json import stable_dumps


def request_hash(params: Mapping[str, Any]) -> str:
    """SHA-256 of the canonical JSON of the parameters that define the request."""
    return hashlib.sha256(stable_dumps(dict(params)).encode()).hexdigest()


@dataclass(frozen=True)
class StoredResponse:
    """An answer as the client sees it: status, JSON body and the headers worth replaying."""

    status_code: int
    body: Any
    headers: dict[str, str] = field(default_factory=dict)

    def to_response(self) -> JSONResponse:
        return JSONResponse(self.body, status_code=self.status_code, headers=self.headers)


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

    async def run_once(
        self,
        session: AsyncSession,
        *,
        scope: str,
        key: str | None,
        params: Mapping[str, Any],
        effect: Callable[[], Awaitable[StoredResponse]],
    ) -> StoredResponse:
        """The answer of ``effect`` under ``Idempotency-Key`` ``key`` (the stored one on a retry).

        The effect's answer is stored in the caller's transaction; the caller commits.
        """
        if not key:
            return await effect()
        stored = await self.begin(session, scope=scope, key=key, params=params)
        if stored is not None:
            return stored
        answer = await effect()
        await self.save(
            session,
            scope=scope,
            key=key,
            params=params,
            status_code=answer.status_code,
            body=answer.body,
            headers=answer.headers,
        )
        return answer
