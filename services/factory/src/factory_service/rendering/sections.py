"""What the report's parts say about the evidence (issue 21 item 2): enclosures, evidence schedule rows
and photo captions, each read from the evidence's own fields.

* **Enclosures** (Part G and its equivalents): every manifest entry that is a document (not an image),
  in manifest order: its document type in words, its label, the file name and its page count (read from
  the PDF itself; one for a single image file; ``—`` when unknown).
* **Evidence schedule** rows: the evidence type, the document type in words (an image's ``OTHER`` says
  what it is, "Photograph (image/png)"), the label (annexure label, else ``tags.label``, else the
  category or document type in words) and the category (annexure category, else ``tags.category``).
* **Captions**: position, label, category, file name, capture time (``captured_at``, UTC) and GPS
  coordinates (``tags.gps {lat, lng}``, ``tags.latitude/longitude`` or ``tags.lat/lng``) when present.
"""

from __future__ import annotations

import io
import logging
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, Final

from factory_service.rendering.formatting import MISSING, to_decimal

log = logging.getLogger(__name__)

ReadBlob = Callable[[str], bytes | None]

IMAGE_EVIDENCE_TYPES: Final = frozenset({"PHOTO", "GEO", "SCREENSHOT"})
DOC_TYPE_NAMES: Final = {
    "SALE_DEED": "Sale deed",
    "RTC": "RTC (record of rights, tenancy and crops)",
    "EC": "Encumbrance certificate",
    "KHATA": "Khata certificate",
    "TAX": "Property tax receipt",
    "PLAN": "Approved building plan",
    "GUIDELINE": "Guideline value extract",
}
_CODE_NAMES: Final = {"gps": "GPS", "GPS": "GPS"}
_MAX_PDF_BYTES: Final = 64 * 1024 * 1024


def mapping(value: object) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def sequence(value: object) -> Sequence[Any]:
    return value if isinstance(value, list | tuple) else ()


def _plain(value: object) -> str | None:
    if isinstance(value, str) and value.strip():
        return value.strip()
    return None


def words_of(code: str) -> str:
    """``google_map`` → ``Google map``; ``SALE_DEED`` → ``Sale deed`` (a known document type's name)."""
    if code in DOC_TYPE_NAMES:
        return DOC_TYPE_NAMES[code]
    if code in _CODE_NAMES:
        return _CODE_NAMES[code]
    text = code.replace("_", " ").strip()
    return text[:1].upper() + text[1:].lower() if text else MISSING


def is_image_entry(entry: Mapping[str, Any]) -> bool:
    content_type = mapping(entry.get("document")).get("content_type")
    return entry.get("evidence_type") in IMAGE_EVIDENCE_TYPES or (
        isinstance(content_type, str) and content_type.startswith("image/")
    )


def blob_keys(entry: Mapping[str, Any]) -> list[str]:
    document = mapping(entry.get("document"))
    keys = [document.get("sha256"), document.get("storage_key"), entry.get("file_ref")]
    return [key for key in keys if isinstance(key, str) and key]


def category_of(entry: Mapping[str, Any]) -> str | None:
    hint, tags = mapping(entry.get("annexure_hint")), mapping(entry.get("tags"))
    return _plain(hint.get("category")) or _plain(tags.get("category"))


def document_type_text(entry: Mapping[str, Any]) -> str:
    doc_type = _plain(entry.get("doc_type"))
    if doc_type and doc_type != "OTHER":
        return words_of(doc_type)
    content_type = _plain(mapping(entry.get("document")).get("content_type"))
    kind = "Photograph" if is_image_entry(entry) else "Document"
    return f"{kind} ({content_type})" if content_type else (doc_type or kind)


def label_of(entry: Mapping[str, Any]) -> str:
    hint, tags = mapping(entry.get("annexure_hint")), mapping(entry.get("tags"))
    label = _plain(hint.get("label")) or _plain(tags.get("label"))
    if label:
        return label
    category = category_of(entry)
    if category:
        return words_of(category)
    doc_type = _plain(entry.get("doc_type"))
    if doc_type and doc_type != "OTHER":
        return words_of(doc_type)
    return words_of(str(entry.get("evidence_type") or "Evidence"))


