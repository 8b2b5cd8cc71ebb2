"""Input limits declared once, as pydantic v2 types, so every request model shows them in the OpenAPI.

Three kinds of limit (issue 12; the table and its reasons are in ``docs/decisions.md``):

* **strings**: a maximum length by meaning (codes 64, names and keys 200, search 200, texts 10 000) and
  only characters PostgreSQL can store: U+0000 is refused (``text`` and ``jsonb`` cannot hold it) and so
  are lone surrogates (not encodable as UTF-8; pydantic's ``str`` already refuses them, the JSON check
  below refuses them inside free JSON);
* **integers**: bounded by their column (``int4``/``int8``) and by a business maximum (a credit grant, a
  wallet, payment terms, an allowance, a snapshot version, a page size), so no sum can overflow a column;
* **free JSON** (capture, tags, metadata, payloads, contract patches): a maximum nesting depth and a
  maximum encoded size, only storable strings, only finite numbers. The walk is iterative, so a deep
  value is a 400, never a ``RecursionError``.

Failures raise pydantic errors inside models (→ 400 ``VALIDATION_FAILED`` through ``shared.http``) or
:class:`shared.errors.ValidationFailed` from :func:`require_json` for values parsed by hand.
"""

from __future__ import annotations

import json
import math
import re
import uuid
from collections.abc import Callable
from typing import Annotated, Any

from pydantic import AfterValidator, Field, StrictInt, StringConstraints
from pydantic_core import PydanticCustomError

from shared.errors import ValidationFailed

__all__ = [
    "INT4_MAX",
    "INT4_MIN",
    "INT8_MAX",
    "INT8_MIN",
    "MAX_CODE",
    "MAX_CREDIT_AMOUNT",
    "MAX_JSON_BYTES",
    "MAX_JSON_DEPTH",
    "MAX_KEY",
    "MAX_LIST_ITEMS",
    "MAX_MONTHLY_ALLOWANCE",
    "MAX_NAME",
    "MAX_PAGE_LIMIT",
    "MAX_PAYMENT_TERMS_DAYS",
    "MAX_SAFE_INTEGER",
    "MAX_SEARCH",
    "MAX_SNAPSHOT_VERSION",
    "MAX_TEXT",
    "MAX_WALLET",
    "Code",
    "CreditAmount",
    "FreeJson",
    "JsonObject",
    "Key",
    "MonthlyAllowance",
    "Name",
    "PaymentTermsDays",
    "SafeInt",
    "SearchText",
    "SnapshotVersion",
    "StorableStr",
    "Text",
    "check_json",
    "check_storable",
    "json_issue",
    "parse_json_text",
    "require_json",
]

# --- column ranges -------------------------------------------------------------------------------------
INT4_MIN = -(2**31)
INT4_MAX = 2**31 - 1
INT8_MIN = -(2**63)
INT8_MAX = 2**63 - 1

# --- string lengths (characters) -----------------------------------------------------------------------
MAX_CODE = 64  # enum-like codes, currencies, reasons, source systems, event types
MAX_NAME = 200  # display names, bank names, labels, file references
MAX_KEY = 200  # idempotency keys, external keys, reference ids and types, field keys
MAX_SEARCH = 200  # free-text search in a query string
MAX_TEXT = 10_000  # comments, notes, reasons, contract free-text fields

# --- free JSON ------------------------------------------------------------------------------------------
MAX_JSON_DEPTH = 32  # nesting levels of a free JSON value (an object or array is one level)
MAX_JSON_BYTES = 64 * 1024  # UTF-8 size of a free JSON value, compactly encoded

# --- collections ---------------------------------------------------------------------------------------
MAX_LIST_ITEMS = 100  # items of one request list (evidence items, field links)

