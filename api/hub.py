"""The conversation event log as clients follow it: appended events are numbered and stored by the database,
then pushed to everyone following the conversation, in this process and (on PostgreSQL) in every other one.

``append`` hands its event to a writer task that stores whatever has queued up in one transaction (a group
commit: under load, many token deltas share one commit), then delivers the numbered records at once to this
process's followers; other processes hear of them through :mod:`api.fanout` and read them from the table.
``follow`` replays what a client missed from the table and continues live, so a client that reconnects, to any
process, with the last id it saw gets every later event exactly once and in order.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from agent.events import BaseEvent, Done
from api import event_log
from api.event_log import Emitted, Record, delete_events
from core.errors import NotFound
from tools.store import Store

if TYPE_CHECKING:
    from api.fanout import Fanout

__all__ = ["ConversationHub", "Record", "delete_events"]

log = logging.getLogger(__name__)

MAX_BATCH = 500
"""Events stored in one transaction at most."""


@dataclass
class _Stream:
    """A followed conversation: what was delivered to its followers so far, and who they are."""

    delivered: int
    listeners: set[asyncio.Queue[Record | None]] = field(default_factory=set)
    catching_up: bool = False
    behind_again: bool = False


@dataclass
class _Pending:
    emitted: Emitted
    stored: asyncio.Future[Record]


class ConversationHub:
    """Pub/sub over the stored event log of every conversation."""

    def __init__(self, store: Store) -> None:
        self._store = store
        self._streams: dict[str, _Stream] = {}
        self._to_write: asyncio.Queue[_Pending] = asyncio.Queue()
        self._writer: asyncio.Task[None] | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._fanout: Fanout | None = None
        if store.engine.dialect.name == "postgresql":
            from api.fanout import Fanout, libpq_url  # psycopg comes with the optional ``postgres`` extra

            self._fanout = Fanout(libpq_url(store.engine.url), on_event=self._heard, on_listening=self._reread_all)

    # --- writing ---------------------------------------------------------------------------
    async def append(self, conversation_id: str, event: BaseEvent) -> Record:
        """Number and store ``event``, then deliver it to the conversation's followers; NotFound if it was deleted."""
        return await self.submit(conversation_id, event)

    def submit(self, conversation_id: str, event: BaseEvent) -> asyncio.Future[Record]:
        """``append`` without waiting: events are stored in the order submitted, and a producer that does not wait
        for each commit (a turn streaming deltas) lets the next ones share a commit. Await the result."""
        pending = _Pending(Emitted(conversation_id, event), asyncio.get_running_loop().create_future())
        self._to_write.put_nowait(pending)
        if self._writer is None:
            self._writer = asyncio.create_task(self._write_forever(), name="conversation-event-writer")
        return pending.stored

    def written(self, records: list[Record]) -> None:
        """Deliver ``records`` that someone else in this process stored (e.g. with a turn lease taken over)."""
        for record in records:
            self._deliver(record)

    async def forget(self, conversation_id: str) -> None:
        """End every follower of the deleted conversation, in this process and (PostgreSQL) every other one."""
        self._end_followers(conversation_id)
        if self._fanout is not None:
            await asyncio.to_thread(self._announce_deleted, conversation_id)

    def _announce_deleted(self, conversation_id: str) -> None:
        with self._store.session() as session:
            event_log.announce_deleted(session, conversation_id)

    def _end_followers(self, conversation_id: str) -> None:
        stream = self._streams.pop(conversation_id, None)
        for listener in stream.listeners if stream else ():
            listener.put_nowait(None)

    async def close(self) -> None:
        """Store what is still queued, end every follower and stop the writer and the listener."""
        if self._writer is not None:
            try:
                await asyncio.wait_for(self._to_write.join(), timeout=10)
            except TimeoutError:
                log.error("%d conversation event(s) were not stored before shutdown", self._to_write.qsize())
            self._writer.cancel()
        if self._fanout is not None:
            await self._fanout.close()
        for task in self._tasks:
            task.cancel()
        for stream in self._streams.values():
            for listener in stream.listeners:
                listener.put_nowait(None)

    async def _write_forever(self) -> None:
        while True:
            batch = [await self._to_write.get()]
            while not self._to_write.empty() and len(batch) < MAX_BATCH:
                batch.append(self._to_write.get_nowait())
            try:
                results = await asyncio.to_thread(self._write, [p.emitted for p in batch])
                for pending, result in zip(batch, results, strict=True):
                    if isinstance(result, Record):
                        self._deliver(result)
                        pending.stored.set_result(result)
                    else:
                        pending.stored.set_exception(result)
            except Exception as exc:  # the writer must outlive any failure: each waiting append gets it
                log.exception("storing %d conversation event(s) failed", len(batch))
                for pending in batch:
                    if not pending.stored.done():
                        pending.stored.set_exception(exc)
            finally:
                for _ in batch:
                    self._to_write.task_done()

    def _write(self, batch: list[Emitted]) -> list[Record | Exception]:
        """One transaction for the batch; if it fails (a conversation deleted meanwhile), one per event."""
        try:
            with self._store.session(write=True) as session:
                return list(event_log.write(session, batch))
        except NotFound:
            results: list[Record | Exception] = []
            for emitted in batch:
                try:
                    with self._store.session(write=True) as session:
                        results += event_log.write(session, [emitted])
                except NotFound as exc:
                    results.append(exc)
            return results

    # --- delivering ------------------------------------------------------------------------
    def _deliver(self, record: Record) -> None:
        """Hand ``record`` to this process's followers if it is the next one; fetch the gap first if it is not."""
        stream = self._streams.get(record.conversation_id)
        if stream is None or record.seq <= stream.delivered:
            return
        if record.seq == stream.delivered + 1:
            stream.delivered = record.seq
            for listener in stream.listeners:
                listener.put_nowait(record)
        else:
            self._catch_up(record.conversation_id)

    def _heard(self, conversation_id: str, seq: int) -> None:
        stream = self._streams.get(conversation_id)
        if seq == event_log.DELETED:
            self._end_followers(conversation_id)
        elif stream is not None and seq > stream.delivered:
            self._catch_up(conversation_id)

    def _reread_all(self) -> None:
        for conversation_id in self._streams:
            self._catch_up(conversation_id)

    def _catch_up(self, conversation_id: str) -> None:
        """Read what this process's followers have not been given yet from the table (one reader per stream)."""
        stream = self._streams[conversation_id]
        if stream.catching_up:
            stream.behind_again = True
            return
        stream.catching_up = True
        task = asyncio.create_task(self._read_missing(conversation_id, stream))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _read_missing(self, conversation_id: str, stream: _Stream) -> None:
        try:
            while True:
                stream.behind_again = False
                for record in await asyncio.to_thread(self._read, conversation_id, stream.delivered):
                    self._deliver(record)
                if not stream.behind_again:
                    return
        except Exception:  # the next event or reconnect tries again; details go to the log
            log.exception("reading missed events of conversation %s failed", conversation_id)
        finally:
            stream.catching_up = False

    # --- reading ---------------------------------------------------------------------------
    async def last_seq(self, conversation_id: str) -> int:
        """The number of the conversation's newest stored event (0 when it has none)."""
        return await asyncio.to_thread(self._last_seq, conversation_id)

    async def follow(self, conversation_id: str, *, after: int, until_done: bool = False) -> AsyncIterator[Record]:
        """Events numbered above ``after``, then live ones; with ``until_done`` the first ``done`` ends it."""
        stream = await self._open(conversation_id)
        inbox: asyncio.Queue[Record | None] = asyncio.Queue()
        stream.listeners.add(inbox)  # before reading the table: whatever is committed later arrives live
        try:
            last = after
            async for record in self._replay_then_live(conversation_id, after, inbox):
                if record.seq <= last:
                    continue
                last = record.seq
                yield record
                if until_done and isinstance(record.event, Done):
                    return
        finally:
            stream.listeners.discard(inbox)
            if not stream.listeners and self._streams.get(conversation_id) is stream:
                del self._streams[conversation_id]

    async def _replay_then_live(self, conversation_id: str, after: int,
                                inbox: asyncio.Queue[Record | None]) -> AsyncIterator[Record]:
        for record in await asyncio.to_thread(self._read, conversation_id, after):
            yield record
        while (record := await inbox.get()) is not None:
            yield record

    async def _open(self, conversation_id: str) -> _Stream:
        if self._fanout is not None:
            self._fanout.start()  # once listening it re-reads every followed conversation: nothing falls between
        stream = self._streams.get(conversation_id)
        if stream is None:
            last = await self.last_seq(conversation_id)
            stream = self._streams.setdefault(conversation_id, _Stream(delivered=last))
        return stream

    def _last_seq(self, conversation_id: str) -> int:
        with self._store.session() as session:
            return event_log.last_seq(session, conversation_id)

    def _read(self, conversation_id: str, after: int) -> list[Record]:
        with self._store.session() as session:
            return event_log.read(session, conversation_id, after=after)
