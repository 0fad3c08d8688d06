"""API processes on one PostgreSQL database, as ``make cluster`` runs them, for the multi-process tests: the
database prepared once (schema, demo data, policy, checkpoint tables), then one process per data folder; and a
client's calls to them (a conversation, a turn, following its events)."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from agent.bootstrap import open_checkpointer, open_policies, token_keys
from core.auth import issue_token
from core.settings import Settings
from tests.conftest import make_settings
from tests.server_processes import ServerProcess, api_environment, server_processes
from tests.sse import iter_events, read_events
from tools.store import Store
from tools.store.demo import ensure_demo_data


@dataclass
class Cluster:
    """The database's store and settings, and the API processes on it."""

    store: Store
    settings: Settings
    servers: list[ServerProcess]

    @property
    def bases(self) -> list[str]:
        return [server.base for server in self.servers]

    def headers(self, role: str, subject: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {issue_token(token_keys(self.settings), role=role, subject=subject)}"}


@contextmanager
def cluster(folder: Path, postgres_url: str, command: list[str], names: str, **settings: str) -> Iterator[Cluster]:
    """One process of ``command`` per letter of ``names`` on the database, each in ``folder/<letter>``, with
    ``settings`` (``SUPPORT_<NAME>`` values) on top of the database's; stopped when the block ends."""
    shared = make_settings(folder, database_url=postgres_url, policy_path=folder / "policy.yaml",
                           seed_demo_data=False)
    store = _prepare(shared)
    secret = shared.jwt_secret.get_secret_value()  # type: ignore[union-attr]
    envs = [api_environment(shared.resolved_database_url, folder / name, secret, seed_demo_data="false", **settings)
            for name in names]
    with server_processes(command, envs) as servers:
        yield Cluster(store, shared, servers)


def _prepare(settings: Settings) -> Store:
    """What the first start on a new database does once (schema, demo data, policy, checkpoint tables)."""
    store = Store(settings.resolved_database_url)
    store.migrate()
    ensure_demo_data(store)
    open_policies(store, file=settings.resolved_policy_path).current()

    async def checkpoint_tables() -> None:
        async with open_checkpointer(settings):
            pass

    asyncio.run(checkpoint_tables())
    return store


def new_conversation(base: str, customer: dict[str, str]) -> str:
    """A new conversation of ``customer``, created on ``base``."""
    response = httpx.post(f"{base}/v1/conversations", headers=customer)
    assert response.status_code == 201
    return response.json()["id"]


def say(base: str, conversation: str, customer: dict[str, str], text: str, *,
        timeout: float = 30) -> list[dict[str, Any]]:
    """The events of one turn, sent to ``base``."""
    with httpx.stream("POST", f"{base}/v1/conversations/{conversation}/messages", json={"message": text},
                      headers=customer, timeout=timeout) as response:
        assert response.status_code == 200, response.read()
        return read_events(response)


def follow(base: str, conversation: str, customer: dict[str, str], *, dones: int, last_event_id: str | None = None,
           opened: threading.Event | None = None, timeout: float = 30) -> list[dict[str, Any]]:
    """The conversation's events on ``base`` until the ``dones``-th ``done``."""
    headers = {**customer, **({"Last-Event-ID": last_event_id} if last_event_id else {})}
    seen: list[dict[str, Any]] = []
    with httpx.stream("GET", f"{base}/v1/conversations/{conversation}/events", headers=headers,
                      timeout=timeout) as response:
        assert response.status_code == 200
        if opened:
            opened.set()
        for event in iter_events(response):
            seen.append(event)
            if sum(e["type"] == "done" for e in seen) == dones:
                return seen
    return seen


def in_background(function: Callable[..., Any], *args: Any, **kwargs: Any) -> tuple[threading.Thread, list[Any]]:
    """``function`` run in a daemon thread; its result lands in the list once it returns."""
    result: list[Any] = []
    thread = threading.Thread(target=lambda: result.append(function(*args, **kwargs)), daemon=True)
    thread.start()
    return thread, result
