"""Fixtures shared by the factory's unit and stack tests."""

from __future__ import annotations

import io
from collections.abc import Callable
from typing import Any

import pytest
from PIL import Image


def png_bytes(size: tuple[int, int], color: tuple[int, int, int]) -> bytes:
    """A small solid-colour PNG, generated rather than checked in."""
    buffer = io.BytesIO()
    Image.new("RGB", size, color).save(buffer, format="PNG")
    return buffer.getvalue()


@pytest.fixture
def make_png() -> Callable[[tuple[int, int], tuple[int, int, int]], bytes]:
    """The PNG generator, for tests that need images of their own."""
    return png_bytes


@pytest.fixture
def fac10_gate_status() -> dict[str, Any]:
    """FAC-10: the billing gate status of a CREDIT work order holding an active reservation."""
    return {
        "mode": "CREDIT",
        "reservation_id_present": True,
        "service_invoice_id": None,
        "service_invoice_status": None,
        "service_invoice_is_paid": None,
        "releasable_without_override": True,
    }
