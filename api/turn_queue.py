"""Admission to the model: a bounded number of turns at once, the rest waiting in a bounded, fair queue (their
numbers are the ``support_turns_running`` and ``support_turn_queue_waiting`` gauges).

Waiting turns are served round-robin between customers (or client addresses), so one caller with many
conversations cannot starve the others; when the queue is full the caller is told when to come back.
:class:`TurnQueue` is this process's; on PostgreSQL every process shares one (:mod:`api.shared_queue`).
"""

from __future__ import annotations

import asyncio
import math
import time
from collections import OrderedDict, deque
from types import TracebackType

from core.metrics import QUEUE_RUNNING, QUEUE_WAITING

MAX_RETRY_AFTER = 120


class QueueFull(Exception):
    """Every slot is busy and the queue is full; ``retry_after`` is the estimated wait in seconds."""

    def __init__(self, retry_after: int) -> None:
        super().__init__(f"the assistant is busy: try again in {retry_after} s")
        self.retry_after = retry_after


class TurnQueue:
    """``slots`` turns run at once in this process; up to ``max_waiting`` more wait, served round-robin by key."""

    def __init__(self, *, slots: int, max_waiting: int) -> None:
        self._slots = slots
        self._free = slots
        self._max_waiting = max_waiting
        self._waiting: OrderedDict[str, deque[asyncio.Future[None]]] = OrderedDict()
        self._count = 0
        self._seconds_per_turn = 2.0
        """Moving average of how long a turn holds a slot, for ``Retry-After``."""

    @property
    def waiting(self) -> int:
        return self._count

    async def reserve(self, key: str) -> Ticket:
        """A free slot now or a place in the queue for ``key``; :class:`QueueFull` when there is neither."""
        if self._free > 0 and not self._count:
            self._free -= 1
            QUEUE_RUNNING.inc()
            return Ticket(self, None)
        if self._count >= self._max_waiting:
            raise QueueFull(self.retry_after())
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiting.setdefault(key, deque()).append(future)
        self._count += 1
        QUEUE_WAITING.inc()
        return Ticket(self, future)

    def retry_after(self, waiting: int | None = None) -> int:
        """Seconds until a new turn would likely get a slot, with ``waiting`` turns (default: this queue's) ahead."""
        ahead = self._count if waiting is None else waiting
        estimate = self._seconds_per_turn * (ahead + 1) / self._slots
        return max(1, min(MAX_RETRY_AFTER, math.ceil(estimate)))

    def _timed(self, held_for: float | None) -> None:
        """Count a turn that held its slot ``held_for`` seconds into the estimate behind ``Retry-After``."""
        if held_for is not None:
            self._seconds_per_turn = 0.8 * self._seconds_per_turn + 0.2 * held_for

    def _release(self, _: Ticket, held_for: float | None) -> None:
        self._timed(held_for)
        while self._waiting:
            key, queue = next(iter(self._waiting.items()))
            future = queue.popleft()
            self._count -= 1
            QUEUE_WAITING.dec()
            if queue:
                self._waiting.move_to_end(key)  # the next waiter of another key goes first
            else:
                del self._waiting[key]
            if not future.done():
                future.set_result(None)
                return
        self._free += 1
        QUEUE_RUNNING.dec()

    def _withdraw(self, ticket: Ticket) -> None:
        future = ticket._future
        for key, queue in self._waiting.items():
            if future in queue:
                queue.remove(future)
                self._count -= 1
                QUEUE_WAITING.dec()
                if not queue:
                    del self._waiting[key]
                return


class Ticket:
    """A reserved place: ``async with ticket`` waits for the slot and holds it for the block."""

    def __init__(self, queue: TurnQueue, future: asyncio.Future[None] | None) -> None:
        self._queue = queue
        self._future = future
        self._started: float | None = None
        self._settled = False

    async def __aenter__(self) -> Ticket:
        if self._future is not None:
            try:
                await self._future
            except asyncio.CancelledError:
                self.cancel()
                raise
        self._started = time.monotonic()
        return self

    async def __aexit__(self, *_: type[BaseException] | BaseException | TracebackType | None) -> None:
        self._settle(time.monotonic() - self._started if self._started is not None else None)

    def cancel(self) -> None:
        """Give the place back without running (safe to call more than once)."""
        if self._future is not None and (not self._future.done() or self._future.cancelled()):
            self._future.cancel()  # cancelled with the task awaiting it: the place never became a slot
            self._queue._withdraw(self)
            self._settled = True
            return
        self._settle(None)

    def _settle(self, held_for: float | None) -> None:
        if not self._settled:
            self._settled = True
            self._queue._release(self, held_for)
