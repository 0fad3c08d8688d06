"""Identify node: an anonymous customer who says who they are in their message (the facts the policy accepts:
by default an email and a zip code) is verified before the message is planned, so that the planner reads their
orders and "has my watch shipped?" names an order. Verification is the tool's, on the customer's own words (with
what they said of themselves earlier, while the agent waits for it), as in the task flow."""

from __future__ import annotations

from typing import Any

from langgraph.runtime import Runtime

from agent.executor.flow import identity_call, identity_facts, verified
from agent.nodes.act import run_tool
from agent.nodes.understand import last_customer_text
from agent.state import AgentContext, AgentState


def identify(state: AgentState, runtime: Runtime[AgentContext]) -> dict[str, Any]:
    """This message's verification (``identity``, used once by the task flow), and the customer it verified."""
    if runtime.context.customer_id or state.get("verified_customer_id"):
        return {}
    said = identity_facts(last_customer_text(state))
    task = state.get("task") or {}
    earlier = task.get("identity_facts", {}) if task.get("awaiting") == "identity" else {}
    call = identity_call({**earlier, **said}, runtime.context.deps.policy.identity.verify_with, said) if said else None
    if call is None:
        return {}
    result = run_tool(runtime, *call, customer_id=None)
    if verified(result):
        return {"identity": result, "verified_customer_id": result["data"]["customer_id"]}
    return {"identity": result}
