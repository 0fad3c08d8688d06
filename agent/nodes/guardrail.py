"""Guardrail node: the release point of a reply; counts rail trips, loops and turns that got nowhere, and
decides whether a person should take over now."""

from __future__ import annotations

from typing import Any, Literal

from langchain_core.messages import AIMessage
from langgraph.config import get_stream_writer
from langgraph.runtime import Runtime

from agent.escalation import after_answering
from agent.events import Citation, MessageCompleted
from agent.state import AgentContext, AgentState


def _is_loop(state: AgentState) -> bool:
    """The same reply a third time in a row: the customer is stuck with the bot."""
    previous = [str(m.content) for m in state["messages"] if m.type == "ai"][-2:]
    return len(previous) == 2 and all(p == _english(state) for p in previous)


def _english(state: AgentState) -> str:
    return state.get("reply_english") or state["reply"]


def _made_progress(state: AgentState) -> bool:
    done = any(r["outcome"] == "done" for r in state.get("tool_results", []))
    return done or bool(state.get("passages")) or bool(state.get("handoff")) or bool(state.get("task"))


def guardrail(state: AgentState, runtime: Runtime[AgentContext]) -> dict[str, Any]:
    """Record the released reply and its citations; update the counters that trigger a handoff."""
    citations = [Citation(**c) for c in state.get("citations", [])]
    write = get_stream_writer()
    for citation in citations:
        write(citation)
    write(MessageCompleted(text=state["reply"], citations=citations))
    counters: dict[str, Any] = {
        "guardrail_trips": state.get("guardrail_trips", 0) + len(state.get("rail_trips", [])),
        "stuck": _is_loop(state),
        "unanswered": state.get("unanswered", 0) + (state.get("retrieved", False) and not state.get("passages")),
        "turns_without_progress": 0 if _made_progress(state) else state.get("turns_without_progress", 0) + 1,
    }
    config = runtime.context.deps.escalation
    reason = None if state.get("handoff_tried") else after_answering({**state, **counters}, config)  # type: ignore[typeddict-item]
    shown = {"shown": state["reply"]} if state["reply"] != _english(state) else {}
    message = AIMessage(content=_english(state), additional_kwargs=shown)  # the model reads on in English
    return {"messages": [message], **counters, "escalation_reason": reason}


def after_guardrail(state: AgentState) -> Literal["escalate", "__end__"]:
    """Hand over once, when a trigger fired after this reply."""
    wanted = state.get("escalation_reason") and not state.get("handoff_tried") and not state.get("escalated")
    return "escalate" if wanted else "__end__"
