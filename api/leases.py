"""Leases: places a server process holds in the PostgreSQL store for as long as it keeps renewing them (a turn's
slot for the model or its place in the queue, an open event stream). A process that dies stops renewing, so its
places free themselves once their lease runs out; counts only ever look at leases still running.

The statements block: from the event loop they run in worker threads (:func:`acquire_in_worker_thread`,
:func:`in_worker_thread`).
"""

from __future__ import annotations

import asyncio
import logging
import os
import secrets
import socket
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Literal, TypeVar

from sqlalchemy import Connection, Engine, text

log = logging.getLogger(__name__)
T = TypeVar("T")

LEASE_SECONDS = 15.0
"""How long a place outlives the last renewal of the process holding it, by default (the server's is
``SUPPORT_TURN_LEASE_SECONDS``); renewed every third of that."""
HISTORY_SECONDS = 120.0
"""How long an ended lease is kept: the turn queue's memory of when it last served each key."""
CLOCK = {"postgresql": "extract(epoch FROM clock_timestamp())",
         "sqlite": "((julianday('now') - 2440587.5) * 86400.0)"}
"""The database's clock in seconds, per dialect: the one clock every process on the database agrees on."""
NOW = f"CAST({CLOCK['postgresql']} AS float8)"
"""PostgreSQL's clock, for the statements that only run there."""

Kind = Literal["turn", "stream"]
Decision = Literal["turn_queue", "stream"]
LOCKS: dict[Decision, int] = {"turn_queue": 1, "stream": 2}
"""First half of the advisory-lock key of each kind of decision (the second half names what is decided on)."""

_ADD = text(f"""
    INSERT INTO admission_leases (kind, key, owner, waiting, added_at, started_at, expires_at)
    VALUES (:kind, :key, :owner, :waiting, {NOW}, CASE WHEN :waiting THEN NULL ELSE {NOW} END, {NOW} + :seconds)
    RETURNING id""")
_COUNT = text(f"""
    SELECT count(*) FILTER (WHERE NOT waiting), count(*) FILTER (WHERE waiting) FROM admission_leases
    WHERE kind = :kind AND (CAST(:key AS text) IS NULL OR key = :key) AND expires_at > {NOW}""")
_RENEW = text(f"""
    UPDATE admission_leases SET expires_at = {NOW} + :seconds WHERE owner = :owner AND expires_at > {NOW}""")
_END = text(f"UPDATE admission_leases SET expires_at = {NOW} WHERE id = :id AND expires_at > {NOW}")
_END_ALL = text(f"UPDATE admission_leases SET expires_at = {NOW} WHERE owner = :owner AND expires_at > {NOW}")
_SWEEP_LEASES = text(f"DELETE FROM admission_leases WHERE expires_at < {NOW} - {HISTORY_SECONDS}")
_SWEEP_BUCKETS = text(f"DELETE FROM rate_buckets WHERE tokens + ({NOW} - counted_at) * per_minute / 60.0 >= per_minute")


def process_name() -> str:
    """This process among every server process on the database: host, pid and a random part (pids are reused)."""
    return f"{socket.gethostname()[:80]}:{os.getpid()}:{secrets.token_hex(4)}"


class Leases:
    """The ``admission_leases`` table as one server process uses it."""

    def __init__(self, engine: Engine, *, seconds: float = LEASE_SECONDS) -> None:
        self.engine = engine
        self.seconds = seconds
        self.owner = process_name()

    @contextmanager
    def deciding(self, lock: Decision, about: str = "") -> Iterator[Connection]:
        """A transaction holding the advisory lock on ``lock``/``about``: decisions on the same thing queue up."""
        with self.engine.begin() as connection:
            connection.execute(text("SELECT pg_advisory_xact_lock(:lock, hashtext(:about))"),
                               {"lock": LOCKS[lock], "about": about})
            yield connection

    def count(self, connection: Connection, kind: Kind, key: str | None = None) -> tuple[int, int]:
        """Running leases of ``kind`` (of ``key`` only, when given) still in force: (holding, waiting)."""
        holding, waiting = connection.execute(_COUNT, {"kind": kind, "key": key}).one()
        return holding, waiting

    def add(self, connection: Connection, kind: Kind, key: str, *, waiting: bool = False) -> int:
        """A new lease of this process; its id (ids grow in the order leases are added under one lock)."""
        return connection.execute(_ADD, {"kind": kind, "key": key, "owner": self.owner, "waiting": waiting,
                                         "seconds": self.seconds}).scalar_one()

    def end(self, lease: int) -> None:
        """Give a place back: it expires now (nothing happens if it already had)."""
        with self.engine.begin() as connection:
            connection.execute(_END, {"id": lease})

    def renew(self) -> None:
        """Extend every lease of this process; sweep out leases long expired and full rate buckets of all."""
        with self.engine.begin() as connection:
            connection.execute(_RENEW, {"seconds": self.seconds, "owner": self.owner})
            connection.execute(_SWEEP_LEASES)
            connection.execute(_SWEEP_BUCKETS)

    def end_all(self) -> None:
        """Give back every place of this process (it stops serving)."""
        with self.engine.begin() as connection:
            connection.execute(_END_ALL, {"owner": self.owner})


async def acquire_in_worker_thread(acquire: Callable[[], T], give_back: Callable[[T], object]) -> T:
    """``acquire()`` in a worker thread, off the event loop. Should the caller be cancelled meanwhile, what it
    acquires is given back (``give_back``, in a worker thread too) instead of being held by nobody."""
    acquiring = asyncio.ensure_future(asyncio.to_thread(acquire))
    try:
        return await asyncio.shield(acquiring)
    except asyncio.CancelledError:
        acquiring.add_done_callback(lambda done: _give_back_if_acquired(done, give_back))
        raise


def _give_back_if_acquired(done: asyncio.Future[T], give_back: Callable[[T], object]) -> None:
    if not done.cancelled() and done.exception() is None:
        in_worker_thread(give_back, done.result())


def in_worker_thread(call: Callable[..., object], *args: object) -> asyncio.Future[object]:
    """Start the blocking ``call(*args)`` in a worker thread without waiting for it (it runs even if the calling
    task is being cancelled); a failure is logged."""
    running = asyncio.get_running_loop().run_in_executor(None, call, *args)
    running.add_done_callback(_log_failure)
    return running


def _log_failure(done: asyncio.Future[object]) -> None:
    if not done.cancelled() and (failure := done.exception()) is not None:
        log.warning("a lease statement in a worker thread failed", exc_info=failure)
