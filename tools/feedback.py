"""Customer feedback on a conversation: thumbs up or down on a reply, and a 1-5 rating with a comment at the end.

Access (whose conversation it is) is checked by the caller; here a reply must be one the agent completed in that
conversation, and giving feedback again replaces the earlier one.
"""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from core.errors import NotFound
from tools.outcomes import record_rating
from tools.store import Store
from tools.store.models import ConversationEvent, Feedback, utcnow

CONVERSATION = 0
"""``reply_seq`` of the rating of the whole conversation (event numbers start at 1)."""
MAX_COMMENT_CHARS = 2000


class ReplyFeedback(BaseModel):
    """Thumbs up or down on one reply."""

    reply: int
    """The ``seq`` of the reply's ``message_completed`` event (its SSE id is ``<conversation>:<seq>``)."""
    helpful: bool
    text: str
    """The reply as the customer saw it."""
    at: datetime


class Rating(BaseModel):
    """The customer's rating of the whole conversation."""

    rating: int = Field(ge=1, le=5)
    comment: str = Field("", max_length=MAX_COMMENT_CHARS)
    at: datetime | None = None


class ConversationFeedback(BaseModel):
    """Everything the customer said about a conversation, for the console and the customer's own page."""

    replies: list[ReplyFeedback] = []
    rating: Rating | None = None


def _save(store: Store, conversation_id: str, reply_seq: int, **values: object) -> None:
    with store.session(write=True) as session:
        row = session.scalars(select(Feedback).where(Feedback.conversation_id == conversation_id,
                                                     Feedback.reply_seq == reply_seq)).first()
        if row is None:
            session.add(Feedback(conversation_id=conversation_id, reply_seq=reply_seq, created_at=utcnow(), **values))
        else:
            for key, value in {**values, "created_at": utcnow()}.items():
                setattr(row, key, value)


def rate_reply(store: Store, conversation_id: str, reply: int, *, helpful: bool) -> None:
    """Record thumbs up or down on reply ``reply`` (an event seq); :class:`NotFound` if the conversation has no
    such reply."""
    with store.session() as session:
        event = session.get(ConversationEvent, (conversation_id, reply))
    if event is None or event.type != "message_completed":
        raise NotFound(f"this conversation has no reply {reply}")
    _save(store, conversation_id, reply, helpful=helpful)


def rate_conversation(store: Store, conversation_id: str, rating: Rating) -> None:
    """Record the conversation's rating and comment (a second one replaces the first); the rating alone is also
    kept with the conversation's outcome, for the insights."""
    _save(store, conversation_id, CONVERSATION, rating=rating.rating, comment=rating.comment.strip() or None)
    with store.session(write=True) as session:
        record_rating(session, conversation_id, rating.rating)


def feedback_on(store: Store, conversation_id: str) -> ConversationFeedback:
    """The feedback given in a conversation, replies in order with their text."""
    with store.session() as session:
        rows = session.scalars(select(Feedback).where(Feedback.conversation_id == conversation_id)
                               .order_by(Feedback.reply_seq)).all()
        replies = []
        for row in rows:
            if row.reply_seq != CONVERSATION:
                event = session.get(ConversationEvent, (conversation_id, row.reply_seq))
                replies.append(ReplyFeedback(reply=row.reply_seq, helpful=bool(row.helpful), at=row.created_at,
                                             text=event.data.get("text", "") if event else ""))
        rated = next((r for r in rows if r.reply_seq == CONVERSATION), None)
    rating = Rating(rating=rated.rating or 1, comment=rated.comment or "", at=rated.created_at) if rated else None
    return ConversationFeedback(replies=replies, rating=rating)


def delete_feedback(session: Session, conversation_id: str) -> None:
    """Delete a conversation's feedback, comments included, inside the caller's transaction."""
    session.execute(delete(Feedback).where(Feedback.conversation_id == conversation_id))
