"""What the agent reports about its work: Prometheus metrics (:mod:`core.metrics`) and trace spans
(:mod:`core.tracing`) for turns, nodes, model calls and guardrail hits. No customer text or ids in labels."""

from agent.telemetry.model import ModelTelemetry, count_fallback, observe_model
from agent.telemetry.nodes import observed
from agent.telemetry.rails import count_rail_hits
from agent.telemetry.turn import TurnTelemetry, trigger_of

__all__ = ["ModelTelemetry", "TurnTelemetry", "count_fallback", "count_rail_hits", "observe_model", "observed",
           "trigger_of"]
