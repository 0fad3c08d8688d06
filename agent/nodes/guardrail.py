"""Guardrail node: the release point of a reply; tracks rail trips and loops, records the message."""

from __future__ import annotations

from typing import Any, Literal

from langchain_core.messages import AIMessage
from langgraph.config import get_stream_writer

from agent.events import Citation, MessageCompleted
from agent.state import AgentState

MAX_TRIPS_BEFORE_HANDOFF = 3
"""Output-rail trips in one conversation after which a person takes over."""


def _is_loop(state: AgentState) -> bool:
    """The same reply a third time in a row: the customer is stuck with the bot."""
    previous = [str(m.content) for m in state["messages"] if m.type == "ai"][-2:]
    return len(previous) == 2 and all(p == state["reply"] for p in previous)


def guardrail(state: AgentState) -> dict[str, Any]:
    """Record the released reply and its citations; count trips and loops for escalation."""
    citations = [Citation(**c) for c in state.get("citations", [])]
    write = get_stream_writer()
    for citation in citations:
        write(citation)
    write(MessageCompleted(text=state["reply"], citations=citations))
    trips = state.get("guardrail_trips", 0) + len(state.get("rail_trips", []))
    return {"messages": [AIMessage(content=state["reply"])], "guardrail_trips": trips, "stuck": _is_loop(state)}


def after_guardrail(state: AgentState) -> Literal["escalate", "__end__"]:
    """Hand over when the rails keep tripping or the conversation loops (once per conversation)."""
    needs_person = state.get("guardrail_trips", 0) >= MAX_TRIPS_BEFORE_HANDOFF or state.get("stuck", False)
    return "escalate" if needs_person and not state.get("escalated") else "__end__"
