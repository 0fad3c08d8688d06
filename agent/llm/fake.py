"""A scripted chat model for tests: it says exactly what the test tells it to, in order.

Each step is the next model answer: a string (streamed word by word, or parsed as JSON by
``with_structured_output``, as a real model's output is), a dict or pydantic model (returned by
``with_structured_output``), or an exception (raised). Unused steps fail :meth:`assert_all_used`, and a
call with no step left raises, so a test notices when the graph calls the model more or less than it
expected.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from langchain_core.callbacks import CallbackManagerForLLMRun
from langchain_core.language_models import BaseChatModel, LanguageModelInput
from langchain_core.messages import AIMessage, AIMessageChunk, BaseMessage
from langchain_core.outputs import ChatGeneration, ChatGenerationChunk, ChatResult
from langchain_core.runnables import Runnable, RunnableLambda
from pydantic import BaseModel, Field

from agent.llm.structured import parse_structured

Step = str | dict[str, Any] | BaseModel | Exception


class ScriptedChatModel(BaseChatModel):
    """Plays back ``steps``; records every prompt it was given in ``calls``."""

    steps: list[Any] = Field(default_factory=list)
    calls: list[list[BaseMessage]] = Field(default_factory=list)

    @property
    def _llm_type(self) -> str:
        return "scripted"

    def _next(self, messages: list[BaseMessage]) -> Step:
        self.calls.append(list(messages))
        if not self.steps:
            raise AssertionError("ScriptedChatModel: the graph asked for more answers than were scripted")
        step = self.steps.pop(0)
        if isinstance(step, Exception):
            raise step
        return step

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        return ChatResult(generations=[ChatGeneration(message=AIMessage(content=str(self._next(messages))))])

    def _stream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> Iterator[ChatGenerationChunk]:
        for piece in re.findall(r"\S+\s*|\s+", str(self._next(messages))):
            yield ChatGenerationChunk(message=AIMessageChunk(content=piece))

    def with_structured_output(  # type: ignore[override]
        self, schema: type[BaseModel], **_: Any
    ) -> Runnable[LanguageModelInput, BaseModel]:
        def answer(prompt: Any) -> BaseModel:
            step = self._next(prompt.to_messages() if hasattr(prompt, "to_messages") else list(prompt))
            if isinstance(step, str):
                return parse_structured(schema, step)
            return schema.model_validate(step.model_dump() if isinstance(step, BaseModel) else step)

        return RunnableLambda(answer)

    def assert_all_used(self) -> None:
        """Fail when scripted answers were left unused."""
        assert not self.steps, f"ScriptedChatModel: {len(self.steps)} scripted answer(s) never used: {self.steps}"
