"""The evidence-pack ZIP and its ``verification_checksums.txt``."""

from __future__ import annotations

import hashlib
import io
import shutil
import subprocess
import zipfile
from pathlib import Path

import pytest

from factory_service.domain.errors import ZipEntryNameInvalid
from factory_service.rendering.evidence_pack import CHECKSUMS_ENTRY, build_evidence_pack, checksums_text

FILES = {
    "export_bundle.json": b'{"work_order_id":"wo-1"}',
    "SBI_UNDER_5CR_V1-v1.docx": b"PK\x03\x04 not really a docx",
    "evidence_manifest.json": b"[]",
    "releases.json": b'[{"billing_gate_result":"CREDIT_CONSUMED"}]',
    "audit_events.jsonl": b'{"action":"generation_completed"}\n',
}


def _checksum_lines(pack: bytes) -> list[tuple[str, str]]:
    with zipfile.ZipFile(io.BytesIO(pack)) as archive:
        text = archive.read(CHECKSUMS_ENTRY).decode("utf-8")
    return [(line[:64], line[66:]) for line in text.splitlines()]


class TestBuildEvidencePack:
    def test_holds_every_file_and_the_checksums(self) -> None:
        pack = build_evidence_pack(FILES)
        with zipfile.ZipFile(io.BytesIO(pack)) as archive:
            assert sorted(archive.namelist()) == sorted([*FILES, CHECKSUMS_ENTRY])
            for name, data in FILES.items():
                assert archive.read(name) == data

    def test_checksums_verify_every_entry_and_are_sorted(self) -> None:
        pack = build_evidence_pack(FILES)
        lines = _checksum_lines(pack)
        assert [name for _, name in lines] == sorted(FILES)
        with zipfile.ZipFile(io.BytesIO(pack)) as archive:
            for digest, name in lines:
                assert hashlib.sha256(archive.read(name)).hexdigest() == digest

    def test_sha256sum_accepts_the_checksums_file(self, tmp_path: Path) -> None:
        sha256sum = shutil.which("sha256sum")
        assert sha256sum is not None, "coreutils sha256sum is part of the supported platform"
        with zipfile.ZipFile(io.BytesIO(build_evidence_pack(FILES))) as archive:
            archive.extractall(tmp_path)
        result = subprocess.run(  # noqa: S603  fixed argv: coreutils' sha256sum on our own entry, no shell
            [sha256sum, "--check", "--strict", CHECKSUMS_ENTRY],
            cwd=tmp_path,
            capture_output=True,
            text=True,
            check=False,
        )
        assert result.returncode == 0, result.stdout + result.stderr
        assert result.stdout.count(": OK") == len(FILES)

    def test_reproducible_whatever_the_mapping_order(self) -> None:
        reordered = dict(reversed(list(FILES.items())))
        assert build_evidence_pack(FILES) == build_evidence_pack(reordered)

    def test_a_changed_file_changes_its_checksum_line(self) -> None:
        changed = {**FILES, "releases.json": b"[]"}
        before = {name: digest for digest, name in _checksum_lines(build_evidence_pack(FILES))}
        after = {name: digest for digest, name in _checksum_lines(build_evidence_pack(changed))}
        assert {name for name in FILES if before[name] != after[name]} == {"releases.json"}

    def test_checksums_format_is_sha256sum_text(self) -> None:
        assert checksums_text({"b": b"", "a": b"abc"}) == (
            f"{hashlib.sha256(b'abc').hexdigest()}  a\n{hashlib.sha256(b'').hexdigest()}  b\n"
        )

    @pytest.mark.parametrize("name", [CHECKSUMS_ENTRY, "evil\nname.txt", "../escape.json"])
    def test_refuses_reserved_or_unsafe_names(self, name: str) -> None:
        with pytest.raises(ZipEntryNameInvalid):
            build_evidence_pack({**FILES, name: b"x"})
