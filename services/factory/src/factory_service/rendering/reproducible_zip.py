"""Byte-reproducible ZIP archives (decision 24).

A ZIP written by :mod:`zipfile` carries the wall-clock time of every entry, the host's
``create_system`` and whatever order the writer happened to use. Here every one of those is pinned:

* entry order: the names in ``first`` (in that order), then the rest sorted by code point;
* every entry dated 1980-01-01 00:00:00 (the earliest date a ZIP can hold);
* ``create_system`` Unix, version 2.0, regular-file mode 0644, no extra fields, no comment;
* compression ``ZIP_STORED``. Deflate output is a property of the zlib build (zlib and zlib-ng emit
  different bytes), so a stored archive is the only one whose bytes do not depend on the host. DOCX
  and evidence packs mostly hold already-compressed images, so the size cost is small.
"""

from __future__ import annotations

import io
import zipfile
from collections.abc import Iterable, Mapping, Sequence
from typing import Final

from factory_service.domain.errors import ZipEntryNameInvalid

FIXED_DATE_TIME: Final = (1980, 1, 1, 0, 0, 0)
_UNIX: Final = 3
_ZIP_VERSION: Final = 20
_REGULAR_FILE_0644: Final = (0o100644 & 0xFFFF) << 16
CONTENT_TYPES_ENTRY: Final = "[Content_Types].xml"


def _check_name(name: str) -> None:
    # Entry names end up as paths when someone unpacks the archive: refuse anything that could escape.
    parts = name.split("/")
    if (
        not name
        or name.startswith("/")
        or "\\" in name
        or "\x00" in name
        or any(part in ("", ".", "..") for part in parts)
    ):
        raise ZipEntryNameInvalid(f"unsafe zip entry name: {name!r}", details={"name": name})


def _ordered_names(names: Iterable[str], first: Sequence[str]) -> list[str]:
    remaining = set(names)
    ordered = [name for name in first if name in remaining]
    remaining.difference_update(ordered)
    return ordered + sorted(remaining)


def build_zip(files: Mapping[str, bytes], *, first: Sequence[str] = ()) -> bytes:
    """A reproducible ZIP holding ``files``: the same mapping gives the same bytes on any host and day.

    ``first`` names entries that must open the archive (e.g. ``[Content_Types].xml`` for OOXML);
    the others follow in code-point order of their names.
    """
    for name in files:
        _check_name(name)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_STORED, allowZip64=True) as archive:
        for name in _ordered_names(files, first):
            info = zipfile.ZipInfo(name, date_time=FIXED_DATE_TIME)
            info.compress_type = zipfile.ZIP_STORED
            info.create_system = _UNIX
            info.create_version = _ZIP_VERSION
            info.extract_version = _ZIP_VERSION
            info.external_attr = _REGULAR_FILE_0644
            archive.writestr(info, files[name])
    return buffer.getvalue()


def read_zip_entries(data: bytes) -> dict[str, bytes]:
    """Every file entry of a ZIP, by name. Duplicate names are refused (the result would be ambiguous)."""
    entries: dict[str, bytes] = {}
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        for info in archive.infolist():
            if info.is_dir():
                continue
            if info.filename in entries:
                raise ZipEntryNameInvalid(
                    f"duplicate zip entry name: {info.filename!r}", details={"name": info.filename}
                )
            entries[info.filename] = archive.read(info)
    return entries


def normalize_zip(data: bytes) -> bytes:
    """Rewrite an OOXML package (or any ZIP) reproducibly, keeping ``[Content_Types].xml`` first.

    Directory entries are dropped: OOXML has none and they carry no content.
    """
    return build_zip(read_zip_entries(data), first=(CONTENT_TYPES_ENTRY,))
