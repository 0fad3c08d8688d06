"""The turn queue shared by every server process on one PostgreSQL store: ``slots`` turns at once for the whole
deployment (the processes share one model server), waiting turns served round-robin between keys whichever
process they came to, and a place held by a process that dies freed when its lease runs out.

Slots and waiting places are leases (:mod:`api.leases`); admissions are decided one at a time under an advisory
lock, in worker threads off the event loop. Each process polls for its own waiting turns (at once when one of its
turns ends, else every :data:`POLL_SECONDS`): a waiting turn gets a slot when it is among the first in line for the
free ones.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from api.leases import NOW, Leases, acquire_in_worker_thread, in_worker_thread
from api.turn_queue import QueueFull, Ticket, TurnQueue
from core.metrics import QUEUE_RUNNING, QUEUE_WAITING

log = logging.getLogger(__name__)

POLL_SECONDS = 0.2
"""How often a process looks whether one of its waiting turns got a slot freed by another process."""

_PROMOTE = text(f"""
    WITH turns AS (SELECT id, key, waiting, added_at, started_at, expires_at > {NOW} AS live
                   FROM admission_leases WHERE kind = 'turn'),
    keys AS (SELECT key, greatest(max(started_at), min(added_at) FILTER (WHERE waiting AND live)) AS since
             FROM turns GROUP BY key),
    line AS (SELECT id, row_number() OVER (PARTITION BY key ORDER BY id) AS round, since
             FROM turns JOIN keys USING (key) WHERE waiting AND live),
    served AS (SELECT id FROM line ORDER BY round, since, id
               LIMIT greatest(0, :slots - (SELECT count(*) FROM turns WHERE live AND NOT waiting)))
    UPDATE admission_leases AS lease
    SET waiting = lease.id NOT IN (SELECT id FROM served), expires_at = {NOW} + :seconds,
        started_at = CASE WHEN lease.id IN (SELECT id FROM served) THEN {NOW} END
    WHERE lease.id = ANY(CAST(:mine AS integer[])) AND lease.expires_at > {NOW}
    RETURNING lease.id, lease.waiting""")
"""Give the free slots to the first in line if they are ``mine``, renew my waiting places and say where each is.
The line: every key's oldest turn, then every key's second...; within a round, keys by when they were last
served or, if later, began waiting (round-robin, as in :class:`TurnQueue`)."""


class SharedTurnQueue(TurnQueue):
    """A :class:`TurnQueue` whose slots and waiting places are leases every process on the database counts."""

    def __init__(self, leases: Leases, *, slots: int, max_waiting: int, poll_seconds: float = POLL_SECONDS) -> None:
        super().__init__(slots=slots, max_waiting=max_waiting)
        self._leases = leases
        self._poll_seconds = poll_seconds
        self._places: dict[Ticket, int] = {}
        """Every ticket of this process with its lease."""
        self._waiters: dict[int, Ticket] = {}
        """This process's waiting tickets by lease."""
        self._wake = asyncio.Event()
        self._poller: asyncio.Task[None] | None = None

    @property
    def waiting(self) -> int:
        """Turns of this process waiting for a slot."""
        return len(self._waiters)

    async def reserve(self, key: str) -> Ticket:
        """A free slot now or a place in the deployment's queue for ``key``; :class:`QueueFull` when neither."""
        lease, now = await acquire_in_worker_thread(lambda: self._add(key), lambda added: self._leases.end(added[0]))
        if now:
            ticket = Ticket(self, None)
            QUEUE_RUNNING.inc()
        else:
            ticket = Ticket(self, asyncio.get_running_loop().create_future())
            self._waiters[lease] = ticket
            QUEUE_WAITING.inc()
            if self._poller is None or self._poller.done():
                self._poller = asyncio.create_task(self._poll())
        self._places[ticket] = lease
        return ticket

    def _add(self, key: str) -> tuple[int, bool]:
        """A new lease for ``key`` and whether it holds a slot now (else it waits); :class:`QueueFull` when the
        line is full."""
        with self._leases.deciding("turn_queue") as connection:
            holding, waiting = self._leases.count(connection, "turn")
            now = holding < self._slots and not waiting
            if not now and waiting >= self._max_waiting:
                raise QueueFull(self.retry_after(waiting))
            return self._leases.add(connection, "turn", key, waiting=not now), now

    def _release(self, ticket: Ticket, held_for: float | None) -> None:
        self._timed(held_for)
        lease = self._places.pop(ticket, None)
        if lease is not None:
            QUEUE_RUNNING.dec()
            in_worker_thread(self._leases.end, lease).add_done_callback(lambda _: self._wake.set())

    def _withdraw(self, ticket: Ticket) -> None:
        lease = self._places.pop(ticket, None)
        if lease is not None and self._waiters.pop(lease, None) is not None:
            in_worker_thread(self._leases.end, lease)
            QUEUE_WAITING.dec()

    async def _poll(self) -> None:
        """While turns of this process wait: hand them the slots that are theirs, renewing their places."""
        while self._waiters:
            mine = list(self._waiters)
            try:
                self._settle_waiters(mine, await asyncio.to_thread(self._promote, mine))
            except SQLAlchemyError:
                log.warning("could not check the turn queue; trying again", exc_info=True)
            self._wake.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self._poll_seconds)

    def _promote(self, mine: list[int]) -> dict[int, bool]:
        with self._leases.deciding("turn_queue") as connection:
            rows = connection.execute(_PROMOTE, {"slots": self._slots, "mine": mine,
                                                 "seconds": self._leases.seconds})
            return {lease: waiting for lease, waiting in rows}

    def _settle_waiters(self, mine: list[int], places: dict[int, bool]) -> None:
        """Start the waiting tickets of ``mine`` that got a slot; fail those whose place is gone (this process
        stalled past its lease and another swept it out)."""
        for lease in mine:
            ticket = self._waiters.get(lease)
            if ticket is None or places.get(lease) is True:  # withdrawn meanwhile, or still waiting
                continue
            del self._waiters[lease]
            QUEUE_WAITING.dec()
            future = ticket._future
            assert future is not None
            if lease in places:
                QUEUE_RUNNING.inc()
                future.set_result(None)
            else:
                del self._places[ticket]
                future.set_exception(QueueFull(self.retry_after()))

    async def close(self) -> None:
        """Stop polling (server shutdown; the leases end with the process's)."""
        if self._poller is not None:
            self._poller.cancel()
            await asyncio.gather(self._poller, return_exceptions=True)
