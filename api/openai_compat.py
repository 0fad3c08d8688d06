"""``POST /v1/chat/completions``: the agent behind the OpenAI chat-completions protocol (stream and not).

The server keeps the history: with ``X-Conversation-Id`` the turn continues that conversation and only the
last ``user`` message of ``messages`` is new; without it a new conversation starts from that message (earlier
messages are not replayed, and system prompts never override the agent's own). ``model`` may be any value.
The reply is the agent's full turn: what the customer is shown, never text the guardrails withdrew from it.
"""

from __future__ import annotations

import json
import secrets
import time
from collections.abc import AsyncIterator
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Header, HTTPException, Request, Response
from pydantic import BaseModel, ConfigDict, Field
from sse_starlette import EventSourceResponse

from agent.events import Done, ErrorEvent, MessageCompleted, ReplyReplaced, TextDelta
from api.conversations import begin_turn
from api.deps import PrincipalDep, RuntimeDep, TurnsDep
from api.hub import Record
from api.route_limits import limit
from api.wire import PING_SECONDS

router = APIRouter(prefix="/v1", tags=["openai"])
PATH = "/v1/chat/completions"


class ContentPart(BaseModel):
    model_config = ConfigDict(extra="allow")

    type: str = Field(max_length=32)
    text: str | None = None


class ChatMessage(BaseModel):
    """One message of the client's history; only the last one, from the ``user``, is read."""

    model_config = ConfigDict(extra="allow")

    role: Literal["system", "developer", "user", "assistant", "tool", "function"]
    content: str | list[ContentPart] | None = None

    def text(self) -> str:
        if isinstance(self.content, list):
            return "".join(part.text or "" for part in self.content if part.type == "text")
        return self.content or ""


class StreamOptions(BaseModel):
    model_config = ConfigDict(extra="allow")

    include_usage: bool = False


class CompletionRequest(BaseModel):
    """An OpenAI chat-completions request. Sampling options are accepted and ignored: the agent's settings
    and guardrails decide how it answers."""

    model_config = ConfigDict(extra="forbid")

    model: str = Field(max_length=200, description="Any value; echoed back.")
    messages: list[ChatMessage] = Field(min_length=1, max_length=1000)
    stream: bool = False
    stream_options: StreamOptions | None = None
    n: int = Field(1, ge=1, le=1)
    temperature: float | None = None
    top_p: float | None = None
    max_tokens: int | None = None
    max_completion_tokens: int | None = None
    stop: str | list[str] | None = None
    seed: int | None = None
    presence_penalty: float | None = None
    frequency_penalty: float | None = None
    user: str | None = Field(None, max_length=256)
    metadata: dict[str, str] | None = None
    store: bool | None = None


class AssistantMessage(BaseModel):
    role: Literal["assistant"] = "assistant"
    content: str


class Choice(BaseModel):
    index: int = 0
    message: AssistantMessage
    finish_reason: Literal["stop"] = "stop"


class ChatCompletion(BaseModel):
    """The whole reply (``application/json`` when ``stream`` is false)."""

    id: str
    object: Literal["chat.completion"] = "chat.completion"
    created: int
    model: str
    choices: list[Choice]


class Delta(BaseModel):
    role: Literal["assistant"] | None = None
    content: str | None = None


class ChunkChoice(BaseModel):
    index: int = 0
    delta: Delta
    finish_reason: Literal["stop"] | None = None


class ChatCompletionChunk(BaseModel):
    """One ``data:`` line of the stream (``text/event-stream`` when ``stream`` is true); the last is ``[DONE]``."""

    id: str
    object: Literal["chat.completion.chunk"] = "chat.completion.chunk"
    created: int
    model: str
    choices: list[ChunkChoice]


class OpenAIError(BaseModel):
    message: str
    type: str
    param: str | None = None
    code: str | None = None


class OpenAIErrorBody(BaseModel):
    """Errors on this route take OpenAI's shape."""

    error: OpenAIError


