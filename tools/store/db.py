"""Engine and sessions for the store; SQLite by default, any SQLAlchemy URL (PostgreSQL) by setting."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config as AlembicConfig
from sqlalchemy import Connection, Engine, create_engine, event, inspect
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

MIGRATIONS = Path(__file__).parent / "migrations"


class Store:
    """A database of customers, orders and the agent's records."""

    def __init__(self, url: str) -> None:
        parsed = make_url(url)
        if parsed.get_backend_name() == "sqlite" and parsed.database not in (None, "", ":memory:"):
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        self.engine: Engine = create_engine(url, pool_pre_ping=True)
        if parsed.get_backend_name() == "sqlite":
            event.listen(self.engine, "connect", _sqlite_pragmas)
            event.listen(self.engine, "begin", _sqlite_begin)
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)

    def migrate(self, revision: str = "head") -> None:
        """Bring the schema to ``revision`` with Alembic (idempotent; keeps the data)."""
        config = AlembicConfig()
        config.set_main_option("script_location", str(MIGRATIONS))
        with self.engine.begin() as connection:
            config.attributes["connection"] = connection
            command.upgrade(config, revision)

    def is_empty(self) -> bool:
        """True when the store has no customers yet (or no tables)."""
        from tools.store.models import Customer

        if not inspect(self.engine).has_table(Customer.__tablename__):
            return True
        with self.session() as session:
            return session.query(Customer.id).first() is None

    @contextmanager
    def session(self, *, write: bool = False) -> Iterator[Session]:
        """A session whose transaction commits on success and rolls back on any error.

        ``write=True`` takes the write lock up front (SQLite ``BEGIN IMMEDIATE``; rows are locked with
        ``SELECT ... FOR UPDATE`` on PostgreSQL), so concurrent writers queue instead of failing half-way.
        """
        with self._sessions() as session, session.begin():
            session.connection(execution_options={"write_lock": write})
            yield session


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    dbapi_connection.isolation_level = None  # transactions are begun by _sqlite_begin
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=5000")
    cursor.close()


def _sqlite_begin(connection: Connection) -> None:
    immediate = connection.get_execution_options().get("write_lock", False)
    connection.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")
