"""New events of other server processes, heard through PostgreSQL ``LISTEN`` on a connection of its own.

A notification carries only ``<conversation_id>:<seq>``: the hub reads the rows it has not delivered yet from the
table, so a lost or merged notification loses nothing. When the connection drops it reconnects (with a growing
pause) and calls ``on_listening`` each time it listens again, so the hub re-reads every followed conversation.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

import psycopg
from sqlalchemy.engine import URL

from api.event_log import CHANNEL

log = logging.getLogger(__name__)

RETRY_SECONDS = (0.2, 0.5, 1.0, 2.0, 5.0)
"""Pauses between attempts to get the listening connection back (the last one repeats)."""


def libpq_url(url: URL) -> str:
    """The plain ``postgresql://`` form of a SQLAlchemy URL (``postgresql+psycopg://...``), password kept."""
    return url.set(drivername="postgresql").render_as_string(hide_password=False)


class Fanout:
    """Calls ``on_event(conversation_id, seq)`` for each notification until closed."""

    def __init__(self, conninfo: str, *, on_event: Callable[[str, int], None],
                 on_listening: Callable[[], None]) -> None:
        self._conninfo = conninfo
        self._on_event = on_event
        self._on_listening = on_listening
        self._task: asyncio.Task[None] | None = None
        self.listening = asyncio.Event()
        """Set while the listening connection is up (tests wait on it)."""

    def start(self) -> None:
        """Start listening in the background (once; later calls do nothing)."""
        if self._task is None:
            self._task = asyncio.create_task(self._listen_forever(), name="conversation-event-fanout")

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)

    async def _listen_forever(self) -> None:
        failures = 0
        while True:
            try:
                await self._listen()
            except psycopg.Error as exc:
                failures = 0 if self.listening.is_set() else failures + 1
                self.listening.clear()
                pause = RETRY_SECONDS[min(failures, len(RETRY_SECONDS) - 1)]
                log.warning("listening for conversation events failed (%s); again in %.1f s", type(exc).__name__, pause)
                await asyncio.sleep(pause)

    async def _listen(self) -> None:
        async with await psycopg.AsyncConnection.connect(self._conninfo, autocommit=True) as connection:
            await connection.execute(f"LISTEN {CHANNEL}")
            self.listening.set()
            self._on_listening()  # events committed while nobody listened are read from the table
            async for notice in connection.notifies():
                conversation_id, _, seq = notice.payload.rpartition(":")
                if seq.isdigit():
                    self._on_event(conversation_id, int(seq))
