"""The V1 example refuses to play without its settings (exit 2, the missing names on stderr)."""

from __future__ import annotations

import os

import pytest

from v1_bridge.examples.play_v1 import main


def test_the_example_without_settings_exits_2(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    for name in list(os.environ):
        if name.startswith(("ZENOPS_", "V1_BRIDGE_")):
            monkeypatch.delenv(name)
    monkeypatch.setenv("V1_BRIDGE_BASE_URL", "http://127.0.0.1:9")
    assert main([]) == 2
    assert "V1_BRIDGE_SERVICE_TOKEN" in capsys.readouterr().err
