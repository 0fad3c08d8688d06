"""Output rails: every sentence of a reply is checked before any of it reaches the customer."""

from __future__ import annotations

import re

from pydantic import BaseModel, ConfigDict

from agent.guardrails.evidence import Evidence
from agent.guardrails.rules import load_rules

_NUMBER = re.compile(r"\$?\d[\d,]*(?:\.\d+)?%?|#W\d+")


class Grounding(BaseModel):
    """What a reply may state: text from tool results, retrieved passages and the customer's words."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    facts: str = ""
    """Text whose numbers, amounts and ids a sentence may repeat."""
    evidence: Evidence | None = None
    """Passage sentences a model-written sentence must be supported by (None: no such check)."""
    trusted: bool = False
    """Reply text written by code from tool results (templates) rather than by the model."""


def _numbers(text: str) -> set[str]:
    return {n.strip("$%").replace(",", "").rstrip(".") for n in _NUMBER.findall(text)}


def check_sentence(sentence: str, grounding: Grounding) -> str | None:
    """Name of the rule ``sentence`` breaks, or None when it may be shown."""
    rules = load_rules()
    if rules.has_profanity(sentence):
        return "profanity"
    rule = rules.first_match(rules.output, sentence)
    if rule == "commitment" and grounding.trusted:
        rule = None
    if rule:
        return rule
    if grounding.trusted:
        return None
    if _numbers(sentence) - _numbers(grounding.facts):
        return "ungrounded_fact"
    if grounding.evidence is not None and not grounding.evidence.supports(sentence):
        return "unsupported_claim"
    return None
