"""Render a frozen export bundle into the DOCX of a report pack, byte-reproducibly (decision 24).

The template is a real ``.docx`` with docxtpl (Jinja) tags, one per template key (see
``scripts/build_templates.py``). The bundle is turned into a plain context (:func:`build_report_context`)
whose every value is a string or a list in bundle order, so nothing depends on dict or set iteration.

What makes the output reproducible:

* core properties come from the bundle: ``created``/``modified`` = the snapshot's
  ``contract_json.audit.created_at`` (else 1980-01-01), revision 1, fixed author, the bundle hash as
  identifier; the render time appears nowhere;
* python-docx names image parts ``image<N>`` and relationships ``rId<N>`` in insertion order, and
  docxtpl numbers drawing ids from 1000 in document order: both are counters over a fixed sequence;
* the package is rewritten by :func:`normalize_zip` (fixed entry order, dates, attributes, no
  compression), which removes the wall-clock timestamps python-docx's writer puts on every entry.

Evidence images: every manifest entry that is a PHOTO, GEO or SCREENSHOT (or whose document is an
``image/*``) is looked up through ``read_blob`` by the document's ``sha256``, then its ``storage_key``,
then the item's ``file_ref``. Images are grouped into runs of consecutive manifest entries that share
a category (the annexure hint's, else ``tags.category``; else the hint's label, else the evidence type),
and each group starts on a new page with
``per_page`` images per page: the group's ``group_hint.preferred_images_per_page`` (from the first
image of the group that has a hint), kept within that hint's ``min``/``max`` images per page; a group
without a hint uses ``annexure_defaults.min_images_per_page`` — the schema's default preference (2)
equals the default minimum, so a hint-less group gets the same, larger pictures an unhinted contract
would. An image that cannot be read or decoded is listed on its page as unavailable. Captions, the
evidence schedule and the enclosures read the evidence's own fields (:mod:`.sections`).

What the bank's copy does not print: readiness, scores and warnings (issue 21: the pack's ``debug_json``
and its internal cover sheet hold them). What the pack adds beyond the bundle — the verification code
with its QR code in every footer, the valuer in the signature block — comes in as a
:class:`~factory_service.rendering.stamp.ReportStamp` fixed when the pack was built.
"""

from __future__ import annotations

import io
import re
import struct
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib import resources
from typing import TYPE_CHECKING, Any, Final

from PIL import Image, UnidentifiedImageError

from factory_service.domain.errors import ExportBundleInvalid, TemplateKeyUnknown
from factory_service.domain.templates import template_file_key, template_title
from factory_service.rendering.amount_words import rupees_in_words
from factory_service.rendering.formatting import (
    MISSING,
    format_inr,
    format_quantity,
    format_rate_per_sqm,
)
from factory_service.rendering.reproducible_zip import normalize_zip
from factory_service.rendering.sections import (
    blob_keys,
    caption,
    category_of,
    enclosure_rows,
    is_image_entry,
    schedule_rows,
    words_of,
)
from factory_service.rendering.stamp import ReportStamp, qr_png

if TYPE_CHECKING:
    from docxtpl import DocxTemplate

ReadBlob = Callable[[str], bytes | None]

FIXED_EPOCH: Final = datetime(1980, 1, 1, 0, 0, 0, tzinfo=UTC)
"""Core-property date used when the snapshot carries no ``audit.created_at`` (the ZIP epoch)."""
AUTHOR: Final = "ZenOps Repogen factory"

# Formats python-docx can embed as they are; anything else Pillow can read is converted to PNG.
_EMBEDDABLE_FORMATS: Final = frozenset({"PNG", "JPEG", "GIF", "BMP", "TIFF"})
_DEFAULT_MIN_PER_PAGE: Final = 2
_DEFAULT_MAX_PER_PAGE: Final = 4
_EMU_PER_MM: Final = 36_000
# A4 portrait with the templates' 20 mm margins: 170 x 257 mm, minus the page heading (20 mm) and a
# caption line under each image (10 mm).
_FRAME_WIDTH_EMU: Final = 170 * _EMU_PER_MM
_FRAME_HEIGHT_EMU: Final = 237 * _EMU_PER_MM
_CAPTION_EMU: Final = 10 * _EMU_PER_MM
_QR_EMU: Final = 18 * _EMU_PER_MM
_XML_INVALID = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


