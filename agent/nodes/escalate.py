"""Escalate node: hand the conversation to a human with a summary, and tell the customer so."""

from __future__ import annotations

from typing import Any

from langgraph.config import get_stream_writer
from langgraph.runtime import Runtime

from agent.events import HandoffStarted
from agent.nodes.act import run_tool
from agent.nodes.guardrail import MAX_TRIPS_BEFORE_HANDOFF
from agent.state import AgentContext, AgentState

QUEUE_BY_INTENT = {
    "order_status": "orders",
    "cancel_order": "orders",
    "change_address": "orders",
    "update_account_address": "account",
    "return_refund": "billing",
    "exchange_item": "orders",
    "billing_issue": "billing",
    "account_password": "account",
}


def _pending_exception(state: AgentState) -> dict[str, Any] | None:
    return next((r for r in reversed(state.get("tool_results", [])) if r["outcome"] == "needs_approval"), None)


def escalation_reason(state: AgentState) -> str:
    """Why this conversation goes to a person."""
    if state.get("needs_person"):
        return "approval needed"
    if state.get("intent") == "human_agent":
        return "customer asked for a human"
    if state.get("stuck"):
        return "conversation is going in circles"
    if state.get("guardrail_trips", 0) >= MAX_TRIPS_BEFORE_HANDOFF:
        return "repeated guardrail trips"
    return f"needs a person ({state.get('intent', 'unknown')})"


def summarize(state: AgentState) -> str:
    """A short summary built by code from the transcript (the whole transcript travels with it)."""
    said = [str(m.content)[:160] for m in state["messages"] if m.type == "human"]
    summary = f"{len(said)} customer message(s). Most recent: " + " | ".join(said[-3:])
    exception = _pending_exception(state)
    if exception:
        summary += (f" | Pending exception #{exception['exception_id']}: {exception['tool']} "
                    f"{exception['arguments']} (rule: {exception['rule']}).")
    return summary[:2000]


def escalate(state: AgentState, runtime: Runtime[AgentContext]) -> dict[str, Any]:
    """Create (or join) the open handoff for this conversation."""
    queue = QUEUE_BY_INTENT.get(state.get("intent", ""), "general")
    priority = "high" if state.get("sentiment") == "angry" else "normal"
    result = run_tool(
        runtime,
        "transfer_to_human",
        {"reason": escalation_reason(state), "summary": summarize(state), "queue": queue, "priority": priority},
        customer_id=runtime.context.customer_id or state.get("verified_customer_id"),
    )
    if result["outcome"] != "done":
        return {"tool_results": [*state.get("tool_results", []), result], "handoff": None,
                "say": f"{state.get('say', '')} {result['message']}".strip()}
    receipt = result["data"]
    get_stream_writer()(HandoffStarted(queue=receipt["queue"], reason=escalation_reason(state),
                                       position=receipt["position"]))
    return {"tool_results": [*state.get("tool_results", []), result], "handoff": receipt, "escalated": True}
