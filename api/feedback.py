"""Feedback routes: the customer's thumbs on a reply and their rating of the conversation, and reading them back
(the customer, or staff in the console)."""

from __future__ import annotations

import asyncio

from fastapi import APIRouter, HTTPException
from pydantic import BaseModel, ConfigDict, Field

from api.access import find_conversation
from api.conversations import ConversationId
from api.deps import AgentDep, PrincipalDep
from api.route_limits import limit
from api.wire import problems
from core.errors import NotFound
from tools.feedback import MAX_COMMENT_CHARS, ConversationFeedback, Rating, feedback_on, rate_conversation, rate_reply

router = APIRouter(prefix="/v1/conversations", tags=["feedback"], dependencies=[limit("read")])


class Thumbs(BaseModel):
    """Was this reply helpful?"""

    model_config = ConfigDict(extra="forbid")

    helpful: bool


class RatingIn(BaseModel):
    """The conversation's rating, 1 (poor) to 5 (excellent), with an optional comment."""

    model_config = ConfigDict(extra="forbid")

    rating: int = Field(ge=1, le=5)
    comment: str = Field("", max_length=MAX_COMMENT_CHARS)


WRITE = problems(401, 403, 404, 422, 429, 503)


@router.put("/{conversation_id}/replies/{reply}/feedback", status_code=204, responses=WRITE)
async def rate_a_reply(conversation_id: ConversationId, reply: int, body: Thumbs, who: PrincipalDep,
                       agent: AgentDep) -> None:
    """Thumbs up or down on one reply (``reply``: the seq of its ``message_completed`` event); again replaces it."""
    store = agent.deps.store
    found = await asyncio.to_thread(find_conversation, store, who, conversation_id, to_chat=True)
    try:
        await asyncio.to_thread(rate_reply, store, found.id, reply, helpful=body.helpful)
    except NotFound as exc:
        raise HTTPException(404, str(exc)) from exc


@router.put("/{conversation_id}/rating", status_code=204, responses=WRITE)
async def rate_the_conversation(conversation_id: ConversationId, body: RatingIn, who: PrincipalDep,
                                agent: AgentDep) -> None:
    """Rate the whole conversation when it ends; again replaces the rating."""
    store = agent.deps.store
    found = await asyncio.to_thread(find_conversation, store, who, conversation_id, to_chat=True)
    await asyncio.to_thread(rate_conversation, store, found.id, Rating(rating=body.rating, comment=body.comment))


@router.get("/{conversation_id}/feedback", responses=problems(401, 404, 429, 503))
async def read_feedback(conversation_id: ConversationId, who: PrincipalDep, agent: AgentDep) -> ConversationFeedback:
    """The feedback given in the conversation (its customer, or staff)."""
    store = agent.deps.store
    found = await asyncio.to_thread(find_conversation, store, who, conversation_id, to_chat=False)
    return await asyncio.to_thread(feedback_on, store, found.id)
