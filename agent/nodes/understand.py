"""Understand node: input rails, intent (nearest-neighbour routing plus rules), slots and sentiment."""

from __future__ import annotations

import re
from typing import Any

from langgraph.runtime import Runtime

from agent.dialogue import extract
from agent.escalation import before_answering
from agent.guardrails import check_input
from agent.guardrails.rules import load_rules
from agent.state import AgentContext, AgentState
from tools import customer_flags

_ORDER_ID = re.compile(r"#?\bW\s?(\d{7})\b|#(\d{7})\b|\border\s*(?:number|no\.?|#)?\s*(\d{7})\b", re.IGNORECASE)
_HUMAN = re.compile(r"\b(human|real person|live (agent|person)|representative|operator|manager)\b", re.IGNORECASE)
_ANGRY_WORDS = re.compile(r"\b(angry|furious|ridiculous|unacceptable|worst|useless|scam|disgusting|fed up)\b", re.I)


def last_customer_text(state: AgentState) -> str:
    """The newest customer message."""
    return next((str(m.content) for m in reversed(state["messages"]) if m.type == "human"), "")


def extract_order_ids(text: str) -> list[str]:
    """Order numbers the customer wrote, normalised to ``#W1234567``."""
    found = (next(g for g in m.groups() if g) for m in _ORDER_ID.finditer(text))
    return list(dict.fromkeys(f"#W{digits}" for digits in found))


def sentiment_of(text: str) -> str:
    """``angry``, ``negative`` or ``neutral`` from shouting, strong words and swearing (cheap, explainable)."""
    letters = [c for c in text if c.isalpha()]
    shouting = len(letters) >= 12 and sum(c.isupper() for c in letters) / len(letters) > 0.7
    strong = len(_ANGRY_WORDS.findall(text))
    if shouting or strong >= 2 or text.count("!") >= 3 or load_rules().has_profanity(text):
        return "angry"
    return "negative" if strong else "neutral"


_WEAK_INTENTS = {"unknown", "greeting", "thanks_bye", "off_topic", "complaint"}


def answers_task(task: dict[str, Any] | None, text: str, intent: str, order_ids: list[str]) -> bool:
    """The message answers what the task in progress asked for (so it continues that task)."""
    if not task or not task.get("awaiting"):
        return False
    awaiting = task["awaiting"]
    evidence = {
        "confirmation": extract.confirmation(text) is not None,
        "identity": bool(extract.email(text) or extract.zip_code(text)),
        "order": bool(order_ids),
        "reason": extract.cancel_reason(text) is not None,
        "address": extract.zip_code(text) is not None,
    }.get(awaiting, False)
    return evidence or intent == task["intent"] or intent in _WEAK_INTENTS or (intent == "policy_question" and (
        awaiting in ("items", "options")))


def understand(state: AgentState, runtime: Runtime[AgentContext]) -> dict[str, Any]:
    """Classify the newest customer message, or recognise it as the answer to the agent's last question."""
    text = last_customer_text(state)
    route = runtime.context.deps.router.route(text)
    intent = route.intent
    if _HUMAN.search(text) and intent in ("unknown", "complaint", "off_topic", "policy_question"):
        intent = "human_agent"
    order_ids = extract_order_ids(text)
    task = state.get("task")
    if intent != "human_agent" and answers_task(task, text, intent, order_ids):
        intent = task["intent"]  # type: ignore[index]
    sentiment = sentiment_of(text)
    understood: dict[str, Any] = {
        "intent": intent,
        "route_score": route.score,
        "order_ids": order_ids,
        "sentiment": sentiment,
        "input_flag": check_input(text),
        "confirmation": extract.confirmation(text),
        "angry_messages": state.get("angry_messages", 0) + (sentiment == "angry"),
    }
    flags = customer_flags(runtime.context.deps.store, runtime.context.customer_id or state.get("verified_customer_id"))
    reason = before_answering({**state, **understood}, runtime.context.deps.escalation, flags)  # type: ignore[typeddict-item]
    return {**understood, "escalation_reason": reason}
