"""The guardrails config: rails, word lists and thresholds, validated with pydantic.

Everything the rails decide comes from this config, so operations can tune it without touching code. It is the
``guardrails`` section of the versioned policy document; the bundled ``guardrails.yaml`` is its default. A bad
pattern, an unknown word list or check, or a duplicate rule name is refused with the rule's name.
"""

from __future__ import annotations

import re
import string
from functools import lru_cache
from importlib import resources
from typing import Annotated, ClassVar, Literal, Self

import yaml
from pydantic import BaseModel, ConfigDict, Field, StrictStr, field_validator, model_validator

Mode = Literal["block", "monitor"]
"""``block`` stops the text; ``monitor`` logs the hit (rule name only) and lets the text through."""

_LIST_REF = re.compile(r"\{\{(\w+)\}\}")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, use_attribute_docstrings=True)  # docstrings: OpenAPI


class Thresholds(_Strict):
    evidence_min_similarity: float = Field(0.68, ge=0, le=1)
    """Cosine similarity to the closest passage sentence below which a model sentence is unsupported."""
    sentence_max_chars: int = Field(240, ge=40)
    """The sentence gate releases a span this long even without a sentence end."""
    encoded_min_chars: int = Field(16, ge=8)
    """Shortest base64 / hex blob that is decoded and checked."""
    encoded_min_words: int = Field(3, ge=1)
    """Words a decoded blob must hold to count as hidden instructions."""
    rot13_min_words: int = Field(3, ge=1)
    """Common English words a message must gain when rot13-decoded to count as hidden instructions."""
    prompt_leak_ngram: int = Field(8, ge=4)
    """Words in a row shared with a protected prompt that count as a prompt leak."""


class _Rule(_Strict):
    name: StrictStr = Field(pattern=r"^[a-z][a-z0-9_]*$")
    """Reported when the rule trips (events, logs, eval reports)."""
    mode: Mode = "block"
    patterns: list[StrictStr] = []
    """Case-insensitive regular expressions; ``{{list}}`` inserts a word list."""
    unless: list[StrictStr] = []
    """Patterns that clear a hit (a support word in an angry message, a negation in a sentence)."""
    check: str | None = None
    """A code detector that trips the rule besides its patterns (each rail names the ones it has)."""
    rail: ClassVar[str]

    @model_validator(mode="after")
    def _detects_something(self) -> Self:
        if not self.patterns and not self.check and not getattr(self, "classifier", None):
            raise ValueError(f"{self.rail} rule {self.name!r} has neither patterns nor a check")
        return self


class InputRule(_Rule):
    """A rule on the customer's message."""

    flag: StrictStr = Field(pattern=r"^[a-z][a-z0-9_]*$")
    """The turn's ``input_flag``: the graph's fixed reply for it is ``declined.<flag>`` in replies.yaml."""
    check: Literal["encoded"] | None = None
    """A code detector that trips the rule besides its patterns (``encoded``: base64/hex/rot13 blobs)."""
    rail = "input"


class SentenceClassifier(_Strict):
    """A classifier an output rule runs on a sentence: a linear model over MiniLM embeddings and word n-grams,
    committed as ``agent/guardrails/classifiers/<name>.json`` (``python -m evals guardrails-train-replies``)."""

    name: StrictStr = Field(pattern=r"^[a-z][a-z0-9_]*$")
    """The weights file."""
    threshold: float = Field(ge=0, le=1)
    """The sentence breaks the rule when 1 - P(benign) reaches this."""


class OutputRule(_Rule):
    """A rule on every sentence of a reply."""

    applies_to: Literal["all", "untrusted"] = "all"
    """``untrusted``: skipped for text code wrote from tool results (``Grounding.trusted``)."""
    check: Literal["profanity", "prompt_leak", "personal_data", "numbers", "evidence"] | None = None
    """A code detector that trips the rule besides its patterns."""
    backed_by: Literal["receipts"] | None = None
    """``receipts``: a hit is cleared when a done tool result backs every amount and id the sentence states."""
    classifier: SentenceClassifier | None = None
    """A classifier that trips the rule besides its patterns (what no pattern names)."""
    rail = "output"


