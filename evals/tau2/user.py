"""Simulated tau2 customers, built ONLY from a task's ``user_scenario`` (never its ``evaluation_criteria``).

* :class:`ScriptedUser` (default, offline): states the reason for the call in the first person, gives the
  identity facts it knows when asked to verify (another of them each time it is asked again), says yes to
  confirmations (or, the first time, what the scenario says to do when asked to confirm), gives the reason its
  instructions hold when asked for one, repeats what it wants when asked which order, items or option, and before
  it leaves asks what the scenario says it wants to know (unconditional wishes only), one question a turn. What
  the agent asks is recognised from general concepts (``evals.customer.question_in``), never from the agent's own
  wording.
* :class:`LlmUser`: any OpenAI-compatible chat server plays the customer from the same instructions, the way
  tau2's user simulator does, until it says ``###STOP###``.
"""

from __future__ import annotations

import re
from typing import Any

import httpx

from evals.customer import question_in, wants_person

STOP = "###STOP###"
_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
_ZIP = re.compile(r"\b\d{5}\b")
_NAME = re.compile(r"\b(?:You are|You're|Your? name is|called|named)\s+(?:an? [a-z ]+ (?:called|named) )?"
                   r"([A-Z][a-z'-]+)\s+([A-Z][a-z'-]+)")
_USER_ID = re.compile(r"\b([a-z]+)_([a-z]+)_\d{4}\b")
_ORDER = re.compile(r"#?W\d{7}")
_AT_CONFIRMATION = re.compile(r"\b(?:if|when)\s+the agent asks\b[^,.]*\bconfirm\w*\b[^,.]*,\s*([^.]+)", re.IGNORECASE)
"""What the scenario says to do when the agent asks for a yes ("If the agent asks for confirmation, only exchange
the desk lamp.")."""
_WANTS_TO_KNOW = re.compile(r"\b(?:wants? to know|asks? the agent(?: explicitly)?"
                            r"(?= (?:about|how|what|which|whether|if)\b))\s+(?:about\s+)?(.+?)"
                            r"(?:,\s*and (?=I\b|you\b|return|cancel|exchange|modify|change)|[.!?]*$)", re.IGNORECASE)
"""Something the scenario says the customer wants to know ("Finally, you want to know the total refund amount.",
"ask the agent about the total amount you paid for the remaining items")."""
_SENTENCE = re.compile(r"(?<=[.!?])\s+")
_PERSON = [(re.compile(p), r) for p, r in (
    (r"\bYou are\b", "I am"), (r"\byou are\b", "I am"), (r"\bYou're\b", "I'm"), (r"\byou're\b", "I'm"),
    (r"\bYou have\b", "I have"), (r"\byou have\b", "I have"), (r"\bYour\b", "My"), (r"\byour\b", "my"),
    (r"\byourself\b", "myself"), (r"\bYou\b", "I"), (r"\byou\b", "I"), (r"\bthe agent\b", "you"),
)]


def instructions(user_scenario: dict[str, Any]) -> dict[str, str]:
    """The scenario's instruction fields as text (tau2 allows a plain string too)."""
    raw = user_scenario.get("instructions") or {}
    if isinstance(raw, str):
        return {"reason_for_call": raw, "known_info": raw, "task_instructions": "", "unknown_info": ""}
    return {k: str(v or "") for k, v in raw.items()}


def first_person(text: str) -> str:
    """"You want to return..." -> "I want to return..."."""
    for pattern, replacement in _PERSON:
        text = pattern.sub(replacement, text)
    return " ".join(text.split())


