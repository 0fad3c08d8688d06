"""Read a server-sent-event stream into parsed events, as they arrive."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx


def iter_events(response: httpx.Response) -> Iterator[dict[str, Any]]:
    """Yield ``{"id", "event", ...data}`` for each SSE message of ``response`` as soon as it is complete."""
    current: dict[str, str] = {}
    for line in response.iter_lines():
        if not line:
            if "data" in current:
                yield {"id": current.get("id"), "event": current.get("event"), **json.loads(current["data"])}
            current = {}
            continue
        field, _, value = line.partition(":")
        current[field] = value.lstrip(" ")


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
