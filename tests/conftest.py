"""Shared fixtures: a seeded store and knowledge base in a temp folder, the real model once per session."""

from __future__ import annotations

import asyncio
import dataclasses
import os
import secrets
import sqlite3
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from langchain_core.runnables import RunnableConfig
from langgraph.checkpoint.memory import InMemorySaver

from agent.bootstrap import build_deps
from agent.events import TextDelta, _Event
from agent.llm import ChatLlamaCpp, build_chat_model
from agent.llm.fake import ScriptedChatModel
from agent.llm.models import DEFAULT_MODEL
from agent.planner.prompt import warm_up
from agent.service import SupportAgent
from agent.state import AgentDeps
from core.settings import Settings
from tools.store import Store
from tools.store.models import Conversation

SHOWCASE = "olivia_martin_4821"
"""Demo customer with a delivered (#W4821001), a processed (#W4821002) and a pending (#W4821003) order."""
OTHER_CUSTOMER = "liam_chen_3057"
SHARED_EXTERNAL = Path(__file__).resolve().parents[2] / "shared" / "external"
"""The CEO's public data sets (``../shared/external``): CI has them, a fresh clone does not."""


def shared_set(relative: str) -> Path:
    """A data set in :data:`SHARED_EXTERNAL`. When it is missing the calling test is skipped with the reason, or
    fails instead under ``SUPPORT_REQUIRE_SHARED=1``, which CI sets so that no such test passes by skipping."""
    path = SHARED_EXTERNAL / relative
    if not path.exists():
        reason = f"{path} is missing: this test needs the shared public data sets beside the repository"
        if os.environ.get("SUPPORT_REQUIRE_SHARED") == "1":
            pytest.fail(reason)
        pytest.skip(reason)
    return path


@pytest.fixture(autouse=True)
def _real_model_needs_marker(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    """Fail any test that would run a real GGUF model unless it is marked ``model`` or ``bigmodel``."""
    if request.node.get_closest_marker("model") or request.node.get_closest_marker("bigmodel"):
        return

    def refuse(*_: object, **__: object) -> None:
        raise AssertionError("this test runs the real model: mark it @pytest.mark.model")

    for method in ("_open_llama", "_generate", "_stream"):
        monkeypatch.setattr(ChatLlamaCpp, method, refuse)


TEST_SECRET = secrets.token_urlsafe(32)
"""The signing secret of the tests' settings, new for each run (tests of the generated secret set none)."""


def make_settings(data_dir: Path, **overrides: object) -> Settings:
    """Settings on a temp data folder, ignoring any .env file; the bundled 135M model unless a test names
    another (tests of the default model are marked ``bigmodel`` and use :func:`default_model_settings`). The next
    turn's prompt is not prepared between turns (a test's next message comes at once, so it would only wait for
    it) unless a test turns it on."""
    return Settings(_env_file=None, data_dir=data_dir,  # type: ignore[call-arg]
                    **{"model": "smollm2-135m", "jwt_secret": TEST_SECRET, "prepare_next_turn": False, **overrides})


def default_model_settings(data_dir: Path, **overrides: object) -> Settings:
    """Settings that run the default model, as ``make run`` does."""
    return make_settings(data_dir, model=DEFAULT_MODEL, **overrides)


@pytest.fixture(scope="session")
def world_settings(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    return make_settings(tmp_path_factory.mktemp("world"))


OFFICE_HOURS = datetime(2026, 11, 25, 17, 0, tzinfo=UTC)
"""A Wednesday, noon in New York: the support team is in (tests that need the night set their own clock)."""


@pytest.fixture(scope="session")
def world(world_settings: Settings) -> AgentDeps:
    """Seeded SQLite store, help center in Chroma, router and policy; the model is a placeholder fake."""
    return dataclasses.replace(build_deps(world_settings, model=ScriptedChatModel()), clock=lambda: OFFICE_HOURS)


@pytest.fixture(scope="session")
def bundled_model(world_settings: Settings) -> ChatLlamaCpp:
    """The real bundled SmolLM2-135M, loaded once."""
    model = build_chat_model(world_settings)
    assert isinstance(model, ChatLlamaCpp)
    return model


@pytest.fixture(scope="session")
def default_model(world_settings: Settings) -> ChatLlamaCpp:
    """The real default model (Qwen2.5-Coder-1.5B), loaded once, its prompt prefix evaluated."""
    model = build_chat_model(world_settings.model_copy(update={"model": DEFAULT_MODEL}))
    assert isinstance(model, ChatLlamaCpp)
    warm_up(model)
    return model


Turn = Callable[..., list[_Event]]


def start_conversation(deps: AgentDeps, customer_id: str | None) -> str:
    conversation_id = os.urandom(8).hex()
    owner = f"customer:{customer_id}" if customer_id else f"anon:{conversation_id}"
    with deps.store.session() as session:
        session.add(Conversation(id=conversation_id, owner=owner))
    return conversation_id


def text_of(events: list[_Event]) -> str:
    """The reply text the customer saw (deltas after the last withdrawal)."""
    shown = ""
    for event in events:
        if event.type == "reply_replaced":
            shown = ""
        elif isinstance(event, TextDelta):
            shown += event.text
    return shown


class Chat:
    """Drives one conversation through the real graph with a given model."""

    def __init__(self, deps: AgentDeps, customer_id: str | None) -> None:
        self.deps = deps
        self.customer_id = customer_id
        self.agent = SupportAgent(deps, InMemorySaver())
        self.conversation_id = start_conversation(deps, customer_id)

    def say(self, text: str) -> list[_Event]:
        async def collect() -> list[_Event]:
            return [e async for e in self.agent.turn(self.conversation_id, self.customer_id, text)]

        return asyncio.run(collect())

    def state(self) -> dict[str, Any]:
        """The conversation's graph state after its last turn."""
        config: RunnableConfig = {"configurable": {"thread_id": self.conversation_id}}
        return dict(asyncio.run(self.agent.graph.aget_state(config)).values)


@pytest.fixture
def chat_with(world: AgentDeps) -> Callable[..., Chat]:
    """``chat_with(model, customer_id)`` -> a new conversation on the shared world."""

    def make(model: object, customer_id: str | None = SHOWCASE) -> Chat:
        return Chat(dataclasses.replace(world, model=model), customer_id)

    return make


@pytest.fixture
def fresh_store(world_settings: Settings, world: AgentDeps, tmp_path: Path) -> Store:
    """A private copy of the seeded demo store, for tests that change data."""
    target = tmp_path / "store.db"
    with sqlite3.connect(world_settings.data_dir / "store.db") as source, sqlite3.connect(target) as copy:
        source.backup(copy)
    return Store(f"sqlite:///{target}")


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """One throwaway PostgreSQL server for the session's tests of several processes (a ``psycopg`` URL)."""
    from tests.postgres_server import postgres

    with postgres() as url:
        yield url.replace("postgresql://", "postgresql+psycopg://")
