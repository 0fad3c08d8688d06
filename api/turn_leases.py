"""One turn at a time per conversation, across every server process on the database: a lease row per turn.

The process running a turn holds its conversation's ``turn_leases`` row and pushes ``expires_at`` forward while it
runs. A process that dies stops renewing; once the lease has expired, the next claim of that conversation or any
process's periodic sweep removes it and, in the same transaction, ends the dead turn with an error and ``done``
(so exactly one process writes them). A process that was only stalled past its lease learns at its next renewal
that the lease is gone, and stops the turn without writing anything more. Times are the database's clock, which
every process shares.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import ColumnElement, delete, literal_column, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from agent.events import Done, ErrorEvent
from api import event_log
from api.event_log import Emitted, Record
from api.leases import CLOCK, process_name
from tools.store import Store
from tools.store.models import TurnLease

INTERRUPTED = "Sorry, the service restarted while I was answering. Please send your message again."
"""What the customer reads when the process answering them stopped mid-turn."""

_INSERT = {"postgresql": postgresql.insert, "sqlite": sqlite.insert}


@dataclass(frozen=True)
class Renewal:
    """What one renewal of this process's turn leases found."""

    ended: list[Record]
    """The error and ``done`` of every expired turn it ended (any process's), stored."""
    lost: list[str]
    """Conversations of the running ones this process no longer holds: it stalled past their lease and another
    process ended their turn."""


class TurnLeases:
    """The ``turn_leases`` rows of one server process (``holder``)."""

    def __init__(self, store: Store, *, seconds: float) -> None:
        self._store = store
        self.seconds = seconds
        self.holder = process_name()
        self._dialect = store.engine.dialect.name

    def claim(self, conversation_id: str) -> list[Record] | None:
        """Hold the conversation for a turn: None while a live turn holds it; otherwise the records ending the turn
        of a holder that died (none, usually), already stored."""
        with self._store.session(write=True) as session:
            dead = session.scalar(delete(TurnLease).where(TurnLease.conversation_id == conversation_id,
                                                          TurnLease.expires_at < self._now())
                                  .returning(TurnLease.holder))
            held = session.scalar(_INSERT[self._dialect](TurnLease)
                                  .values(conversation_id=conversation_id, holder=self.holder,
                                          expires_at=self._now() + self.seconds)
                                  .on_conflict_do_nothing().returning(TurnLease.conversation_id))
            if held is None:
                return None
            return _end_dead_turns(session, [conversation_id]) if dead else []

    def finish(self, conversation_id: str) -> list[Record]:
        """Store the turn's ``done`` and let the conversation go, in one transaction: a client that sees ``done``
        may send its next message to any process at once. Nothing if this process no longer holds the conversation
        (the process that took the lease away ended the turn)."""
        with self._store.session(write=True) as session:
            held = session.scalar(delete(TurnLease).where(TurnLease.conversation_id == conversation_id,
                                                          TurnLease.holder == self.holder)
                                  .returning(TurnLease.conversation_id))
            return [] if held is None else event_log.write(session, [Emitted(conversation_id, Done())])

    def release(self, conversation_id: str) -> None:
        """Let the conversation go (nothing happens if this process no longer holds it)."""
        with self._store.session(write=True) as session:
            session.execute(delete(TurnLease).where(TurnLease.conversation_id == conversation_id,
                                                    TurnLease.holder == self.holder))

    def busy(self, conversation_id: str) -> bool:
        """A live turn holds the conversation, in any process."""
        with self._store.session() as session:
            return session.scalar(select(TurnLease.holder).where(TurnLease.conversation_id == conversation_id,
                                                                 TurnLease.expires_at >= self._now())) is not None

    def renew_and_sweep(self, running: list[str]) -> Renewal:
        """Extend this process's leases of the ``running`` conversations and end the turns of expired leases (any
        process's)."""
        with self._store.session(write=True) as session:
            kept = session.scalars(update(TurnLease).where(TurnLease.holder == self.holder,
                                                           TurnLease.conversation_id.in_(running))
                                   .values(expires_at=self._now() + self.seconds)
                                   .returning(TurnLease.conversation_id)).all()
            dead = session.scalars(delete(TurnLease).where(TurnLease.expires_at < self._now())
                                   .returning(TurnLease.conversation_id)).all()
            return Renewal(ended=_end_dead_turns(session, list(dead)), lost=sorted(set(running) - set(kept)))

    def _now(self) -> ColumnElement[float]:
        return literal_column(CLOCK[self._dialect])


def _end_dead_turns(session: Session, conversation_ids: list[str]) -> list[Record]:
    return event_log.write(session, [Emitted(c, event) for c in conversation_ids
                                     for event in (ErrorEvent(message=INTERRUPTED), Done())])
