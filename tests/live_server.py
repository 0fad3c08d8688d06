"""A real uvicorn server on loopback, in a background thread, for integration tests."""

from __future__ import annotations

import asyncio
import dataclasses
import socket
import sqlite3
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
import uvicorn
from fastapi import FastAPI
from langchain_core.language_models import BaseChatModel

from agent.bootstrap import token_keys
from agent.events import BaseEvent, Done, MessageCompleted, TextDelta, ToolStarted
from agent.service import SupportAgent
from agent.state import AgentDeps
from core.auth import issue_token
from core.settings import Settings
from server import create_app
from tools.store import Store


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def serve(
    settings: Settings,
    *,
    wait_ready: bool = True,
    deps_factory: Callable[[Settings], AgentDeps] | None = None,
    app: FastAPI | None = None,
    port: int | None = None,
) -> Iterator[str]:
    """Run the app (``app``, or one built from ``settings``) until the block ends, on ``port`` or a free one;
    yields its base URL."""
    if app is None:
        app = create_app(settings, deps_factory=deps_factory) if deps_factory else create_app(settings)
    port = port or free_port()
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", timeout_graceful_shutdown=3)
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while not server.started:
        assert time.monotonic() < deadline and thread.is_alive(), "server did not start"
        time.sleep(0.05)
    while wait_ready and httpx.get(f"{base}/healthz").status_code != 200:
        assert time.monotonic() < deadline, "server never became ready"
        time.sleep(0.1)
    try:
        yield base
    finally:
        server.should_exit = True
        thread.join(timeout=30)


def auth(settings: Settings, role: str, subject: str = "Sam Ortiz") -> dict[str, str]:
    """The ``Authorization`` header of a signed token for ``role``, in a staff member's name by default."""
    return {"Authorization": f"Bearer {issue_token(token_keys(settings), role=role, subject=subject)}"}  # type: ignore[arg-type]


def world_deps(world: AgentDeps, model: BaseChatModel) -> Callable[[Settings], AgentDeps]:
    """A ``deps_factory`` reusing the session's seeded ``world`` with ``model``: the server starts at once."""
    return lambda settings: dataclasses.replace(world, settings=settings, model=model)


def private_store(settings: Settings, folder: Path) -> Store:
    """A private copy of the seeded store behind ``settings``, for servers whose tests write or count rows."""
    folder.mkdir(parents=True, exist_ok=True)
    with sqlite3.connect(settings.data_dir / "store.db") as source, sqlite3.connect(folder / "store.db") as copy:
        source.backup(copy)
    return Store(f"sqlite:///{folder / 'store.db'}")


def settings_on_private_store(world_settings: Settings, folder: Path) -> Settings:
    """Settings for a server in ``folder`` whose store is a private copy of the seeded one."""
    from tests.conftest import make_settings

    store = private_store(world_settings, folder / "store")
    return make_settings(folder, database_url=str(store.engine.url))


def hold_turns(monkeypatch: pytest.MonkeyPatch) -> threading.Event:
    """Make every turn announce a tool, then wait until the returned event is set, then answer."""
    release = threading.Event()

    async def turn(self: SupportAgent, conversation_id: str, customer_id: str | None, text: str,
                   **_: object) -> AsyncIterator[BaseEvent]:
        yield ToolStarted(tool="get_order_details", description="Looking up your order")
        await asyncio.to_thread(release.wait, 30)
        for sentence in ("Here it is. ", "All done."):
            yield TextDelta(text=sentence)
        yield MessageCompleted(text="Here it is. All done.")
        yield Done()

    monkeypatch.setattr(SupportAgent, "turn", turn)
    return release


@contextmanager
def serve_on_own_store(folder: Path, world_settings: Settings) -> Iterator[tuple[str, Settings]]:
    """A real server (real model) with its own seeded store in ``folder``, sharing the world's help center."""
    from tests.conftest import make_settings

    settings = make_settings(folder, chroma_path=world_settings.resolved_chroma_path)
    with serve(settings) as base:
        yield base, settings
