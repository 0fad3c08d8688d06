"""What the customer said to do if what they asked for cannot be had ("If there is no keyboard that is clicky, RGB
backlight, full size, I'd rather only exchange the thermostat", "If it is not available, cancel the whole order"),
read with no model. The flow leaves the item out, and offers the change the customer named for their yes."""

from __future__ import annotations

import re
from typing import Any

from agent.planner.clauses import asks_for
from tools.arguments import items_called, sentences

_IF_NONE = re.compile(r"^\s*(?:if|in case)\b[^.;!?]*\b(?:no|not|n't|none|unavailable)\b", re.IGNORECASE)
"""A sentence saying what to do when no option fits."""
_BACK = re.compile(r"\b(?:it|it's|that|this|they|those)\b", re.IGNORECASE)
"""Words referring back to the item the sentence before named ("If it is not available, ...")."""

FALLBACK_CHANGES = {"cancel": ("cancel_order", "pending"), "return": ("return_refund", "delivered")}
"""The changes a customer may ask for then: their task, and the order status it needs."""


def fallback_sentence(text: str, item: dict[str, Any]) -> str | None:
    """The sentence in which the customer said what to do with ``item`` if no option fits what they asked: one
    naming it, or referring back to it ("I want the bookshelf in 4 foot. If it is not available, ...")."""
    said = sentences(text)
    return next((s for index, s in enumerate(said) if _IF_NONE.match(s) and (items_called(s, [item]) or (
        index and _BACK.search(s) and items_called(said[index - 1], [item])))), None)


def fallback_change(sentence: str, status: str) -> tuple[str, str] | None:
    """The change (its action word and task) a fallback ``sentence`` asks for, when an order of ``status`` allows it
    ("..., cancel the whole order" of a pending order)."""
    then = sentence.split(",", 1)[-1]
    return next(((action, intent) for action, (intent, needed) in FALLBACK_CHANGES.items()
                 if asks_for(then, action) and status == needed), None)
