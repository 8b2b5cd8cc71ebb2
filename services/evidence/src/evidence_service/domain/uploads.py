"""What an uploaded document is, decided from its bytes (architecture §6: allowed types only).

The client's ``Content-Type`` is only a claim; the stored type comes from the magic bytes. PDF, JPEG,
PNG, WebP and HEIC/HEIF are accepted. HEIC is recognised by its ISO-BMFF ``ftyp`` box and brand
(``heic``, ``heix``, ``mif1``, …), the same check browsers and libmagic use.
"""

from __future__ import annotations

from typing import Final, Literal, get_args

__all__ = [
    "ALLOWED_CONTENT_TYPES",
    "CLASSIFICATIONS",
    "SENSITIVITIES",
    "SOURCES",
    "Classification",
    "Sensitivity",
    "Source",
    "safe_filename",
    "sniff_content_type",
]

ALLOWED_CONTENT_TYPES: Final = frozenset(
    {"application/pdf", "image/jpeg", "image/png", "image/webp", "image/heic", "image/heif"}
)

Classification = Literal[
    "bank_kyc", "site_photo", "approval_plan", "tax_receipt", "legal", "invoice", "other"
]
Sensitivity = Literal["public", "internal", "pii", "confidential"]
Source = Literal[
    "portal",
    "tenant",
    "internal",
    "mobile_camera",
    "mobile_gallery",
    "desktop_upload",
    "email_ingest",
    "portal_upload",
]
CLASSIFICATIONS: Final = frozenset(get_args(Classification))
SENSITIVITIES: Final = frozenset(get_args(Sensitivity))
SOURCES: Final = frozenset(get_args(Source))
"""Document metadata enums of domain.md §1.1 (lower-case, as the original stored them)."""

_HEIC_BRANDS: Final = frozenset({b"heic", b"heix", b"heim", b"heis", b"hevc", b"hevx"})
_HEIF_BRANDS: Final = frozenset({b"mif1", b"msf1", b"heif"})
_AVIF_BRANDS: Final = frozenset({b"avif", b"avis"})


def _iso_bmff_brands(data: bytes) -> tuple[bytes, list[bytes]] | None:
    """Major and compatible brands of a leading ``ftyp`` box, or None when there is none."""
    if len(data) < 16 or data[4:8] != b"ftyp":
        return None
    box_size = int.from_bytes(data[0:4], "big")
    if box_size < 16 or box_size > len(data):
        # A box that claims more bytes than the file holds (or fewer than its own header) is corrupt.
        return None
    major = data[8:12]
    compatible = [data[i : i + 4] for i in range(16, box_size - 3, 4)]
    return major, compatible


def sniff_content_type(data: bytes) -> str | None:
    """The content type of ``data`` by its magic bytes, or None when it is not an allowed type."""
    if data.startswith(b"%PDF-"):
        return "application/pdf"
    if data.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if len(data) >= 12 and data[0:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    brands = _iso_bmff_brands(data)
    if brands is not None:
        major, compatible = brands
        if major in _AVIF_BRANDS or any(brand in _AVIF_BRANDS for brand in compatible):
            return None  # AVIF shares the mif1 brand with HEIF but is not an accepted type
        if major in _HEIC_BRANDS:
            return "image/heic"
        if major in _HEIF_BRANDS:
            return "image/heic" if any(b in _HEIC_BRANDS for b in compatible) else "image/heif"
    return None


def safe_filename(name: str | None, *, fallback: str = "document") -> str:
    """The client's file name without any directory part or control characters (max 255 chars)."""
    base = (name or "").replace("\\", "/").rsplit("/", 1)[-1]
    cleaned = "".join(ch for ch in base if ch.isprintable()).strip()
    return cleaned[:255] or fallback
