"""The guardrails config compiled: patterns, word sets and protected-prompt shingles, and the rules in force.

The rails run on the guardrails of the policy version in force: the graph runs every node inside
:func:`rules_in_force`, and :func:`load_rules` returns those rules (the bundled ones outside a turn).
"""

from __future__ import annotations

import re
import threading
from collections import OrderedDict
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Generic, TypeVar

from agent.guardrails._text import masked_matches, sentence_key, shingles, split_sentences, word_forms
from agent.guardrails.classifier import Classifier, load_classifier
from agent.prompts import prompt_text, replies
from core.errors import ConfigError
from core.guardrails_config import GuardrailsConfig, InputRule, OutputRule, Thresholds, bundled_guardrails, expand

Spec = TypeVar("Spec", InputRule, OutputRule)


@dataclass(frozen=True)
class Rule(Generic[Spec]):
    """One rule with its patterns compiled; ``spec`` is the rule as configured."""

    spec: Spec
    patterns: tuple[re.Pattern[str], ...]
    unless: tuple[re.Pattern[str], ...]
    classifier: Classifier | None = None
    """The classifier an output rule names (its spec is ``spec.classifier``)."""

    @property
    def name(self) -> str:
        return self.spec.name

    def matches(self, texts: list[str]) -> bool:
        """True when a pattern matches one of ``texts`` (the text and its de-obfuscated forms)."""
        return any(p.search(t) for p in self.patterns for t in texts)

    def cleared(self, text: str) -> bool:
        """True when an ``unless`` pattern matches ``text``."""
        return any(p.search(text) for p in self.unless)


@dataclass(frozen=True)
class RuleSet:
    """What the rails run on: compiled rules in order, word sets and thresholds."""

    input: tuple[Rule[InputRule], ...]
    output: tuple[Rule[OutputRule], ...]
    profanity: frozenset[str]
    """Profanity, slurs and insults: never in a reply."""
    stems: tuple[str, ...]
    """Word parts that make any word containing them profane (``motherfucking``)."""
    common_english: frozenset[str]
    prompt_shingles: frozenset[tuple[str, ...]]
    approved: frozenset[str]
    """The company's own fixed wording (replies.yaml sentences without placeholders), as :func:`sentence_key`."""
    thresholds: Thresholds
    config: GuardrailsConfig
    classifier: Classifier | None = None
    """The input classifier the config names (its spec is ``config.classifier``)."""
    classifier_unless: tuple[re.Pattern[str], ...] = ()

    def has_profanity(self, text: str) -> bool:
        """True when a listed word appears in ``text`` (whole words; leetspeak, masks, spacing undone)."""
        for form in word_forms(text):
            if form in self.profanity or any(stem in form for stem in self.stems):
                return True
            if masked_matches(form, self.profanity):
                return True
        return False


def _approved_sentences() -> frozenset[str]:
    def leaves(node: object) -> list[str]:
        if isinstance(node, dict):
            return [t for v in node.values() for t in leaves(v)]
        return [node] if isinstance(node, str) else []

    return frozenset(sentence_key(s) for text in leaves(replies()) for s in split_sentences(text) if "{" not in s)


def _compile(spec: Spec, words: dict[str, list[str]]) -> Rule[Spec]:
    def compiled(patterns: list[str]) -> tuple[re.Pattern[str], ...]:
        return tuple(re.compile(expand(p, words), re.IGNORECASE | re.MULTILINE) for p in patterns)

    named = spec.classifier if isinstance(spec, OutputRule) else None
    return Rule(spec=spec, patterns=compiled(spec.patterns), unless=compiled(spec.unless),
                classifier=load_classifier(named.name) if named else None)


def _compile_rules(config: GuardrailsConfig) -> RuleSet:
    words = config.words
    n = config.thresholds.prompt_leak_ngram
    prompts = (re.sub(r"\{\w+\}", " ", prompt_text(name)) for name in config.protected_prompts)
    return RuleSet(
        input=tuple(_compile(r, words) for r in config.input),
        output=tuple(_compile(r, words) for r in config.output),
        profanity=frozenset(w.lower() for key in ("profanity", "insults") for w in words.get(key, [])),
        stems=tuple(words.get("profanity_stems", [])),
        common_english=frozenset(words.get("common_english", [])),
        prompt_shingles=frozenset(s for text in prompts for s in shingles(text, n)),
        approved=_approved_sentences(),
        thresholds=config.thresholds,
        config=config,
        classifier=load_classifier(config.classifier.name) if config.classifier else None,
        classifier_unless=tuple(re.compile(expand(p, words), re.IGNORECASE)
                                for p in (config.classifier.unless if config.classifier else [])),
    )


_COMPILED: OrderedDict[int, tuple[GuardrailsConfig, RuleSet]] = OrderedDict()
"""Recently compiled configs by identity (the entry keeps its config alive, so the id is not reused)."""
_COMPILED_MAX = 8
_COMPILED_LOCK = threading.Lock()
_IN_FORCE: ContextVar[RuleSet | None] = ContextVar("guardrail_rules_in_force", default=None)


def rules_for(config: GuardrailsConfig) -> RuleSet:
    """``config`` (already validated) compiled, once per config object: the policy store hands out the same
    object until the version changes, and a new version with the same guardrails reuses their rules."""
    with _COMPILED_LOCK:
        entry = _COMPILED.get(id(config))
        if entry is None or entry[0] is not config:
            same = next((rules for known, rules in _COMPILED.values() if known == config), None)
            entry = _COMPILED[id(config)] = (config, same or _compile_rules(config))
            if len(_COMPILED) > _COMPILED_MAX:
                _COMPILED.popitem(last=False)
        _COMPILED.move_to_end(id(config))
        return entry[1]


def check_guardrails(config: GuardrailsConfig) -> None:
    """What the schema cannot see: every input flag has its fixed reply and the rules compile (the protected
    prompts exist). A :class:`ConfigError` says which part is wrong."""
    declined = replies()["declined"]
    flags = {rule.flag for rule in config.input} | set(config.classifier.flags.values() if config.classifier else ())
    missing = sorted(flags - set(declined))
    if missing:
        raise ConfigError(f"input flags without a fixed reply in agent/prompts/replies.yaml: {missing}")
    try:
        compiled = rules_for(config)
    except (OSError, KeyError, ValueError, re.error) as exc:
        raise ConfigError(f"the guardrails do not compile: {exc}") from exc
    if compiled.classifier and config.classifier:
        unmapped = sorted(set(compiled.classifier.classes) - {"benign"} - set(config.classifier.flags))
        if unmapped:
            raise ConfigError(f"classifier {config.classifier.name!r}: classes without a flag: {unmapped}")


def load_rules() -> RuleSet:
    """The rules in force: those of the policy version the running turn uses (see :func:`rules_in_force`),
    or the bundled ones outside a turn."""
    in_force = _IN_FORCE.get()
    return in_force if in_force is not None else rules_for(bundled_guardrails())


@contextmanager
def rules_in_force(config: GuardrailsConfig) -> Iterator[RuleSet]:
    """Make ``config``'s rules the ones :func:`load_rules` returns, for this block and this context only."""
    rules = rules_for(config)
    token = _IN_FORCE.set(rules)
    try:
        yield rules
    finally:
        _IN_FORCE.reset(token)
