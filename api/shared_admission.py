"""What every server process on one PostgreSQL store shares to let requests in: the rate limits, the open
streams and the turn queue for the model, with the task that keeps this process's leases alive. Their statements
run in worker threads, off the event loop. SQLite serves one process, which keeps them in memory
(:mod:`api.limits`, :mod:`api.turn_queue`)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from sqlalchemy.exc import SQLAlchemyError

from api.leases import Leases, acquire_in_worker_thread, in_worker_thread
from api.shared_limits import SharedOpenStreams, SharedRateLimiter
from api.shared_queue import SharedTurnQueue
from core.settings import Settings
from tools.store import Store

log = logging.getLogger(__name__)


def shares_processes(store: Store) -> bool:
    """Whether several server processes can serve ``store`` together (PostgreSQL, not SQLite)."""
    return store.engine.dialect.name == "postgresql"


class SharedAdmission:
    """Rate limits, open streams and the turn queue in ``store``; ``start`` renews this process's leases, which
    outlive the process by ``SUPPORT_TURN_LEASE_SECONDS`` if it dies."""

    def __init__(self, store: Store, settings: Settings) -> None:
        self.leases = Leases(store.engine, seconds=settings.turn_lease_seconds)
        self.limiter = SharedRateLimiter(store.engine)
        self.streams = SharedOpenStreams(self.leases)
        self.queue = SharedTurnQueue(self.leases, slots=settings.max_concurrent_turns,
                                     max_waiting=settings.max_queued_turns)
        self._keeper: asyncio.Task[None] | None = None

    async def take(self, limits: list[tuple[str, int]]) -> float:
        """:meth:`SharedRateLimiter.take`: one token from every bucket of ``limits`` or none; 0, or the seconds
        to wait."""
        return await asyncio.to_thread(self.limiter.take, limits)

    async def hold_stream(self, key: str, cap: int) -> Callable[[], None] | None:
        """:meth:`SharedOpenStreams.hold`: one more open stream for ``key`` and what ends it (without waiting for
        the database), or None at ``cap``."""
        release = await acquire_in_worker_thread(lambda: self.streams.hold(key, cap), lambda held: held and held())
        if release is None:
            return None

        def release_soon() -> None:
            in_worker_thread(release)

        return release_soon

    def start(self) -> None:
        """Renew this process's leases every third of their length (and sweep out expired ones) until closed."""
        self._keeper = asyncio.create_task(self._keep())

    async def _keep(self) -> None:
        while True:
            await asyncio.sleep(self.leases.seconds / 3)
            try:
                await asyncio.to_thread(self.leases.renew)
            except SQLAlchemyError:
                log.warning("could not renew this process's leases; trying again", exc_info=True)

    async def close(self) -> None:
        """Stop renewing and give back every place this process holds (server shutdown)."""
        if self._keeper is not None:
            self._keeper.cancel()
            await asyncio.gather(self._keeper, return_exceptions=True)
        await self.queue.close()
        try:
            await asyncio.to_thread(self.leases.end_all)
        except SQLAlchemyError:
            log.warning("could not give back this process's leases: they expire by themselves", exc_info=True)
