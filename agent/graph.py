"""The support agent's state machine: nodes and the edges between them, nothing else."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, Literal

from langgraph.checkpoint.base import BaseCheckpointSaver
from langgraph.graph import END, START, StateGraph
from langgraph.graph.state import CompiledStateGraph
from langgraph.runtime import Runtime

from agent.guardrails import rules_in_force
from agent.nodes.act import act
from agent.nodes.escalate import escalate
from agent.nodes.guardrail import after_guardrail, guardrail
from agent.nodes.identify import identify
from agent.nodes.respond import respond
from agent.nodes.retrieve import retrieve
from agent.nodes.understand import OTHER_LANGUAGE, understand
from agent.planner.node import plan
from agent.state import AgentContext, AgentState
from agent.telemetry import observed

Node = Callable[[AgentState, Runtime[AgentContext]], dict[str, Any]]


def _under_live_guardrails(node: Node) -> Node:
    """``node`` running on the guardrails of the policy version in force when the turn began, so a change
    applies from the next turn. The rules are set inside the call: LangGraph runs a sync node in a thread with a
    copy of the context. ``functools.wraps`` keeps the signature LangGraph reads to inject ``runtime``."""

    @functools.wraps(node)
    def run(state: AgentState, runtime: Runtime[AgentContext]) -> dict[str, Any]:
        with rules_in_force(runtime.context.guardrails):
            return node(state, runtime)

    return run


def after_understand(state: AgentState) -> Literal["escalate", "identify", "respond"]:
    """A person takes over when a trigger fired; a flagged message gets a fixed reply and never reaches the
    planner (nor does one in a language the agent cannot answer in); otherwise the customer is identified if they
    said who they are, and the message is planned."""
    if state.get("escalation_reason"):
        return "escalate"
    return "respond" if state.get("input_flag") or state.get("intent") == OTHER_LANGUAGE else "identify"


def after_act(state: AgentState) -> Literal["escalate", "retrieve", "respond"]:
    """A handoff the customer asked for, or a request recorded for a person's approval, goes to the human
    queue; a help-center question is looked up; the rest is said."""
    if state.get("needs_person") or state.get("escalation_reason"):
        return "escalate"
    return "retrieve" if state.get("question") else "respond"


def build_graph(checkpointer: BaseCheckpointSaver | None = None) -> CompiledStateGraph:
    """Wire the nodes; ``checkpointer`` makes conversations persist."""
    graph = StateGraph(AgentState, context_schema=AgentContext)
    for node in (understand, identify, plan, act, retrieve, escalate, respond, guardrail):
        graph.add_node(node.__name__, observed(_under_live_guardrails(node)))
    graph.add_edge(START, "understand")
    graph.add_conditional_edges("understand", after_understand)
    graph.add_edge("identify", "plan")
    graph.add_edge("plan", "act")
    graph.add_edge("retrieve", "respond")
    graph.add_conditional_edges("act", after_act)
    graph.add_edge("escalate", "respond")
    graph.add_edge("respond", "guardrail")
    graph.add_conditional_edges("guardrail", after_guardrail, {"escalate": "escalate", "__end__": END})
    return graph.compile(checkpointer=checkpointer)
