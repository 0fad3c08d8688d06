"""Who may do what with a conversation; the rules sit next to the data access.

* A customer token reaches only its subject's conversations; anonymous chat reaches only the conversation it
  started (its random id is the key). Another caller's conversation answers exactly like an unknown one.
* Staff tokens (``agent``, ``ops``) may read any conversation but never chat as a customer; ``ops`` may
  delete any conversation, a customer only their own.
"""

from __future__ import annotations

import secrets
from datetime import datetime

from fastapi import HTTPException
from pydantic import BaseModel
from sqlalchemy import delete, func, select

from api.hub import delete_events
from core.auth import Principal
from tools.feedback import delete_feedback
from tools.outcomes import unlink_outcome
from tools.store import Store
from tools.store.models import Conversation, ConversationEvent

UNKNOWN = "unknown conversation"


def is_staff(who: Principal | None) -> bool:
    return who is not None and who.role in ("agent", "ops")


def owner_of(who: Principal | None, conversation_id: str) -> str:
    """The owner string a conversation started by ``who`` gets; staff cannot own (chat in) one."""
    if who is None:
        return f"anon:{conversation_id}"
    if who.role != "customer":
        raise HTTPException(403, "chat is for customer or anonymous sessions, not staff tokens")
    return f"customer:{who.subject}"


def _may_read(who: Principal | None, conversation: Conversation) -> bool:
    return is_staff(who) or conversation.owner == owner_of(who, conversation.id)


def create_conversation(store: Store, who: Principal | None) -> Conversation:
    """A new conversation owned by ``who`` (403 for staff)."""
    conversation_id = secrets.token_hex(16)
    conversation = Conversation(id=conversation_id, owner=owner_of(who, conversation_id))
    with store.session() as session:
        session.add(conversation)
    return conversation


def find_conversation(store: Store, who: Principal | None, conversation_id: str, *, to_chat: bool) -> Conversation:
    """The conversation if ``who`` may read it (``to_chat``: may send messages in it); 404 otherwise."""
    if to_chat:
        owner_of(who, conversation_id)  # staff: 403 before anything is looked up
    with store.session() as session:
        found = session.get(Conversation, conversation_id)
    if found is None or not _may_read(who, found) or (to_chat and is_staff(who)):
        raise HTTPException(404, UNKNOWN)
    return found


def delete_conversation(store: Store, who: Principal | None, conversation_id: str) -> None:
    """Delete the conversation row, its events and its feedback, and unlink its outcome (owner or ``ops``);
    checkpoints are the agent's to delete."""
    found = find_conversation(store, who, conversation_id, to_chat=False)
    if who is not None and who.role == "agent":
        raise HTTPException(403, "only ops may delete another person's conversation")
    with store.session(write=True) as session:
        delete_events(session, found.id)
        delete_feedback(session, found.id)
        unlink_outcome(session, found.id)
        session.execute(delete(Conversation).where(Conversation.id == found.id))


class ConversationSummary(BaseModel):
    """A conversation in a list: when it started, when it last changed, how it began."""

    id: str
    created_at: datetime
    updated_at: datetime
    preview: str
    """The first customer message, shortened."""


def list_conversations(store: Store, owner: str, *, limit: int) -> list[ConversationSummary]:
    """``owner``'s conversations, most recently active first."""
    last = (select(ConversationEvent.conversation_id, func.max(ConversationEvent.created_at).label("at"))
            .group_by(ConversationEvent.conversation_id).subquery())
    first = (select(ConversationEvent.conversation_id, func.min(ConversationEvent.seq).label("seq"))
             .where(ConversationEvent.type == "customer_message")
             .group_by(ConversationEvent.conversation_id).subquery())
    updated = func.coalesce(last.c.at, Conversation.created_at)
    query = (select(Conversation, updated, ConversationEvent.data)
             .outerjoin(last, last.c.conversation_id == Conversation.id)
             .outerjoin(first, first.c.conversation_id == Conversation.id)
             .outerjoin(ConversationEvent, (ConversationEvent.conversation_id == Conversation.id)
                        & (ConversationEvent.seq == first.c.seq))
             .where(Conversation.owner == owner)
             .order_by(updated.desc(), Conversation.id)
             .limit(limit))
    with store.session() as session:
        rows = session.execute(query).all()
    return [ConversationSummary(id=c.id, created_at=c.created_at, updated_at=at,
                                preview=(data or {}).get("text", "")[:120]) for c, at, data in rows]
