"""Server processes on one PostgreSQL store start one after another: the first migrates the schema, seeds the
demo data and help center and sets up the checkpoint tables, the next find them done (started at once, two would
race to create the same tables and rows).

A process waiting for its turn asks for the lock every :data:`POLL_SECONDS` outside any transaction: a waiting
statement would hold a snapshot, and the checkpointer's ``CREATE INDEX CONCURRENTLY`` in the process holding the
lock waits for every snapshot to go (a deadlock PostgreSQL does not detect).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from sqlalchemy import Connection, create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.pool import NullPool

START_LOCK = 0x5355_5050_4F52_54
"""The advisory-lock key (``SUPPORT`` in ASCII) a process holds while it prepares the store and loads."""
POLL_SECONDS = 0.25


@asynccontextmanager
async def starting_alone(database_url: str) -> AsyncIterator[None]:
    """Hold the start lock of the database at ``database_url`` for the block; nothing on SQLite (one process)."""
    url = make_url(database_url)
    if url.get_backend_name() != "postgresql":
        yield
        return
    engine = create_engine(url, poolclass=NullPool, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as connection:
            while True:  # polled, not waited for in a statement: see the module's docstring
                if await asyncio.to_thread(_try_lock, connection):
                    break
                await asyncio.sleep(POLL_SECONDS)
            try:
                yield
            finally:
                await asyncio.to_thread(connection.execute, text("SELECT pg_advisory_unlock(:key)"),
                                        {"key": START_LOCK})
    finally:
        engine.dispose()


def _try_lock(connection: Connection) -> bool:
    return bool(connection.execute(text("SELECT pg_try_advisory_lock(:key)"), {"key": START_LOCK}).scalar())
