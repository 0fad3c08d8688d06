"""The native streaming protocol on the wire: records as server-sent events, and their OpenAPI description."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

from pydantic import BaseModel, RootModel
from sse_starlette import EventSourceResponse

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


def event_stream(records: AsyncIterator[Record], conversation_id: str) -> EventSourceResponse:
    """Records as server-sent events, with the conversation's id in a header."""

    async def messages() -> AsyncIterator[dict[str, str]]:
        async for record in records:
            yield encode(record.event, record.id)

    return EventSourceResponse(messages(), headers={"X-Conversation-Id": conversation_id}, ping=PING_SECONDS)


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