# --------------------------------------------------------------------------------------------------
# Bundle access


def _mapping(value: object) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _sequence(value: object) -> Sequence[Any]:
    return value if isinstance(value, list | tuple) else ()


def _text(value: object) -> str:
    """A printable string: XML-invalid control characters removed, absent values as an em dash."""
    if value is None or isinstance(value, bool | Mapping | list | tuple):
        return MISSING
    text = _XML_INVALID.sub("", str(value)).strip()
    return text or MISSING


def _lines(value: object) -> list[str]:
    if not isinstance(value, str):
        return []
    return [line for line in (_XML_INVALID.sub("", raw).rstrip() for raw in value.splitlines()) if line]


def _number_with_unit(value: object) -> str:
    area = _mapping(value)
    unit = area.get("unit") if area.get("unit") in ("sqm", "sqft") else "sqm"
    return format_quantity(area.get("value"), str(unit))


def _int_in(value: object, low: int, high: int) -> int | None:
    if isinstance(value, bool) or not isinstance(value, int):
        return None
    return min(max(value, low), high)


def _first_number(*candidates: object) -> object:
    for candidate in candidates:
        if candidate is not None and not isinstance(candidate, bool):
            return candidate
    return None


# --------------------------------------------------------------------------------------------------
# Images


@dataclass(frozen=True)
class EvidenceImage:
    """One evidence image slot on an annexure page; ``blob`` is ``None`` when it could not be read."""

    caption: str
    blob: bytes | None
    width_emu: int
    height_emu: int


@dataclass(frozen=True)
class ImagePage:
    """One annexure page of images from a single group."""

    number: int
    group_label: str
    per_page: int
    images: tuple[EvidenceImage, ...]


def _embeddable(blob: bytes) -> tuple[bytes, int, int] | None:
    """The bytes to embed and the pixel size, or ``None`` when the blob is not a readable image."""
    import docx.image.image
    from docx.image.exceptions import UnrecognizedImageError

    try:
        with Image.open(io.BytesIO(blob)) as image:
            image_format = image.format
            width, height = image.size
            if image_format not in _EMBEDDABLE_FORMATS:
                converted = io.BytesIO()
                image.convert("RGBA" if "A" in image.getbands() else "RGB").save(converted, format="PNG")
                blob = converted.getvalue()
        # python-docx parses the header itself; refuse here what it would refuse mid-render.
        docx.image.image.Image.from_blob(blob)
    except (
        UnidentifiedImageError,  # not an image at all (e.g. a PDF stored as a PHOTO)
        OSError,  # truncated or corrupt image data
        ValueError,
        SyntaxError,  # some Pillow plugins report malformed headers this way
        struct.error,
        Image.DecompressionBombError,
        UnrecognizedImageError,
    ):
        return None
    if width <= 0 or height <= 0:
        return None
    return blob, width, height


