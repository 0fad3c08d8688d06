"""Read a server-sent-event stream into parsed events, as they arrive."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx


class _Messages:
    """SSE lines in, ``{"id", "event", ...data}`` out once a message is complete."""

    def __init__(self) -> None:
        self._current: dict[str, str] = {}

    def feed(self, line: str) -> dict[str, Any] | None:
        if line:
            field, _, value = line.partition(":")
            self._current[field] = value.lstrip(" ")
            return None
        current, self._current = self._current, {}
        if "data" not in current:
            return None
        return {"id": current.get("id"), "event": current.get("event"), **json.loads(current["data"])}


def iter_events(response: httpx.Response) -> Iterator[dict[str, Any]]:
    """Yield ``{"id", "event", ...data}`` for each SSE message of ``response`` as soon as it is complete."""
    messages = _Messages()
    for line in response.iter_lines():
        if (event := messages.feed(line)) is not None:
            yield event


async def aiter_events(response: httpx.Response) -> AsyncIterator[dict[str, Any]]:
    """:func:`iter_events` of an ``httpx.AsyncClient`` response."""
    messages = _Messages()
    async for line in response.aiter_lines():
        if (event := messages.feed(line)) is not None:
            yield event


def read_events(response: httpx.Response) -> list[dict[str, Any]]:
    """All events of the stream."""
    return list(iter_events(response))


def reply_text(events: list[dict[str, Any]]) -> str:
    """What the customer saw: text deltas after the last withdrawal."""
    text = ""
    for event in events:
        if event["type"] == "reply_replaced":
            text = ""
        elif event["type"] == "text_delta":
            text += event["text"]
    return text