_ERRORS = {code: {"model": OpenAIErrorBody} for code in (400, 401, 403, 404, 409, 413, 422, 429, 503)}
DOC: dict[int | str, dict[str, Any]] = {
    **_ERRORS,
    200: {"content": {"text/event-stream": {"schema": {"$ref": "#/components/schemas/ChatCompletionChunk"}}},
          "headers": {"X-Conversation-Id": {"description": "The server-side conversation; send it back to continue.",
                                            "schema": {"type": "string"}}}},
}
EXTRA_SCHEMAS = [ChatCompletionChunk]
"""Models the stream uses, added to the OpenAPI components by the app."""


def _new_text(body: CompletionRequest) -> str:
    last = body.messages[-1]
    if last.role != "user" or not last.text().strip():
        raise HTTPException(422, "the last message must be the customer's: role `user` with text content")
    return last.text()


@router.post("/chat/completions", response_model=ChatCompletion, responses=DOC, dependencies=[limit("turn")])
async def chat_completions(
    body: CompletionRequest,
    runtime: RuntimeDep,
    request: Request,
    response: Response,
    who: PrincipalDep,
    turns: TurnsDep,
    x_conversation_id: Annotated[str | None, Header(max_length=64)] = None,
) -> ChatCompletion | EventSourceResponse:
    """OpenAI-compatible chat completions over the agent (use any `model`; keep `X-Conversation-Id`)."""
    conversation_id, record = await begin_turn(runtime, request, who=who, conversation_id=x_conversation_id,
                                               text=_new_text(body))
    records = turns.hub.follow(conversation_id, after=record.seq, until_done=True)
    completion_id, created = f"chatcmpl-{secrets.token_hex(12)}", int(time.time())
    if body.stream:
        chunks = _chunks(records, ChatCompletionChunk(id=completion_id, created=created, model=body.model, choices=[]))
        return EventSourceResponse(chunks, headers={"X-Conversation-Id": conversation_id}, ping=PING_SECONDS)
    response.headers["X-Conversation-Id"] = conversation_id
    text = await final_text(records)
    return ChatCompletion(id=completion_id, created=created, model=body.model,
                          choices=[Choice(message=AssistantMessage(content=text))])


async def final_text(records: AsyncIterator[Record]) -> str:
    """The messages the turn completed, as the customer saw them (or its error message)."""
    messages, error = [], ""
    async for record in records:
        if isinstance(record.event, MessageCompleted):
            messages.append(record.event.text)
        elif isinstance(record.event, ErrorEvent):
            error = record.event.message
    return "\n\n".join(messages) or error


async def _chunks(records: AsyncIterator[Record], template: ChatCompletionChunk) -> AsyncIterator[dict[str, str]]:
    """Text deltas as chunks. A withdrawn reply cannot be unsent here: its replacement follows a blank line."""

    def chunk(delta: Delta, finish: Literal["stop"] | None = None) -> dict[str, str]:
        body = template.model_dump()
        body["choices"] = [{"index": 0, "delta": delta.model_dump(exclude_none=True), "finish_reason": finish}]
        return {"data": json.dumps(body, separators=(",", ":"))}

    yield chunk(Delta(role="assistant", content=""))
    sent_in_message, gap = False, False
    async for record in records:
        event = record.event
        if isinstance(event, TextDelta | ErrorEvent):
            text = event.text if isinstance(event, TextDelta) else event.message
            yield chunk(Delta(content=("\n\n" if gap else "") + text))
            sent_in_message, gap = True, False
        elif isinstance(event, ReplyReplaced | MessageCompleted):
            gap = gap or sent_in_message
            sent_in_message = False
        elif isinstance(event, Done):
            break
    yield chunk(Delta(), "stop")
    yield {"data": "[DONE]"}


def openai_error(status: int, message: str) -> dict[str, Any]:
    """An error body in OpenAI's shape."""
    kind = {401: "authentication_error", 403: "permission_error", 404: "not_found_error", 409: "conflict_error",
            429: "rate_limit_error", 503: "server_busy"}.get(status, "invalid_request_error")
    return OpenAIErrorBody(error=OpenAIError(message=message, type=kind)).model_dump()

