"""Respond node: say the planned reply, streaming only text the output rails have passed."""

from __future__ import annotations

from collections.abc import Generator, Iterator
from typing import Any, cast

from langchain_core.messages import BaseMessage, BaseMessageChunk
from langgraph.config import get_stream_writer
from langgraph.runtime import Runtime

from agent.guardrails import Grounding
from agent.nodes.understand import last_customer_text
from agent.prompts import replies
from agent.replies import ReplyPlan, plan_reply
from agent.state import AgentContext, AgentDeps, AgentState
from agent.streaming import GuardedWriter
from agent.telemetry.model import count_fallback
from agent.translation import Translator, languages
from core.errors import ModelError
from tools.catalog import product_names

ANSWER_MAX_TOKENS = 120
ANSWER_STOP = ["\n\n"]
"""A help-center answer is one paragraph; small models ramble past it."""


def respond(state: AgentState, runtime: Runtime[AgentContext]) -> dict[str, Any]:
    """Stream the reply: code-written facts as they are, model wording only while it passes the rails."""
    deps = runtime.context.deps
    items = (lambda: product_names(deps.store)) if deps.reply_style == "model" else None
    plan = plan_reply(state, last_customer_text(state), quote=deps.answer_style == "quote", items=items)
    writer = GuardedWriter(get_stream_writer(), plan.grounding, translator=_translator(state, deps))
    if state.get("reply"):  # a second reply this turn (a handoff after the first): keep the two apart
        writer.stream(["\n\n"], grounding=Grounding(trusted=True))
    passed = writer.stream([plan.said], grounding=Grounding(trusted=True)) if plan.said else True
    passed = passed and (writer.stream([f" {plan.text}" if plan.said else plan.text]) if plan.text else True)
    if passed and plan.prompt is not None:
        passed = _worded(writer, plan, deps)
    if passed and plan.ask:
        passed = writer.stream([f" {plan.ask}"], grounding=Grounding(trusted=True))
    if not passed:
        fallback = plan.fallback() if plan.fallback else replies()["safe_fallback"]
        writer.replace(" ".join(p for p in (plan.said, fallback, plan.ask) if p))
    return {"reply": writer.shown.strip(), "reply_english": writer.released.strip(), "citations": plan.citations,
            "rail_trips": writer.trips, "worded_sentences": state.get("worded_sentences", 0) + writer.worded,
            "replaced_sentences": [*state.get("replaced_sentences", []), *writer.replaced],
            "rewritten_sentences": [*state.get("rewritten_sentences", []), *writer.rewritten]}


def _worded(writer: GuardedWriter, plan: ReplyPlan, deps: AgentDeps) -> bool:
    """Stream the model's wording of ``plan``, each sentence as soon as it passes the rails (an order reply from
    its first sentence that says where an order stands or gives a value of the facts: one that never does is never
    shown), written once more (:attr:`ReplyPlan.again`) when it gets a fact wrong or answers nothing before any of
    it was shown, else code's sentences in place of the first that gets a fact wrong and the rest, then code's
    sentences for what it left out.
    False when a sentence failed, the model failed or wrote nothing, or the reply answers nothing it had to
    (``dropped_fact``)."""
    before = writer.released
    model = deps.writer_model() or deps.model
    streams: list[Generator[BaseMessageChunk]] = []

    def wording(prompt: list[BaseMessage]) -> Iterator[str]:
        for earlier in streams:
            earlier.close()  # frees the model for this one
        stream = model.stream(prompt, stop=ANSWER_STOP, max_tokens=ANSWER_MAX_TOKENS)
        streams.append(cast(Generator[BaseMessageChunk], stream))
        if writer.released and not writer.released[-1].isspace():  # read as the model starts: after code's lead
            yield " "
        yield from (str(c.content) for c in streams[-1])

    try:
        chunks = wording(cast(list[BaseMessage], plan.prompt))
        if plan.left_out is None:
            return writer.stream(chunks, stand_in=plan.stand_in) and writer.released != before
        left_out, again = plan.left_out, plan.again
        if not writer.stream_once(chunks, answers=lambda text: left_out(text) is not None, amend=plan.amend,
                                  stand_in=plan.stand_in,
                                  again=(lambda rule: (plan.opening, wording(again(rule)))) if again else None):
            return False
    except ModelError:
        count_fallback("answer")
        return False
    missing = left_out(writer.released[len(before):]) or []
    return not missing or writer.stream([f" {' '.join(missing)}"], grounding=Grounding(trusted=True))


def _translator(state: AgentState, deps: AgentDeps) -> Translator | None:
    """The conversation's language, when replies are translated into it."""
    language = state.get("language", "en")
    if language not in languages():
        return None
    return Translator(deps.translation_model, language, names=lambda: product_names(deps.store))
