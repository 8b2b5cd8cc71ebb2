"""Expectations shared by the factory's unit and stack tests."""

from __future__ import annotations

from typing import Any

import pytest


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
