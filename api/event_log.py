"""The stored event log of every conversation: the database numbers events, and on PostgreSQL announces them.

An event's number comes from raising ``conversations.last_event_seq`` in the transaction that stores the event
(``UPDATE ... RETURNING``): the row lock queues writers of one conversation, whichever process they run in, so
numbers are unique and gap-free without retries, and a conversation's committed events are always 1..n. A batch
locks its conversations in the order of their ids, so two processes writing batches that share conversations
wait for each other instead of deadlocking. On PostgreSQL the same transaction sends
``NOTIFY conversation_events, '<conversation_id>:<seq>'``, delivered to every listening process once the rows
are visible (:mod:`api.fanout`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session

from agent.events import EVENT_ADAPTER, BaseEvent
from core.errors import NotFound
from tools.store.models import Conversation, ConversationEvent, utcnow

CHANNEL = "conversation_events"
"""The PostgreSQL ``NOTIFY`` channel of new events."""
DELETED = 0
"""The number announced for a conversation that was deleted (events are numbered from 1)."""


@dataclass(frozen=True)
class Record:
    """One numbered event of a conversation."""

    conversation_id: str
    seq: int
    event: BaseEvent
    at: datetime = field(default_factory=utcnow)
    """When the event was emitted (stored as its time)."""

    @property
    def id(self) -> str:
        """The SSE event id, ``<conversation_id>:<seq>``."""
        return f"{self.conversation_id}:{self.seq}"


@dataclass(frozen=True)
class Emitted:
    """An event waiting for its number."""

    conversation_id: str
    event: BaseEvent
    at: datetime = field(default_factory=utcnow)


def write(session: Session, emitted: list[Emitted]) -> list[Record]:
    """Number and store ``emitted`` (in order) in the caller's transaction; NotFound for a deleted conversation."""
    numbered: dict[int, Record] = {}
    for conversation_id in sorted({e.conversation_id for e in emitted}):  # one lock order in every process
        own = [(i, e) for i, e in enumerate(emitted) if e.conversation_id == conversation_id]
        last = session.scalar(update(Conversation).where(Conversation.id == conversation_id)
                              .values(last_event_seq=Conversation.last_event_seq + len(own))
                              .returning(Conversation.last_event_seq))
        if last is None:
            raise NotFound(f"conversation {conversation_id} does not exist")
        for n, (i, e) in enumerate(own, start=last - len(own) + 1):
            numbered[i] = Record(conversation_id, n, e.event, e.at)
            session.add(_row(numbered[i]))
        if session.get_bind().dialect.name == "postgresql":
            session.execute(select(func.pg_notify(CHANNEL, f"{conversation_id}:{last}")))
    session.flush()
    return [numbered[i] for i in range(len(emitted))]


def announce_deleted(session: Session, conversation_id: str) -> None:
    """Tell every listening process that the conversation is gone (PostgreSQL), when the transaction commits."""
    session.execute(select(func.pg_notify(CHANNEL, f"{conversation_id}:{DELETED}")))


def read(session: Session, conversation_id: str, *, after: int) -> list[Record]:
    """The stored events of a conversation numbered above ``after``, in order."""
    rows = session.scalars(select(ConversationEvent)
                           .where(ConversationEvent.conversation_id == conversation_id, ConversationEvent.seq > after)
                           .order_by(ConversationEvent.seq)).all()
    return [Record(conversation_id, row.seq, EVENT_ADAPTER.validate_python(row.data), row.created_at) for row in rows]


def last_seq(session: Session, conversation_id: str) -> int:
    """The number of the conversation's newest event (0 when it has none or does not exist)."""
    return session.scalar(select(Conversation.last_event_seq).where(Conversation.id == conversation_id)) or 0


def delete_events(session: Session, conversation_id: str) -> None:
    """Delete a conversation's stored events inside the caller's transaction."""
    session.execute(delete(ConversationEvent).where(ConversationEvent.conversation_id == conversation_id))


def _row(record: Record) -> ConversationEvent:
    body: dict[str, Any] = record.event.model_dump(mode="json")
    return ConversationEvent(conversation_id=record.conversation_id, seq=record.seq, type=body["type"], data=body,
                             created_at=record.at)
