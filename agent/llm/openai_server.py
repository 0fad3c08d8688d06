"""A langchain-core chat model over any OpenAI-compatible server (llama.cpp's servers, vLLM, Ollama): streamed
tokens, schema-shaped output in the form the server takes, and calls that cannot hold a turn
(:mod:`agent.llm.resilience`). Replies are read through pydantic models of the few fields used, so a malformed
answer is an error, never a half-read one."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any, Literal, TypeVar

import httpx
from langchain_core.callbacks import CallbackManagerForLLMRun
from langchain_core.language_models import BaseChatModel, LanguageModelInput
from langchain_core.messages import AIMessage, AIMessageChunk, BaseMessage
from langchain_core.outputs import ChatGeneration, ChatGenerationChunk, ChatResult
from langchain_core.runnables import Runnable, RunnableLambda
from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, SecretStr, ValidationError

from agent.llm.messages import openai_messages
from agent.llm.resilience import MalformedResponse, ServerGuard, ServerStatusError
from agent.llm.structured import grammar_safe, parse_structured
from core.settings import Settings

StructuredForm = Literal["json_object", "json_schema", "tools"]
M = TypeVar("M", bound=BaseModel)


class _Function(BaseModel):
    arguments: str


class _ToolCall(BaseModel):
    function: _Function


class _Message(BaseModel):
    content: str | None = None
    tool_calls: list[_ToolCall] | None = None


class _Choice(BaseModel):
    message: _Message


class _Completion(BaseModel):
    choices: list[_Choice] = Field(min_length=1)
    usage: dict[str, Any] | None = None


class _Delta(BaseModel):
    content: str | None = None


class _ChunkChoice(BaseModel):
    delta: _Delta = _Delta()


class _Chunk(BaseModel):
    choices: list[_ChunkChoice] = []
    error: dict[str, Any] | str | None = None


def structured_request(schema: type[BaseModel], form: StructuredForm) -> dict[str, Any]:
    """The request fields asking for ``schema``-shaped output in ``form``: ``json_object`` with the schema
    (llama.cpp's servers compile it to a grammar; greedy with no repeat penalty, as in-process), OpenAI's
    ``json_schema``, or a ``tools`` call the server must make."""
    body = grammar_safe(schema.model_json_schema())
    name = schema.__name__
    if form == "json_object":
        return {"response_format": {"type": "json_object", "schema": body}, "repeat_penalty": 1.0}
    if form == "json_schema":
        return {"response_format": {"type": "json_schema", "json_schema": {"name": name, "schema": body}}}
    return {"tools": [{"type": "function", "function": {"name": name, "parameters": body}}],
            "tool_choice": {"type": "function", "function": {"name": name}}}


def _structured_text(message: AIMessage) -> str:
    """The JSON a structured reply carries: the first tool call's arguments, else the content."""
    calls = message.additional_kwargs.get("tool_calls") or []
    return str(calls[0]["function"]["arguments"]) if calls else str(message.content)


def _check_status(response: httpx.Response) -> None:
    if response.status_code >= 400:
        response.close()
        raise ServerStatusError(response.status_code)


def _read(model: type[M], raw: str | bytes) -> M:
    try:
        return model.model_validate_json(raw)
    except ValidationError as exc:
        raise MalformedResponse(f"not a chat completion ({exc.error_count()} error(s))") from exc


def _deltas(response: httpx.Response) -> Iterator[str]:
    """The text pieces of a server-sent-event stream of chat-completion chunks, up to ``[DONE]`` (a stream cut
    before it is an error: its last sentence may be half a sentence)."""
    for line in response.iter_lines():
        if not line.startswith("data:"):
            continue
        data = line.removeprefix("data:").strip()
        if data == "[DONE]":
            return
        chunk = _read(_Chunk, data)
        if chunk.error is not None:
            raise MalformedResponse(f"the server reported an error mid-stream: {chunk.error}")
        if chunk.choices and chunk.choices[0].delta.content:
            yield chunk.choices[0].delta.content
    raise MalformedResponse("the stream ended before [DONE]")


class ChatOpenAIServer(BaseChatModel):
    """Chat over an OpenAI-compatible server, behind :class:`~agent.llm.resilience.ServerGuard`."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    base_url: str
    model: str = "default"
    api_key: SecretStr = SecretStr("not-needed")
    """Kept out of reprs and traces."""
    max_tokens: int = 256
    temperature: float = 0.2
    seed: int = 7
    structured: StructuredForm = "json_object"
    guard: ServerGuard

    _http: httpx.Client = PrivateAttr()

    def model_post_init(self, context: Any, /) -> None:
        self._http = httpx.Client(base_url=self.base_url.rstrip("/") + "/",
                                  headers={"Authorization": f"Bearer {self.api_key.get_secret_value()}"})

    @classmethod
    def from_settings(cls, settings: Settings) -> ChatOpenAIServer:
        guard = ServerGuard(deadline_seconds=settings.openai_timeout_seconds,
                            connect_seconds=settings.openai_connect_timeout_seconds,
                            retries=settings.openai_max_retries,
                            breaker_failures=settings.openai_breaker_failures,
                            breaker_reset_seconds=settings.openai_breaker_reset_seconds)
        return cls(base_url=settings.openai_base_url, model=settings.openai_model,
                   api_key=SecretStr(settings.openai_api_key), max_tokens=settings.max_tokens,
                   temperature=settings.temperature, seed=settings.seed,
                   structured=settings.openai_structured, guard=guard)

    @property
    def _llm_type(self) -> str:
        return "openai-server"

    @property
    def _identifying_params(self) -> dict[str, Any]:
        return {"base_url": self.base_url, "model": self.model}

    def _body(self, messages: list[BaseMessage], stop: list[str] | None, **kwargs: Any) -> dict[str, Any]:
        body = {"model": self.model, "messages": openai_messages(messages), "max_tokens": self.max_tokens,
                "temperature": self.temperature, "seed": self.seed, **kwargs}
        return {**body, "stop": stop} if stop else body

    def _post(self, body: dict[str, Any], timeout: httpx.Timeout) -> _Completion:
        response = self._http.post("chat/completions", json=body, timeout=timeout)
        _check_status(response)
        return _read(_Completion, response.content)

    def _open_stream(self, body: dict[str, Any], timeout: httpx.Timeout) -> httpx.Response:
        request = self._http.build_request("POST", "chat/completions", json={**body, "stream": True},
                                           timeout=timeout)
        response = self._http.send(request, stream=True)
        _check_status(response)
        return response

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        body = self._body(messages, stop, **kwargs)
        with self.guard.call() as deadline:
            completion = self.guard.attempts(deadline, lambda timeout: self._post(body, timeout))
        reply = completion.choices[0].message
        calls = [{"type": "function", "function": {"arguments": c.function.arguments}} for c in reply.tool_calls or []]
        message = AIMessage(content=reply.content or "", response_metadata={"usage": completion.usage or {}},
                            additional_kwargs={"tool_calls": calls} if calls else {})
        return ChatResult(generations=[ChatGeneration(message=message)])

    def _stream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> Iterator[ChatGenerationChunk]:
        body = self._body(messages, stop, **kwargs)
        with self.guard.call() as deadline:
            response = self.guard.attempts(deadline, lambda timeout: self._open_stream(body, timeout))
            with contextlib.closing(response):
                wrote = False
                for delta in _deltas(response):
                    deadline.check()
                    wrote = True
                    yield ChatGenerationChunk(message=AIMessageChunk(content=delta))
                if not wrote:  # a reply of no text is a reply: LangChain refuses a stream without chunks
                    yield ChatGenerationChunk(message=AIMessageChunk(content=""))

    def with_structured_output(  # type: ignore[override]
        self, schema: type[BaseModel], **_: Any
    ) -> Runnable[LanguageModelInput, BaseModel]:
        """Output shaped by ``schema`` in the form the server takes (``structured``), decoded greedily; the reply
        is validated against ``schema`` (anything else is a :class:`ModelError`)."""
        bound = self.bind(temperature=0.0, **structured_request(schema, self.structured))
        return bound | RunnableLambda(lambda message: parse_structured(schema, _structured_text(message)))

