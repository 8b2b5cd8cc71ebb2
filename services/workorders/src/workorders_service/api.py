"""HTTP routes of the work-orders service: schema → command → handler."""

from __future__ import annotations

import uuid
from enum import StrEnum
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request, Response
from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from shared.auth.principal import Principal
from shared.container import ServiceContainer, parse_uuid, require_tenant, require_user, version_token
from shared.contracts.topics import WORKORDERS_WORK_ORDER
from shared.errors import NotFound
from workorders_service.bootstrap import container
from workorders_service.repository import WorkOrderRepository

router = APIRouter(prefix="/v1/repogen")


class SourceType(StrEnum):
    TENANT = "TENANT"
    EXTERNAL = "EXTERNAL"
    CHANNEL = "CHANNEL"


class ReportType(StrEnum):
    VALUATION = "VALUATION"
    DPR = "DPR"
    REVALUATION = "REVALUATION"
    STAGE_PROGRESS = "STAGE_PROGRESS"


class BankType(StrEnum):
    SBI = "SBI"
    PSU_GENERIC = "PSU_GENERIC"
    COOP = "COOP"
    AGRI = "AGRI"
    OTHER = "OTHER"


class CreateWorkOrder(BaseModel):
    model_config = ConfigDict(extra="ignore")

    source_type: SourceType
    source_ref_id: uuid.UUID | None = None
    assignment_id: uuid.UUID | None = None
    report_type: ReportType
    bank_name: Annotated[str, StringConstraints(strip_whitespace=False, min_length=1)]
    bank_type: BankType = BankType.OTHER
    billing_external_key: str | None = Field(default=None, max_length=200)


def _container() -> ServiceContainer:
    return container()


def principal_of(request: Request, c: Annotated[ServiceContainer, Depends(_container)]) -> Principal:
    return c.auth.jwt(request)


def not_found(work_order_id: str) -> NotFound:
    return NotFound(f"repogen work order {work_order_id} not found", code="WORK_ORDER_NOT_FOUND")


@router.post("/work-orders", status_code=201)
async def create_work_order(
    body: CreateWorkOrder,
    response: Response,
    principal: Annotated[Principal, Depends(principal_of)],
    c: Annotated[ServiceContainer, Depends(_container)],
) -> dict[str, Any]:
    tenant_id = require_tenant(principal)
    user_id = require_user(principal)
    if not body.bank_name.strip():
        from shared.errors import ValidationFailed

        raise ValidationFailed("bank_name: must not be blank", details={"issues": [{"path": "bank_name"}]})
    work_order_id = uuid.uuid4()
    async with c.tenant_uow(principal) as uow:
        repo = WorkOrderRepository(uow.session)
        await repo.insert(
            {
                "id": work_order_id,
                "tenant_id": uuid.UUID(tenant_id),
                "source_type": body.source_type.value,
                "source_ref_id": body.source_ref_id,
                "assignment_id": body.assignment_id,
                "report_type": body.report_type.value,
                "bank_name": body.bank_name,
                "bank_type": body.bank_type.value,
                "billing_external_key": body.billing_external_key,
                "created_by_user_id": uuid.UUID(user_id) if _is_uuid(user_id) else None,
            }
        )
        work_order = await repo.get(work_order_id)
        assert work_order is not None
        await uow.publish(
            topic=WORKORDERS_WORK_ORDER,
            key=str(work_order_id),
            event_type="created",
            payload={"work_order": work_order},
            aggregate_id=str(work_order_id),
            aggregate_version=1,
        )
        await uow.commit()
    response.headers["x-zenops-version"] = version_token("workorders", "work-order", str(work_order_id), 1)
    return {"work_order_id": str(work_order_id), "work_order": work_order}


@router.get("/work-orders/{work_order_id}")
async def get_work_order(
    work_order_id: str,
    principal: Annotated[Principal, Depends(principal_of)],
    c: Annotated[ServiceContainer, Depends(_container)],
) -> dict[str, Any]:
    wo_id = parse_uuid(work_order_id, not_found=not_found(work_order_id))
    async with c.tenant_uow(principal) as uow:
        work_order = await WorkOrderRepository(uow.session).get(wo_id)
    if work_order is None:
        raise not_found(work_order_id)
    return {"work_order": work_order}


def _is_uuid(value: str) -> bool:
    try:
        uuid.UUID(value)
    except ValueError:
        return False
    return True
