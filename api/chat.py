"""``POST /v1/chat``: the first streaming endpoint, kept as a shortcut over the conversation routes."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Header, Request
from sse_starlette import EventSourceResponse

from api.conversations import TURN, MessageIn, begin_turn
from api.deps import PrincipalDep, RuntimeDep, TurnsDep
from api.route_limits import limit
from api.wire import event_stream

router = APIRouter(prefix="/v1", tags=["conversations"])

@router.post("/chat", response_class=EventSourceResponse, responses=TURN, dependencies=[limit("turn")])
async def chat(
    body: MessageIn,
    runtime: RuntimeDep,
    request: Request,
    who: PrincipalDep,
    turns: TurnsDep,
    x_conversation_id: Annotated[str | None, Header(max_length=64)] = None,
) -> EventSourceResponse:
    """Send a customer message and stream the turn's events, as `POST /v1/conversations/{id}/messages` does.

    Without `X-Conversation-Id` a new conversation starts; the response header carries its id.
    """
    conversation_id, record = await begin_turn(runtime, request, who=who, conversation_id=x_conversation_id,
                                               text=body.message)
    return event_stream(turns.hub.follow(conversation_id, after=record.seq - 1, until_done=True), conversation_id)
