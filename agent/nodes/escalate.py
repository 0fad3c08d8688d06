"""Escalate node: hand the conversation to a person with a summary, and tell the customer truthfully what
happens next (queue position and wait, or a ticket outside business hours)."""

from __future__ import annotations

from typing import Any

from langgraph.config import get_stream_writer
from langgraph.runtime import Runtime

from agent.escalation_config import EscalationConfig
from agent.events import HandoffStarted
from agent.nodes.act import run_tool
from agent.prompts import replies
from agent.state import AgentContext, AgentState

QUEUE_BY_INTENT = {
    "order_status": "orders",
    "cancel_order": "orders",
    "change_address": "orders",
    "update_account_address": "account",
    "return_refund": "billing",
    "exchange_item": "orders",
    "modify_items": "orders",
    "billing_issue": "billing",
    "account_password": "account",
}
URGENT_REASONS = {"sensitive topic"}
HIGH_REASONS = {"customer is frustrated", "approval needed", "repeated guardrail trips"}


def _pending_exception(state: AgentState) -> dict[str, Any] | None:
    return next((r for r in reversed(state.get("tool_results", [])) if r["outcome"] == "needs_approval"), None)


def escalation_reason(state: AgentState) -> str:
    """Why this conversation goes to a person."""
    if state.get("needs_person"):
        return "approval needed"
    return state.get("escalation_reason") or "customer asked for a human"


def priority_of(reason: str) -> str:
    if reason in URGENT_REASONS:
        return "urgent"
    return "high" if reason in HIGH_REASONS or reason.startswith("unhappy") else "normal"


def summarize(state: AgentState) -> str:
    """A short summary built by code from the transcript (the whole transcript travels with it)."""
    said = [str(m.content)[:160] for m in state["messages"] if m.type == "human"]
    summary = f"{len(said)} customer message(s). Most recent: " + " | ".join(said[-3:])
    exception = _pending_exception(state)
    if exception:
        summary += (f" | Pending exception #{exception['exception_id']}: {exception['tool']} "
                    f"{exception['arguments']} (rule: {exception['rule']}).")
    return summary[:2000]


def _tell(reason: str, receipt: dict[str, Any], config: EscalationConfig) -> str:
    r = replies()
    if receipt["ticket"]:
        hours = config.business_hours
        told = r["handoff_ticket"].format(
            hours=f"{', '.join(d.title() for d in hours.days)} {hours.open:%H:%M}-{hours.close:%H:%M} "
                  f"{hours.timezone.split('/')[-1].replace('_', ' ')} time",
            ticket=receipt["handoff_id"], response=config.ticket_response)
    else:
        told = r["handoff"].format(position=receipt["position"],
                                   minutes=receipt["position"] * config.minutes_per_conversation)
    return f"{r['care']} {told}" if reason in URGENT_REASONS else told


def escalate(state: AgentState, runtime: Runtime[AgentContext]) -> dict[str, Any]:
    """Create (or join) the open handoff for this conversation."""
    reason = escalation_reason(state)
    exception = _pending_exception(state)
    config = runtime.context.deps.escalation
    open_now = config.business_hours.is_open(runtime.context.deps.clock())
    result = run_tool(
        runtime,
        "transfer_to_human",
        {"reason": reason, "summary": summarize(state), "queue": QUEUE_BY_INTENT.get(state.get("intent", ""),
                                                                                     "general"),
         "priority": priority_of(reason), "ticket": not open_now,
         "exception_id": exception["exception_id"] if exception else None},
        customer_id=runtime.context.customer_id or state.get("verified_customer_id"),
    )
    after_reply = bool(state.get("reply"))
    said = "" if after_reply else state.get("say", "")  # after a released reply only the handoff is new to say
    updates: dict[str, Any] = {"tool_results": [*state.get("tool_results", []), result], "handoff_tried": True}
    if after_reply:
        updates.update(retrieved=False, passages=[], question="", citations=[])
    if result["outcome"] != "done":
        return {**updates, "handoff": None, "say": f"{said} {result['message']}".strip()}
    receipt = result["data"]
    get_stream_writer()(HandoffStarted(queue=receipt["queue"], reason=reason, position=receipt["position"]))
    told = f"{said} {_tell(reason, receipt, config)}".strip()
    return {**updates, "handoff": {**receipt, "reason": reason}, "escalated": True, "say": told, "ask": ""}
