"""Chat turns run in the background, apart from the request that asked for them.

A turn's events go into the conversation's event log (:mod:`api.hub`); the request that started it only
follows that log. A client that disconnects loses nothing: the turn finishes and the client catches up with
``Last-Event-ID``. One turn at a time per conversation, across every server process on the database (a lease,
:mod:`api.turn_leases`); turns wait for the model in a fair queue. A turn whose lease this process lost (it
stalled past it, and another process ended the turn) is stopped without a word more.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import HTTPException

from agent.events import CustomerMessage, Done, ErrorEvent, TextDelta
from agent.service import TURN_FAILED, SupportAgent
from api.hub import ConversationHub, Record
from api.turn_leases import INTERRUPTED, TurnLeases
from api.turn_queue import QueueFull, Ticket, TurnQueue
from core.errors import NotFound
from core.metrics import FIRST_TEXT

__all__ = ["INTERRUPTED", "Turns"]

log = logging.getLogger(__name__)

BUSY = "a reply is still in progress in this conversation; wait for its `done` event"


class Turns:
    """Starts turns, keeps one per conversation, and feeds their events to the hub."""

    def __init__(self, agent: SupportAgent, hub: ConversationHub, queue: TurnQueue, *, lease_seconds: float) -> None:
        self.agent = agent
        self.hub = hub
        self.queue = queue
        self.leases = TurnLeases(agent.deps.store, seconds=lease_seconds)
        self._running: dict[str, asyncio.Task[None] | None] = {}
        self._lost: set[str] = set()
        """Conversations whose turn is being stopped because this process lost its lease."""
        self._keeper: asyncio.Task[None] | None = None

    def start_keeping_leases(self) -> None:
        """Renew this process's turn leases every third of their length and end turns whose process died."""
        self._keeper = asyncio.create_task(self._keep_leases(), name="turn-lease-keeper")

    async def _keep_leases(self) -> None:
        while True:
            try:
                await self.keep_leases()
            except Exception:  # the database may be back on the next round; details go to the log
                log.exception("renewing turn leases failed")
            await asyncio.sleep(self.leases.seconds / 3)

    async def keep_leases(self) -> None:
        """One round: renew the leases of this process's turns, end turns whose process died, and stop the turns
        whose lease this process lost."""
        running = dict(self._running)
        renewal = await asyncio.to_thread(self.leases.renew_and_sweep, list(running))
        self.hub.written(renewal.ended)
        for conversation_id in renewal.lost:
            task = running[conversation_id]  # None: claimed, no turn running yet
            if task is not None and self._running.get(conversation_id) is task and conversation_id not in self._lost:
                log.warning("stopping the turn in conversation %s: this process lost its lease", conversation_id)
                self._lost.add(conversation_id)
                task.cancel()

    async def busy(self, conversation_id: str) -> bool:
        """A turn of this conversation is waiting or running, in any process."""
        return conversation_id in self._running or await asyncio.to_thread(self.leases.busy, conversation_id)

    def check_free(self, conversation_id: str) -> None:
        """409 while this process runs a turn of the conversation (``start`` also asks the other processes)."""
        if conversation_id in self._running:
            raise _busy()

    @asynccontextmanager
    async def exclusive(self, conversation_id: str) -> AsyncIterator[None]:
        """Hold the conversation so no turn starts in it during the block (409 if one is in progress)."""
        await self._claim(conversation_id)
        try:
            yield
        finally:
            await self._release(conversation_id)

    async def reserve(self, fairness_key: str) -> Ticket:
        """A place in the queue for the model, or 503 with ``Retry-After`` (checked before anything is stored)."""
        try:
            return await self.queue.reserve(fairness_key)
        except QueueFull as exc:
            raise HTTPException(503, f"the assistant is busy: try again in {exc.retry_after} s",
                                headers={"Retry-After": str(exc.retry_after)}) from exc

    async def start(self, conversation_id: str, customer_id: str | None, text: str, *, ticket: Ticket,
                    client_address: str | None = None) -> Record:
        """Record the customer's message and run the turn when ``ticket`` gets a slot; returns the message's record.

        The caller cancels ``ticket`` if this raises.
        """
        received = time.perf_counter()
        await self._claim(conversation_id)
        try:
            record = await self.hub.append(conversation_id, CustomerMessage(text=await self.agent.mask_secrets(text)))
        except BaseException:
            await self._release(conversation_id)
            raise
        self._running[conversation_id] = asyncio.create_task(
            self._run(conversation_id, customer_id, text, ticket, client_address, received))
        return record

    async def _claim(self, conversation_id: str) -> None:
        self.check_free(conversation_id)
        self._running[conversation_id] = None  # claimed here before the first await: a second message gets 409
        try:
            ended = await asyncio.to_thread(self.leases.claim, conversation_id)
        except BaseException:
            del self._running[conversation_id]
            raise
        if ended is None:
            del self._running[conversation_id]
            raise _busy()
        self.hub.written(ended)  # the turn of a process that died, ended now

    async def _release(self, conversation_id: str) -> None:
        try:
            await asyncio.to_thread(self.leases.release, conversation_id)
        finally:
            self._running.pop(conversation_id, None)

    async def _run(self, conversation_id: str, customer_id: str | None, text: str, ticket: Ticket,
                   client_address: str | None, received: float) -> None:
        """Run the turn; the time from ``received`` to its first text is ``support_first_text_seconds``."""
        first_text = True
        stored: list[asyncio.Future[Record]] = []
        try:
            async with ticket:
                async for event in self.agent.turn(conversation_id, customer_id, text, client_address=client_address):
                    if first_text and isinstance(event, TextDelta):
                        FIRST_TEXT.observe(time.perf_counter() - received)
                        first_text = False
                    if not isinstance(event, Done):  # written with the lease's release, below
                        stored.append(self.hub.submit(conversation_id, event))  # the turn never waits for a commit
        except asyncio.CancelledError:  # server shutdown: the stream still ends, and says so
            if conversation_id not in self._lost:  # else the process that took the lease said so
                stored.append(self.hub.submit(conversation_id, ErrorEvent(message=INTERRUPTED)))
            raise
        except Exception:  # the stream must still end; details go to the log
            log.exception("turn in conversation %s failed outside the agent", conversation_id)
            stored.append(self.hub.submit(conversation_id, ErrorEvent(message=TURN_FAILED)))
        finally:
            await self._finish(conversation_id, stored)

    async def _finish(self, conversation_id: str, stored: list[asyncio.Future[Record]]) -> None:
        """Once the turn's events are stored: ``done`` and the release of the conversation, at once for every
        process. This process forgets the turn first: a client that sees ``done`` may send its next message here
        at once (until ``done`` is stored, the lease keeps the conversation)."""
        try:
            failed = [r for r in await asyncio.gather(*stored, return_exceptions=True) if isinstance(r, BaseException)]
            if failed and not isinstance(failed[0], NotFound):
                log.error("%d event(s) of the turn in conversation %s were not stored: %s", len(failed),
                          conversation_id, type(failed[0]).__name__)
        finally:
            self._running.pop(conversation_id, None)
            self._lost.discard(conversation_id)
        done: list[Record] = []
        try:
            done = await asyncio.to_thread(self.leases.finish, conversation_id)
        except NotFound:  # deleted during the turn: its lease went with it
            pass
        except Exception:  # its lease is no longer renewed: a sweep ends the turn once it expires
            log.exception("ending the turn in conversation %s failed", conversation_id)
        self.hub.written(done)

    async def close(self) -> None:
        """Cancel turns still waiting or running, and stop keeping leases (server shutdown)."""
        tasks = [task for task in self._running.values() if task is not None]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        if self._keeper is not None:
            self._keeper.cancel()
            await asyncio.gather(self._keeper, return_exceptions=True)


def _busy() -> HTTPException:
    return HTTPException(409, BUSY, headers={"Retry-After": "1"})
