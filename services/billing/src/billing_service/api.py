"""HTTP routes of the billing service."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from sqlalchemy import text

from billing_service.bootstrap import container
from billing_service.settings import SCHEMA
from shared.auth.principal import Principal
from shared.container import ServiceContainer, parse_uuid
from shared.errors import NotFound

router = APIRouter(prefix="/v1/billing")


def _container() -> ServiceContainer:
    return container()


def principal_of(request: Request, c: Annotated[ServiceContainer, Depends(_container)]) -> Principal:
    return c.auth.jwt(request)


@router.get("/work-orders/{work_order_id}")
async def get_work_order_billing(
    work_order_id: str,
    principal: Annotated[Principal, Depends(principal_of)],
    c: Annotated[ServiceContainer, Depends(_container)],
) -> dict[str, Any]:
    """The billing view of one work order of the caller's tenant."""
    missing = NotFound(f"billing state of work order {work_order_id} not found", code="WORK_ORDER_NOT_FOUND")
    wo_id = parse_uuid(work_order_id, not_found=missing)
    async with c.tenant_uow(principal) as uow:
        row = (
            (
                await uow.session.execute(
                    text(
                        f"SELECT work_order_id::text, tenant_id::text, billing_external_key, report_type, "
                        f"status, source_version FROM {SCHEMA}.work_orders WHERE work_order_id = :id"
                    ),
                    {"id": wo_id},
                )
            )
            .mappings()
            .first()
        )
    if row is None:
        raise missing
    return {"work_order_billing": dict(row)}