class ClassifierSpec(_Strict):
    """The input classifier, run on a message no input rule blocked: a linear model over MiniLM embeddings,
    committed as ``agent/guardrails/classifiers/<name>.json`` (``python -m evals guardrails-train`` retrains it)."""

    name: StrictStr = Field(pattern=r"^[a-z][a-z0-9_]*$")
    """The weights file; also the rule name reported when it flags a message."""
    mode: Mode = "block"
    threshold: float = Field(ge=0, le=1)
    """A message is flagged when 1 - P(benign) of its worst chunk reaches this."""
    min_words: int = Field(5, ge=1)
    """Shorter messages are left to the rules: a fragment ("the earbuds", "are you a bot?") carries too little for
    the embedding to tell an answer in a conversation from an attack."""
    unless: list[StrictStr] = []
    """Patterns that keep a message from the classifier (an order number: the message is about an order)."""
    flags: dict[StrictStr, Annotated[StrictStr, Field(pattern=r"^[a-z][a-z0-9_]*$")]]
    """Class -> the turn's ``input_flag`` for a message flagged as that class."""


class SecretRule(_Strict):
    """A kind of secret masked in customer messages."""

    name: StrictStr
    pattern: StrictStr
    replace: StrictStr
    """Replacement text; may use ``{last4}`` and the pattern's named groups."""
    validate_with: Literal["luhn", "iban"] | None = Field(None, alias="validate")
    """A check a match must also pass (card-number checksum, IBAN check digits)."""

    @model_validator(mode="after")
    def _replacement_fields_exist(self) -> SecretRule:
        try:
            groups = set(re.compile(self.pattern).groupindex)
        except re.error as exc:
            raise ValueError(f"secret {self.name!r}: bad pattern: {exc}") from exc
        fields = {name for _, name, _, _ in string.Formatter().parse(self.replace) if name is not None}
        unknown = sorted(fields - groups - {"last4"})
        if unknown:
            raise ValueError(f"secret {self.name!r}: replace uses {unknown}, which are neither last4 nor groups of "
                             "its pattern")
        return self


class GuardrailsConfig(_Strict):
    """The guardrails: the ``guardrails`` section of the policy document."""

    thresholds: Thresholds = Thresholds()
    words: dict[StrictStr, Annotated[list[Annotated[StrictStr, Field(min_length=1)]], Field(min_length=1)]]
    """Word lists (an empty list or entry would match everywhere)."""
    protected_prompts: list[Annotated[StrictStr, Field(pattern=r"^[\w-]+\.md$")]] = []
    """Prompt files in ``agent/prompts`` whose wording must never reach a customer."""
    secrets: list[SecretRule] = []
    receipts: dict[StrictStr, list[StrictStr]] = {}
    """Tool name -> words naming its action; a done result of that tool backs a model sentence claiming it."""
    input: list[InputRule]
    classifier: ClassifierSpec | None = None
    """Run after the input rules; None: rules only."""
    output: list[OutputRule]

    @field_validator("input", "output")
    @classmethod
    def _unique_names(cls, rules: list[_Rule]) -> list[_Rule]:
        names = [r.name for r in rules]
        duplicates = sorted({n for n in names if names.count(n) > 1})
        if duplicates:
            raise ValueError(f"duplicate rule names: {duplicates}")
        return rules

    @model_validator(mode="after")
    def _patterns_compile(self) -> GuardrailsConfig:
        if self.classifier:
            for pattern in self.classifier.unless:
                try:
                    re.compile(expand(pattern, self.words))
                except (re.error, KeyError) as exc:
                    raise ValueError(f"classifier: bad pattern {pattern!r}: {exc}") from exc
        for rule in [*self.input, *self.output]:
            for pattern in [*rule.patterns, *rule.unless]:
                try:
                    re.compile(expand(pattern, self.words))
                except (re.error, KeyError) as exc:
                    raise ValueError(f"rule {rule.name!r}: bad pattern {pattern!r}: {exc}") from exc
        return self


def expand(pattern: str, words: dict[str, list[str]]) -> str:
    """``pattern`` with each ``{{list}}`` replaced by an alternation of that word list (KeyError if unknown);
    entries are regex fragments, a space matching any run of white space."""

    def alternation(match: re.Match[str]) -> str:
        if match[1] not in words:
            raise KeyError(f"unknown word list {match[1]!r}")
        fragments = sorted((w.replace(" ", r"\s+") for w in words[match[1]]), key=len, reverse=True)
        return f"(?:{'|'.join(fragments)})"

    return _LIST_REF.sub(alternation, pattern)


def bundled_guardrails_text() -> str:
    """The bundled ``guardrails.yaml``, comments and all."""
    return resources.files(__package__).joinpath("guardrails.yaml").read_text()


@lru_cache(maxsize=1)
def bundled_guardrails() -> GuardrailsConfig:
    """The bundled config: the default when a policy document has no ``guardrails`` section."""
    return GuardrailsConfig.model_validate(yaml.safe_load(bundled_guardrails_text()))
