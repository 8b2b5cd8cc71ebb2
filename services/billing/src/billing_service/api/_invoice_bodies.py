"""Request bodies of the service-invoice routes (domain.md §9.3): bounded strings, lists and amounts."""

from __future__ import annotations

import uuid
from datetime import date
from decimal import Decimal
from typing import Annotated

from pydantic import Field, WithJsonSchema

from billing_service.api._edge import Body
from billing_service.domain.invoices import InvoiceItem
from billing_service.domain.money import Money
from shared.validation import MAX_LIST_ITEMS, Code, Key, Name, Text

#: the most one line's quantity, unit price or one payment may be (far inside BIGINT minor units, so no
#: sum of ``MAX_LIST_ITEMS`` lines can overflow)
MAX_QUANTITY = Decimal(100_000)
MAX_UNIT_PRICE = Decimal(100_000_000)
MAX_PAYMENT = Decimal(10_000_000_000)
MAX_TAX_RATE = Decimal(100)
MAX_FILE_BYTES = 1 << 40


def _number(low: Decimal, high: Decimal) -> WithJsonSchema:
    # The document says ``number`` (what clients send); pydantic also admits numeric strings.
    return WithJsonSchema({"type": "number", "minimum": float(low), "maximum": float(high)})


#: bounded JSON numbers read as exact ``Decimal`` values (more decimals than allowed → 400)
Quantity = Annotated[
    Decimal,
    Field(ge=-MAX_QUANTITY, le=MAX_QUANTITY, decimal_places=2, allow_inf_nan=False),
    _number(-MAX_QUANTITY, MAX_QUANTITY),
]
UnitPrice = Annotated[
    Decimal,
    Field(ge=-MAX_UNIT_PRICE, le=MAX_UNIT_PRICE, decimal_places=2, allow_inf_nan=False),
    _number(-MAX_UNIT_PRICE, MAX_UNIT_PRICE),
]
PaymentAmount = Annotated[
    Decimal,
    Field(ge=-MAX_PAYMENT, le=MAX_PAYMENT, decimal_places=2, allow_inf_nan=False),
    _number(-MAX_PAYMENT, MAX_PAYMENT),
]
TaxRate = Annotated[
    Decimal,
    Field(ge=0, le=MAX_TAX_RATE, decimal_places=4, allow_inf_nan=False),
    _number(Decimal(0), MAX_TAX_RATE),
]


class ItemBody(Body):
    """One line: quantity ≤ 0 becomes 1 and a negative price 0 (§7.6 normalisation)."""

    description: Name = Field(min_length=1)
    quantity: Quantity = Decimal(1)
    unit_price: UnitPrice = Decimal(0)
    tax_rate: TaxRate | None = None
    tax_code: Code | None = None
    service_code: Code | None = None
    order_index: int | None = Field(default=None, ge=0, le=MAX_LIST_ITEMS * 100)

    def item(self, position: int) -> InvoiceItem:
        """The normalized line."""
        return InvoiceItem.normalized(
            self.description,
            self.quantity,
            Money.of(self.unit_price),
            tax_rate=self.tax_rate,
            tax_code=self.tax_code,
            service_code=self.service_code,
            order_index=self.order_index if self.order_index is not None else position,
        )


def items_of(items: list[ItemBody] | None) -> tuple[InvoiceItem, ...] | None:
    return None if items is None else tuple(body.item(i) for i, body in enumerate(items))


class CreateBody(Body):
    """``POST /`` (§7.6 create)."""

    account_id: uuid.UUID | None = None
    external_key: Key | None = None
    assignment_id: uuid.UUID | None = None
    channel_request_id: uuid.UUID | None = None
    issued_date: date | None = None
    due_date: date | None = None
    bill_to_name: Name | None = None
    bill_to_address: Text | None = None
    notes: Text | None = None
    items: list[ItemBody] = Field(default_factory=list, max_length=MAX_LIST_ITEMS)


class UpdateBody(Body):
    """``PATCH /:id`` (drafts only); fields left out stay as they are."""

    notes: Text | None = None
    bill_to_name: Name | None = None
    bill_to_address: Text | None = None
    issued_date: date | None = None
    due_date: date | None = None
    items: list[ItemBody] | None = Field(default=None, max_length=MAX_LIST_ITEMS)


class IssueBody(Body):
    """``POST /:id/issue`` (the body is optional)."""

    issued_date: date | None = None
    due_date: date | None = None


class VoidBody(Body):
    """``POST /:id/void``."""

    reason: Text | None = None


class PaymentBody(Body):
    """``POST /:id/payments``."""

    amount: PaymentAmount
    mode: Code | None = None
    reference: Key | None = None
    notes: Text | None = None


class MarkPaidBody(Body):
    """``POST /:id/mark-paid`` (the body is optional)."""

    amount: PaymentAmount | None = None
    mode: Code | None = None
    reference: Key | None = None
    notes: Text | None = None


class AdjustmentBody(Body):
    """``POST /:id/adjustments``."""

    amount: PaymentAmount
    adjustment_type: Code | None = None
    reason: Text | None = None


class PaymentProofBody(Body):
    """``POST /:id/payment-proof``."""

    kind: Annotated[str, Field(pattern="^(?i:invoice_document|payment_proof|other)$")] = "payment_proof"
    original_name: Name = Field(min_length=1)
    storage_key: Key = Field(min_length=1)
    mime_type: Code | None = None
    size_bytes: int | None = Field(default=None, ge=0, le=MAX_FILE_BYTES)