class ScriptedUser:
    """A rule-following customer from ``user_scenario``."""

    def __init__(self, user_scenario: dict[str, Any], *, max_turns: int = 12) -> None:
        info = instructions(user_scenario)
        self.known = info.get("known_info", "")
        self.reason = first_person(info.get("reason_for_call", "")).lstrip(". ")
        self._budget = max_turns
        self._asked_identity = 0
        self._started = False
        self._told = " ".join(info.get(k, "") for k in ("reason_for_call", "task_instructions"))
        self._at_confirmation = [first_person(m) for m in _AT_CONFIRMATION.findall(self._told)]
        self._to_ask = [f"Can you tell me {first_person(found.group(1))}?" for sentence in _SENTENCE.split(self._told)
                        if not sentence.lower().startswith("if ") and (found := _WANTS_TO_KNOW.search(sentence))]

    def next_message(self, reply: str | None) -> str | None:
        if self._budget <= 0:
            return None
        self._budget -= 1
        if not self._started:
            self._started = True
            return self.reason
        kind = question_in(reply or "")
        if kind == "identity":
            return self._identity()
        if kind == "confirm":
            return self._at_confirmation.pop(0) if self._at_confirmation else "yes"
        if kind == "order":
            found = _ORDER.findall(self.reason)
            return found[0] if found else None
        if kind in ("items", "option"):
            return self.reason
        if kind == "reason":
            return "I ordered it by mistake" if "mistake" in self._told.lower() else "I no longer need it"
        if kind == "handoff":
            return "yes" if wants_person(self.reason) else None
        return self._to_ask.pop(0) if kind is None and self._to_ask else None

    def _identity(self) -> str | None:
        """Each way to be identified the customer knows, one per time they are asked: their email addresses (a
        customer may have several), then their name and zip code."""
        zip_code, name = _ZIP.search(self.known), self._name()
        ways = [f"my email is {email.rstrip('.')}" for email in dict.fromkeys(_EMAIL.findall(self.known))]
        if name and zip_code:
            ways.append(f"my name is {name} and my zip code is {zip_code.group()}")
        self._asked_identity += 1
        return ways[self._asked_identity - 1] if self._asked_identity <= len(ways) else None

    def _name(self) -> str | None:
        """The customer's name as they know it (a user id such as ``mei_kovacs_8020`` carries it too)."""
        found = _NAME.search(self.known)
        if found:
            return f"{found.group(1)} {found.group(2)}"
        user_id = _USER_ID.search(self.known)
        return f"{user_id.group(1).title()} {user_id.group(2).title()}" if user_id else None


SYSTEM = """You write the chat messages of a customer of an online store, who is talking to the store's support agent.
Rules:
- Write only the customer's next message, in the first person: one or two short sentences, like a real customer
  typing. Never write the agent's part, and never greet or offer help the way an agent does.
- Say what the customer wants. When the agent asks for details (an email, a name and zip code, an order number, a
  reason, a choice), the customer gives them right away from the instructions; never make up facts.
- Once the agent has said that everything the customer wanted is done, or cannot be done, the customer's next
  message is only {stop}.

The customer's instructions:
{scenario}"""
FIRST = "The chat has not started yet. Write the customer's first message."
NEXT = "The chat so far:\n{transcript}\n\nWrite the customer's next message."
_SPEAKER = re.compile(r"^\s*(?:customer|me)\s*:\s*", re.IGNORECASE)


MESSAGE_TOKENS = 160
"""A customer's message is short: a model that rambles is cut off here."""


class LlmUser:
    """A customer played by a model behind an OpenAI-compatible ``/chat/completions`` URL. The model is shown the
    chat as a transcript and asked for the customer's next line: asked to reply in the chat itself, a small model
    slips into the agent's role."""

    def __init__(self, user_scenario: dict[str, Any], *, url: str, model: str = "default", max_turns: int = 20,
                 seed: int = 7, timeout: float = 120.0, client: httpx.Client | None = None) -> None:
        scenario = "\n".join(f"{k}: {v}" for k, v in instructions(user_scenario).items() if v and k != "domain")
        self._system = SYSTEM.format(stop=STOP, scenario=scenario)
        self._transcript: list[str] = []
        self._url = url.rstrip("/") + "/chat/completions"
        self._model = model
        self._budget = max_turns
        self._seed = seed
        self._client = client or httpx.Client(timeout=timeout)

    def next_message(self, reply: str | None) -> str | None:
        if self._budget <= 0:
            return None
        self._budget -= 1
        if reply is not None:
            self._transcript.append(f"Agent: {reply}")
        task = NEXT.format(transcript="\n".join(self._transcript)) if self._transcript else FIRST
        messages = [{"role": "system", "content": self._system}, {"role": "user", "content": task}]
        response = self._client.post(self._url, json={
            "model": self._model, "messages": messages, "temperature": 0.0, "seed": self._seed,
            "max_tokens": MESSAGE_TOKENS, "stop": ["\nAgent:"]})  # not the agent's answer too
        response.raise_for_status()
        said = _SPEAKER.sub("", str(response.json()["choices"][0]["message"]["content"] or "")).strip()
        self._transcript.append(f"Customer: {said}")
        return None if STOP in said or not said else said
