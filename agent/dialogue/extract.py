"""Facts pulled out of what the customer wrote, by code (patterns and matching against store data)."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from typing import Any, Literal

_YES = re.compile(r"^\s*(yes|yeah|yep|yup|sure|ok(ay)?|confirm(ed)?|go ahead|please do|do it|correct|"
                  r"that'?s (right|correct|fine)|sounds good|absolutely|y)\b", re.IGNORECASE)
_NO = re.compile(r"^\s*(no|nope|nah|don'?t|do not|stop|never ?mind|wait|hold on|not now|n)\b", re.IGNORECASE)
_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
_ZIP = re.compile(r"(?<![\d#W])\d{5}(?!\d)")
_NAME = re.compile(r"\b(?:my name is|i am|i'm|this is|name:?)\s+([A-Z][a-z'-]+)\s+([A-Z][a-z'-]+)")
_ALL = re.compile(r"\b(all|everything|both|whole order|entire order|every item|all of it)\b", re.IGNORECASE)
_REASONS = {
    "no longer needed": re.compile(r"\b(no longer|don'?t|do not|not) (need|want)|changed my mind|not needed",
                                   re.IGNORECASE),
    "ordered by mistake": re.compile(r"\b(by mistake|mistakenly|accident|accidentally|wrong order|ordered twice|"
                                     r"didn'?t mean to)\b", re.IGNORECASE),
}
_WORD = re.compile(r"[a-z0-9]+")


def confirmation(text: str) -> Literal["yes", "no"] | None:
    """A plain yes or no at the start of the message."""
    if _NO.match(text):
        return "no"
    return "yes" if _YES.match(text) else None


def email(text: str) -> str | None:
    found = _EMAIL.search(text)
    return found.group().rstrip(".") if found else None


def zip_code(text: str) -> str | None:
    found = _ZIP.search(text)
    return found.group() if found else None


def full_name(text: str) -> tuple[str, str] | None:
    """``(first, last)`` from "my name is Jane Doe" and similar."""
    found = _NAME.search(text)
    return (found.group(1), found.group(2)) if found else None


def cancel_reason(text: str) -> str | None:
    """One of the policy's cancellation reasons, if the message states one."""
    return next((reason for reason, pattern in _REASONS.items() if pattern.search(text)), None)


def _words(text: str) -> set[str]:
    return {w.rstrip("s") for w in _WORD.findall(text.lower()) if len(w) > 2}


def mentioned(text: str, candidates: Sequence[dict[str, Any]], *, key: str = "name") -> list[dict[str, Any]]:
    """Candidates whose name (or option values) the customer mentioned; all of them for "all"/"both"."""
    if _ALL.search(text):
        return list(candidates)
    said = _words(text)
    return [c for c in candidates if _words(_describe(c, key)) & said]


def _describe(candidate: dict[str, Any], key: str) -> str:
    value = candidate.get(key, "")
    return " ".join(str(v) for v in value.values()) if isinstance(value, dict) else str(value)


def best_option(text: str, variants: Iterable[dict[str, Any]], current: dict[str, Any]) -> dict[str, Any] | None:
    """The available variant whose option values best match what the customer asked for (ties: none)."""
    said = _words(text)
    scored = []
    for variant in variants:
        if not variant["available"] or variant["options"] == current:
            continue
        wanted = {k: v for k, v in variant["options"].items() if current.get(k) != v}
        scored.append((sum(bool(_words(str(v)) & said) for v in wanted.values()), variant))
    scored.sort(key=lambda pair: -pair[0])
    if not scored or scored[0][0] == 0 or (len(scored) > 1 and scored[1][0] == scored[0][0]):
        return None
    return scored[0][1]
