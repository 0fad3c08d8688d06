"""The outcome of every conversation, recorded turn by turn, and the rates a support lead reads from them.

Each turn records how it ended: ``answered`` (a task done, a question answered, a look-up shown), ``waiting``
(the agent asked the customer something) or ``unresolved`` (the agent said it could not help); a handoff is kept
for good with its trigger. The outcome follows, in this order: *handed to a person* if that happened at any
point; otherwise, once the customer has written nothing more for the resolution window, *resolved* after an
answer, *unresolved* after the agent could not help, *abandoned* when the agent was waiting for an answer;
before the window has passed the conversation is *open*. A deleted conversation's row loses its id and keeps
only times and outcome, which identify no one.
"""

from __future__ import annotations

import statistics
from collections import Counter
from datetime import datetime, timedelta
from typing import Literal

from pydantic import BaseModel
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from tools.store import Store
from tools.store.models import ConversationOutcome, TurnRecord

TurnEnding = Literal["answered", "waiting", "unresolved"]
Outcome = Literal["handed_off", "resolved", "unresolved", "abandoned", "open"]
CLOSED: tuple[Outcome, ...] = ("handed_off", "resolved", "unresolved", "abandoned")


class TurnFacts(BaseModel):
    """What one turn did, as the insights count it."""

    at: datetime
    """When the turn began (naive UTC, as the store keeps times)."""
    ending: TurnEnding
    handoff: tuple[str, str] | None = None
    """``(trigger, queue)`` of a handoff the turn made."""
    request: str = "unknown"
    path: str = ""
    first_text_ms: int | None = None
    unanswered: str | None = None
    """The question the agent could not answer (the only customer text kept, and only with the conversation)."""
    rails: list[str] = []
    tools: list[tuple[str, str]] = []


def record_turn(store: Store, conversation_id: str, facts: TurnFacts) -> None:
    """Record a turn and update its conversation's outcome."""
    with store.session(write=True) as session:
        add_turn(session, conversation_id, facts)


def add_turn(session: Session, conversation_id: str, facts: TurnFacts, *, demo: bool = False) -> ConversationOutcome:
    """:func:`record_turn` inside the caller's transaction (``demo``: a turn of the seeded demo history); returns
    the conversation's outcome row."""
    row = session.scalars(select(ConversationOutcome).where(
        ConversationOutcome.conversation_id == conversation_id)).first()
    if row is None:
        row = ConversationOutcome(conversation_id=conversation_id, started_at=facts.at, turns=0, demo=demo)
        session.add(row)
    row.turns += 1
    row.last_customer_at = facts.at
    row.last_turn = facts.ending
    if facts.handoff and row.handed_off_at is None:
        row.handed_off_at, (row.trigger, row.queue) = facts.at, facts.handoff
    session.add(TurnRecord(conversation_id=conversation_id, demo=demo, **facts.model_dump(exclude={"handoff"})))
    return row


def record_rating(session: Session, conversation_id: str, rating: int) -> None:
    """Keep the conversation's rating with its outcome, inside the caller's transaction."""
    session.execute(update(ConversationOutcome).where(ConversationOutcome.conversation_id == conversation_id)
                    .values(rating=rating))


def outcome_of(row: ConversationOutcome, *, now: datetime, window: timedelta) -> Outcome:
    """The conversation's outcome at ``now`` (see the module's docstring)."""
    if row.handed_off_at is not None:
        return "handed_off"
    if now - row.last_customer_at < window:
        return "open"
    return {"answered": "resolved", "unresolved": "unresolved", "waiting": "abandoned"}[row.last_turn]  # type: ignore[return-value]


class OutcomeCounts(BaseModel):
    """Conversations started in a period, by outcome, and the rates over those whose outcome is known."""

    since: datetime
    until: datetime
    conversations: int
    outcomes: dict[Outcome, int]
    handoff_triggers: dict[str, int]
    handoff_queues: dict[str, int]
    ratings: dict[int, int]
    """How many conversations got each rating, 1 to 5."""
    average_rating: float | None
    containment: float | None
    """Share of closed conversations the agent handled without a person (None when none is closed)."""
    resolution: float | None
    """Share of closed conversations that ended resolved."""


def outcome_counts(store: Store, *, since: datetime, until: datetime, now: datetime, window: timedelta,
                   demo: bool = False) -> OutcomeCounts:
    """The outcomes of the conversations started in ``[since, until]`` (the seeded demo history's with
    ``demo``)."""
    with store.session() as session:
        rows = session.scalars(select(ConversationOutcome).where(
            ConversationOutcome.demo.is_(demo), ConversationOutcome.started_at >= since,
            ConversationOutcome.started_at <= until)).all()
    outcomes = Counter(outcome_of(row, now=now, window=window) for row in rows)
    closed = sum(outcomes[o] for o in CLOSED)
    return OutcomeCounts(
        since=since, until=until, conversations=len(rows),
        outcomes={o: outcomes[o] for o in (*CLOSED, "open")},
        handoff_triggers=dict(Counter(row.trigger for row in rows if row.trigger).most_common()),
        handoff_queues=dict(Counter(row.queue for row in rows if row.queue).most_common()),
        ratings={stars: sum(row.rating == stars for row in rows) for stars in range(1, 6)},
        average_rating=statistics.fmean(rated) if (rated := [r.rating for r in rows if r.rating]) else None,
        containment=(closed - outcomes["handed_off"]) / closed if closed else None,
        resolution=outcomes["resolved"] / closed if closed else None,
    )


def unlink_outcome(session: Session, conversation_id: str) -> None:
    """Unlink a deleted conversation from its outcome and turns, inside the caller's transaction: the counts
    stay, its unanswered questions go."""
    session.execute(update(ConversationOutcome).where(ConversationOutcome.conversation_id == conversation_id)
                    .values(conversation_id=None))
    session.execute(update(TurnRecord).where(TurnRecord.conversation_id == conversation_id)
                    .values(conversation_id=None, unanswered=None))
