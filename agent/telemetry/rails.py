"""Guardrail hits by rail, rule and mode (``support_guardrail_hits_total``)."""

from __future__ import annotations

from typing import Literal

from agent.guardrails import InputVerdict, SentenceVerdict
from core.metrics import GUARDRAIL_HITS


def count_rail_hits(rail: Literal["input", "output"], verdict: InputVerdict | SentenceVerdict) -> None:
    """Count the blocking rule and the ``monitor`` rules that matched one message or sentence."""
    for rule in verdict.monitored:
        GUARDRAIL_HITS.labels(rail, rule, "monitor").inc()
    if verdict.rule:
        GUARDRAIL_HITS.labels(rail, verdict.rule, "block").inc()
