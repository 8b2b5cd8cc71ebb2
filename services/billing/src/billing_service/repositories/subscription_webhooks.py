"""The subscription webhook's SQL (domain.md §7.9 B): the subscription named by the provider's id and the
event trail row (``subscription_events``, UNIQUE (provider, idempotency_key) = the provider's event id)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from billing_service.tables import subscription_events, subscriptions
from shared.db.uow import Repository
from shared.validation import JsonObject


@dataclass(frozen=True, slots=True)
class SubscriptionWebhookEvent:
    """One verified provider event for the trail."""

    id: str
    tenant_id: str
    subscription_id: str | None
    provider: str
    event_type: str
    event_id: str
    payload_hash: str
    payload: JsonObject


class SubscriptionWebhookRepository(Repository):
    """Subscription lookups by provider id and the webhook's trail rows. Never commits."""

    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def subscription_id(self, provider: str, external_subscription_id: str) -> str | None:
        """The subscription the provider calls ``external_subscription_id`` (newest first)."""
        query = (
            select(subscriptions.c.id)
            .where(
                subscriptions.c.external_subscription_id == external_subscription_id,
                (subscriptions.c.external_provider == provider) | subscriptions.c.external_provider.is_(None),
            )
            .order_by(subscriptions.c.created_at.desc())
            .limit(1)
        )
        return (await self._session.execute(query)).scalar_one_or_none()

    async def event_row_id(self, provider: str, event_id: str) -> str | None:
        """The trail row of (provider, event id)."""
        query = select(subscription_events.c.id).where(
            subscription_events.c.provider == provider, subscription_events.c.idempotency_key == event_id
        )
        return (await self._session.execute(query)).scalar_one_or_none()

    async def add(self, event: SubscriptionWebhookEvent, *, now: datetime) -> bool:
        """Append the verified event (processed now); ``False`` when already stored."""
        stmt = (
            pg_insert(subscription_events)
            .values(
                id=event.id,
                tenant_id=event.tenant_id,
                subscription_id=event.subscription_id,
                provider=event.provider,
                event_type=event.event_type,
                signature_ok=True,
                payload_hash=event.payload_hash,
                payload_json=event.payload,
                idempotency_key=event.event_id,
                received_at=now,
                processed_at=now,
            )
            .on_conflict_do_nothing(index_elements=["provider", "idempotency_key"])
            .returning(subscription_events.c.id)
        )
        return (await self._session.execute(stmt)).scalar_one_or_none() is not None
