"""Output rails: every sentence of a reply is checked before any of it reaches the customer."""

from __future__ import annotations

import logging
from collections.abc import Callable

from pydantic import BaseModel, ConfigDict

from agent.guardrails._text import sentence_key, shingles, variants
from agent.guardrails.grounding import Grounding, durations_in, ids_in, numbers_in
from agent.guardrails.rules import Rule, RuleSet, load_rules
from core.guardrails_config import OutputRule

log = logging.getLogger(__name__)


class SentenceVerdict(BaseModel):
    """What the output rails found in one sentence."""

    model_config = ConfigDict(frozen=True)

    rule: str | None = None
    """The first blocking rule the sentence breaks; None when it may be shown."""
    monitored: tuple[str, ...] = ()
    """Rules in ``monitor`` mode that matched (logged, the text went through)."""


def _profanity(sentence: str, _: Grounding, rules: RuleSet) -> bool:
    return rules.has_profanity(sentence)


def _prompt_leak(sentence: str, _: Grounding, rules: RuleSet) -> bool:
    return not shingles(sentence, rules.thresholds.prompt_leak_ngram).isdisjoint(rules.prompt_shingles)


def _personal_data(sentence: str, grounding: Grounding, _: RuleSet) -> bool:
    """An order id or email address that is not in this conversation's facts or receipts."""
    return not grounding.quoted and not ids_in(sentence) <= grounding.allowed_ids


def _numbers(sentence: str, grounding: Grounding, _: RuleSet) -> bool:
    """A number, amount or duration that the facts and receipts do not state."""
    if grounding.quoted:
        return False
    known = numbers_in(sentence) <= grounding.allowed_numbers
    return not (known and durations_in(sentence) <= grounding.allowed_durations)


def _evidence(sentence: str, grounding: Grounding, rules: RuleSet) -> bool:
    """Not said by any passage sentence (the company's own fixed wording counts as said)."""
    if grounding.evidence is None or grounding.quoted or sentence_key(sentence) in rules.approved:
        return False
    return not grounding.evidence.supports(sentence, min_similarity=rules.thresholds.evidence_min_similarity)


_CHECKS: dict[str, Callable[[str, Grounding, RuleSet], bool]] = {
    "profanity": _profanity,
    "prompt_leak": _prompt_leak,
    "personal_data": _personal_data,
    "numbers": _numbers,
    "evidence": _evidence,
}


def _classified(rule: Rule[OutputRule], sentence: str) -> bool:
    """The rule's classifier scores ``sentence`` at or above the rule's threshold."""
    spec = rule.spec.classifier
    return rule.classifier is not None and spec is not None and rule.classifier.score(sentence).score >= spec.threshold


def _breaks(rule: Rule[OutputRule], sentence: str, forms: list[str], grounding: Grounding, rules: RuleSet) -> bool:
    spec = rule.spec
    if spec.applies_to == "untrusted" and grounding.trusted:
        return False
    hit = (rule.matches(forms) or (spec.check is not None and _CHECKS[spec.check](sentence, grounding, rules))
           or _classified(rule, sentence))
    if not hit or rule.cleared(sentence):
        return False
    return not (spec.backed_by == "receipts" and grounding.backs(sentence))


def inspect_sentence(sentence: str, grounding: Grounding, *, rules: RuleSet | None = None) -> SentenceVerdict:
    """Run every output rule on ``sentence`` in order; the first blocking hit wins."""
    if grounding.order_facts is not None and (kind := grounding.order_facts.wrong(sentence)):
        return SentenceVerdict(rule=f"wrong_{kind}")  # facts are checked in code, not by a rule ops may turn off
    rules = rules or load_rules()
    forms = variants(sentence)
    monitored: list[str] = []
    for rule in rules.output:
        if not _breaks(rule, sentence, forms, grounding, rules):
            continue
        if rule.spec.mode == "monitor":
            log.info("output rule %s matched (monitor mode)", rule.name)
            monitored.append(rule.name)
            continue
        return SentenceVerdict(rule=rule.name, monitored=tuple(monitored))
    return SentenceVerdict(monitored=tuple(monitored))


def check_sentence(sentence: str, grounding: Grounding) -> str | None:
    """Name of the rule ``sentence`` breaks, or None when it may be shown."""
    return inspect_sentence(sentence, grounding).rule
