"""The real OCR engine: Tesseract on generated images, pypdf on a generated PDF (decision 28).

They need Tesseract with English, Kannada and Hindi data and the Kannada font (deploy/system-packages.txt,
installed by `make` itself); without them they FAIL with the one line `scripts/bootstrap.py` prints.
"""

from __future__ import annotations

import io
from pathlib import Path

import pypdf
import pytest
from PIL import Image, ImageDraw, ImageFont

from devstack.testing.data import pdf_bytes
from evidence_service.domain.errors import OcrDocumentUnreadable, OcrEngineUnavailable, OcrTimedOut
from evidence_service.ocr_engine import (
    DEFAULT_LANGS,
    available_languages,
    run_ocr,
    tesseract_version,
    validate_langs,
)
from scripts.bootstrap import ocr_problem

KANNADA_FONT = Path("/usr/share/fonts/truetype/lohit-kannada/Lohit-Kannada.ttf")


@pytest.fixture(autouse=True, scope="module")
def _ocr_engine_installed() -> None:
    """Fail (never skip) with the one line that says how to install what is missing."""
    problem = ocr_problem()
    if problem is not None:
        pytest.fail(problem, pytrace=False)


_FONT_PATHS = (
    Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"),
    Path("/usr/share/fonts/TTF/DejaVuSans.ttf"),
)


