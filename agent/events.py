"""The typed events of a conversation; their names and fields are public API (the SSE protocol).

A chat turn produces most of them; :class:`CustomerMessage` records what the customer sent, and
:class:`StaffMessage` / :class:`ApprovalDecided` come from people working the conversation. Only text that
passed the output rails is ever put in a :class:`TextDelta`.
"""

from __future__ import annotations

import json
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter


class BaseEvent(BaseModel):
    """Base of every event: frozen, with a ``type`` naming it on the wire."""

    model_config = ConfigDict(frozen=True)

    type: str


_Event = BaseEvent
"""Former name of :class:`BaseEvent`, kept for existing imports."""


class CustomerMessage(BaseEvent):
    """What the customer sent (card numbers and stated passwords masked), opening a turn."""

    type: Literal["customer_message"] = "customer_message"
    text: str


class TextDelta(BaseEvent):
    """A piece of the assistant's reply, already checked by the guardrails."""

    type: Literal["text_delta"] = "text_delta"
    text: str


class Citation(BaseEvent):
    """A knowledge-base passage the reply is grounded in."""

    type: Literal["citation"] = "citation"
    title: str
    section: str
    source: str


class MessageCompleted(BaseEvent):
    """The whole reply as it was released, with its citations."""

    type: Literal["message_completed"] = "message_completed"
    text: str
    citations: list[Citation] = []


class Thinking(BaseEvent):
    """The agent is reading the message with the model (it translates or plans it), or, where the model may be
    busy preparing a turn, has just received it; the reply follows. Sent once a turn."""

    type: Literal["thinking"] = "thinking"


class ToolStarted(BaseEvent):
    """The agent started an action; ``description`` is safe to show the customer."""

    type: Literal["tool_started"] = "tool_started"
    tool: str
    description: str


class ToolFinished(BaseEvent):
    """An action ended: ``done``, ``failed`` or ``retry``."""

    type: Literal["tool_finished"] = "tool_finished"
    tool: str
    outcome: str
    description: str


class ReplyReplaced(BaseEvent):
    """The guardrails stopped the reply; discard its text so far, a safe reply follows."""

    type: Literal["reply_replaced"] = "reply_replaced"
    rule: str


class HandoffStarted(BaseEvent):
    """The conversation was handed to a human agent."""

    type: Literal["handoff_started"] = "handoff_started"
    queue: str
    reason: str
    position: int


class StaffMessage(BaseEvent):
    """A message from a human agent who took the conversation over."""

    type: Literal["staff_message"] = "staff_message"
    author: str
    """Display name of the person, such as ``Sam (support)``."""
    text: str


class ApprovalPending(BaseEvent):
    """A request outside policy waits for a person's decision; ``description`` is safe to show."""

    type: Literal["approval_pending"] = "approval_pending"
    request_id: int
    tool: str
    description: str


class ApprovalDecided(BaseEvent):
    """A person decided a pending request; ``message`` tells the customer what happens next."""

    type: Literal["approval_decided"] = "approval_decided"
    request_id: int
    approved: bool
    message: str


class ErrorEvent(BaseEvent):
    """The turn failed; ``message`` is safe to show."""

    type: Literal["error"] = "error"
    message: str


class Done(BaseEvent):
    """The turn is over."""

    type: Literal["done"] = "done"


Event = Annotated[
    CustomerMessage | TextDelta | Citation | MessageCompleted | Thinking | ToolStarted | ToolFinished | ReplyReplaced
    | HandoffStarted | StaffMessage | ApprovalPending | ApprovalDecided | ErrorEvent | Done,
    Field(discriminator="type"),
]
EVENT_ADAPTER: TypeAdapter[Event] = TypeAdapter(Event)


def encode(event: BaseEvent, event_id: str) -> dict[str, str]:
    """The event as an SSE message (``id``, ``event`` and a JSON ``data`` body)."""
    body = event.model_dump(mode="json")
    return {"id": event_id, "event": body["type"], "data": json.dumps(body, separators=(",", ":"))}