def _fit(width_px: int, height_px: int, box_width: int, box_height: int) -> tuple[int, int]:
    # Integer arithmetic only: the same pixels always give the same EMU sizes.
    if width_px * box_height <= height_px * box_width:
        return max(1, width_px * box_height // height_px), box_height
    return box_width, max(1, height_px * box_width // width_px)


def _first_text(candidates: Iterable[object], default: str) -> str:
    for candidate in candidates:
        if isinstance(candidate, str) and candidate:
            return candidate
    return default


def _group_key(entry: Mapping[str, Any]) -> str:
    hint = _mapping(entry.get("annexure_hint"))
    return _first_text((category_of(entry), hint.get("label"), entry.get("evidence_type")), "OTHER")


def _group_label(entry: Mapping[str, Any]) -> str:
    hint = _mapping(entry.get("annexure_hint"))
    category = category_of(entry)
    return _first_text(
        (hint.get("label"), words_of(category) if category else None, entry.get("evidence_type")), "Evidence"
    )


def _per_page(group: Sequence[Mapping[str, Any]], defaults: Mapping[str, Any]) -> int:
    default_min = _int_in(defaults.get("min_images_per_page"), 1, 4) or _DEFAULT_MIN_PER_PAGE
    default_max = _int_in(defaults.get("max_images_per_page"), 1, 4) or _DEFAULT_MAX_PER_PAGE
    for entry in group:
        hint = _mapping(_mapping(entry.get("annexure_hint")).get("group_hint"))
        if not hint:
            continue
        low = _int_in(hint.get("min_images_per_page"), 1, 4) or default_min
        high = max(low, _int_in(hint.get("max_images_per_page"), 1, 4) or default_max)
        preferred = _int_in(hint.get("preferred_images_per_page"), 1, 4) or low
        return min(max(preferred, low), high)
    return default_min


def plan_image_pages(bundle: Mapping[str, Any], read_blob: ReadBlob) -> list[ImagePage]:
    """The annexure image pages of ``bundle`` in manifest order (grouping rules: module docstring)."""
    entries = [_mapping(entry) for entry in _sequence(bundle.get("evidence_manifest"))]
    image_entries = [entry for entry in entries if is_image_entry(entry)]
    groups: list[list[Mapping[str, Any]]] = []
    for entry in image_entries:
        if groups and _group_key(groups[-1][0]) == _group_key(entry):
            groups[-1].append(entry)
        else:
            groups.append([entry])
    defaults = _mapping(bundle.get("annexure_defaults"))
    pages: list[ImagePage] = []
    position = 0
    for group in groups:
        per_page = _per_page(group, defaults)
        box_height = _FRAME_HEIGHT_EMU // per_page - _CAPTION_EMU
        for start in range(0, len(group), per_page):
            images: list[EvidenceImage] = []
            for entry in group[start : start + per_page]:
                position += 1
                loaded = None
                for key in blob_keys(entry):
                    blob = read_blob(key)
                    if blob is not None:
                        loaded = _embeddable(blob)
                        break
                if loaded is None:
                    images.append(EvidenceImage(caption(entry, position), None, 0, 0))
                    continue
                data, width_px, height_px = loaded
                width, height = _fit(width_px, height_px, _FRAME_WIDTH_EMU, box_height)
                images.append(EvidenceImage(caption(entry, position), data, width, height))
            pages.append(ImagePage(len(pages) + 1, _group_label(group[0]), per_page, tuple(images)))
    return pages


# --------------------------------------------------------------------------------------------------
# Context


def report_date_of(bundle: Mapping[str, Any]) -> datetime | None:
    created_at = _mapping(_mapping(bundle.get("contract_json")).get("audit")).get("created_at")
    if not isinstance(created_at, str):
        return None
    try:
        parsed = datetime.fromisoformat(created_at.replace("Z", "+00:00"))
    except ValueError:
        return None
    if parsed.tzinfo is not None:
        parsed = parsed.astimezone(UTC).replace(tzinfo=None)
    return parsed


def _money(amount: object) -> dict[str, str]:
    # figures (lakh/crore grouping) and words from the same exact decimal (issue 21 item 3)
    words = rupees_in_words(amount)
    return {
        "figures": format_inr(amount),
        "words": words,
        "in_words": "" if words == MISSING else f"({words})",
    }


def _rate(rate: object) -> dict[str, str]:
    words = rupees_in_words(rate)
    if words != MISSING:
        words = f"{words} per sqm"
    return {
        "figures": format_rate_per_sqm(rate),
        "words": words,
        "in_words": "" if words == MISSING else f"({words})",
    }


def _no_blobs(_key: str) -> bytes | None:
    return None


def build_report_context(
    bundle: Mapping[str, Any],
    *,
    template_key: str,
    export_bundle_hash: str,
    pack_version: int,
    read_blob: ReadBlob = _no_blobs,
    stamp: ReportStamp | None = None,
) -> dict[str, Any]:
    """Everything a template prints, as strings and lists in bundle order (no images; see
    :func:`plan_image_pages`). Absent values print as an em dash.

    The bank's copy prints no readiness or QA data (issue 21): those are in the pack's ``debug_json``
    and its internal cover sheet (:mod:`factory_service.rendering.cover_sheet`)."""
    work_order_id = bundle.get("work_order_id")
    if not isinstance(work_order_id, str) or not work_order_id:
        raise ExportBundleInvalid("export bundle has no work_order_id", details={"field": "work_order_id"})
    contract = _mapping(bundle.get("contract_json"))
    derived = _mapping(bundle.get("derived_json"))
    meta = _mapping(contract.get("meta"))
    party = _mapping(contract.get("party"))
    prop = _mapping(contract.get("property"))
    manual = _mapping(contract.get("manual_fields"))
    contract_values = _mapping(contract.get("computed_values"))
    derived_values = _mapping(derived.get("computed_values"))
    standardized = _mapping(derived.get("standardized"))
    std_area = _mapping(standardized.get("area")) or _mapping(contract_values.get("standardized_areas"))
    std_rates = _mapping(standardized.get("rates")) or _mapping(contract_values.get("standardized_rates"))

    def value(name: str) -> object:
        # derived_json is the engine's output for this snapshot; the contract copy is the fallback.
        return _first_number(derived_values.get(name), contract_values.get(name))

    report_date = report_date_of(bundle)
    stamp = stamp or ReportStamp()
    manifest = [_mapping(entry) for entry in _sequence(bundle.get("evidence_manifest"))]
    return {
        "title": template_title(template_key),
        "template_key": template_key,
        "pack_version": str(pack_version),
        "export_bundle_hash": export_bundle_hash,
        "work_order_id": work_order_id,
        "snapshot_version": _text(bundle.get("snapshot_version")),
        "report_date": report_date.strftime("%d-%m-%Y") if report_date else MISSING,
        "report_type": _text(meta.get("report_type") or derived.get("report_type")),
        "bank_type": _text(meta.get("bank_type") or derived.get("bank_type")),
        "template_selector": _text(meta.get("template_selector") or derived.get("template_selector")),
        "value_slab": _text(meta.get("value_slab") or derived.get("value_slab")),
        "party": {
            key: _text(party.get(key))
            for key in (
                "borrower_name",
                "owner_name",
                "client_name",
                "bank_name",
                "bank_branch_name",
                "bank_branch_code",
            )
        },
        "property": {
            **{
                key: _text(prop.get(key))
                for key in ("address", "city", "taluk", "village", "survey_no", "cts_no", "khata_no")
            },
            "land_area_input": _number_with_unit(prop.get("land_area")),
            "built_up_area_input": _number_with_unit(prop.get("built_up_area")),
            "floors": [
                {
                    "label": _text(_mapping(floor).get("label")),
                    "area": _number_with_unit(_mapping(floor).get("area")),
                }
                for floor in _sequence(prop.get("floors"))
            ],
        },
        "areas": {
            "land_area_sqm": format_quantity(std_area.get("land_area_sqm"), "sqm"),
            "built_up_area_sqm": format_quantity(std_area.get("built_up_area_sqm"), "sqm"),
        },
        "rates": {
            "guideline": _rate(std_rates.get("guideline_rate_per_sqm")),
            "market": _rate(std_rates.get("market_rate_per_sqm")),
            "adopted": _rate(std_rates.get("adopted_rate_per_sqm")),
        },
        "values": {
            "fmv": _money(value("FMV")),
            "realizable": _money(value("realizable_value")),
            "distress": _money(value("distress_value")),
            "coop_market": _money(value("coop_market_value")),
            "coop_adopted": _money(value("coop_adopted_value")),
            "coop_rounded": _money(value("rounded_to_next_500")),
        },
        "manual": {
            "justification_lines": _lines(manual.get("justification_text")),
            "enclosures_lines": _lines(manual.get("enclosures_text")),
        },
        "enclosures": enclosure_rows(manifest, read_blob, _text),
        "annexure_rows": schedule_rows(manifest, _text),
        "verification": {
            "code": _text(stamp.display_code),
            "url": _text(stamp.verify_url),
        },
        "valuer": {
            "name": _text(stamp.valuer_name),
            "registration_no": _text(stamp.valuer_registration_no),
        },
    }


# --------------------------------------------------------------------------------------------------
# Rendering


def load_template(template_key: str) -> bytes:
    """The template file serving ``template_key`` (a bank format's own, or the generic one)."""
    file_key = template_file_key(template_key)
    if file_key is None:
        raise TemplateKeyUnknown(
            f"no template for key {template_key}", details={"template_key": template_key}
        )
    resource = resources.files("factory_service").joinpath("templates", f"{file_key}.docx")
    if not resource.is_file():
        raise TemplateKeyUnknown(
            f"template file {file_key}.docx is missing", details={"template_key": template_key}
        )
    return resource.read_bytes()


def _image_pages_context(tpl: DocxTemplate, pages: Sequence[ImagePage]) -> list[dict[str, Any]]:
    from docx.shared import Emu
    from docxtpl import InlineImage

    return [
        {
            "number": str(page.number),
            "group_label": _text(page.group_label),
            "images": [
                {
                    "available": image.blob is not None,
                    "image": (
                        InlineImage(tpl, io.BytesIO(image.blob), Emu(image.width_emu), Emu(image.height_emu))
                        if image.blob is not None
                        else ""
                    ),
                    "caption": image.caption,
                }
                for image in page.images
            ],
        }
        for page in pages
    ]


def _set_core_properties(tpl: DocxTemplate, context: Mapping[str, Any], stamp: datetime) -> None:
    props = tpl.docx.core_properties
    props.author = AUTHOR
    props.last_modified_by = AUTHOR
    props.title = str(context["title"])[:255]
    props.subject = f"Work order {context['work_order_id']}, snapshot v{context['snapshot_version']}"
    props.identifier = str(context["export_bundle_hash"])
    props.keywords = str(context["template_key"])
    props.category = "valuation report"
    props.comments = f"Pack version {context['pack_version']}"
    props.revision = 1
    props.created = stamp
    props.modified = stamp


def render_report_docx(
    bundle: Mapping[str, Any],
    *,
    template_key: str,
    export_bundle_hash: str,
    pack_version: int,
    read_blob: ReadBlob,
    stamp: ReportStamp | None = None,
) -> bytes:
    """The report DOCX for a frozen export bundle and its pack's stamp (verification code, valuer);
    the same inputs give the same bytes anywhere.

    ``read_blob`` reads evidence bytes from the blob store by SHA-256 or storage key and answers
    ``None`` for what it does not hold.
    """
    template = load_template(template_key)
    context = build_report_context(
        bundle,
        template_key=template_key,
        export_bundle_hash=export_bundle_hash,
        pack_version=pack_version,
        read_blob=read_blob,
        stamp=stamp,
    )
    pages = plan_image_pages(bundle, read_blob)
    # python-docx, docxtpl and jinja2 (~8 MB) are imported where a report is rendered: the CPU pool's
    # worker, not every factory process
    import jinja2
    from docx.shared import Emu
    from docxtpl import DocxTemplate, InlineImage

    tpl = DocxTemplate(io.BytesIO(template))
    tpl.init_docx()
    context["image_pages"] = _image_pages_context(tpl, pages)
    context["image_page_count"] = str(len(pages))
    # The verify URL's QR code in the footer (docxtpl adds the image to the footer part it renders).
    url = stamp.verify_url if stamp is not None else None
    context["verification"]["qr"] = (
        InlineImage(tpl, io.BytesIO(qr_png(url)), Emu(_QR_EMU), Emu(_QR_EMU)) if url else ""
    )
    # Autoescape: bundle text such as "Co-op & Sons" must not break the document XML; InlineImage
    # declares __html__, so its drawing XML passes through untouched.
    env = jinja2.Environment(autoescape=True, undefined=jinja2.StrictUndefined)
    tpl.render(context, jinja_env=env)
    _set_core_properties(tpl, context, report_date_of(bundle) or FIXED_EPOCH)
    out = io.BytesIO()
    tpl.save(out)
    return normalize_zip(out.getvalue())
