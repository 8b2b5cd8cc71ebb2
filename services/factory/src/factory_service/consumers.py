"""Kafka subscribers of the factory service: contract → handler, inside the consumer's unit of work."""

from __future__ import annotations

import uuid

from sqlalchemy import text

from factory_service.settings import SCHEMA
from shared.contracts.topics import WORKORDERS_WORK_ORDER
from shared.db.uow import UnitOfWork
from shared.messaging.consumer import Subscription
from shared.messaging.envelope import Envelope

S = SCHEMA


async def on_work_order_created(uow: UnitOfWork, envelope: Envelope) -> None:
    """Remember the work order (tenant, report and bank type) for later decisions."""
    wo = envelope.payload["work_order"]
    await uow.session.execute(
        text(
            f"INSERT INTO {S}.work_orders (work_order_id, tenant_id, bank_type, report_type, "
            "bank_name, status, source_version) VALUES (:id, :tenant, :key, :rt, :bank, :status, :v) "
            "ON CONFLICT (work_order_id) DO NOTHING"
        ),
        {
            "id": uuid.UUID(wo["id"]),
            "tenant": uuid.UUID(wo["org_id"]),
            "key": wo.get("bank_type", "OTHER"),
            "rt": wo["report_type"],
            "bank": wo["bank_name"],
            "status": wo["status"],
            "v": envelope.aggregate_version,
        },
    )


def subscriptions() -> list[Subscription]:
    return [Subscription(WORKORDERS_WORK_ORDER, on_work_order_created, frozenset({"created"}))]