def filename_of(entry: Mapping[str, Any]) -> str | None:
    document = mapping(entry.get("document"))
    return _plain(document.get("original_filename")) or _plain(entry.get("file_ref"))


def captured_text(entry: Mapping[str, Any]) -> str | None:
    """``captured 01-12-2026 10:15 UTC`` from the evidence's ``captured_at``, when it parses."""
    raw = entry.get("captured_at")
    if not isinstance(raw, str):
        return None
    try:
        parsed = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError:
        return None
    if parsed.tzinfo is not None:
        parsed = parsed.astimezone(UTC)
    return f"captured {parsed.strftime('%d-%m-%Y %H:%M')} UTC"


def _coordinate(value: object, limit: int) -> str | None:
    number = to_decimal(value)
    if number is None or abs(number) > limit:
        return None
    return f"{number:.6f}"


def gps_text(entry: Mapping[str, Any]) -> str | None:
    """``GPS 12.971600, 77.594600`` from the evidence's tags, when both coordinates are valid."""
    tags = mapping(entry.get("tags"))
    gps = mapping(tags.get("gps"))
    for source in (gps, tags):
        lat = source.get("lat", source.get("latitude"))
        lng = source.get("lng", source.get("lon", source.get("longitude")))
        lat_text, lng_text = _coordinate(lat, 90), _coordinate(lng, 180)
        if lat_text and lng_text:
            return f"GPS {lat_text}, {lng_text}"
    return None


def caption(entry: Mapping[str, Any], position: int) -> str:
    """The caption under an annexure image (see the module docstring)."""
    parts = [f"Image {position}", label_of(entry)]
    category = category_of(entry)
    if category and words_of(category) != parts[1]:
        parts.append(words_of(category))
    for extra in (filename_of(entry), captured_text(entry), gps_text(entry)):
        if extra:
            parts.append(extra)
    return " — ".join(parts)


def schedule_rows(
    entries: Sequence[Mapping[str, Any]], text: Callable[[object], str]
) -> list[dict[str, str]]:
    """The evidence schedule (annexure table), one row per manifest entry in order."""
    rows: list[dict[str, str]] = []
    for index, entry in enumerate(entries, start=1):
        order = entry.get("annexure_order")
        category = category_of(entry)
        rows.append(
            {
                "serial": str(index),
                "order": str(order) if isinstance(order, int) and not isinstance(order, bool) else MISSING,
                "evidence_type": text(entry.get("evidence_type")),
                "doc_type": text(document_type_text(entry)),
                "label": text(label_of(entry)),
                "category": text(words_of(category) if category else None),
                "filename": text(filename_of(entry)),
            }
        )
    return rows


def page_count(entry: Mapping[str, Any], read_blob: ReadBlob) -> int | None:
    """Pages of an enclosed document: a PDF's page count, 1 for an image, ``None`` when unknown."""
    content_type = _plain(mapping(entry.get("document")).get("content_type")) or ""
    if content_type.startswith("image/"):
        return 1
    for key in blob_keys(entry):
        blob = read_blob(key)
        if blob is None:
            continue
        if not blob.startswith(b"%PDF") or len(blob) > _MAX_PDF_BYTES:
            return None
        # pypdf (~19 MB) only where an enclosure is counted (the render, in the CPU pool's worker)
        from pypdf import PdfReader
        from pypdf.errors import PyPdfError

        try:
            return len(PdfReader(io.BytesIO(blob)).pages)
        except (PyPdfError, ValueError, KeyError, TypeError, OSError) as exc:
            log.info("enclosure page count unavailable", extra={"error": repr(exc)})
            return None
    return None


def enclosure_rows(
    entries: Sequence[Mapping[str, Any]], read_blob: ReadBlob, text: Callable[[object], str]
) -> list[dict[str, str]]:
    """The enclosures: every document (non-image) entry of the manifest, in manifest order."""
    rows: list[dict[str, str]] = []
    for entry in entries:
        if is_image_entry(entry) or (entry.get("document") is None and not entry.get("file_ref")):
            continue
        pages = page_count(entry, read_blob)
        rows.append(
            {
                "serial": str(len(rows) + 1),
                "document": text(document_type_text(entry)),
                "label": text(label_of(entry)),
                "filename": text(filename_of(entry)),
                "pages": str(pages) if pages is not None else MISSING,
            }
        )
    return rows
