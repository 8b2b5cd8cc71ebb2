"""Reproducible ZIP writing and OOXML normalisation."""

from __future__ import annotations

import io
import zipfile

import pytest

from factory_service.domain.errors import ZipEntryNameInvalid
from factory_service.rendering.reproducible_zip import (
    FIXED_DATE_TIME,
    build_zip,
    normalize_zip,
    read_zip_entries,
)


def _zip_with(entries: list[tuple[str, bytes]], date_time: tuple[int, int, int, int, int, int]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, data in entries:
            archive.writestr(zipfile.ZipInfo(name, date_time=date_time), data)
    return buffer.getvalue()


ENTRIES = [
    ("word/document.xml", b"<doc/>"),
    ("[Content_Types].xml", b"<types/>"),
    ("_rels/.rels", b"<rels/>"),
]


class TestBuildZip:
    def test_entries_are_sorted_after_the_pinned_first_names_with_fixed_metadata(self) -> None:
        data = build_zip({"b.txt": b"b", "a/z.txt": b"z", "first.txt": b"1"}, first=("first.txt", "absent"))
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            infos = archive.infolist()
            assert [info.filename for info in infos] == ["first.txt", "a/z.txt", "b.txt"]
            assert {info.date_time for info in infos} == {FIXED_DATE_TIME}
            assert {info.compress_type for info in infos} == {zipfile.ZIP_STORED}
            assert {info.external_attr >> 16 for info in infos} == {0o100644}
            assert {info.create_system for info in infos} == {3}
            assert archive.read("a/z.txt") == b"z"

    def test_insertion_order_does_not_matter(self) -> None:
        assert build_zip({"x": b"1", "y": b"2"}) == build_zip({"y": b"2", "x": b"1"})

    @pytest.mark.parametrize("name", ["/etc/passwd", "../up.txt", "a/../b", "a\\b", "a//b", "dir/", ""])
    def test_unsafe_names_are_refused(self, name: str) -> None:
        with pytest.raises(ZipEntryNameInvalid):
            build_zip({name: b"x"})


class TestNormalizeZip:
    def test_timestamps_order_and_compression_of_the_source_do_not_matter(self) -> None:
        early = _zip_with(ENTRIES, (2020, 5, 17, 8, 30, 2))
        late = _zip_with(list(reversed(ENTRIES)), (2031, 12, 1, 23, 59, 58))
        assert early != late
        assert normalize_zip(early) == normalize_zip(late)

    def test_content_types_stays_first_and_content_is_kept(self) -> None:
        normalized = normalize_zip(_zip_with(ENTRIES, (2020, 1, 1, 0, 0, 0)))
        with zipfile.ZipFile(io.BytesIO(normalized)) as archive:
            assert archive.namelist() == ["[Content_Types].xml", "_rels/.rels", "word/document.xml"]
        assert read_zip_entries(normalized) == dict(ENTRIES)

    def test_normalising_twice_changes_nothing(self) -> None:
        once = normalize_zip(_zip_with(ENTRIES, (2020, 1, 1, 0, 0, 0)))
        assert normalize_zip(once) == once

    def test_duplicate_entries_are_refused(self) -> None:
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w") as archive:
            archive.writestr("a.txt", b"1")
            with pytest.warns(UserWarning, match="Duplicate name"):
                archive.writestr("a.txt", b"2")
        with pytest.raises(ZipEntryNameInvalid):
            normalize_zip(buffer.getvalue())
