"""Chat turns run in the background, apart from the request that asked for them.

A turn's events go into the conversation's event log (:mod:`api.hub`); the request that started it only
follows that log. A client that disconnects loses nothing: the turn finishes and the client catches up with
``Last-Event-ID``. One turn at a time per conversation; turns wait for the model in a fair queue.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Iterator
from contextlib import contextmanager

from fastapi import HTTPException

from agent.events import CustomerMessage, Done, ErrorEvent, TextDelta
from agent.service import TURN_FAILED, SupportAgent
from api.hub import ConversationHub, Record
from api.turn_queue import QueueFull, Ticket, TurnQueue
from core.metrics import FIRST_TEXT

log = logging.getLogger(__name__)

INTERRUPTED = "Sorry, the service restarted while I was answering. Please send your message again."


class Turns:
    """Starts turns, keeps one per conversation, and feeds their events to the hub."""

    def __init__(self, agent: SupportAgent, hub: ConversationHub, queue: TurnQueue) -> None:
        self.agent = agent
        self.hub = hub
        self.queue = queue
        self._running: dict[str, asyncio.Task[None] | None] = {}

    def busy(self, conversation_id: str) -> bool:
        """A turn of this conversation is waiting or running."""
        return conversation_id in self._running

    def check_free(self, conversation_id: str) -> None:
        """409 while the conversation has a turn in progress."""
        if self.busy(conversation_id):
            raise HTTPException(409, "a reply is still in progress in this conversation; wait for its `done` event",
                                headers={"Retry-After": "1"})

    @contextmanager
    def exclusive(self, conversation_id: str) -> Iterator[None]:
        """Hold the conversation so no turn starts in it during the block (409 if one is in progress)."""
        self.check_free(conversation_id)
        self._running[conversation_id] = None
        try:
            yield
        finally:
            self._running.pop(conversation_id, None)

    def reserve(self, fairness_key: str) -> Ticket:
        """A place in the queue for the model, or 503 with ``Retry-After`` (checked before anything is stored)."""
        try:
            return self.queue.reserve(fairness_key)
        except QueueFull as exc:
            raise HTTPException(503, f"the assistant is busy: try again in {exc.retry_after} s",
                                headers={"Retry-After": str(exc.retry_after)}) from exc

    async def start(self, conversation_id: str, customer_id: str | None, text: str, *, ticket: Ticket,
                    client_address: str | None = None) -> Record:
        """Record the customer's message and run the turn when ``ticket`` gets a slot; returns the message's record.

        The caller cancels ``ticket`` if this raises.
        """
        received = time.perf_counter()
        self.check_free(conversation_id)
        self._running[conversation_id] = None  # claimed before the first await: a second message gets 409
        try:
            record = await self.hub.append(conversation_id, CustomerMessage(text=await self.agent.mask_secrets(text)))
        except BaseException:
            del self._running[conversation_id]
            raise
        self._running[conversation_id] = asyncio.create_task(
            self._run(conversation_id, customer_id, text, ticket, client_address, received))
        return record

    async def _run(self, conversation_id: str, customer_id: str | None, text: str, ticket: Ticket,
                   client_address: str | None, received: float) -> None:
        """Run the turn; the time from ``received`` to its first text is ``support_first_text_seconds``."""
        first_text = True
        try:
            async with ticket:
                async for event in self.agent.turn(conversation_id, customer_id, text, client_address=client_address):
                    if first_text and isinstance(event, TextDelta):
                        FIRST_TEXT.observe(time.perf_counter() - received)
                        first_text = False
                    await self.hub.append(conversation_id, event)
        except asyncio.CancelledError:  # server shutdown: the stream still ends, and says so
            await self._end(conversation_id, INTERRUPTED)
            raise
        except Exception:  # the stream must still end; details go to the log
            log.exception("turn in conversation %s failed outside the agent", conversation_id)
            await self._end(conversation_id, TURN_FAILED)
        finally:
            self._running.pop(conversation_id, None)

    async def _end(self, conversation_id: str, message: str) -> None:
        await self.hub.append(conversation_id, ErrorEvent(message=message))
        await self.hub.append(conversation_id, Done())

    async def close(self) -> None:
        """Cancel turns still waiting or running (server shutdown)."""
        tasks = [task for task in self._running.values() if task is not None]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
