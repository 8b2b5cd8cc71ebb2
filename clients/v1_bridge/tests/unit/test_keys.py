"""External keys (domain.md §8.1) and the idempotency keys of V1's flows (§8.2) beyond vectors M."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

import pytest

from v1_bridge import keys


@pytest.mark.parametrize(
    ("entity_type", "entity_id", "expected"),
    [
        ("partner", 5, "v1:partner:5"),
        ("External_Associate ", "77", "v1:partner:77"),
        ("referral_channel", 9, "v1:partner:9"),
        ("channel", 3, "v1:channel:3"),
        ("client", 4, "v1:client:4"),
        ("assignment", "a-1", "v1:assignment:a-1"),
        ("invoice", 8, "v1:invoice:8"),
        ("bank_branch", 2, "v1:bank_branch:2"),
    ],
)
def test_normalisation_of_each_entity_type(entity_type: str, entity_id: int | str, expected: str) -> None:
    assert keys.normalize_key(entity_type, entity_id) == expected


def test_channel_keys_are_built_but_not_accepted_by_v2() -> None:
    assert not keys.accepted_by_v2(keys.normalize_key("channel", 3))
    assert keys.accepted_by_v2("v1:client:4")
    assert not keys.accepted_by_v2("not a key")


@pytest.mark.parametrize("bad", ["", " ", "a:b", "x" * 129, "1 2"])
def test_an_id_a_key_cannot_carry_is_refused(bad: str) -> None:
    with pytest.raises(ValueError, match="invalid entity id"):
        keys.normalize_key("partner", bad)


@pytest.mark.parametrize("bad", ["v2:tenant:x", "v1:partner:", "v1:Partner:1", "v1:partner:1:2", "partner:1"])
def test_parse_refuses_what_is_not_a_v1_key(bad: str) -> None:
    with pytest.raises(ValueError, match="not a V1 account key"):
        keys.parse_key(bad)


def test_parse_keeps_a_non_numeric_ident_as_text() -> None:
    assert keys.parse_key("v1:assignment:a-1") == ("assignment", "a-1")


def test_invoice_account_key_precedence() -> None:
    assert (
        keys.invoice_account_key(invoice_id=1, partner_id=2, client_id=3, assignment_id=4) == "v1:partner:2"
    )
    assert keys.invoice_account_key(invoice_id=1, client_id=3, assignment_id=4) == "v1:client:3"
    assert keys.invoice_account_key(invoice_id=1, assignment_id=4) == "v1:assignment:4"
    assert keys.invoice_account_key(invoice_id=1) == "v1:invoice:1"


def test_commission_account_key_precedence() -> None:
    assert keys.commission_account_key(assignment_id=4, partner_id=2) == "v1:partner:2"
    assert keys.commission_account_key(assignment_id=4) == "v1:assignment:4"


def test_invoice_event_key_formats_datetimes_amounts_and_a_missing_payment() -> None:
    as_text = keys.invoice_event_key(
        "invoice_issued",
        invoice_id=42,
        payment_id=None,
        status="ISSUED",
        updated_at="2026-01-01T10:00:00",
        amount_due="1180.00",
    )
    as_values = keys.invoice_event_key(
        "invoice_issued",
        invoice_id=42,
        payment_id=None,
        status="ISSUED",
        updated_at=datetime(2026, 1, 1, 10, 0),  # noqa: DTZ001 - V1 stores naive timestamps
        amount_due=Decimal("1180"),
    )
    assert as_text == as_values
    assert as_text.startswith("v1:invoice_issued:42:0:")
    # another status or amount is another event
    assert as_text != keys.invoice_event_key(
        "invoice_issued",
        invoice_id=42,
        payment_id=None,
        status="ISSUED",
        updated_at="2026-01-01T10:00:00",
        amount_due="1180.01",
    )


def test_money_is_never_a_float() -> None:
    with pytest.raises(TypeError):
        keys.invoice_event_key(
            "invoice_paid",
            invoice_id=1,
            payment_id=1,
            status="PAID",
            updated_at="x",
            amount_due=0.0,  # type: ignore[arg-type]
        )


def test_flow_keys() -> None:
    assert keys.work_accepted_key(12) == "v1:work_accepted:commission:12"
    assert keys.credit_reserve_key(12) == "v1:credit_reserve:commission:12"
    assert keys.commission_cancelled_key(12) == "v1:commission_cancelled:12"
    assert keys.credit_release_key(12) == "v1:credit_release:commission:12"
    assert keys.deliverables_released_key(5) == "v1:deliverables_released:5"
    assert keys.credit_consume_key(5) == "v1:credit_consume:deliverable:5"
