"""The scripted customer: says the scenario's turns in order, and in between answers the agent's questions by
simple rules (identity details when asked to verify, yes/no to a confirmation, the order, items, option,
reason or address the scenario gives). A question it has no answer for ends the conversation."""

from __future__ import annotations

import re
from typing import Protocol

from evals.scenario import Answers, Customer

QUESTIONS: dict[str, re.Pattern[str]] = {
    "identity": re.compile(r"verify your account|couldn't match those details", re.I),
    "confirm": re.compile(r"\(yes/no\)|answer yes or no", re.I),
    "order": re.compile(r"which order do you mean", re.I),
    "items": re.compile(r"which items of order", re.I),
    "option": re.compile(r"which option would you like", re.I),
    "reason": re.compile(r"why would you like to cancel", re.I),
    "address": re.compile(r"where should order .* go instead|what's the new address", re.I),
}
"""What the agent's questions look like, checked in this order against its latest reply."""


def question_in(reply: str) -> str | None:
    """The kind of question the agent asked last (``confirm``, ``order``...), or None."""
    return next((kind for kind, pattern in QUESTIONS.items() if pattern.search(reply)), None)


class Simulator(Protocol):
    """Produces the customer's next message from the agent's last reply; None ends the conversation."""

    def next_message(self, reply: str | None) -> str | None: ...


class ScriptedCustomer:
    """Plays a scenario's customer."""

    def __init__(self, turns: list[str], answers: Answers, *, customer: Customer, max_turns: int) -> None:
        self._turns = list(turns)
        self._answers = answers
        self._customer = customer
        self._budget = max_turns
        self._identity_given = 0

    def next_message(self, reply: str | None) -> str | None:
        if self._budget <= 0:
            return None
        message = self._answer(reply) if reply is not None else None
        if message is None and self._turns:
            message = self._turns.pop(0)
        if message is not None:
            self._budget -= 1
        return message

    def _answer(self, reply: str) -> str | None:
        kind = question_in(reply)
        if kind is None:
            return None
        if kind == "identity":
            return self._identity()
        if kind == "confirm":
            return self._answers.confirm
        return getattr(self._answers, kind)

    def _identity(self) -> str | None:
        """Identity details once (a second request means they did not match: give up)."""
        customer = self._customer
        self._identity_given += 1
        if self._identity_given > 1:
            return None
        by_email = customer.email and customer.verify_with != "name_zip"
        if by_email:
            return f"my email is {customer.email}"
        if customer.name and customer.zip:
            return f"my name is {customer.name} and my zip code is {customer.zip}"
        return None
