"""The planner's floor: commands from the intent router's reading of a message (one request per message),
used for the fast path, with a model that cannot plan, and whenever the planner's output is unusable."""

from __future__ import annotations

from typing import Any

from agent.commands import WRITE_INTENT
from agent.executor import extract

TOOL_FOR_INTENT = {intent: tool for tool, intent in WRITE_INTENT.items()}
_CHAT = {"greeting": "greeting", "thanks_bye": "thanks", "off_topic": "off_topic", "complaint": "complaint"}


_WEAK_INTENTS = {"unknown", "greeting", "thanks_bye", "off_topic", "complaint"}


def answers_task(task: dict[str, Any] | None, text: str, intent: str, order_ids: list[str]) -> bool:
    """By the router's reading, the message goes on with the task in progress rather than starting another."""
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


def from_route(intent: str, text: str, order_ids: list[str], task: dict[str, Any] | None = None,
               ) -> list[dict[str, Any]]:
    """The commands the router's ``intent`` stands for; details are read from ``text`` by the executor."""
    if intent != "human_agent" and answers_task(task, text, intent, order_ids):
        answer = extract.confirmation(text) if task and task.get("awaiting") == "confirmation" else None
        return [{"cmd": "confirm", "yes": answer == "yes"} if answer else {"cmd": "correct"}]
    order_id = order_ids[0] if order_ids else None
    if intent == "order_status":
        if len(order_ids) > 1:
            return [{"cmd": "lookup", "order_id": o} for o in order_ids[:4]]
        if order_id:
            return [{"cmd": "lookup", "order_id": order_id}]
        return [{"cmd": "lookup"}]
    if intent in TOOL_FOR_INTENT:
        return [{"cmd": "write", "tool": TOOL_FOR_INTENT[intent], "order_id": order_id}]
    if intent == "human_agent":
        return [{"cmd": "handoff", "reason": "customer asked for a human"}]
    if intent in _CHAT:
        return [{"cmd": "chat", "kind": _CHAT[intent]}]
    return [{"cmd": "answer", "question": text[:200]}]
