"""What a turn did, read from the conversation's state after it, for the conversation's outcome and the insights
(``tools.outcomes``)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from tools.outcomes import TurnEnding, TurnFacts


def turn_ending(state: dict[str, Any], *, failed: bool) -> TurnEnding:
    """``waiting`` when the agent asked the customer something, ``unresolved`` when it could not help (the turn
    failed, the message was refused, or the help center had no answer), else ``answered``."""
    task = state.get("task") or {}
    if state.get("ask") or task.get("awaiting"):
        return "waiting"
    if failed or state.get("input_flag") or _unanswered(state):
        return "unresolved"
    return "answered"


def _unanswered(state: dict[str, Any]) -> bool:
    return bool(state.get("retrieved")) and not state.get("passages")


def handoff_of(state: dict[str, Any]) -> tuple[str, str] | None:
    """``(trigger, queue)`` of the handoff this turn made (the escalate node's receipt), if any."""
    receipt = state.get("handoff")
    return (str(receipt["reason"]), str(receipt["queue"])) if receipt else None


def turn_facts(state: dict[str, Any], *, at: datetime, failed: bool, first_text_ms: int | None) -> TurnFacts:
    """The turn as the insights count it; the only customer text kept is a help-center question that had no
    answer (never a message a rail refused)."""
    rails = [state["input_flag"]] if state.get("input_flag") else []
    return TurnFacts(
        at=at, ending=turn_ending(state, failed=failed), handoff=handoff_of(state),
        request=state.get("intent") or "unknown", path=state.get("plan_path", ""), first_text_ms=first_text_ms,
        unanswered=(state.get("question") or None) if _unanswered(state) and not rails else None,
        rails=[*rails, *state.get("rail_trips", [])],
        tools=[(r["tool"], r["outcome"]) for r in state.get("tool_results", [])],
    )
