"""Input rails: what the customer wrote is checked before the model sees it (secrets are masked first, by
:func:`agent.guardrails.secrets.mask_secrets`)."""

from __future__ import annotations

import logging

from pydantic import BaseModel, ConfigDict

from agent.guardrails._text import clean, hidden_text, variants
from agent.guardrails.rules import Rule, RuleSet, load_rules
from core.guardrails_config import InputRule

log = logging.getLogger(__name__)


class InputVerdict(BaseModel):
    """What the input rails found in one message."""

    model_config = ConfigDict(frozen=True)

    rule: str | None = None
    """The first blocking rule the message trips (``instruction_override``, ``sensitive_legal``...)."""
    flag: str | None = None
    """That rule's flag: the turn's ``input_flag`` (``injection``, ``sensitive``...)."""
    monitored: tuple[str, ...] = ()
    """Rules in ``monitor`` mode that matched (logged, not acted on)."""


def _encoded(text: str, rules: RuleSet) -> bool:
    t = rules.thresholds
    return hidden_text(text, min_chars=t.encoded_min_chars, min_words=t.encoded_min_words,
                       rot13_words=t.rot13_min_words, common=rules.common_english) is not None


def _trips(rule: Rule[InputRule], forms: list[str], rules: RuleSet) -> bool:
    hit = rule.matches(forms) or (rule.spec.check == "encoded" and _encoded(forms[0], rules))
    return hit and not rule.cleared(forms[-1])


def _classified(text: str, rules: RuleSet) -> str | None:
    """The flag the input classifier gives ``text``, or None (below its threshold, too short, or cleared)."""
    spec, model = rules.config.classifier, rules.classifier
    if spec is None or model is None or len(text.split()) < spec.min_words:
        return None
    if any(p.search(text) for p in rules.classifier_unless):
        return None
    score = model.score(text)
    return spec.flags[score.label] if score.score >= spec.threshold else None


def inspect_input(text: str, *, rules: RuleSet | None = None, classify: bool = True) -> InputVerdict:
    """Run every input rule on ``text`` (and its de-obfuscated forms) in order, then the input classifier on
    the cleaned text (``classify`` False: rules only); the first blocking hit wins."""
    rules = rules or load_rules()
    forms = variants(text)
    monitored: list[str] = []
    for rule in rules.input:
        if not _trips(rule, forms, rules):
            continue
        if rule.spec.mode == "monitor":
            log.info("input rule %s matched (monitor mode)", rule.name)
            monitored.append(rule.name)
            continue
        log.info("input rule %s blocked a message (flag %s)", rule.name, rule.spec.flag)
        return InputVerdict(rule=rule.name, flag=rule.spec.flag, monitored=tuple(monitored))
    flag = _classified(clean(text), rules) if classify else None
    spec = rules.config.classifier
    if flag is None or spec is None:
        return InputVerdict(monitored=tuple(monitored))
    if spec.mode == "monitor":
        log.info("input classifier %s matched (monitor mode)", spec.name)
        return InputVerdict(monitored=(*monitored, spec.name))
    log.info("input classifier %s blocked a message (flag %s)", spec.name, flag)
    return InputVerdict(rule=spec.name, flag=flag, monitored=tuple(monitored))


def check_input(text: str, *, classify: bool = True) -> str | None:
    """The flag of the first input rule the message trips (``injection``, ``sensitive``...), or None
    (``classify`` False: the rules only, for text that is not a customer's message)."""
    return inspect_input(text, classify=classify).flag