def _font(size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    for path in _FONT_PATHS:
        if path.exists():
            return ImageFont.truetype(str(path), size)
    # Pillow ≥ 10.1 ships a scalable default font, so the test does not depend on system fonts.
    return ImageFont.load_default(size=size)


def _render(lines: list[str], image_format: str, mode: str = "RGB") -> bytes:
    image = Image.new(mode, (1400, 90 + 80 * len(lines)), "white")
    # 80 px from one line to the next, as on a scanned form.
    ImageDraw.Draw(image).multiline_text((50, 45), "\n".join(lines), fill="black", font=_font(44), spacing=30)
    buffer = io.BytesIO()
    image.save(buffer, format=image_format)
    return buffer.getvalue()


def _encrypted_pdf(user_password: str) -> bytes:
    """A one-line text PDF encrypted with ``user_password`` (and an owner password)."""
    writer = pypdf.PdfWriter(clone_from=io.BytesIO(pdf_bytes(("Survey No 9",))))
    writer.encrypt(user_password=user_password, owner_password="owner")
    buffer = io.BytesIO()
    writer.write(buffer)
    return buffer.getvalue()


class TestTesseractIsInstalled:
    def test_engine_and_languages_present(self) -> None:
        assert tesseract_version().split(".")[0].isdigit()
        assert {"eng", "kan", "hin"} <= available_languages()

    def test_default_languages_are_english_kannada_hindi(self) -> None:
        assert DEFAULT_LANGS == "eng+kan+hin"

    @pytest.mark.parametrize("langs", ["eng", "eng+kan+hin", "chi_sim+eng"])
    def test_language_lists_are_accepted(self, langs: str) -> None:
        assert validate_langs(langs) == langs

    @pytest.mark.parametrize(
        "langs", ["", "eng+", "eng kan", "../../etc/passwd", "eng;rm", "+".join(["eng"] * 11)]
    )
    def test_malformed_language_lists_are_refused(self, langs: str) -> None:
        with pytest.raises(ValueError, match="OCR languages"):
            validate_langs(langs)


class TestKannada:
    def test_a_kannada_land_record_is_read(self) -> None:
        """A generated RTC-like sample in Kannada (Lohit Kannada from the system packages)."""
        assert KANNADA_FONT.exists(), ocr_problem() or "fonts-lohit-knda is missing"
        lines = ["ಕರ್ನಾಟಕ ಸರ್ಕಾರ", "ಪಹಣಿ ಪತ್ರಿಕೆ", "ಗ್ರಾಮ ಬೆಂಗಳೂರು"]
        font = ImageFont.truetype(str(KANNADA_FONT), 56)
        image = Image.new("RGB", (1400, 100 + 100 * len(lines)), "white")
        draw = ImageDraw.Draw(image)
        for index, line in enumerate(lines):
            draw.text((50, 40 + 100 * index), line, fill="black", font=font)
        buffer = io.BytesIO()
        image.save(buffer, format="PNG")

        result = run_ocr(buffer.getvalue(), "image/png")

        assert result.engine == "tesseract"
        for line in lines:
            assert line in result.extracted_text

    def test_english_only_misses_the_kannada_text(self) -> None:
        """The languages really reach the engine: with `eng` alone the Kannada words are not read."""
        font = ImageFont.truetype(str(KANNADA_FONT), 56)
        image = Image.new("RGB", (900, 160), "white")
        ImageDraw.Draw(image).text((50, 40), "ಪಹಣಿ ಪತ್ರಿಕೆ", fill="black", font=font)
        buffer = io.BytesIO()
        image.save(buffer, format="PNG")

        result = run_ocr(buffer.getvalue(), "image/png", langs="eng")

        assert "ಪಹಣಿ" not in result.extracted_text

    def test_a_language_without_data_is_engine_unavailable(self) -> None:
        with pytest.raises(OcrEngineUnavailable) as caught:
            run_ocr(_render(["x"], "PNG"), "image/png", langs="eng+xyz")

        assert caught.value.code == "OCR_ENGINE_UNAVAILABLE"
        assert caught.value.details["missing_languages"] == ["xyz"]
        assert "make install" in caught.value.message


class TestImages:
    def test_png_text_and_fields(self) -> None:
        data = _render(["Land area 1200 sq ft", "Survey No 123/4"], "PNG")

        result = run_ocr(data, "image/png")

        assert result.engine == "tesseract"
        assert result.engine_version == tesseract_version()
        assert result.page_count == 1
        assert result.note is None
        assert "Land area 1200 sq ft" in result.extracted_text
        assert "Survey No 123/4" in result.extracted_text
        assert 0.5 < result.confidence <= 1.0
        fields = {(f["field_key"], str(f["value"])) for f in result.detected_fields}
        assert ("property.land_area", str({"value": 1200, "unit": "sqft"})) in fields
        assert ("property.survey_no", "123/4") in fields
        assert all(0.0 < f["confidence"] <= 1.0 for f in result.detected_fields)

    @pytest.mark.parametrize(
        ("image_format", "content_type"), [("JPEG", "image/jpeg"), ("WEBP", "image/webp")]
    )
    def test_jpeg_and_webp(self, image_format: str, content_type: str) -> None:
        data = _render(["Khata No 4455"], image_format)

        result = run_ocr(data, f"{content_type}; charset=binary")

        assert result.engine == "tesseract"
        assert [f["value"] for f in result.detected_fields if f["field_key"] == "property.khata_no"] == [
            "4455"
        ]

    def test_blank_image_reads_nothing(self) -> None:
        result = run_ocr(_render([], "PNG"), "image/png")

        assert result.extracted_text == ""
        assert result.detected_fields == []
        assert result.confidence == 0.0
        assert result.note == "NO_TEXT_FOUND"

    def test_heic_that_pillow_cannot_open_is_unsupported(self) -> None:
        result = run_ocr(b"\x00\x00\x00\x18ftypheic" + b"\x00" * 64, "image/heic")

        assert result.note == "UNSUPPORTED_CONTENT_TYPE"
        assert result.engine == "none"
        assert "HEIC" in result.details["reason"]

    def test_corrupt_png_is_unreadable(self) -> None:
        with pytest.raises(OcrDocumentUnreadable) as caught:
            run_ocr(b"\x89PNG\r\n\x1a\n not really", "image/png")

        assert caught.value.code == "OCR_DOCUMENT_UNREADABLE"

    def test_missing_engine_raises_engine_unavailable(self, monkeypatch: pytest.MonkeyPatch) -> None:
        import pytesseract

        def not_installed() -> str:
            raise pytesseract.TesseractNotFoundError()

        monkeypatch.setattr(pytesseract, "get_tesseract_version", not_installed)

        with pytest.raises(OcrEngineUnavailable) as caught:
            run_ocr(_render(["x"], "PNG"), "image/png")

        assert caught.value.code == "OCR_ENGINE_UNAVAILABLE"

    def test_timeout_is_reported_as_timeout(self, monkeypatch: pytest.MonkeyPatch) -> None:
        import pytesseract

        def too_slow(*_args: object, **_kwargs: object) -> object:
            # pytesseract's own signal for an expired subprocess timeout.
            raise RuntimeError("Tesseract process timeout")

        monkeypatch.setattr(pytesseract, "image_to_data", too_slow)

        with pytest.raises(OcrTimedOut) as caught:
            run_ocr(_render(["x"], "PNG"), "image/png", timeout_seconds=1)

        assert caught.value.details == {"timeout_seconds": 1}


class TestPdf:
    def test_text_layer_is_read(self) -> None:
        data = pdf_bytes(
            ("SALE DEED", "Land area 111.48 sqm", "Sy. No. 45/2", "Date of inspection 21/02/2026")
        )

        result = run_ocr(data, "application/pdf")

        assert result.engine == "pypdf"
        assert result.page_count == 1
        assert result.confidence == 1.0
        assert "SALE DEED" in result.extracted_text
        assert [(f["field_key"], f["value"]) for f in result.detected_fields] == [
            ("property.land_area", {"value": 111.48, "unit": "sqm"}),
            ("property.survey_no", "45/2"),
            ("valuation_inputs.inspection_date", "2026-02-21"),
        ]

    def test_pdf_without_text_layer_says_so(self) -> None:
        result = run_ocr(pdf_bytes(()), "application/pdf")

        assert result.extracted_text == ""
        assert result.page_count == 1
        assert result.note == "PDF_HAS_NO_TEXT_LAYER"
        assert result.to_result_json()["note"] == "PDF_HAS_NO_TEXT_LAYER"

    def test_password_protected_pdf_says_so(self) -> None:
        result = run_ocr(_encrypted_pdf("secret"), "application/pdf")

        assert result.note == "PDF_ENCRYPTED"
        assert result.extracted_text == ""

    def test_pdf_with_empty_user_password_is_read(self) -> None:
        result = run_ocr(_encrypted_pdf(""), "application/pdf")

        assert result.note is None
        assert [f["value"] for f in result.detected_fields] == ["9"]

    def test_garbage_pdf_is_unreadable(self) -> None:
        with pytest.raises(OcrDocumentUnreadable):
            run_ocr(b"%PDF-1.4 garbage", "application/pdf")


class TestOtherTypes:
    def test_unsupported_content_type(self) -> None:
        result = run_ocr(b"hello", "text/plain")

        assert result.note == "UNSUPPORTED_CONTENT_TYPE"
        assert result.to_result_json()["extracted_text"] == ""
