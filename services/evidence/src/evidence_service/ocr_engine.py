"""OCR engine adapter (architecture decision 28): Tesseract for images, the PDF text layer for PDFs.

Blocking I/O (a Tesseract subprocess, PDF parsing): async callers run :func:`run_ocr` in a worker
thread. Failures that retrying cannot fix raise :class:`~evidence_service.domain.errors.OcrFailure` subclasses with the code
the OCR job is FAILED with; content we cannot read at all gives a normal result with a ``note``.
"""

from __future__ import annotations

import functools
import io
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Final

import pytesseract
from PIL import Image, ImageOps, UnidentifiedImageError

from evidence_service.domain.errors import OcrDocumentUnreadable, OcrEngineUnavailable, OcrTimedOut
from evidence_service.domain.ocr_fields import extract_fields

if TYPE_CHECKING:
    import pypdf

__all__ = [
    "DEFAULT_LANGS",
    "DEFAULT_TIMEOUT_SECONDS",
    "IMAGE_CONTENT_TYPES",
    "PDF_CONTENT_TYPES",
    "OcrEngineUnavailable",
    "OcrResult",
    "available_languages",
    "run_ocr",
    "tesseract_version",
    "validate_langs",
]

DEFAULT_TIMEOUT_SECONDS: Final = 60
"""Upper bound for one Tesseract run; a phone photo normally takes a few seconds."""

DEFAULT_LANGS: Final = "eng+kan+hin"
"""Tesseract languages of valuation documents: English, Kannada (land records such as RTC extracts), Hindi."""

INSTALL_HINT: Final = (
    "run `make install` (it installs deploy/system-packages.txt), or "
    "`sudo apt-get install -y tesseract-ocr tesseract-ocr-eng tesseract-ocr-kan tesseract-ocr-hin`"
)

_LANGS_RE: Final = re.compile(r"^[A-Za-z][A-Za-z0-9_]{1,30}(\+[A-Za-z][A-Za-z0-9_]{1,30}){0,9}$")

IMAGE_CONTENT_TYPES: Final = frozenset(
    {"image/jpeg", "image/jpg", "image/pjpeg", "image/png", "image/webp", "image/heic", "image/heif"}
)
PDF_CONTENT_TYPES: Final = frozenset({"application/pdf", "application/x-pdf"})

NOTE_UNSUPPORTED_CONTENT_TYPE: Final = "UNSUPPORTED_CONTENT_TYPE"
NOTE_PDF_NO_TEXT_LAYER: Final = "PDF_HAS_NO_TEXT_LAYER"
NOTE_PDF_ENCRYPTED: Final = "PDF_ENCRYPTED"
NOTE_NO_TEXT_FOUND: Final = "NO_TEXT_FOUND"


@dataclass(frozen=True, slots=True)
class OcrResult:
    """What one OCR run read from a document.

    ``confidence`` is 0..1: Tesseract's mean word confidence for images, 1.0 for a PDF text layer
    (the text is exact), 0.0 when nothing was read. ``note`` says why a result is empty
    (``UNSUPPORTED_CONTENT_TYPE``, ``PDF_HAS_NO_TEXT_LAYER``, ``PDF_ENCRYPTED``, ``NO_TEXT_FOUND``).
    """

    extracted_text: str
    detected_fields: list[dict[str, Any]]
    engine: str
    engine_version: str | None
    confidence: float
    page_count: int
    content_type: str
    note: str | None = None
    details: dict[str, Any] = field(default_factory=dict)

    def to_result_json(self) -> dict[str, Any]:
        """The OCR job's ``result_json``."""
        return {
            "extracted_text": self.extracted_text,
            "detected_fields": [dict(item) for item in self.detected_fields],
            "engine": self.engine,
            "engine_version": self.engine_version,
            "confidence": self.confidence,
            "page_count": self.page_count,
            "content_type": self.content_type,
            "note": self.note,
            "details": dict(self.details),
        }


def _normalise_content_type(content_type: str) -> str:
    return content_type.split(";", 1)[0].strip().lower()