# --- business maxima -----------------------------------------------------------------------------------
MAX_CREDIT_AMOUNT = 1_000_000  # credits moved by one grant, hold or consume
MAX_WALLET = 1_000_000_000_000  # credits one account may hold: wallet + grant stays far below int8
MAX_PAYMENT_TERMS_DAYS = 365  # payment terms of an account
MAX_MONTHLY_ALLOWANCE = 1_000_000  # reports per month of an account policy
MAX_SNAPSHOT_VERSION = INT4_MAX  # contract snapshot versions (an int4 column)
MAX_PAGE_LIMIT = 500  # rows of one list page
MAX_SAFE_INTEGER = 2**53 - 1  # JavaScript's Number.MAX_SAFE_INTEGER

_SURROGATES = re.compile("[\ud800-\udfff]")
_STORABLE_DOC = "no U+0000 and no lone surrogates (characters PostgreSQL cannot store)"


def check_storable(value: str) -> str:
    """``value`` unchanged if PostgreSQL can store it: no U+0000, no lone surrogate code point."""
    if "\x00" in value:
        raise PydanticCustomError("string_nul", "must not contain NUL (U+0000) characters")
    if _SURROGATES.search(value) is not None:
        raise PydanticCustomError("string_surrogate", "must not contain lone surrogate characters")
    return value


_Storable = AfterValidator(check_storable)
_StorableSchema = Field(json_schema_extra={"x-zenops-storable": _STORABLE_DOC})

#: Any string PostgreSQL can store; combine with ``Field(max_length=...)`` for a custom bound.
StorableStr = Annotated[str, _Storable, _StorableSchema]
#: An enum-like code (≤ 64).
Code = Annotated[str, StringConstraints(max_length=MAX_CODE), _Storable, _StorableSchema]
#: A display name or label (≤ 200).
Name = Annotated[str, StringConstraints(max_length=MAX_NAME), _Storable, _StorableSchema]
#: A key: idempotency key, external key, reference (≤ 200).
Key = Annotated[str, StringConstraints(max_length=MAX_KEY), _Storable, _StorableSchema]
#: Free text: a comment, a note, a reason (≤ 10 000).
Text = Annotated[str, StringConstraints(max_length=MAX_TEXT), _Storable, _StorableSchema]
#: A search term in a query string (≤ 200).
SearchText = Annotated[str, StringConstraints(max_length=MAX_SEARCH), _Storable, _StorableSchema]

#: A credit amount of one operation. Zero and negatives within the bound reach the domain, which
#: answers them with its own code (``AMOUNT_NOT_POSITIVE``).
CreditAmount = Annotated[StrictInt, Field(ge=-MAX_CREDIT_AMOUNT, le=MAX_CREDIT_AMOUNT)]
#: Payment terms in days; non-positive values get the domain's ``INVALID_PAYMENT_TERMS``.
PaymentTermsDays = Annotated[StrictInt, Field(ge=-MAX_PAYMENT_TERMS_DAYS, le=MAX_PAYMENT_TERMS_DAYS)]
#: An integer in free metadata: exact in every JSON client (JavaScript's safe integers).
SafeInt = Annotated[StrictInt, Field(ge=-MAX_SAFE_INTEGER, le=MAX_SAFE_INTEGER)]
#: Reports per month of a policy.
MonthlyAllowance = Annotated[StrictInt, Field(ge=0, le=MAX_MONTHLY_ALLOWANCE)]
#: A contract snapshot version (int4 column).
SnapshotVersion = Annotated[int, Field(ge=1, le=MAX_SNAPSHOT_VERSION)]


def json_issue(path: str, message: str, type_: str) -> ValidationFailed:
    """A 400 ``VALIDATION_FAILED`` with one issue, shaped like the request-validation errors."""
    full = f"{path}: {message}" if path else message
    return ValidationFailed(full, details={"issues": [{"path": path, "message": message, "type": type_}]})


