"""What a reply may state: the facts, passages and tool receipts a sentence is checked against."""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterable, Iterator
from decimal import Decimal, InvalidOperation
from functools import cached_property
from typing import Any

from pydantic import BaseModel, ConfigDict

from agent.guardrails._text import NUMBER_WORDS, ORDER_ID
from agent.guardrails.evidence import Evidence
from agent.guardrails.order_facts import OrderFacts
from agent.guardrails.rules import load_rules

_NUMBER = re.compile(r"#?W\d{7}\b|\$?\d[\d,]*(?:\.\d+)?%?")
_MONEY = re.compile(r"\$\s?\d[\d,]*(?:\.\d+)?|\b\d+\.\d{2}\b")
_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
_NUMBER_WORDS = {w: str(i) for w, i in NUMBER_WORDS.items()} | {
    "a": "1", "an": "1", "thirty": "30", "forty": "40", "forty-five": "45", "sixty": "60", "ninety": "90"}
_DURATION = re.compile(r"\b(\d+|" + "|".join(sorted(_NUMBER_WORDS, key=len, reverse=True)) +
                       r")[\s-]+(?:(?:business|working|calendar|full)\s+)?(hour|day|week|month|year)s?\b", re.I)


def canonical(number: str) -> str:
    """A number as it compares: no ``$``, ``%`` or commas; ``42.10`` and ``42.1`` alike; order ids as ``W...``."""
    n = number.strip("$%#").replace(",", "").rstrip(".")
    if "." in n:
        with contextlib.suppress(InvalidOperation):
            n = f"{Decimal(n):f}".rstrip("0").rstrip(".")
    return n


def numbers_in(text: str) -> set[str]:
    """Numbers, amounts and order ids stated in ``text``, canonical."""
    return {canonical(n) for n in _NUMBER.findall(text)}


def durations_in(text: str) -> set[str]:
    """Durations stated in ``text`` (``a year`` -> ``1 year``, ``5 business days`` -> ``5 day``)."""
    return {f"{_NUMBER_WORDS.get(n.lower(), n)} {unit.lower()}" for n, unit in _DURATION.findall(text)}


def ids_in(text: str) -> set[str]:
    """Order ids (``W1234567``) and email addresses in ``text``, lower case."""
    return {m.lstrip("#").lower() for m in ORDER_ID.findall(text)} | {m.lower() for m in _EMAIL.findall(text)}


def _values(data: Any, key: str = "") -> Iterator[tuple[str, Any]]:
    if isinstance(data, dict):
        for k, v in data.items():
            yield from _values(v, str(k))
    elif isinstance(data, list):
        for v in data:
            yield from _values(v, key)
    else:
        yield key, data


class Receipt(BaseModel):
    """A tool call that was done: what it may back in a model-written sentence."""

    model_config = ConfigDict(frozen=True)

    tool: str
    words: tuple[str, ...]
    """Words that name the action (a sentence claiming it must use one)."""
    amounts: frozenset[str]
    """Numbers in the result (amounts, days), canonical."""
    ids: frozenset[str]
    """Order ids and email addresses in the result, lower case."""

    @classmethod
    def from_tool_result(cls, result: dict[str, Any]) -> Receipt | None:
        """The receipt of a tool result (``ToolResult.model_dump``), or None unless it was done."""
        if result.get("outcome") != "done":
            return None
        amounts: set[str] = set()
        ids: set[str] = set()
        for _, value in _values(result.get("data", {})):
            text = str(value)
            if re.fullmatch(r"-?\d+(?:\.\d+)?", text):
                amounts.add(canonical(text.lstrip("-")))
            ids |= ids_in(text)
        words = load_rules().config.receipts.get(result.get("tool", ""), [])
        return cls(tool=result.get("tool", ""), words=tuple(words), amounts=frozenset(amounts), ids=frozenset(ids))


def receipts_from(tool_results: Iterable[dict[str, Any]]) -> list[Receipt]:
    """The receipts of the done calls among ``tool_results`` (the state's ``tool_results``)."""
    return [r for r in map(Receipt.from_tool_result, tool_results) if r is not None]


class Grounding(BaseModel):
    """What a reply may state: text from tool results, retrieved passages and the customer's words."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    facts: str = ""
    """Text whose numbers, amounts and ids a sentence may repeat."""
    evidence: Evidence | None = None
    """Passage sentences a model-written sentence must be supported by (None: no such check)."""
    trusted: bool = False
    """Reply text written by code from tool results (templates) rather than by the model."""
    quoted: bool = False
    """Text quoted verbatim from retrieved passages (fallback extracts): no number or evidence check, but every
    rule about what may be promised or leaked still applies."""
    receipts: list[Receipt] = []
    """Done tool calls of this conversation: they back a model sentence saying the action happened."""
    order_facts: OrderFacts | None = None
    """Set when the model rewords facts about orders: the statuses, items and days it may state."""

    @cached_property
    def allowed_numbers(self) -> frozenset[str]:
        """Numbers a sentence may state: those in the facts and the receipts."""
        found = numbers_in(self.facts)
        for receipt in self.receipts:
            found |= receipt.amounts | {i.upper() for i in receipt.ids}
        return frozenset(found)

    @cached_property
    def allowed_durations(self) -> frozenset[str]:
        """Durations a sentence may state: those in the facts."""
        return frozenset(durations_in(self.facts))

    @cached_property
    def allowed_ids(self) -> frozenset[str]:
        """Order ids and emails a sentence may name: those in the facts and the receipts."""
        return frozenset(ids_in(self.facts).union(*(r.ids for r in self.receipts)))

    def backs(self, sentence: str) -> bool:
        """True when a receipt names the action and holds every amount and id ``sentence`` states."""
        lowered = sentence.lower()
        amounts = {canonical(m) for m in _MONEY.findall(sentence)}
        ids = ids_in(sentence)
        return any(any(w in lowered for w in r.words) and amounts <= r.amounts and ids <= r.ids for r in self.receipts)
