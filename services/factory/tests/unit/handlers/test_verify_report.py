"""verify_report (the public ``GET /v1/verify/{code}``, issue 21) on in-memory fakes."""

from __future__ import annotations

import hashlib
import uuid
from decimal import Decimal

import pytest

from factory_service.domain.errors import VerificationCodeNotFound
from factory_service.domain.verification import display_code
from factory_service.handlers.verify_report import VerifyReport, verify_report
from factory_service.settings import Settings
from services.factory.tests.unit.fakes import FactoryFakes
from services.factory.tests.unit.handlers import given
from services.factory.tests.unit.handlers.given import DOCX, PDF


async def test_a_generated_pack_answers_its_public_facts_not_released_yet(
    fakes: FactoryFakes, settings: Settings
) -> None:
    pack = await given.generated_pack(fakes, settings)
    assert pack.verification_code is not None

    found = await verify_report(fakes.uow(), VerifyReport(display_code(pack.verification_code).lower()))

    assert found.verification_code == display_code(pack.verification_code)
    assert (found.bank_name, found.report_date, found.fmv) == (None, None, Decimal("1000000.00"))
    assert found.docx_sha256 == hashlib.sha256(DOCX).hexdigest()
    assert found.pdf_sha256 == hashlib.sha256(PDF).hexdigest()
    assert (found.generated, found.released, found.superseded, found.valid) == (True, False, False, False)


async def test_a_released_pack_is_valid_until_a_reopen_supersedes_it(
    fakes: FactoryFakes, settings: Settings
) -> None:
    release = await given.released(fakes, settings)
    pack = fakes.packs.rows[release.report_pack_id]
    assert pack.verification_code is not None
    query = VerifyReport(pack.verification_code)

    found = await verify_report(fakes.uow(), query)
    assert (found.released, found.valid, found.released_at is not None) == (True, True, True)

    await fakes.packs.set_status(uuid.UUID(pack.id), "superseded")
    after = await verify_report(fakes.uow(), query)
    assert (after.released, after.superseded, after.valid, after.superseded_at is not None) == (
        True,
        True,
        False,
        True,
    )


@pytest.mark.parametrize(
    "code", ["0000-0000-0000", "not a code", "", "7KQ2-M9XD-4RTB-EXTRA", "U" * 12, "x" * 10_000]
)
async def test_unknown_or_malformed_codes_are_one_404(
    fakes: FactoryFakes, settings: Settings, code: str
) -> None:
    await given.generated_pack(fakes, settings)
    with pytest.raises(VerificationCodeNotFound):
        await verify_report(fakes.uow(), VerifyReport(code))
