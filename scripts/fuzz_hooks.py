"""Schemathesis hooks of ``make fuzz`` (loaded through ``SCHEMATHESIS_HOOKS`` by :mod:`scripts.fuzz`).

CPython 3.11 can fail ``ast.parse`` with ``SystemError: AST constructor recursion depth mismatch`` when two
threads parse at the same time (gh-106905). Hypothesis parses the source of every ``filter(lambda …)`` to
describe it, and ``--workers 2`` runs two generator threads, so a run could end in a runtime error of the
fuzzer itself (not a finding about the API). Parsing under one lock removes the race; the parses are
cached by hypothesis, so the lock costs nothing measurable.
"""

from __future__ import annotations

import ast
import threading
from typing import Any

_LOCK = threading.Lock()
_PARSE = ast.parse


def _parse_one_at_a_time(*args: Any, **kwargs: Any) -> Any:
    with _LOCK:
        return _PARSE(*args, **kwargs)


ast.parse = _parse_one_at_a_time
