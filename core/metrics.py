"""The service's Prometheus metrics (``prometheus_client``) and their text exposition.

Labels are drawn from small fixed sets (paths, outcomes, node, tool, rule and trigger names): never customer
text or ids. With ``PROMETHEUS_MULTIPROC_DIR`` set (several worker processes), the library keeps the values in
files in that folder and :func:`exposition` adds up every process's.
"""

from __future__ import annotations

import os

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest, multiprocess
from prometheus_client.exposition import CONTENT_TYPE_PLAIN_0_0_4

CONTENT_TYPE = CONTENT_TYPE_PLAIN_0_0_4
MULTIPROCESS = bool(os.environ.get("PROMETHEUS_MULTIPROC_DIR"))
"""Read where ``prometheus_client`` reads it: when this module is first imported."""

_SECONDS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
_REPLY_SECONDS = (0.1, 0.25, 0.5, 1.0, 2.0, 3.0, 5.0, 8.0, 13.0, 20.0, 30.0, 60.0)

TURNS = Counter("support_turns", "Chat turns by how the message was read and how the turn ended.", ["path", "outcome"])
FIRST_TEXT = Histogram("support_first_text_seconds", "From the customer's message arriving to the first text_delta "
                       "of the turn (queue wait included).", buckets=_REPLY_SECONDS)
PLAN = Histogram("support_plan_seconds", "Time to find a message's commands, by path: fast, planner, router, "
                 "fallback.", ["path"], buckets=_SECONDS)
NODE = Histogram("support_node_seconds", "Time in each LangGraph node.", ["node"], buckets=_SECONDS)
TOOL = Histogram("support_tool_seconds", "Tool call duration by tool and outcome (done, denied, failed, "
                 "needs_approval, retry).", ["tool", "outcome"], buckets=_SECONDS)
GUARDRAIL_HITS = Counter("support_guardrail_hits", "Guardrail rules that matched, by rail, rule and mode (block or "
                         "monitor).", ["rail", "rule", "mode"])
HANDOFFS = Counter("support_handoffs", "Conversations handed to a person, by trigger.", ["trigger"])
MODEL_SECONDS = Histogram("support_model_call_seconds", "Model call duration, by mode (stream or invoke).", ["mode"],
                          buckets=_REPLY_SECONDS)
MODEL_FALLBACKS = Counter("support_model_fallbacks", "Model calls a turn did without, by call: plan (the planner's "
                          "output was not used: the router read the message), answer (the quoted or template reply "
                          "instead), address (not read from the customer's words). Apart from turn errors.", ["call"])
TRANSLATED = Counter("support_reply_sentences_translated", "Reply sentences said in the customer's language, by "
                     "language and how: fixed (hand-written translation), model (checked model translation), failed "
                     "(no safe translation: the reply went on in English).", ["language", "by"])
MODEL_TOKENS_PER_SECOND = Histogram("support_model_tokens_per_second", "Generated tokens per second of each model "
                                    "call (streamed: from the first token).",
                                    buckets=(1, 2, 5, 10, 15, 20, 30, 50, 75, 100, 200, 500))
QUEUE_WAITING = Gauge("support_turn_queue_waiting", "Turns waiting for a free slot for the model.",
                      multiprocess_mode="livesum")
QUEUE_RUNNING = Gauge("support_turns_running", "Turns holding a slot for the model.", multiprocess_mode="livesum")


def exposition() -> bytes:
    """Every metric in the Prometheus text format (all processes' in multiprocess mode)."""
    if not MULTIPROCESS:
        return generate_latest()
    registry = CollectorRegistry()
    multiprocess.MultiProcessCollector(registry)
    return generate_latest(registry)


def process_ended() -> None:
    """Drop this process's live gauges from the shared folder (multiprocess mode) when it stops serving."""
    if MULTIPROCESS:
        multiprocess.mark_process_dead(os.getpid())
