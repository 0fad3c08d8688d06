"""Chat routes: a customer turn streamed as server-sent events, and a conversation's transcript."""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import AsyncIterator
from typing import Annotated, Any

from fastapi import APIRouter, Header, HTTPException
from pydantic import BaseModel, ConfigDict, Field, field_validator
from sse_starlette import EventSourceResponse

from agent.events import encode
from agent.service import SupportAgent
from api.deps import AgentDep, PrincipalDep, RuntimeDep
from core.auth import Principal
from tools.store.models import Conversation

router = APIRouter(prefix="/v1", tags=["chat"])


class ChatRequest(BaseModel):
    """One customer message."""

    model_config = ConfigDict(extra="forbid")

    message: str = Field(min_length=1, description="What the customer wrote.")

    @field_validator("message")
    @classmethod
    def _not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("message is empty")
        return value


class TranscriptMessage(BaseModel):
    role: str
    content: str


def _owner(who: Principal | None, conversation_id: str) -> str:
    if who is None:
        return f"anon:{conversation_id}"
    if who.role != "customer":
        raise HTTPException(403, "chat is for customer or anonymous sessions")
    return f"customer:{who.subject}"


def open_conversation(agent: SupportAgent, who: Principal | None, conversation_id: str | None) -> str:
    """Start a conversation (no id) or check the caller owns ``conversation_id`` (404 otherwise)."""
    with agent.deps.store.session() as session:
        if conversation_id is None:
            conversation_id = secrets.token_hex(16)
            session.add(Conversation(id=conversation_id, owner=_owner(who, conversation_id)))
            return conversation_id
        found = session.get(Conversation, conversation_id)
        if found is None or found.owner != _owner(who, conversation_id):
            raise HTTPException(404, "unknown conversation")  # someone else's looks the same
        return conversation_id


@router.post("/chat", response_class=EventSourceResponse)
async def chat(
    body: ChatRequest,
    agent: AgentDep,
    who: PrincipalDep,
    runtime: RuntimeDep,
    x_conversation_id: Annotated[str | None, Header(max_length=64)] = None,
) -> EventSourceResponse:
    """Send a customer message; the reply streams back as server-sent events.

    Without ``X-Conversation-Id`` a new conversation starts; the response header carries its id.
    """
    limit = runtime.settings.max_message_chars
    if len(body.message) > limit:
        raise HTTPException(413, f"message longer than {limit} characters")
    conversation_id = await asyncio.to_thread(open_conversation, agent, who, x_conversation_id)
    customer_id = who.subject if who else None

    async def events() -> AsyncIterator[dict[str, Any]]:
        count = 0
        async for event in agent.turn(conversation_id, customer_id, body.message):
            count += 1
            yield encode(event, f"{conversation_id}:{count}")

    return EventSourceResponse(events(), headers={"X-Conversation-Id": conversation_id})


@router.get("/conversations/{conversation_id}/messages")
async def transcript(conversation_id: str, agent: AgentDep, who: PrincipalDep) -> list[TranscriptMessage]:
    """The conversation's messages, oldest first."""
    await asyncio.to_thread(open_conversation, agent, who, conversation_id[:64])
    return [TranscriptMessage(**m) for m in await agent.transcript(conversation_id)]
