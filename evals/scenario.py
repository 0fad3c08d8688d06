"""The scenario format: who the customer is, what they say, how they answer the agent's questions, and what
must be true afterwards. Suites are YAML files of scenarios (see ``evals/README.md``)."""

from __future__ import annotations

import re
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Customer(_Strict):
    """A signed-in customer (``id``) or an anonymous one who knows some facts about their account."""

    id: str | None = None
    """Customer id of a signed-in session; leave empty for an anonymous chat."""
    email: str | None = None
    """Email the customer gives when asked to verify."""
    name: str | None = None
    """Full name ("Olivia Martin") the customer gives with ``zip`` when asked to verify."""
    zip: str | None = None
    verify_with: Literal["email", "name_zip"] | None = None
    """Which facts to give when asked to verify without naming any: ``email`` (the default when the email is
    known) gives the email and zip code, ``name_zip`` the full name and zip code and never the email."""

    @property
    def anonymous(self) -> bool:
        return self.id is None


Answer = str | list[str]
"""One answer, or answers for successive times the agent asks (the last one repeats): ``["yes please",
"oh, I ordered it by mistake"]`` answers an either/or with something that does not fit, then fits."""


class Answers(_Strict):
    """How the scripted customer answers the agent's questions; an unanswered question lets the customer say its
    next turn (or ends the chat when none is left). What the agent asks is recognised from general concepts
    (``evals.customer.question_in``), not from its wording."""

    confirm: Answer = "yes"
    """Answer to any yes/no proposal ("Shall I go ahead?", "Do you want me to cancel it?"): "yes" (default),
    "no", or the customer's own words ("yep go for it", "wait, the other one")."""
    order: Answer | None = None
    """Reply to "Which order do you mean?" / "What's the order number?"."""
    items: Answer | None = None
    """Reply to "Which items (of order ...) do you mean?"."""
    option: Answer | None = None
    """Reply to "Which option / colour / size would you like instead?" (exchanges)."""
    reason: Answer | None = None
    """Reply to "Why would you like to cancel?"."""
    address: Answer | None = None
    """Reply to "Where should order ... go?" / "What's the new address?"."""


class ToolCall(_Strict):
    """A tool call that must happen: its name, the arguments that matter, optionally its outcome."""

    name: str
    args: dict[str, Any] = {}
    """Arguments that must have these values (others are not checked); numbers match to the cent."""
    outcome: Literal["done", "denied", "needs_approval", "failed", "retry"] | None = None


class OrderState(_Strict):
    """An order after the conversation."""

    id: str
    status: str | None = None
    address: dict[str, str] = {}
    """Address fields that must have these values."""
    extra: dict[str, Any] = {}
    """Fields of ``Order.extra`` (``cancel_reason``...) that must have these values."""


class RefundState(_Strict):
    """Refunds of one order: exactly ``count`` of them, adding up to ``total``."""

    order: str
    count: int = 1
    total: float | None = None


class OutboxState(_Strict):
    """Emails sent to ``to`` (a password-reset link...)."""

    to: str
    count: int = 1
    contains: str | None = None


class ExceptionState(_Strict):
    """Requests recorded for a person's approval."""

    count: int = 1
    rule: str | None = None
    status: str | None = None


class StoreState(_Strict):
    """The store after the conversation (checked in-process only)."""

    orders: list[OrderState] = []
    refunds: list[RefundState] = []
    outbox: list[OutboxState] = []
    exceptions: ExceptionState | None = None
    unchanged: bool = False
    """Nothing a customer owns changed: orders, items, payments, refunds, accounts, emails."""


class Escalation(_Strict):
    """Whether the conversation must go to a person (must-escalate / must-not-escalate), and how."""

    handoff: bool
    reason: str | None = None
    """Substring of the handoff reason ("customer asked for a human")."""
    queue: str | None = None


class Guardrails(_Strict):
    """What the guardrails must (not) do."""

    declined: str | bool | None = None
    """The input flag whose fixed decline must be said (``injection``, ``harmful``...); true: any decline;
    false: no decline."""
    replaced: bool | None = None
    """A reply must (true) or must not (false) have been withdrawn by the output rails."""
    attack_targets: list[str] = []
    """Regexes (case-insensitive unless ``(?-i)``): the attack succeeded if one matches any text shown."""
    not_refused: bool = False
    """A benign message: no decline, no withdrawn reply, no safe fallback."""


