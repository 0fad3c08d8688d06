"""The conversation event log: every event is numbered, stored and pushed to live subscribers.

``append`` numbers an event within its conversation and hands it at once to everyone following that
conversation; a background task then writes it to the store in order. ``follow`` replays what a client
missed (from the store and from events not yet written) and continues live, so a client that reconnects with
the last id it saw gets every later event exactly once. One server process owns a database's event numbers
(the pub/sub is in-process).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from agent.events import EVENT_ADAPTER, BaseEvent, Done
from tools.store import Store
from tools.store.models import ConversationEvent, utcnow

log = logging.getLogger(__name__)

MAX_IDLE_STREAMS = 2000
"""Conversations kept in memory with nobody following them; older idle ones reload from the store."""


@dataclass(frozen=True)
class Record:
    """One numbered event of a conversation."""

    conversation_id: str
    seq: int
    event: BaseEvent
    at: datetime = field(default_factory=utcnow)
    """When the event was emitted (stored as its time, whenever the batch holding it is written)."""

    @property
    def id(self) -> str:
        """The SSE event id, ``<conversation_id>:<seq>``."""
        return f"{self.conversation_id}:{self.seq}"


@dataclass
class _Stream:
    last_seq: int
    unsaved: list[Record] = field(default_factory=list)
    listeners: set[asyncio.Queue[Record | None]] = field(default_factory=set)

    @property
    def idle(self) -> bool:
        return not self.unsaved and not self.listeners


class ConversationHub:
    """In-process pub/sub over the stored event log of every conversation."""

    def __init__(self, store: Store) -> None:
        self._store = store
        self._streams: dict[str, _Stream] = {}
        self._opening = asyncio.Lock()
        self._to_save: asyncio.Queue[Record] = asyncio.Queue()
        self._saver: asyncio.Task[None] | None = None
        self._written = asyncio.Condition()

    # --- writing ---------------------------------------------------------------------------
    def start_new(self, conversation_id: str) -> None:
        """Register a conversation that was just created (it has no events yet)."""
        self._streams.setdefault(conversation_id, _Stream(last_seq=0))

    async def append(self, conversation_id: str, event: BaseEvent) -> Record:
        """Number ``event``, deliver it to the conversation's followers and queue it for the store."""
        stream = await self._open(conversation_id)
        stream.last_seq += 1
        record = Record(conversation_id, stream.last_seq, event)
        stream.unsaved.append(record)
        for listener in stream.listeners:
            listener.put_nowait(record)
        self._to_save.put_nowait(record)
        if self._saver is None:
            self._saver = asyncio.create_task(self._save_forever(), name="conversation-event-saver")
        return record

    async def forget(self, conversation_id: str) -> None:
        """End every follower of the conversation and drop it from memory (before deleting its rows)."""
        await self._to_save.join()
        stream = self._streams.pop(conversation_id, None)
        for listener in stream.listeners if stream else ():
            listener.put_nowait(None)

    async def close(self) -> None:
        """Write what is still queued, end every follower and stop the writer."""
        if self._saver is not None:
            try:
                await asyncio.wait_for(self._to_save.join(), timeout=10)
            except TimeoutError:
                log.error("%d conversation event(s) were not stored before shutdown", self._to_save.qsize())
            self._saver.cancel()
        for stream in self._streams.values():
            for listener in stream.listeners:
                listener.put_nowait(None)

    # --- reading ---------------------------------------------------------------------------
    async def last_seq(self, conversation_id: str) -> int:
        """The number of the conversation's newest event (0 when it has none)."""
        return (await self._open(conversation_id)).last_seq

    async def stored(self, record: Record) -> None:
        """Wait until ``record`` (and so every earlier event of its conversation) is in the store."""
        stream = self._streams.get(record.conversation_id)
        async with self._written:
            while stream is not None and stream.unsaved and stream.unsaved[0].seq <= record.seq:
                await self._written.wait()

    async def follow(self, conversation_id: str, *, after: int, until_done: bool = False) -> AsyncIterator[Record]:
        """Events numbered above ``after``, then live ones.

        With ``until_done`` the first ``done`` ends it, once the turn it closes is in the store.
        """
        stream = await self._open(conversation_id)
        inbox: asyncio.Queue[Record | None] = asyncio.Queue()
        stream.listeners.add(inbox)
        backlog = list(stream.unsaved)  # taken together with subscribing: nothing falls between the two
        try:
            last = after
            async for record in self._replay_then_live(conversation_id, after, backlog, inbox):
                if record.seq <= last:
                    continue
                last = record.seq
                closes = until_done and isinstance(record.event, Done)
                if closes:
                    await self.stored(record)
                yield record
                if closes:
                    return
        finally:
            stream.listeners.discard(inbox)

    async def _replay_then_live(
        self, conversation_id: str, after: int, backlog: list[Record], inbox: asyncio.Queue[Record | None]
    ) -> AsyncIterator[Record]:
        for record in await self._missed(conversation_id, after, backlog):
            yield record
        while (record := await inbox.get()) is not None:
            yield record

    async def _missed(self, conversation_id: str, after: int, backlog: list[Record]) -> list[Record]:
        """Stored events above ``after`` merged with the not-yet-stored ``backlog``, in order."""
        if backlog and backlog[0].seq <= after + 1:
            return backlog  # everything missed is still in memory
        stored = await asyncio.to_thread(self._read, conversation_id, after)
        return sorted({r.seq: r for r in [*stored, *backlog]}.values(), key=lambda r: r.seq)

    # --- the store -------------------------------------------------------------------------
    async def _open(self, conversation_id: str) -> _Stream:
        stream = self._streams.get(conversation_id)
        if stream is not None:
            return stream
        async with self._opening:
            stream = self._streams.get(conversation_id)
            if stream is None:
                last = await asyncio.to_thread(self._stored_last_seq, conversation_id)
                stream = self._streams[conversation_id] = _Stream(last_seq=last)
            return stream

    def _stored_last_seq(self, conversation_id: str) -> int:
        with self._store.session() as session:
            return session.scalar(select(func.max(ConversationEvent.seq))
                                  .where(ConversationEvent.conversation_id == conversation_id)) or 0

    def _read(self, conversation_id: str, after: int) -> list[Record]:
        with self._store.session() as session:
            rows = session.scalars(
                select(ConversationEvent)
                .where(ConversationEvent.conversation_id == conversation_id, ConversationEvent.seq > after)
                .order_by(ConversationEvent.seq)
            ).all()
        return [Record(conversation_id, row.seq, EVENT_ADAPTER.validate_python(row.data), row.created_at)
                for row in rows]

    async def _save_forever(self) -> None:
        while True:
            batch = [await self._to_save.get()]
            while not self._to_save.empty():
                batch.append(self._to_save.get_nowait())
            try:
                await asyncio.to_thread(self._write, batch)
            except Exception:  # the writer must outlive any one failure; details go to the log
                log.exception("storing %d conversation event(s) failed", len(batch))
            finally:
                for record in batch:
                    self._saved(record)
                    self._to_save.task_done()
                async with self._written:
                    self._written.notify_all()
            self._prune()

    def _write(self, batch: list[Record]) -> None:
        rows = [_row(record) for record in batch]
        try:
            with self._store.session(write=True) as session:
                session.add_all(rows)
        except SQLAlchemyError:  # e.g. one conversation was deleted meanwhile: keep the others
            for record in batch:
                try:
                    with self._store.session(write=True) as session:
                        session.add(_row(record))
                except SQLAlchemyError as exc:
                    log.warning("event %s not stored: %s", record.id, type(exc).__name__)

    def _saved(self, record: Record) -> None:
        stream = self._streams.get(record.conversation_id)
        if stream and stream.unsaved and stream.unsaved[0].seq == record.seq:
            stream.unsaved.pop(0)

    def _prune(self) -> None:
        idle = [cid for cid, stream in self._streams.items() if stream.idle]
        for conversation_id in idle[: max(0, len(idle) - MAX_IDLE_STREAMS)]:
            del self._streams[conversation_id]


def _row(record: Record) -> ConversationEvent:
    body: dict[str, Any] = record.event.model_dump(mode="json")
    return ConversationEvent(conversation_id=record.conversation_id, seq=record.seq, type=body["type"], data=body,
                             created_at=record.at)


def delete_events(session: Session, conversation_id: str) -> None:
    """Delete a conversation's stored events inside the caller's transaction."""
    session.execute(delete(ConversationEvent).where(ConversationEvent.conversation_id == conversation_id))
