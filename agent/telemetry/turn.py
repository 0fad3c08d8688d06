"""One turn's telemetry: its span, how its message was read (the plan path), how it ended, and handoffs."""

from __future__ import annotations

from types import TracebackType
from typing import Any, Literal

from opentelemetry.trace import Span

from agent.events import ApprovalPending, BaseEvent, ErrorEvent, HandoffStarted, MessageCompleted
from agent.telemetry.model import count_fallback
from core.metrics import HANDOFFS, PLAN, TURNS
from core.tracing import content_allowed, span

Outcome = Literal["answered", "approval", "handoff", "error", "with_person"]
_RANK: dict[Outcome, int] = {"answered": 0, "with_person": 0, "approval": 1, "handoff": 2, "error": 3}
PATHS = frozenset({"fast", "planner", "router", "fallback"})
"""How a message was read (``agent.planner.node``); ``none`` when it was not planned (flagged, handed over)."""
TRIGGERS = {
    "customer asked for a human": "asked",
    "approval needed": "approval",
    "sensitive topic": "sensitive_topic",
    "customer is frustrated": "frustrated",
    "conversation is going in circles": "loop",
    "repeated guardrail trips": "guardrail_trips",
    "questions the help center cannot answer": "unanswered",
    "no progress": "no_progress",
}
"""Handoff reasons (``agent.escalation``, ``agent.nodes.escalate``) as metric labels."""


def trigger_of(reason: str) -> str:
    """The label of a handoff ``reason``: a fixed name, never the reason's own words."""
    if reason.startswith("unhappy "):
        return "unhappy_flagged_customer"
    return TRIGGERS.get(reason, "other")


class TurnTelemetry:
    """``with TurnTelemetry() as turn:`` spans the turn (its nodes are children); feed it the message
    (:meth:`received`), the graph's updates (:meth:`update`) and every event (:meth:`saw`); on exit the turn is
    counted by path and outcome."""

    def __init__(self) -> None:
        self.path = "none"
        self.outcome: Outcome = "answered"
        self._span_context = span("turn")
        self._span: Span | None = None

    def __enter__(self) -> TurnTelemetry:
        self._span = self._span_context.__enter__()
        return self

    def received(self, masked: str) -> None:
        """The customer's message, secrets masked (in the span only where ``SUPPORT_TRACE_CONTENT`` allows)."""
        if self._span is not None:
            self._span.set_attribute("support.message.chars", len(masked))
            if content_allowed():
                self._span.set_attribute("support.message", masked)

    def update(self, updates: dict[str, Any]) -> None:
        """One item of the graph's ``updates`` stream (``{node: its writes}``)."""
        plan = updates.get("plan")
        if plan and plan.get("plan_path"):
            path = plan["plan_path"].split(":")[0]
            self.path = path if path in PATHS else "other"
            PLAN.labels(self.path).observe(plan.get("plan_seconds", 0.0))
            if self.path == "fallback":  # the planner did without its model: counted from how it read the message
                count_fallback("plan")

    def saw(self, event: BaseEvent) -> BaseEvent:
        """Note ``event`` and return it."""
        if isinstance(event, HandoffStarted):
            HANDOFFS.labels(trigger_of(event.reason)).inc()
            self._ended("handoff")
        elif isinstance(event, ApprovalPending):
            self._ended("approval")
        elif isinstance(event, ErrorEvent):
            self._ended("error")
        elif isinstance(event, MessageCompleted) and self._span is not None and content_allowed():
            self._span.set_attribute("support.reply", event.text)
        return event

    def with_person(self) -> None:
        """A person answers this conversation: the graph did not run."""
        self._ended("with_person")

    def _ended(self, outcome: Outcome) -> None:
        if _RANK[outcome] >= _RANK[self.outcome]:
            self.outcome = outcome

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 trace: TracebackType | None) -> None:
        TURNS.labels(self.path, self.outcome).inc()
        if self._span is not None:
            self._span.set_attributes({"support.plan.path": self.path, "support.turn.outcome": self.outcome})
        self._span_context.__exit__(kind, error, trace)
