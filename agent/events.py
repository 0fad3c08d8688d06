"""The typed events a chat turn produces; their names and fields are public API (the SSE protocol).

Only text that passed the output rails is ever put in a :class:`TextDelta`.
"""

from __future__ import annotations

import json
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter


class _Event(BaseModel):
    model_config = ConfigDict(frozen=True)


class TextDelta(_Event):
    """A piece of the assistant's reply, already checked by the guardrails."""

    type: Literal["text_delta"] = "text_delta"
    text: str


class Citation(_Event):
    """A knowledge-base passage the reply is grounded in."""

    type: Literal["citation"] = "citation"
    title: str
    section: str
    source: str


class MessageCompleted(_Event):
    """The whole reply as it was released, with its citations."""

    type: Literal["message_completed"] = "message_completed"
    text: str
    citations: list[Citation] = []


class ToolStarted(_Event):
    """The agent started an action; ``description`` is safe to show the customer."""

    type: Literal["tool_started"] = "tool_started"
    tool: str
    description: str


class ToolFinished(_Event):
    """An action ended: ``done``, ``failed`` or ``retry``."""

    type: Literal["tool_finished"] = "tool_finished"
    tool: str
    outcome: str
    description: str


class ReplyReplaced(_Event):
    """The guardrails stopped the reply; discard its text so far, a safe reply follows."""

    type: Literal["reply_replaced"] = "reply_replaced"
    rule: str


class HandoffStarted(_Event):
    """The conversation was handed to a human agent."""

    type: Literal["handoff_started"] = "handoff_started"
    queue: str
    reason: str
    position: int


class ErrorEvent(_Event):
    """The turn failed; ``message`` is safe to show."""

    type: Literal["error"] = "error"
    message: str


class Done(_Event):
    """The turn is over."""

    type: Literal["done"] = "done"


Event = Annotated[
    TextDelta | Citation | MessageCompleted | ToolStarted | ToolFinished | ReplyReplaced | HandoffStarted
    | ErrorEvent | Done,
    Field(discriminator="type"),
]
EVENT_ADAPTER: TypeAdapter[Event] = TypeAdapter(Event)


def encode(event: _Event, event_id: str) -> dict[str, str]:
    """The event as an SSE message (``id``, ``event`` and a JSON ``data`` body)."""
    body = event.model_dump(mode="json")
    return {"id": event_id, "event": body["type"], "data": json.dumps(body, separators=(",", ":"))}