def check_json(value: Any, *, max_depth: int = MAX_JSON_DEPTH, max_bytes: int = MAX_JSON_BYTES) -> Any:
    """``value`` unchanged if it is plain JSON within the limits, else ``PydanticCustomError``.

    Plain JSON: dicts with string keys, lists, strings, finite numbers, booleans, ``None``. The walk is
    iterative (no recursion), so a value nested thousands of levels deep is refused, not a crash. The size
    is measured on the compact UTF-8 encoding, after the depth check made encoding safe.
    """
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        node, depth = stack.pop()
        if isinstance(node, dict | list):
            if depth > max_depth:
                raise PydanticCustomError(
                    "json_too_deep",
                    "JSON nested deeper than {max_depth} levels",
                    {"max_depth": max_depth},
                )
            if isinstance(node, dict):
                for key, item in node.items():
                    if not isinstance(key, str):
                        raise PydanticCustomError("json_type", "JSON object keys must be strings")
                    check_storable(key)
                    stack.append((item, depth + 1))
            else:
                stack.extend((item, depth + 1) for item in node)
        elif isinstance(node, str):
            check_storable(node)
        elif isinstance(node, float):
            if not math.isfinite(node):
                raise PydanticCustomError("json_number", "JSON numbers must be finite")
        elif node is not None and not isinstance(node, bool | int):
            raise PydanticCustomError("json_type", "not a JSON value")
    size = len(json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode("utf-8", "surrogatepass"))
    if size > max_bytes:
        raise PydanticCustomError(
            "json_too_large", "JSON larger than {max_bytes} bytes", {"max_bytes": max_bytes}
        )
    return value


def _json_validator(max_depth: int, max_bytes: int) -> Callable[[Any], Any]:
    def _check(value: Any) -> Any:
        return check_json(value, max_depth=max_depth, max_bytes=max_bytes)

    return _check


_JSON_SCHEMA_EXTRA = {"x-zenops-max-depth": MAX_JSON_DEPTH, "x-zenops-max-bytes": MAX_JSON_BYTES}

#: A free JSON object (≤ 32 levels, ≤ 64 KiB, storable strings, finite numbers).
JsonObject = Annotated[
    dict[str, Any],
    AfterValidator(_json_validator(MAX_JSON_DEPTH, MAX_JSON_BYTES)),
    Field(json_schema_extra=_JSON_SCHEMA_EXTRA),
]
#: Any free JSON value with the same limits.
FreeJson = Annotated[
    Any,
    AfterValidator(_json_validator(MAX_JSON_DEPTH, MAX_JSON_BYTES)),
    Field(json_schema_extra=_JSON_SCHEMA_EXTRA),
]


def require_json(
    value: Any, *, path: str = "", max_depth: int = MAX_JSON_DEPTH, max_bytes: int = MAX_JSON_BYTES
) -> Any:
    """:func:`check_json` for values parsed by hand: a failure is a 400 ``VALIDATION_FAILED``."""
    try:
        return check_json(value, max_depth=max_depth, max_bytes=max_bytes)
    except PydanticCustomError as exc:
        raise json_issue(path, exc.message(), exc.type) from None


def parse_json_text(
    raw: str | bytes, *, path: str = "", max_depth: int = MAX_JSON_DEPTH, max_bytes: int = MAX_JSON_BYTES
) -> Any:
    """Parse JSON text by hand within the limits: malformed, too deep (even past the interpreter's
    recursion limit), too large or unstorable → 400 ``VALIDATION_FAILED``, never a 500."""
    if len(raw) > max_bytes:
        raise json_issue(path, f"JSON larger than {max_bytes} bytes", "json_too_large")
    try:
        value = json.loads(raw)
    except RecursionError:
        raise json_issue(path, f"JSON nested deeper than {max_depth} levels", "json_too_deep") from None
    except ValueError:  # JSONDecodeError, bad UTF-8, an integer beyond the digit limit
        raise json_issue(path, "malformed JSON", "json_invalid") from None
    return require_json(value, path=path, max_depth=max_depth, max_bytes=max_bytes)


def uuid_or_none(value: object) -> uuid.UUID | None:
    """``value`` as a uuid column value: ``None`` when it is absent or not a uuid (a service token's
    user id, an optional id of another service's document). Never raises."""
    if value is None or value == "":
        return None
    if isinstance(value, uuid.UUID):
        return value
    try:
        return uuid.UUID(str(value))
    except ValueError:
        return None
