"""Conversation routes: start one, send a message and stream the reply, catch up on events, read, list, delete."""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Header, HTTPException, Path, Query, Request, Response
from pydantic import BaseModel, ConfigDict, Field, field_validator
from sse_starlette import EventSourceResponse

from api.access import (
    ConversationSummary,
    create_conversation,
    delete_conversation,
    find_conversation,
    is_staff,
    list_conversations,
    owner_of,
)
from api.deps import PrincipalDep, Runtime, RuntimeDep, TurnsDep, client_address
from api.hub import Record
from api.route_limits import RateLimit, hold_stream, limit
from api.wire import STREAM_DOC, event_stream, parse_last_event_id, problems
from core.auth import Principal
from tools.store.models import Conversation

router = APIRouter(prefix="/v1/conversations", tags=["conversations"])

ConversationId = Annotated[str, Path(max_length=64, description="The id `POST /v1/conversations` returned.")]


class MessageIn(BaseModel):
    """One customer message."""

    model_config = ConfigDict(extra="forbid")

    message: str = Field(min_length=1, description="What the customer wrote.")

    @field_validator("message")
    @classmethod
    def _not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("message is empty")
        return value


class ConversationOut(BaseModel):
    """A conversation and where its event stream stands."""

    id: str
    created_at: datetime
    last_event_id: str | None = None
    """Id of the newest event (None before the first message)."""
    busy: bool = False
    """A reply is in progress."""


class TranscriptMessage(BaseModel):
    role: str
    """``customer`` or ``assistant``."""
    content: str


async def begin_turn(
    runtime: Runtime, request: Request, *, who: Principal | None, conversation_id: str | None, text: str
) -> tuple[str, Record]:
    """Check, admit and start a turn (creating the conversation when ``conversation_id`` is None).

    The route's ``turn`` limit answers 429 first; then, before anything is stored: 413 message too long, 403
    staff token, 404 unknown conversation, 409 a reply in progress, 503 queue for the model full.
    """
    turns = runtime.turns
    store = runtime.agent.deps.store if runtime.agent else None
    if turns is None or store is None:
        raise HTTPException(503, "starting: the model is loading", headers={"Retry-After": "5"})
    limit = runtime.settings.max_message_chars
    if len(text) > limit:
        raise HTTPException(413, f"message longer than {limit} characters")
    if conversation_id is None:
        owner_of(who, "")  # staff: 403
    else:
        await asyncio.to_thread(find_conversation, store, who, conversation_id, to_chat=True)
    if conversation_id is not None:
        turns.check_free(conversation_id)
    fairness_key = f"customer:{who.subject}" if who else f"ip:{client_address(request)}"
    ticket = await turns.reserve(fairness_key)
    try:
        if conversation_id is None:
            conversation_id = (await asyncio.to_thread(create_conversation, store, who)).id
        record = await turns.start(conversation_id, who.subject if who else None, text, ticket=ticket,
                                   client_address=client_address(request))
    except BaseException:
        ticket.cancel()
        raise
    return conversation_id, record


READ = problems(401, 404, 429, 503)
TURN = {**STREAM_DOC, **problems(401, 403, 404, 409, 413, 429, 503)}


@router.post("", status_code=201, responses=problems(401, 403, 429, 503), dependencies=[limit("new_conversation")])
async def start_conversation(response: Response, who: PrincipalDep, turns: TurnsDep) -> ConversationOut:
    """Start an empty conversation for the caller (anonymous, or a customer token); send messages to it next."""
    owner_of(who, "")  # staff: 403
    conversation = await asyncio.to_thread(create_conversation, turns.agent.deps.store, who)
    response.headers["X-Conversation-Id"] = conversation.id
    return ConversationOut(id=conversation.id, created_at=conversation.created_at)


