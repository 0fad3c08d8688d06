"""When a conversation goes to a person: the triggers, evaluated in code on the state."""

from __future__ import annotations

from agent.escalation_config import EscalationConfig
from agent.state import AgentState


def _reached(count: int, threshold: int) -> bool:
    return threshold > 0 and count >= threshold


def before_answering(state: AgentState, config: EscalationConfig, flags: dict[str, object]) -> str | None:
    """A reason to hand over before the bot answers this message, or None."""
    if config.explicit_request and state.get("intent") == "human_agent":
        return "customer asked for a human"
    if config.sensitive_topics and state.get("input_flag") == "sensitive":
        return "sensitive topic"
    if _reached(state.get("angry_messages", 0), config.frustration_messages):
        return "customer is frustrated"
    return None


def after_looking_up(state: AgentState, config: EscalationConfig, flags: dict[str, object]) -> str | None:
    """A reason to hand over once this message's order lookups are answered, or None: an unhappy flagged
    customer hears the facts of the orders they ask about, then meets a person, who makes any change."""
    unhappy = state.get("sentiment") != "neutral" or state.get("intent") == "complaint"
    flagged = [f for f in config.flagged_customers if flags.get(f)]
    if unhappy and flagged:
        return f"unhappy {flagged[0].replace('_', '-')} customer"
    return None


def after_answering(state: AgentState, config: EscalationConfig) -> str | None:
    """A reason to hand over once this reply was given, or None."""
    if config.repeated_reply and state.get("stuck"):
        return "conversation is going in circles"
    if _reached(state.get("guardrail_trips", 0), config.guardrail_trips):
        return "repeated guardrail trips"
    if _reached(state.get("unanswered", 0), config.unanswered_questions):
        return "questions the help center cannot answer"
    if _reached(state.get("turns_without_progress", 0), config.no_progress_turns):
        return "no progress"
    return None
