"""Identify node: an anonymous customer who says who they are in their message (an email, or a full name and zip
code) is verified before the message is planned, so that the planner reads their orders and "has my watch
shipped?" names an order. Verification is the tool's, on the customer's own words, as in the task flow."""

from __future__ import annotations

from typing import Any

from langgraph.runtime import Runtime

from agent.executor.flow import identity_call, verified
from agent.nodes.act import run_tool
from agent.nodes.understand import last_customer_text
from agent.state import AgentContext, AgentState


def identify(state: AgentState, runtime: Runtime[AgentContext]) -> dict[str, Any]:
    """This message's verification (``identity``, used once by the task flow), and the customer it verified."""
    if runtime.context.customer_id or state.get("verified_customer_id"):
        return {}
    call = identity_call(last_customer_text(state))
    if call is None:
        return {}
    result = run_tool(runtime, *call, customer_id=None)
    if verified(result):
        return {"identity": result, "verified_customer_id": result["data"]["customer_id"]}
    return {"identity": result}