@router.get("", responses=problems(401, 403, 429, 503), dependencies=[limit("read")])
async def conversations(
    who: PrincipalDep,
    turns: TurnsDep,
    customer_id: Annotated[str | None, Query(max_length=64, description="Whose (staff tokens only).")] = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
) -> list[ConversationSummary]:
    """A signed-in customer's conversations, most recently active first (staff name the customer)."""
    if who is None:
        raise HTTPException(401, "sign in to list conversations", headers={"WWW-Authenticate": "Bearer"})
    if is_staff(who) and customer_id is None:
        raise HTTPException(422, "staff tokens must name the customer: ?customer_id=...")
    if not is_staff(who) and customer_id not in (None, who.subject):
        raise HTTPException(403, "a customer token lists only its own conversations")
    owner = f"customer:{customer_id or who.subject}"
    return await asyncio.to_thread(list_conversations, turns.agent.deps.store, owner, limit=limit)


async def _find(turns: TurnsDep, who: Principal | None, conversation_id: str, *, to_chat: bool) -> Conversation:
    return await asyncio.to_thread(find_conversation, turns.agent.deps.store, who, conversation_id, to_chat=to_chat)


@router.get("/{conversation_id}", responses=READ, dependencies=[limit("read")])
async def conversation(conversation_id: ConversationId, who: PrincipalDep, turns: TurnsDep) -> ConversationOut:
    """The conversation and the id of its newest event."""
    found = await _find(turns, who, conversation_id, to_chat=False)
    last = await turns.hub.last_seq(found.id)
    return ConversationOut(id=found.id, created_at=found.created_at, busy=await turns.busy(found.id),
                           last_event_id=f"{found.id}:{last}" if last else None)


@router.delete("/{conversation_id}", status_code=204, responses=problems(401, 403, 404, 409, 429, 503),
                dependencies=[limit("read")])
async def forget_conversation(conversation_id: ConversationId, who: PrincipalDep, turns: TurnsDep) -> None:
    """Delete the conversation with its messages (checkpoints) and events; 409 while a reply is in progress."""
    found = await _find(turns, who, conversation_id, to_chat=False)
    async with turns.exclusive(found.id):
        await asyncio.to_thread(delete_conversation, turns.agent.deps.store, who, found.id)
        await turns.hub.forget(found.id)
        await turns.agent.forget(found.id)


@router.get("/{conversation_id}/messages", responses=READ, dependencies=[limit("read")])
async def transcript(conversation_id: ConversationId, who: PrincipalDep, turns: TurnsDep) -> list[TranscriptMessage]:
    """The conversation's messages, oldest first."""
    found = await _find(turns, who, conversation_id, to_chat=False)
    return [TranscriptMessage(**m) for m in await turns.agent.transcript(found.id)]


@router.post("/{conversation_id}/messages", response_class=EventSourceResponse, responses=TURN,
             dependencies=[limit("turn")])
async def send_message(conversation_id: ConversationId, body: MessageIn, runtime: RuntimeDep, request: Request,
                       who: PrincipalDep, turns: TurnsDep) -> EventSourceResponse:
    """Send a customer message; the turn's events stream back, from `customer_message` to `done`.

    The turn runs on if the client goes away; reconnect to `GET .../events` with `Last-Event-ID`.
    """
    conversation_id, record = await begin_turn(runtime, request, who=who, conversation_id=conversation_id,
                                               text=body.message)
    return event_stream(turns.hub.follow(conversation_id, after=record.seq - 1, until_done=True), conversation_id)


@router.get("/{conversation_id}/events", response_class=EventSourceResponse,
            responses={**STREAM_DOC, **problems(400, 401, 404, 429, 503)})
async def events(
    conversation_id: ConversationId,
    caller: Annotated[str, Depends(RateLimit("stream"))],
    runtime: RuntimeDep,
    who: PrincipalDep,
    turns: TurnsDep,
    last_event_id: Annotated[str | None, Header(max_length=100, description="The last id seen; "
                                                "without it the stream starts at the first event.")] = None,
) -> EventSourceResponse:
    """The conversation's events after `Last-Event-ID`, then live ones (replies, staff messages) until you
    disconnect. Nothing is lost or repeated across reconnects. A caller holds at most `SUPPORT_MAX_OPEN_STREAMS`
    open at once (429 past that)."""
    found = await _find(turns, who, conversation_id, to_chat=False)
    after = parse_last_event_id(last_event_id, found.id)
    if after is None:
        raise HTTPException(400, "Last-Event-ID must be an id from this conversation's stream")
    release = await hold_stream(runtime, caller)
    return event_stream(turns.hub.follow(found.id, after=after), found.id, on_close=release)
