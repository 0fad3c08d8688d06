"""Model calls timed (``support_model_call_seconds``), their generation speed (``support_model_tokens_per_second``)
and a ``model`` span each, from LangChain's callbacks on the chat model itself; calls a turn did without
(``support_model_fallbacks_total``), counted where their failure is caught."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any, Literal
from uuid import UUID

from langchain_core.callbacks import BaseCallbackHandler
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import BaseMessage
from langchain_core.outputs import ChatGeneration, LLMResult
from opentelemetry.trace import Span, StatusCode

from core.metrics import MODEL_FALLBACKS, MODEL_SECONDS, MODEL_TOKENS_PER_SECOND
from core.tracing import start_span


@dataclass
class _Call:
    span: Span
    started: float = field(default_factory=time.perf_counter)
    first_token: float | None = None
    last_token: float = 0.0
    tokens: int = 0

    def token(self) -> None:
        now = time.perf_counter()
        self.first_token = self.first_token or now
        self.last_token = now
        self.tokens += 1

    def end(self, output_tokens: int | None) -> None:
        seconds = time.perf_counter() - self.started
        streamed = self.first_token is not None
        MODEL_SECONDS.labels("stream" if streamed else "invoke").observe(seconds)
        tokens = output_tokens or self.tokens
        if streamed and self.tokens > 1 and self.last_token > (self.first_token or 0.0):
            rate = (self.tokens - 1) / (self.last_token - (self.first_token or 0.0))
        else:
            rate = tokens / seconds if tokens and seconds > 0 else 0.0
        if rate:
            MODEL_TOKENS_PER_SECOND.observe(rate)
        self.span.set_attributes({"gen_ai.usage.output_tokens": tokens, "support.model.tokens_per_second": rate,
                                  "support.model.streamed": streamed})
        self.span.end()


def _output_tokens(response: LLMResult) -> int | None:
    """Tokens the model reported generating (usage metadata, or llama.cpp's ``usage``), if it did."""
    generation = response.generations[0][0] if response.generations and response.generations[0] else None
    if not isinstance(generation, ChatGeneration):
        return None
    usage = getattr(generation.message, "usage_metadata", None) or {}
    reported = usage.get("output_tokens") or generation.message.response_metadata.get("usage", {}).get(
        "completion_tokens")
    return int(reported) if reported else None


class ModelTelemetry(BaseCallbackHandler):
    """Callbacks timing and tracing every call of the chat model they are attached to."""

    run_inline = True

    def __init__(self) -> None:
        self._calls: dict[UUID, _Call] = {}

    def on_chat_model_start(self, serialized: dict[str, Any], messages: list[list[BaseMessage]], *, run_id: UUID,
                            **kwargs: Any) -> None:
        params = kwargs.get("invocation_params") or {}
        self._calls[run_id] = _Call(start_span("model", {"gen_ai.operation.name": "chat",
                                                         "gen_ai.system": str(params.get("_type", "unknown"))}))

    def on_llm_new_token(self, token: str, *, chunk: Any = None, run_id: UUID, **kwargs: Any) -> None:
        call = self._calls.get(run_id)
        if call is not None and chunk is not None and token:  # LangChain's own call per chunk (it carries the chunk)
            call.token()

    def on_llm_end(self, response: LLMResult, *, run_id: UUID, **kwargs: Any) -> None:
        call = self._calls.pop(run_id, None)
        if call is not None:
            call.end(_output_tokens(response))

    def on_llm_error(self, error: BaseException, *, run_id: UUID, **kwargs: Any) -> None:
        call = self._calls.pop(run_id, None)
        if call is not None:
            if not isinstance(error, GeneratorExit):  # the reader stopped early: not a failure
                call.span.set_status(StatusCode.ERROR, type(error).__name__)
            call.end(None)


def observe_model(model: BaseChatModel) -> None:
    """Attach :class:`ModelTelemetry` to ``model`` (once)."""
    callbacks = model.callbacks
    if callbacks is None:
        model.callbacks = [ModelTelemetry()]
    elif isinstance(callbacks, list) and not any(isinstance(c, ModelTelemetry) for c in callbacks):
        callbacks.append(ModelTelemetry())


def count_fallback(call: Literal["plan", "answer", "address"]) -> None:
    """Count a model call the turn did without: the call raised (a planner fallback also counts output that was
    unusable, ungrounded or named a disabled tool)."""
    MODEL_FALLBACKS.labels(call).inc()
