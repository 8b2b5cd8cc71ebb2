"""The canonical Repogen contract (domain.md §1.4) and contract patches (§1.5), as pydantic v2 models.

Parsing rules, kept from the original zod schema:

* unknown keys are stripped at every level;
* every field is optional unless stated, and an absent optional value is omitted from the output
  (never ``null``); an explicit ``null`` is rejected with the path of the field;
* numbers must be JSON numbers (no booleans, no numeric strings) and finite; integer fields accept
  integral floats (``2.0``) because JavaScript does not tell them apart;
* parsing ``{}`` gives exactly ``DEFAULT_CONTRACT_JSON``.

Differences decided in architecture.md §9:

* decision 1: ``manual_fields`` also keeps ``project_summary``, ``project_cost_total``,
  ``means_of_finance`` and ``stage_notes`` (read by DPR / STAGE_PROGRESS readiness);
* decision 2: a patch cannot carry ``computed_values``; the patch schema has no such section, so it is
  stripped like any unknown key (the rules engine recomputes every computed value on each run).
"""

from __future__ import annotations

import copy
import re
from collections.abc import Mapping
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
)
from pydantic_core import PydanticCustomError

from shared.domain.numeric import normalize_json_numbers
from shared.validation import (
    INT4_MAX,
    MAX_LIST_ITEMS,
    MAX_NAME,
    MAX_TEXT,
    JsonObject,
    check_storable,
)
from workorders_service.domain.errors import ContractValidationError

__all__ = [
    "DEFAULT_CONTRACT_JSON",
    "DEFAULT_RULESET_VERSION",
    "ContractValidationError",
    "apply_patch",
    "base_contract",
    "deep_merge",
    "default_contract",
    "parse_contract",
    "parse_patch",
    "parse_patch_request",
]

DEFAULT_RULESET_VERSION = "m5.4-v1"

ReportType = Literal["VALUATION", "DPR", "REVALUATION", "STAGE_PROGRESS"]
BankType = Literal["SBI", "PSU_GENERIC", "COOP", "AGRI", "OTHER"]
ValueSlab = Literal["LT_5CR", "GT_5CR", "UNKNOWN"]
TemplateSelector = Literal["SBI_FORMAT_A", "BOI_PSU_GENERIC", "COOP_GENERIC", "AGRI_GENERIC", "UNKNOWN"]
Unit = Literal["sqm", "sqft"]

_UUID_PATTERN = r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$"
# zod's string().datetime(): UTC "Z" only, optional fraction of any length, no offsets.
_DATETIME_RE = re.compile(r"([0-9]{4}-[0-9]{2}-[0-9]{2})T([0-9]{2}:[0-9]{2}:[0-9]{2})(\.[0-9]+)?Z")


def _integral_float_to_int(value: Any) -> Any:
    # JavaScript has no int/float split: z.number().int() accepts 2.0, so integral floats are integers here.
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def _check_datetime(value: str) -> str:
    match = _DATETIME_RE.fullmatch(value)
    if match is None:
        raise PydanticCustomError("datetime_format", "Invalid datetime (expected YYYY-MM-DDTHH:MM:SS[.fff]Z)")
    try:
        datetime.strptime(f"{match.group(1)}T{match.group(2)}", "%Y-%m-%dT%H:%M:%S")  # noqa: DTZ007  only checks the calendar date exists; the value is kept as sent, with its Z
    except ValueError as exc:
        raise PydanticCustomError(
            "datetime_range", "Invalid datetime (no such calendar date or time)"
        ) from exc
    return value


