"""What a pack adds to its report beyond the bundle (issue 21 items 2 and 4): the verification code with
its QR code, and the valuer who signs. Both are fixed when the pack is built and stored with it, so
rendering the same pack again gives the same bytes (decision 24)."""

from __future__ import annotations

import io
from dataclasses import dataclass
from typing import Final

import segno

from factory_service.domain.verification import display_code

QR_SCALE: Final = 4
QR_BORDER: Final = 2


@dataclass(frozen=True)
class ReportStamp:
    """The pack's verification code (canonical form) and public verify URL, and the signing valuer."""

    verification_code: str | None = None
    verify_url: str | None = None
    valuer_name: str | None = None
    valuer_registration_no: str | None = None

    @property
    def display_code(self) -> str | None:
        return display_code(self.verification_code) if self.verification_code else None


def qr_png(url: str) -> bytes:
    """A QR code of ``url`` as PNG; segno writes no timestamp or other varying chunk, so the same URL
    always gives the same bytes."""
    out = io.BytesIO()
    segno.make(url, error="m").save(out, kind="png", scale=QR_SCALE, border=QR_BORDER)
    return out.getvalue()
