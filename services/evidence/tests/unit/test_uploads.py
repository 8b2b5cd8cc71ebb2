"""Upload sniffing by magic bytes (architecture §6) and file-name hygiene."""

from __future__ import annotations

import io
import typing

import pytest
from PIL import Image

from evidence_service.api import Classification, Sensitivity, Source
from evidence_service.domain.uploads import (
    CLASSIFICATIONS,
    SENSITIVITIES,
    SOURCES,
    safe_filename,
    sniff_content_type,
)


def _ftyp(major: bytes, *compatible: bytes) -> bytes:
    body = b"ftyp" + major + b"\x00\x00\x00\x00" + b"".join(compatible)
    return (len(body) + 4).to_bytes(4, "big") + body + b"\x00" * 32


def _image(image_format: str) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (8, 8), "white").save(buffer, format=image_format)
    return buffer.getvalue()


class TestSniff:
    @pytest.mark.parametrize(
        ("image_format", "expected"), [("PNG", "image/png"), ("JPEG", "image/jpeg"), ("WEBP", "image/webp")]
    )
    def test_real_images(self, image_format: str, expected: str) -> None:
        assert sniff_content_type(_image(image_format)) == expected

    def test_pdf(self) -> None:
        assert sniff_content_type(b"%PDF-1.7\n...") == "application/pdf"

    @pytest.mark.parametrize(
        ("data", "expected"),
        [
            (_ftyp(b"heic", b"mif1", b"heic"), "image/heic"),
            (_ftyp(b"heix", b"mif1"), "image/heic"),
            (_ftyp(b"mif1", b"mif1", b"heic"), "image/heic"),
            (_ftyp(b"mif1", b"mif1"), "image/heif"),
            (_ftyp(b"avif", b"mif1"), None),
            (_ftyp(b"mif1", b"avif"), None),
            (_ftyp(b"isom", b"mp41"), None),
        ],
    )
    def test_iso_bmff_brands(self, data: bytes, expected: str | None) -> None:
        assert sniff_content_type(data) == expected

    def test_ftyp_box_longer_than_the_file_is_rejected(self) -> None:
        assert sniff_content_type(b"\x00\x00\x10\x00ftypheic\x00\x00\x00\x00") is None

    @pytest.mark.parametrize(
        "data", [b"", b"hello", b"GIF89a....", b"PK\x03\x04zip", b"RIFF\x00\x00\x00\x00WAVE"]
    )
    def test_everything_else(self, data: bytes) -> None:
        assert sniff_content_type(data) is None


class TestSafeFilename:
    @pytest.mark.parametrize(
        ("raw", "expected"),
        [
            ("deed.pdf", "deed.pdf"),
            ("../../etc/passwd", "passwd"),
            ("C:\\Users\\me\\photo.jpg", "photo.jpg"),
            ("bad\x00name\n.png", "badname.png"),
            ("", "document"),
            (None, "document"),
        ],
    )
    def test_cleaning(self, raw: str | None, expected: str) -> None:
        assert safe_filename(raw) == expected


def test_api_enums_match_domain_enums() -> None:
    assert set(typing.get_args(Classification)) == CLASSIFICATIONS
    assert set(typing.get_args(Sensitivity)) == SENSITIVITIES
    assert set(typing.get_args(Source)) == SOURCES