def tesseract_version() -> str:
    """The installed Tesseract version, or :class:`OcrEngineUnavailable` when it is missing."""
    try:
        return str(pytesseract.get_tesseract_version())
    except (pytesseract.TesseractNotFoundError, OSError) as exc:
        raise OcrEngineUnavailable(
            f"Tesseract OCR engine is not installed or not on PATH: {INSTALL_HINT}",
            {"engine": "tesseract", "fix": INSTALL_HINT},
        ) from exc


def validate_langs(langs: str) -> str:
    """``langs`` as Tesseract expects it (``eng+kan+hin``); :class:`ValueError` for anything else."""
    if not _LANGS_RE.match(langs):
        raise ValueError(f"OCR languages must look like 'eng+kan+hin', got {langs!r}")
    return langs


@functools.lru_cache(maxsize=1)
def _installed_languages() -> frozenset[str]:
    return frozenset(str(lang) for lang in pytesseract.get_languages(config=""))


def available_languages() -> frozenset[str]:
    """Languages the installed Tesseract can read; :class:`OcrEngineUnavailable` when it is missing."""
    try:
        langs = _installed_languages()
    except (pytesseract.TesseractNotFoundError, pytesseract.TesseractError, OSError) as exc:
        _installed_languages.cache_clear()
        raise OcrEngineUnavailable(
            f"Tesseract OCR engine is not installed or not on PATH: {INSTALL_HINT}",
            {"engine": "tesseract", "fix": INSTALL_HINT},
        ) from exc
    if not langs:
        # An install without traineddata is as good as none; look again next time.
        _installed_languages.cache_clear()
    return langs


def _require_languages(langs: str) -> None:
    missing = [lang for lang in langs.split("+") if lang not in available_languages()]
    if missing:
        _installed_languages.cache_clear()  # a language installed later is seen by the next job
        raise OcrEngineUnavailable(
            f"Tesseract lacks the languages {'+'.join(missing)}: {INSTALL_HINT}",
            {"engine": "tesseract", "missing_languages": missing, "fix": INSTALL_HINT},
        )


def run_ocr(
    data: bytes,
    content_type: str,
    *,
    timeout_seconds: int = DEFAULT_TIMEOUT_SECONDS,
    langs: str = DEFAULT_LANGS,
) -> OcrResult:
    """Read the text of a document and suggest field values from it.

    Images (JPEG, PNG, WebP; HEIC/HEIF when the installed Pillow can decode it) go through Tesseract;
    PDFs through their text layer (no rasterising: a scanned PDF gives ``PDF_HAS_NO_TEXT_LAYER``).
    Images are read with the Tesseract languages ``langs`` (default English + Kannada + Hindi).
    Raises :class:`OcrEngineUnavailable` when Tesseract or one of ``langs`` is needed but missing,
    :class:`OcrTimedOut` after ``timeout_seconds`` and :class:`OcrDocumentUnreadable` for corrupt bytes.
    """
    kind = _normalise_content_type(content_type)
    if kind in PDF_CONTENT_TYPES:
        return _read_pdf(data, kind)
    if kind in IMAGE_CONTENT_TYPES:
        return _read_image(data, kind, timeout_seconds, validate_langs(langs))
    return _unsupported(kind, f"content type {kind or '<empty>'} cannot be read by OCR")


def _unsupported(kind: str, reason: str) -> OcrResult:
    return OcrResult(
        extracted_text="",
        detected_fields=[],
        engine="none",
        engine_version=None,
        confidence=0.0,
        page_count=0,
        content_type=kind,
        note=NOTE_UNSUPPORTED_CONTENT_TYPE,
        details={"reason": reason},
    )


def _read_pdf(data: bytes, kind: str) -> OcrResult:
    # pypdf (~19 MB) only where a PDF is read: the OCR pool's worker, not every evidence process
    import pypdf
    from pypdf.errors import PyPdfError

    version = str(pypdf.__version__)
    try:
        reader = pypdf.PdfReader(io.BytesIO(data))
        if reader.is_encrypted and not _decrypts_without_password(reader):
            # Readable only with a password we do not have; not an error of the job.
            return OcrResult("", [], "pypdf", version, 0.0, 0, kind, NOTE_PDF_ENCRYPTED)
        pages = [page.extract_text() or "" for page in reader.pages]
    except (PyPdfError, ValueError, KeyError, TypeError) as exc:
        raise OcrDocumentUnreadable("PDF could not be parsed", {"error": str(exc)}) from exc
    text = "\n\n".join(page.strip() for page in pages if page.strip())
    if not text:
        return OcrResult("", [], "pypdf", version, 0.0, len(pages), kind, NOTE_PDF_NO_TEXT_LAYER)
    return OcrResult(text, extract_fields(text), "pypdf", version, 1.0, len(pages), kind)


