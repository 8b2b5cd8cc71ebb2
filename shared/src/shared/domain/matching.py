"""The one rule that decides whether an evidence item counts towards an evidence-profile requirement.

Readiness (domain.md §3.2) and the evidence checklist (§4.5) must agree on it, so both import this module.
Evidence and requirements are plain mappings with the domain field names: evidence ``evidence_type``,
``doc_type``, ``tags``; requirement ``evidence_type``, ``doc_type``, ``tags_json``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

__all__ = ["evidence_matches_requirement", "js_strict_equal"]


def evidence_matches_requirement(evidence: Mapping[str, object], requirement: Mapping[str, object]) -> bool:
    """True when ``evidence`` satisfies ``requirement``'s type, document type and tag filters.

    * ``evidence_type`` must be equal;
    * when the requirement has a (non-empty) ``doc_type``, the evidence ``doc_type`` must be equal;
    * when the requirement's ``tags_json`` is an object, every key/value in it must be present and equal in
      the evidence ``tags`` (missing or non-object evidence tags count as ``{}``); a non-object
      ``tags_json`` imposes no tag filter, as in the original.
    """
    if requirement.get("evidence_type") != evidence.get("evidence_type"):
        return False
    doc_type = requirement.get("doc_type")
    if doc_type and doc_type != evidence.get("doc_type"):
        return False
    expected_tags = requirement.get("tags_json")
    if isinstance(expected_tags, Mapping) and expected_tags:
        raw_tags = evidence.get("tags")
        actual_tags: Mapping[str, object] = raw_tags if isinstance(raw_tags, Mapping) else {}
        for key, expected in expected_tags.items():
            if key not in actual_tags or not js_strict_equal(actual_tags[key], expected):
                return False
    return True


_MISSING = object()


def js_strict_equal(left: object, right: object) -> bool:
    """JavaScript ``===`` for JSON values, except that objects and arrays compare by content.

    Booleans never equal numbers (Python's ``True == 1`` does not apply), ints and floats compare by value,
    NaN equals nothing. The original compared nested tag values by reference, which can never match values
    loaded from JSON; content equality is what such a filter means, so nested values compare structurally.
    """
    if isinstance(left, bool) or isinstance(right, bool):
        return isinstance(left, bool) and isinstance(right, bool) and left is right
    if isinstance(left, int | float) and isinstance(right, int | float):
        if isinstance(left, float) and math.isnan(left):
            return False
        return left == right
    if left is None or right is None:
        return left is None and right is None
    if isinstance(left, str) or isinstance(right, str):
        return isinstance(left, str) and isinstance(right, str) and left == right
    if isinstance(left, Mapping) and isinstance(right, Mapping):
        if set(left) != set(right):
            return False
        return all(js_strict_equal(left[key], right.get(key, _MISSING)) for key in left)
    if isinstance(left, Sequence) and isinstance(right, Sequence):
        return len(left) == len(right) and all(
            js_strict_equal(a, b) for a, b in zip(left, right, strict=True)
        )
    return False
