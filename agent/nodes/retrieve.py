"""Retrieve node: the knowledge-base passages relevant to the customer's question."""

from __future__ import annotations

from typing import Any

from langgraph.runtime import Runtime

from agent.nodes.understand import last_customer_text
from agent.state import AgentContext, AgentState


def retrieve(state: AgentState, runtime: Runtime[AgentContext]) -> dict[str, Any]:
    """Top-k passages above the relevance threshold (possibly none)."""
    passages = runtime.context.deps.knowledge.search(state.get("question") or last_customer_text(state))
    return {"passages": [p.model_dump(mode="json") for p in passages], "retrieved": True}
