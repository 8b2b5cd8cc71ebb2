"""The public verify route (issue 21 item 4): ``GET /v1/verify/{code}``, no token, through the gateway
(which rate-limits it per client address like its other public routes)."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, PlainSerializer

from factory_service.domain.errors import VerificationCodeNotFound
from factory_service.handlers.verify_report import ReportVerification, VerifyReport, verify_report
from factory_service.rendering.amount_words import rupees_in_words
from factory_service.rendering.formatting import format_inr
from shared.api import ContainerDep, errors

router = APIRouter(prefix="/v1")

Rupees = Annotated[Decimal, PlainSerializer(float, return_type=float, when_used="json")]
"""An amount in rupees, exact (``Decimal``, two decimals), a JSON number at the edge."""


class ReportVerificationView(BaseModel):
    """What anyone holding a report may check against the platform: the facts printed on it, the SHA-256
    of the DOCX the platform released, and whether that release still stands."""

    model_config = ConfigDict(extra="forbid")

    verification_code: str
    bank_name: str | None
    report_date: str | None
    fmv: Rupees | None
    fmv_inr: str
    fmv_in_words: str
    docx_sha256: str | None
    pdf_sha256: str | None
    pack_version: int
    generated: bool
    released: bool
    released_at: str | None
    superseded: bool
    superseded_at: str | None
    valid: bool


def verification_view(found: ReportVerification) -> ReportVerificationView:
    return ReportVerificationView(
        verification_code=found.verification_code,
        bank_name=found.bank_name,
        report_date=found.report_date,
        fmv=found.fmv,
        fmv_inr=format_inr(found.fmv),
        fmv_in_words=rupees_in_words(found.fmv),
        docx_sha256=found.docx_sha256,
        pdf_sha256=found.pdf_sha256,
        pack_version=found.pack_version,
        generated=found.generated,
        released=found.released,
        released_at=found.released_at,
        superseded=found.superseded,
        superseded_at=found.superseded_at,
        valid=found.valid,
    )


@router.get(
    "/verify/{code}", response_model=ReportVerificationView, responses=errors(VerificationCodeNotFound)
)
async def get_verification(code: str, c: ContainerDep) -> ReportVerificationView:
    """Public: the report printed with ``code`` (case, hyphens and spaces do not matter) — bank, report
    date, FMV, the SHA-256 of the DOCX and of the PDF, released or not, still valid or superseded by a reopen. Unknown → 404."""
    async with c.system_uow() as uow:
        return verification_view(await verify_report(uow, VerifyReport(code)))