ACKNOWLEDGEMENTS: dict[str, str] = {
    "en": r"\b(sorry|apologi[sz]e)",
    "es": r"\b(lo siento|siento|lamento|lamentamos|disculp)",
    "fr": r"\b(désolée?s?|excuse)",
    "de": r"\b(tut (mir|uns) leid|entschuldig)",
    "pt": r"\b(lamento|lamentamos|desculp)",
    "it": r"\b(mi dispiace|ci dispiace|scus)",
}
"""Phrasings of an acknowledgement ("I'm sorry ...") by language, as regexes."""


class TextCheck(_Strict):
    """Text in the agent's replies (all turns, case-insensitive)."""

    contains: list[str] = []
    not_contains: list[str] = []
    final_contains: list[str] = []
    """Text the last reply must contain."""
    matches: list[str] = []
    """Regexes (case-insensitive) some reply must match: wording-independent checks such as
    ``'\\b(?:automated|virtual|bot|assistant)\\b'``."""
    not_matches: list[str] = []
    """Regexes no reply may match (``"not sure|don't understand"``)."""
    language: str | None = None
    """The language every reply must be in (``es``...; py3langid, as the agent tells languages apart)."""
    acknowledges: bool = False
    """Some reply acknowledges the customer's trouble, in a phrasing of :data:`ACKNOWLEDGEMENTS` for ``language``
    (English without one): what an upset customer must hear."""

    @model_validator(mode="after")
    def _known_acknowledgements(self) -> TextCheck:
        if self.acknowledges and (self.language or "en") not in ACKNOWLEDGEMENTS:
            raise ValueError(f"no acknowledgement phrasings for language {self.language!r}")
        return self

    @field_validator("matches", "not_matches")
    @classmethod
    def _regexes(cls, value: list[str]) -> list[str]:
        for pattern in value:
            try:
                re.compile(pattern)
            except re.error as exc:
                raise ValueError(f"bad regex {pattern!r}: {exc}") from None
        return value


class Citations(_Strict):
    """Help-center citations the replies must carry."""

    min: int = 1
    source: str | None = None
    """Substring of a cited source (``returns-policy``)."""


QuestionKind = Literal["confirm", "identity", "handoff", "reason", "address", "option", "items", "order"]
"""What an agent's question asks for (``evals.customer.KINDS``)."""


class Expect(_Strict):
    """Everything that must be true for the scenario to pass."""

    tools: list[ToolCall] = []
    forbid_tools: list[str] = []
    """Tools that must not be called (``writes`` stands for every tool that changes the store)."""
    state: StoreState | None = None
    escalation: Escalation | None = None
    guardrails: Guardrails | None = None
    text: TextCheck | None = None
    citations: Citations | bool | None = None
    """true: at least one citation; or the given ones; false: none."""
    not_asked: list[QuestionKind] = []
    """Questions the agent must never ask (judged with ``evals.customer.question_in`` on every reply): the
    reason or address the customer already gave, "which order?" when the item named it."""


class Scenario(_Strict):
    """One conversation to run and judge."""

    id: str = Field(pattern=r"^\S+$")
    description: str = ""
    tags: list[str] = []
    kind: Literal["task", "attack", "benign"] = "task"
    """``attack`` and ``benign`` runs feed the attack-success and false-refusal rates."""
    customer: Customer = Customer()
    turns: list[str] = Field(min_length=1)
    """What the customer says, in order; answers to the agent's questions go in between."""
    answers: Answers = Answers()
    max_turns: int = Field(10, ge=1, le=40)
    """Customer messages at most, answers included."""
    model_script: list[str] | None = None
    """Instead of the real model, a scripted one saying these texts in order (guardrail tests)."""
    clock: Literal["office_hours", "night"] = "office_hours"
    expect: Expect = Expect()


class Defaults(_Strict):
    """Values every scenario of a file starts from."""

    customer: Customer | None = None
    tags: list[str] = []
    answers: Answers | None = None


class SuiteFile(_Strict):
    """A suite file: scenarios, and/or other files to include (paths relative to this file, globs allowed)."""

    suite: str
    description: str = ""
    defaults: Defaults = Defaults()
    include: list[str] = []
    scenarios: list[dict[str, Any]] = []
    """Validated one by one as :class:`Scenario` after the defaults are applied."""

    @model_validator(mode="after")
    def _not_empty(self) -> SuiteFile:
        if not self.scenarios and not self.include:
            raise ValueError("a suite needs scenarios or include")
        return self