# Issue 12 limits: names and identifiers up to 200 characters, free texts up to 10 000, only storable
# characters, bounded lists. Numbers of a *patch* are at most 10^15 (checked by ``parse_patch*``; the
# full contract also holds the engine's outputs, e.g. a rate converted to sqm), which keeps every
# product the rules engine forms finite.
MAX_CONTRACT_NUMBER = 1e15
MAX_FLOORS = MAX_LIST_ITEMS
MAX_ANNEXURE_ITEMS = 500
NonNegativeNumber = Annotated[float, Field(strict=True, ge=0, allow_inf_nan=False)]
Percent = Annotated[float, Field(strict=True, ge=0, le=100, allow_inf_nan=False)]
NonEmptyStr = Annotated[
    str, Field(strict=True, min_length=1, max_length=MAX_NAME), AfterValidator(check_storable)
]
Text = Annotated[str, Field(strict=True, max_length=MAX_TEXT), AfterValidator(check_storable)]
Uuid = Annotated[str, Field(strict=True, pattern=_UUID_PATTERN)]
DateOnly = Annotated[str, Field(strict=True, pattern=r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$")]
IsoDateTime = Annotated[str, Field(strict=True), AfterValidator(_check_datetime)]
NonNegativeInt = Annotated[
    int, BeforeValidator(_integral_float_to_int), Field(strict=True, ge=0, le=INT4_MAX)
]
PositiveInt = Annotated[int, BeforeValidator(_integral_float_to_int), Field(strict=True, gt=0, le=INT4_MAX)]
ImagesMin = Annotated[int, BeforeValidator(_integral_float_to_int), Field(strict=True, ge=1, le=4)]
ImagesMax = Annotated[int, BeforeValidator(_integral_float_to_int), Field(strict=True, ge=2, le=4)]
StrictBool = Annotated[bool, Field(strict=True)]


class _Schema(BaseModel):
    """Base: unknown keys are ignored (stripped) and an explicit null is an error, never "absent"."""

    model_config = ConfigDict(extra="ignore")

    @field_validator("*", mode="before")
    @classmethod
    def _reject_null(cls, value: Any) -> Any:
        if value is None:
            raise PydanticCustomError("null_not_allowed", "null is not allowed; omit the field instead")
        return value


class NumberWithUnit(_Schema):
    """A non-negative amount with an optional unit (area, or currency per unit area for rates)."""

    value: NonNegativeNumber | None = None
    unit: Unit | None = None


class Meta(_Schema):
    """Report/bank type and the engine's slab and template selection."""

    report_type: ReportType | None = None
    bank_type: BankType | None = None
    value_slab: ValueSlab | None = None
    template_selector: TemplateSelector | None = None


class Party(_Schema):
    """Borrower, owner, bank and valuer identification."""

    borrower_name: NonEmptyStr | None = None
    owner_name: NonEmptyStr | None = None
    client_name: NonEmptyStr | None = None
    bank_name: NonEmptyStr | None = None
    bank_branch_name: NonEmptyStr | None = None
    bank_branch_code: NonEmptyStr | None = None
    valuer_id: NonEmptyStr | None = None
    engineer_id: NonEmptyStr | None = None


class Floor(_Schema):
    """One floor of the building; ``label`` is required."""

    label: NonEmptyStr
    area: NumberWithUnit | None = None


class Property(_Schema):
    """Location, registry identifiers and areas of the property."""

    address: NonEmptyStr | None = None
    city: NonEmptyStr | None = None
    taluk: NonEmptyStr | None = None
    village: NonEmptyStr | None = None
    survey_no: NonEmptyStr | None = None
    cts_no: NonEmptyStr | None = None
    khata_no: NonEmptyStr | None = None
    land_area: NumberWithUnit | None = None
    built_up_area: NumberWithUnit | None = None
    floors: list[Floor] = Field(default_factory=list, max_length=MAX_FLOORS)


class ValuationInputs(_Schema):
    """Rates, totals and other user inputs of the valuation."""

    guideline_rate_per_sqm: NonNegativeNumber | None = None
    guideline_rate_input: NumberWithUnit | None = None
    market_rate_input: NumberWithUnit | None = None
    adopted_rate_input: NumberWithUnit | None = None
    land_value: NonNegativeNumber | None = None
    building_value: NonNegativeNumber | None = None
    fmv_input: NonNegativeNumber | None = None
    market_total_value_input: NonNegativeNumber | None = None
    adopted_total_value_input: NonNegativeNumber | None = None
    user_input_units: Unit | None = None
    depreciation_percent: Percent | None = None
    guideline_screenshot_present: StrictBool | None = None
    inspection_date: DateOnly | None = None


class StandardizedRates(_Schema):
    """Rates converted to currency per sqm."""

    guideline_rate_per_sqm: NonNegativeNumber | None = None
    market_rate_per_sqm: NonNegativeNumber | None = None
    adopted_rate_per_sqm: NonNegativeNumber | None = None


class StandardizedAreas(_Schema):
    """Areas converted to sqm."""

    land_area_sqm: NonNegativeNumber | None = None
    built_up_area_sqm: NonNegativeNumber | None = None


class ComputedValues(_Schema):
    """Values written by the rules engine (never accepted from a patch, decision 2)."""

    FMV: NonNegativeNumber | None = None
    realizable_value: NonNegativeNumber | None = None
    distress_value: NonNegativeNumber | None = None
    coop_market_value: NonNegativeNumber | None = None
    coop_adopted_value: NonNegativeNumber | None = None
    rounded_to_next_500: NonNegativeNumber | None = None
    standardized_rates: StandardizedRates | None = None
    standardized_areas: StandardizedAreas | None = None


class GroupHint(_Schema):
    """Per-annexure-item image grouping hint."""

    min_images_per_page: ImagesMin = 2
    max_images_per_page: ImagesMax = 4
    preferred_images_per_page: ImagesMax = 2


class AnnexureItem(_Schema):
    """Annexure placement of one evidence item."""

    evidence_item_id: Uuid
    label: NonEmptyStr | None = None
    category: NonEmptyStr | None = None
    sort_order: NonNegativeInt = 0
    group_hint: GroupHint | None = None


class ImageGrouping(_Schema):
    """Default image grouping of annexure pages."""

    min_images_per_page: ImagesMin = 2
    max_images_per_page: ImagesMax = 4


class Annexures(_Schema):
    """Annexure items and default grouping."""

    items: list[AnnexureItem] = Field(default_factory=list, max_length=MAX_ANNEXURE_ITEMS)
    image_grouping_default: ImageGrouping = Field(default_factory=ImageGrouping)


class ManualFields(_Schema):
    """Free-text and placeholder fields entered by operators (decision 1 adds the DPR/stage keys)."""

    enclosures_text: Text | None = None
    checklist_json: JsonObject | None = None
    justification_text: Text | None = None
    project_summary: Text | None = None
    project_cost_total: NonNegativeNumber | None = None
    means_of_finance: Text | None = None
    stage_notes: Text | None = None


class Audit(_Schema):
    """Snapshot stamp written by the service."""

    snapshot_version: PositiveInt | None = None
    created_by: Uuid | None = None
    created_at: IsoDateTime | None = None


class Contract(_Schema):
    """The full canonical contract; absent sections take their defaults."""

    meta: Meta = Field(default_factory=Meta)
    party: Party = Field(default_factory=Party)
    property: Property = Field(default_factory=Property)
    valuation_inputs: ValuationInputs = Field(default_factory=ValuationInputs)
    computed_values: ComputedValues = Field(default_factory=ComputedValues)
    annexures: Annexures = Field(default_factory=Annexures)
    manual_fields: ManualFields = Field(default_factory=ManualFields)
    audit: Audit = Field(default_factory=Audit)


# --- patch schema: deep-partial, no defaults, no computed_values -------------------------------------


class PropertyPatch(Property):
    """Property section of a patch: ``floors`` only when given (arrays replace wholesale when merged)."""

    floors: list[Floor] | None = Field(default=None, max_length=MAX_FLOORS)  # type: ignore[assignment]


class ImageGroupingPatch(_Schema):
    """Partial default image grouping."""

    min_images_per_page: ImagesMin | None = None
    max_images_per_page: ImagesMax | None = None


class AnnexuresPatch(_Schema):
    """Annexures section of a patch; ``items`` replaces the whole list when given."""

    items: list[AnnexureItem] | None = Field(default=None, max_length=MAX_ANNEXURE_ITEMS)
    image_grouping_default: ImageGroupingPatch | None = None


class ContractPatch(_Schema):
    """Deep-partial contract accepted by ``PATCH …/contract``. ``computed_values`` is stripped (decision 2)."""

    meta: Meta | None = None
    party: Party | None = None
    property: PropertyPatch | None = None
    valuation_inputs: ValuationInputs | None = None
    annexures: AnnexuresPatch | None = None
    manual_fields: ManualFields | None = None
    audit: Audit | None = None


class ContractPatchRequest(_Schema):
    """Body of ``PATCH …/contract``."""

    patch: ContractPatch
    ruleset_version: NonEmptyStr = DEFAULT_RULESET_VERSION


# --- functions ---------------------------------------------------------------------------------------


def _dump(model: BaseModel) -> dict[str, Any]:
    # Field order follows the schema (as zod's output did); None means "absent" because null is rejected.
    out: dict[str, Any] = {}
    for name in type(model).model_fields:
        value = getattr(model, name)
        if value is None:
            continue
        out[name] = _dump_value(value)
    return out


def _dump_value(value: Any) -> Any:
    if isinstance(value, BaseModel):
        return _dump(value)
    if isinstance(value, list):
        return [_dump_value(item) for item in value]
    return normalize_json_numbers(copy.deepcopy(value))


def _issues(error: ValidationError, prefix: tuple[str | int, ...] = ()) -> list[dict[str, Any]]:
    return [{"path": [*prefix, *item["loc"]], "message": item["msg"]} for item in error.errors()]


def _require_mapping(data: object, what: str) -> Mapping[str, Any]:
    if not isinstance(data, Mapping):
        raise ContractValidationError([{"path": [], "message": f"{what} must be a JSON object"}])
    return data


def parse_contract(data: Mapping[str, Any]) -> dict[str, Any]:
    """Validate a full contract, apply defaults, strip unknown keys; return plain JSON.

    Raises ``ContractValidationError`` listing every issue with its path.
    """
    try:
        model = Contract.model_validate(_require_mapping(data, "contract"))
    except ValidationError as exc:
        raise ContractValidationError(_issues(exc)) from None
    return _dump(model)


#: the contract with every default and nothing else: what parsing ``{}`` gives, by construction
DEFAULT_CONTRACT_JSON: dict[str, Any] = _dump(Contract())


def default_contract() -> dict[str, Any]:
    """The contract obtained by parsing ``{}`` (a fresh copy of ``DEFAULT_CONTRACT_JSON``)."""
    return copy.deepcopy(DEFAULT_CONTRACT_JSON)


def parse_patch(patch: object) -> dict[str, Any]:
    """Validate a deep-partial contract patch; strip unknown keys and ``computed_values``; no defaults.

    Arrays (``property.floors``, ``annexures.items``) replace the stored array wholesale when merged, so
    their elements are validated completely. Raises ``ContractValidationError``.
    """
    try:
        model = ContractPatch.model_validate(_require_mapping(patch, "patch"))
    except ValidationError as exc:
        raise ContractValidationError(_issues(exc)) from None
    return _check_patch_numbers(_dump(model))


def parse_patch_request(body: object) -> dict[str, Any]:
    """Validate the request body ``{patch, ruleset_version?}`` → ``{"patch": {...}, "ruleset_version": str}``.

    ``ruleset_version`` defaults to ``"m5.4-v1"``; issue paths start at the body root (``["patch", ...]``).
    """
    try:
        model = ContractPatchRequest.model_validate(_require_mapping(body, "request body"))
    except ValidationError as exc:
        raise ContractValidationError(_issues(exc)) from None
    return _check_patch_numbers(_dump(model))


def _check_patch_numbers(parsed: dict[str, Any]) -> dict[str, Any]:
    """Every number of a parsed patch is at most ``MAX_CONTRACT_NUMBER`` (issue 12), else
    ``ContractValidationError`` naming each offending path."""
    issues: list[dict[str, Any]] = []
    stack: list[tuple[Any, tuple[str | int, ...]]] = [(parsed, ())]
    while stack:
        node, path = stack.pop()
        if isinstance(node, Mapping):
            stack.extend((value, (*path, key)) for key, value in node.items())
        elif isinstance(node, list):
            stack.extend((value, (*path, index)) for index, value in enumerate(node))
        elif isinstance(node, int | float) and not isinstance(node, bool) and abs(node) > MAX_CONTRACT_NUMBER:
            issues.append({"path": list(path), "message": "must be at most 1e15"})
    if issues:
        raise ContractValidationError(sorted(issues, key=lambda issue: str(issue["path"])))
    return parsed


def deep_merge(base: Mapping[str, Any], patch: Mapping[str, Any]) -> dict[str, Any]:
    """Merge ``patch`` into a copy of ``base`` (domain.md §1.5 step 2).

    Objects merge recursively; arrays and scalars replace; ``None`` replaces too (and then fails contract
    validation). Neither input is modified.
    """
    merged: dict[str, Any] = copy.deepcopy(dict(base))
    for key, value in patch.items():
        current = merged.get(key)
        if isinstance(value, Mapping) and isinstance(current, Mapping):
            merged[key] = deep_merge(current, value)
        else:
            merged[key] = copy.deepcopy(value)
    return merged


def base_contract(
    latest_contract_json: Mapping[str, Any] | None, *, report_type: str, bank_type: str, bank_name: str
) -> dict[str, Any]:
    """Base contract for a patch (domain.md §1.5 step 1).

    The latest snapshot's contract parsed with defaults; when there is none, or it no longer validates, the
    default contract seeded with the work order's report type, bank type and bank name.
    """
    if latest_contract_json is not None:
        try:
            return parse_contract(latest_contract_json)
        except ContractValidationError:
            pass  # the original fell back to the seeded default silently; keep that
    contract = default_contract()
    contract["meta"].update({"report_type": report_type, "bank_type": bank_type})
    contract["party"]["bank_name"] = bank_name
    return contract


def apply_patch(
    base: Mapping[str, Any], patch: Mapping[str, Any], *, report_type: str, bank_type: str, bank_name: str
) -> dict[str, Any]:
    """Merge a parsed patch into ``base``, force the work order's identity, validate (§1.5 steps 2–4).

    ``meta.report_type`` and ``meta.bank_type`` always come from the work order; an empty
    ``party.bank_name`` is filled from it. Raises ``ContractValidationError``.
    """
    merged = deep_merge(base, patch)
    # Non-object sections are left alone so that validation reports them.
    meta = merged.setdefault("meta", {})
    if isinstance(meta, dict):
        meta["report_type"] = report_type
        meta["bank_type"] = bank_type
    party = merged.setdefault("party", {})
    if isinstance(party, dict) and not party.get("bank_name"):
        party["bank_name"] = bank_name
    return parse_contract(merged)
