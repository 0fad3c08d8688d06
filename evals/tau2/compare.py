"""Compare two tau2 databases the way the grader would, numbers rounded to cents, and say where they differ."""

from __future__ import annotations

import json
from collections.abc import Iterator
from itertools import islice
from typing import Any

SECTIONS = ("users", "orders", "products")


def diff(expected: dict[str, Any], actual: dict[str, Any], *, limit: int = 6) -> list[str]:
    """Up to ``limit`` differences such as ``orders.#W1.status: tau2 'cancelled', ours 'pending'``."""
    found = (line for section in SECTIONS for line in _walk(expected.get(section), actual.get(section), section))
    return list(islice(found, limit))


def _walk(expected: Any, actual: Any, path: str) -> Iterator[str]:
    if expected == actual:
        return
    if isinstance(expected, dict) and isinstance(actual, dict) and not _flat_and_far(expected, actual):
        for key in sorted(expected.keys() | actual.keys(), key=str):
            if key not in actual:
                yield f"{path}.{key}: tau2 {_short(expected[key])}, ours missing"
            elif key not in expected:
                yield f"{path}.{key}: tau2 missing, ours {_short(actual[key])}"
            else:
                yield from _walk(expected[key], actual[key], f"{path}.{key}")
    elif isinstance(expected, list) and isinstance(actual, list) and len(expected) == len(actual):
        for index, (e, a) in enumerate(zip(expected, actual, strict=True)):
            yield from _walk(e, a, f"{path}[{index}]")
    elif not _same_number(expected, actual):
        yield f"{path}: tau2 {_short(expected)}, ours {_short(actual)}"


def _flat_and_far(expected: dict[str, Any], actual: dict[str, Any]) -> bool:
    """Dicts of plain values that differ in several keys (item options) read better on one line."""
    flat = not any(isinstance(v, dict | list) for v in (*expected.values(), *actual.values()))
    return flat and sum(expected.get(k) != actual.get(k) for k in expected.keys() | actual.keys()) > 2


def _same_number(expected: Any, actual: Any) -> bool:
    def number(value: Any) -> bool:
        return isinstance(value, int | float) and not isinstance(value, bool)

    return number(expected) and number(actual) and round(expected, 2) == round(actual, 2)


def _short(value: Any, width: int = 160) -> str:
    text = json.dumps(value, default=str)
    return text if len(text) <= width else text[: width - 3] + "..."
