"""All SQL of the work-orders service."""

from __future__ import annotations

import json
import uuid
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from workorders_service.settings import SCHEMA

S = SCHEMA

_WO_COLUMNS = (
    "id::text, tenant_id::text AS org_id, source_type, source_ref_id::text, assignment_id::text, report_type, "
    "bank_name, bank_type, value_slab, template_selector, status, billing_external_key, report_pack_id::text, "
    "evidence_profile_id::text, current_readiness, version, created_by_user_id::text, created_at, updated_at"
)


def _iso(value: Any) -> Any:
    return (
        value.isoformat(timespec="milliseconds").replace("+00:00", "Z")
        if hasattr(value, "isoformat")
        else value
    )


class WorkOrderRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def insert(self, row: dict[str, Any]) -> None:
        await self.session.execute(
            text(
                f"INSERT INTO {S}.work_orders (id, tenant_id, source_type, source_ref_id, assignment_id, "
                "report_type, bank_name, bank_type, billing_external_key, created_by_user_id) VALUES "
                "(:id, :tenant_id, :source_type, :source_ref_id, :assignment_id, :report_type, :bank_name, "
                ":bank_type, :billing_external_key, :created_by_user_id)"
            ),
            row,
        )

    async def get(self, work_order_id: uuid.UUID, *, for_update: bool = False) -> dict[str, Any] | None:
        lock = " FOR UPDATE" if for_update else ""
        result = await self.session.execute(
            text(f"SELECT {_WO_COLUMNS} FROM {S}.work_orders WHERE id = :id{lock}"), {"id": work_order_id}
        )
        row = result.mappings().first()
        return serialize_work_order(dict(row)) if row else None


def serialize_work_order(row: dict[str, Any]) -> dict[str, Any]:
    """The serialized work order of domain.md §1.8 (plus our additive fields)."""
    readiness = row.get("current_readiness")
    if isinstance(readiness, str):
        readiness = json.loads(readiness)
    return {
        "id": row["id"],
        "org_id": row["org_id"],
        "source_type": row["source_type"],
        "source_ref_id": row["source_ref_id"],
        "assignment_id": row["assignment_id"],
        "report_type": row["report_type"],
        "bank_name": row["bank_name"],
        "bank_type": row["bank_type"],
        "value_slab": row["value_slab"],
        "template_selector": row["template_selector"],
        "status": row["status"],
        "report_pack_id": row["report_pack_id"],
        "evidence_profile_id": row["evidence_profile_id"],
        "billing_external_key": row["billing_external_key"],
        "billing": {
            "mode_cache": None,
            "account_id": None,
            "reservation_id": None,
            "service_invoice_id": None,
            "hooks": {},
        },
        "created_by_user_id": row["created_by_user_id"],
        "created_at": _iso(row["created_at"]),
        "updated_at": _iso(row["updated_at"]),
        "version": row["version"],
    }