def _decrypts_without_password(reader: pypdf.PdfReader) -> bool:
    # Many PDFs are "encrypted" with an empty user password (permissions only); those open fine.
    from pypdf.errors import DependencyError, PdfReadError

    try:
        return bool(reader.decrypt(""))
    except (DependencyError, PdfReadError):
        return False


def _open_image(data: bytes, kind: str) -> Image.Image | OcrResult:
    try:
        image = Image.open(io.BytesIO(data))
        image.load()
    except UnidentifiedImageError as exc:
        if kind in {"image/heic", "image/heif"}:
            # Pillow decodes HEIC only with an extra plugin; say so instead of failing the job.
            return _unsupported(kind, "HEIC/HEIF images cannot be decoded by the installed Pillow")
        raise OcrDocumentUnreadable("image could not be decoded", {"content_type": kind}) from exc
    except (OSError, Image.DecompressionBombError) as exc:
        raise OcrDocumentUnreadable("image could not be decoded", {"error": str(exc)}) from exc
    # Phone photos store rotation in EXIF; Tesseract reads upright text far better.
    upright = ImageOps.exif_transpose(image)
    return upright.convert("RGB") if upright.mode not in {"RGB", "L"} else upright


def _read_image(data: bytes, kind: str, timeout_seconds: int, langs: str) -> OcrResult:
    opened = _open_image(data, kind)
    if isinstance(opened, OcrResult):
        return opened
    version = tesseract_version()
    _require_languages(langs)
    try:
        words = pytesseract.image_to_data(
            opened, lang=langs, output_type=pytesseract.Output.DICT, timeout=timeout_seconds
        )
    except pytesseract.TesseractNotFoundError as exc:
        raise OcrEngineUnavailable("Tesseract OCR engine disappeared", {"engine": "tesseract"}) from exc
    except pytesseract.TesseractError as exc:
        raise OcrDocumentUnreadable("Tesseract could not read the image", {"error": str(exc)}) from exc
    except RuntimeError as exc:
        # pytesseract signals its subprocess timeout as a bare RuntimeError.
        raise OcrTimedOut(
            f"Tesseract did not finish within {timeout_seconds} s", {"timeout_seconds": timeout_seconds}
        ) from exc
    text, confidence = _assemble(words)
    if not text:
        return OcrResult("", [], "tesseract", version, 0.0, 1, kind, NOTE_NO_TEXT_FOUND)
    return OcrResult(text, extract_fields(text, confidence), "tesseract", version, confidence, 1, kind)


def _assemble(words: Mapping[str, Sequence[Any]]) -> tuple[str, float]:
    """Rebuild text from Tesseract's word boxes (one run gives both text and confidence)."""
    lines: dict[tuple[int, int, int, int], list[str]] = {}
    confidences: list[float] = []
    for index, raw in enumerate(words["text"]):
        token = str(raw).strip()
        conf = float(words["conf"][index])
        if not token or conf < 0:
            continue  # layout rows (page/block/line) carry conf -1 and no text
        key = (
            int(words["page_num"][index]),
            int(words["block_num"][index]),
            int(words["par_num"][index]),
            int(words["line_num"][index]),
        )
        lines.setdefault(key, []).append(token)
        confidences.append(conf)
    if not confidences:
        return "", 0.0
    text_parts: list[str] = []
    previous_paragraph: tuple[int, int, int] | None = None
    for key in sorted(lines):
        paragraph = key[:3]
        if previous_paragraph is not None and paragraph != previous_paragraph:
            text_parts.append("")  # blank line between paragraphs, as image_to_string does
        text_parts.append(" ".join(lines[key]))
        previous_paragraph = paragraph
    mean = sum(confidences) / len(confidences) / 100.0
    return "\n".join(text_parts), round(min(1.0, max(0.0, mean)), 4)
