"""Act node: choose the tool call for the intent and run it through the policy-checked runner."""

from __future__ import annotations

from typing import Any

from langgraph.config import get_stream_writer
from langgraph.runtime import Runtime

from agent.events import ToolFinished, ToolStarted
from agent.state import AgentContext, AgentState
from tools import TOOLS, execute

TOOL_OUTCOME_TEXT = {"done": "Done", "failed": "Couldn't complete that", "retry": "Needs more details"}


def plan_tool_call(state: AgentState) -> tuple[str, dict[str, Any]] | None:
    """The tool call that serves this turn's intent, with arguments filled from the message by code."""
    if state["intent"] == "order_status":
        if state["order_ids"]:
            return "get_order_details", {"order_id": state["order_ids"][0]}
        return "list_recent_orders", {}
    return None


def run_tool(runtime: Runtime[AgentContext], name: str, arguments: dict[str, Any]) -> dict[str, Any]:
    """Run one tool call, announcing it on the stream; returns the result as a plain dict."""
    ctx = runtime.context
    write = get_stream_writer()
    label = TOOLS[name].customer_label
    write(ToolStarted(tool=name, description=label))
    result = execute(
        ctx.deps.store,
        name,
        arguments,
        policy=ctx.deps.policy,
        conversation_id=ctx.conversation_id,
        customer_id=ctx.customer_id,
    )
    write(ToolFinished(tool=name, outcome=result.outcome, description=TOOL_OUTCOME_TEXT[result.outcome]))
    return result.model_dump(mode="json")


def act(state: AgentState, runtime: Runtime[AgentContext]) -> dict[str, Any]:
    """Run the planned tool call (the graph only routes here when there is one)."""
    planned = plan_tool_call(state)
    if planned is None:
        return {}
    return {"tool_results": [*state.get("tool_results", []), run_tool(runtime, *planned)]}
