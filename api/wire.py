"""The native streaming protocol on the wire: records as server-sent events, and their OpenAPI description."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any

from pydantic import BaseModel, RootModel
from sse_starlette import EventSourceResponse
from starlette.types import Receive, Scope, Send

from agent.events import Event, encode
from api.hub import Record

PING_SECONDS = 15
"""Comment lines keep idle streams open through proxies."""


class StreamEvent(RootModel[Event]):
    """The JSON ``data`` of one server-sent event. The SSE ``event`` field repeats ``type``; the SSE ``id`` is
    ``<conversation_id>:<seq>``, numbered 1, 2, 3... within the conversation: send the last one you saw as
    ``Last-Event-ID`` to ``GET /v1/conversations/{id}/events`` to get exactly what you missed."""


STREAM_DOC: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "A `text/event-stream` of typed events; each has an `id`, an `event` name and a JSON `data` "
                       "body described by this schema.",
        "content": {"text/event-stream": {"schema": {"$ref": "#/components/schemas/StreamEvent"}}},
        "headers": {"X-Conversation-Id": {"description": "The conversation's id.", "schema": {"type": "string"}}},
    },
}
EXTRA_SCHEMAS = [StreamEvent]
"""Models only the stream uses, added to the OpenAPI components by the app."""


class _Stream(EventSourceResponse):
    """An event stream that calls ``on_close`` when it ends, however it ends (disconnect, shutdown, error)."""

    def __init__(self, messages: AsyncIterator[dict[str, str]], *, headers: dict[str, str],
                 on_close: Callable[[], None]) -> None:
        super().__init__(messages, headers=headers, ping=PING_SECONDS)
        self._on_close = on_close

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await super().__call__(scope, receive, send)
        finally:
            self._on_close()


def event_stream(records: AsyncIterator[Record], conversation_id: str, *,
                 on_close: Callable[[], None] = lambda: None) -> EventSourceResponse:
    """Records as server-sent events, with the conversation's id in a header; ``on_close`` runs when it ends."""

    async def messages() -> AsyncIterator[dict[str, str]]:
        async for record in records:
            yield encode(record.event, record.id)

    return _Stream(messages(), headers={"X-Conversation-Id": conversation_id}, on_close=on_close)


def parse_last_event_id(value: str | None, conversation_id: str) -> int | None:
    """The ``seq`` in a ``Last-Event-ID`` (``<conversation_id>:<seq>`` or ``<seq>``); None if malformed."""
    if not value:
        return 0
    named, _, seq = value.strip().rpartition(":")
    if named not in ("", conversation_id) or not seq.isdigit() or len(seq) > 12:
        return None
    return int(seq)


class Problem(BaseModel):
    """Why a request was refused (FastAPI's error shape)."""

    detail: str


def problems(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI entries for the refusals a route may answer with."""
    return {status: {"model": Problem} for status in statuses}
