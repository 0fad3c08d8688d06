"""The guardrails config compiled once: patterns, word sets and protected-prompt shingles."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Generic, TypeVar

from agent.guardrails._text import masked_matches, shingles, split_sentences, word_forms
from agent.guardrails.config import GuardrailsConfig, InputRule, OutputRule, Thresholds, expand, load_config
from agent.prompts import prompt_text, replies

Spec = TypeVar("Spec", InputRule, OutputRule)


@dataclass(frozen=True)
class Rule(Generic[Spec]):
    """One rule with its patterns compiled; ``spec`` is the rule as configured."""

    spec: Spec
    patterns: tuple[re.Pattern[str], ...]
    unless: tuple[re.Pattern[str], ...]

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

    def has_profanity(self, text: str) -> bool:
        """True when a listed word appears in ``text`` (whole words; leetspeak, masks, spacing undone)."""
        for form in word_forms(text):
            if form in self.profanity or any(stem in form for stem in self.stems):
                return True
            if masked_matches(form, self.profanity):
                return True
        return False


def sentence_key(sentence: str) -> str:
    """A sentence as it compares: lower case, single spaces."""
    return " ".join(sentence.lower().split())


def _approved_sentences() -> frozenset[str]:
    def leaves(node: object) -> list[str]:
        if isinstance(node, dict):
            return [t for v in node.values() for t in leaves(v)]
        return [node] if isinstance(node, str) else []

    return frozenset(sentence_key(s) for text in leaves(replies()) for s in split_sentences(text) if "{" not in s)


def _compile(spec: Spec, words: dict[str, list[str]]) -> Rule[Spec]:
    def compiled(patterns: list[str]) -> tuple[re.Pattern[str], ...]:
        return tuple(re.compile(expand(p, words), re.IGNORECASE | re.MULTILINE) for p in patterns)

    return Rule(spec=spec, patterns=compiled(spec.patterns), unless=compiled(spec.unless))


def compile_rules(config: GuardrailsConfig) -> RuleSet:
    """Compile ``config`` (already validated)."""
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
    )


@lru_cache(maxsize=4)
def load_rules(path: Path | None = None) -> RuleSet:
    """The compiled rules of the config at ``path``, or of the bundled one (a bad file fails here, at start)."""
    return compile_rules(load_config(path))
