"""Verify a report by the code printed on its pages (issue 21 item 4): ``GET /v1/verify/{code}``.

Public (no token), so it answers only what the bank copy itself shows — bank, report date, fair market
value — plus the SHA-256 of the DOCX and of the PDF beside it, and the pack's state: released or not, still valid or superseded by a
reopen. No tenant, work-order, borrower or owner data; an unknown or malformed code is one 404.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from factory_service.domain.errors import VerificationCodeNotFound
from factory_service.domain.release import SUCCESSFUL_GATE_RESULTS
from factory_service.domain.verification import canonical_code, display_code
from factory_service.rendering.docx_renderer import report_date_of
from factory_service.rendering.formatting import to_decimal
from factory_service.rendering.sections import mapping
from factory_service.repositories import PackRepository, ReleaseRepository
from shared.db.uow import UnitOfWork

_CENT = Decimal("0.01")


@dataclass(frozen=True)
class VerifyReport:
    """The code as someone typed or scanned it."""

    code: str


@dataclass(frozen=True)
class ReportVerification:
    """What anyone may learn about the report that carries a code."""

    verification_code: str
    bank_name: str | None
    report_date: str | None
    fmv: Decimal | None
    docx_sha256: str | None
    pdf_sha256: str | None
    pack_version: int
    generated: bool
    released: bool
    released_at: str | None
    superseded: bool
    superseded_at: str | None

    @property
    def valid(self) -> bool:
        """Released and not superseded by a reopen: the copy a bank may rely on."""
        return self.released and not self.superseded


def _fmv(bundle: dict[str, Any]) -> Decimal | None:
    for source in (bundle.get("derived_json"), bundle.get("contract_json")):
        value = to_decimal(mapping(mapping(source).get("computed_values")).get("FMV"))
        if value is not None:
            return value.quantize(_CENT, rounding=ROUND_HALF_UP)
    return None


def _bank(bundle: dict[str, Any]) -> str | None:
    name = mapping(mapping(bundle.get("contract_json")).get("party")).get("bank_name")
    return name if isinstance(name, str) and name.strip() else None


async def verify_report(uow: UnitOfWork, query: VerifyReport) -> ReportVerification:
    """The public facts of the pack printed with ``query.code`` (404 for any other code)."""
    code = canonical_code(query.code)
    packs = uow.repo(PackRepository)
    pack = await packs.by_verification_code(code) if code else None
    if code is None or pack is None:
        raise VerificationCodeNotFound
    pack_id = uuid.UUID(pack.id)
    raw = await packs.export_bundle(pack_id)
    bundle: dict[str, Any] = json.loads(raw) if raw else {}
    artifacts = {a.kind: a for a in await packs.artifacts(pack_id)}
    docx, pdf = artifacts.get("docx"), artifacts.get("pdf")
    released = sorted(
        (
            r
            for r in await uow.repo(ReleaseRepository).of_pack(pack_id)
            if r.billing_gate_result in SUCCESSFUL_GATE_RESULTS
        ),
        key=lambda r: r.released_at or r.created_at,
    )
    date: datetime | None = report_date_of(bundle)
    return ReportVerification(
        verification_code=display_code(code),
        bank_name=_bank(bundle),
        report_date=date.date().isoformat() if date else None,
        fmv=_fmv(bundle),
        docx_sha256=docx.checksum_sha256 if docx else None,
        pdf_sha256=pdf.checksum_sha256 if pdf else None,
        pack_version=pack.version,
        generated=docx is not None,
        released=bool(released),
        released_at=(released[0].released_at or released[0].created_at) if released else None,
        superseded=pack.status == "superseded",
        superseded_at=pack.superseded_at,
    )
