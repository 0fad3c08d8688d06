"""Limits over a real server: rates per customer and per address, the bounded queue for the model, CORS."""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager

import httpx
import pytest

from agent.llm.fake import ScriptedChatModel
from agent.state import AgentDeps
from core.settings import Settings
from tests.conftest import OTHER_CUSTOMER, make_settings
from tests.live_server import hold_turns, private_store, serve, world_deps
from tests.sse import iter_events, read_events
from tests.test_api_conversations import bearer, new_conversation, totals
from tools.store import Store


@pytest.fixture(scope="module")
def store(world_settings: Settings, world: AgentDeps, tmp_path_factory: pytest.TempPathFactory) -> Store:
    return private_store(world_settings, tmp_path_factory.mktemp("limits-store"))


Server = Callable[..., AbstractContextManager[tuple[str, Settings]]]


@pytest.fixture
def server(world: AgentDeps, store: Store, tmp_path_factory: pytest.TempPathFactory) -> Server:
    """``server(**settings)``: a context manager serving the world with those settings; yields (url, settings)."""

    @contextmanager
    def start(**overrides: object) -> Iterator[tuple[str, Settings]]:
        settings = make_settings(tmp_path_factory.mktemp("limits"), database_url=str(store.engine.url), **overrides)
        deps = world_deps(dataclasses.replace(world, store=store), ScriptedChatModel())
        with serve(settings, deps_factory=deps) as url:
            yield url, settings

    return start


def post_message(url: str, conversation_id: str, headers: dict[str, str], message: str = "hi") -> httpx.Response:
    return httpx.post(f"{url}/v1/conversations/{conversation_id}/messages", json={"message": message}, headers=headers,
                      timeout=30)


def test_a_customer_past_the_rate_gets_429_with_retry_after_and_nothing_stored(server: Server, store: Store) -> None:
    with server(customer_turns_per_minute=2) as (url, settings):
        mine, theirs = bearer(settings), bearer(settings, OTHER_CUSTOMER)
        conversation_id = new_conversation(url, mine)
        for _ in range(2):
            assert post_message(url, conversation_id, mine).status_code == 200
        before = totals(store)
        refused = post_message(url, conversation_id, mine)
        assert refused.status_code == 429 and "too many messages" in refused.json()["detail"]
        assert 1 <= int(refused.headers["retry-after"]) <= 30
        assert totals(store) == before
        assert post_message(url, new_conversation(url, theirs), theirs).status_code == 200  # others unaffected


def test_an_address_past_its_rate_gets_429_for_new_conversations_too(server: Server) -> None:
    with server(ip_turns_per_minute=3) as (url, _):
        conversation_id = new_conversation(url)
        assert post_message(url, conversation_id, {}).status_code == 200
        assert post_message(url, conversation_id, {}).status_code == 200
        for refused in (post_message(url, conversation_id, {}), httpx.post(f"{url}/v1/conversations")):
            assert refused.status_code == 429 and int(refused.headers["retry-after"]) >= 1


def test_when_the_model_is_busy_turns_queue_and_past_the_queue_get_503(
    server: Server, store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    release = hold_turns(monkeypatch)
    with server(max_concurrent_turns=1, max_queued_turns=1) as (url, settings):
        headers = bearer(settings)
        first, second, third = (new_conversation(url, headers) for _ in range(3))
        streams: dict[str, list[dict]] = {}
        started = threading.Barrier(3)

        def talk(conversation_id: str) -> None:
            with httpx.stream("POST", f"{url}/v1/conversations/{conversation_id}/messages", json={"message": "hi"},
                              headers=headers, timeout=30) as response:
                events = iter_events(response)
                streams[conversation_id] = [next(events)]
                started.wait(10)
                streams[conversation_id] += list(events)

        talkers = [threading.Thread(target=talk, args=(c,)) for c in (first, second)]
        for talker in talkers:
            talker.start()
        started.wait(10)
        assert httpx.get(f"{url}/v1/conversations/{second}", headers=headers).json()["busy"]
        before = totals(store)
        refused = post_message(url, third, headers)
        assert refused.status_code == 503 and "busy" in refused.json()["detail"]
        assert int(refused.headers["retry-after"]) >= 1
        assert totals(store) == before
        release.set()
        for talker in talkers:
            talker.join(30)
        assert [e["type"] for e in streams[second]] == ["customer_message", "tool_started", "text_delta",
                                                        "text_delta", "message_completed", "done"]
        with httpx.stream("POST", f"{url}/v1/conversations/{third}/messages", json={"message": "hi"},
                          headers=headers) as response:
            assert read_events(response)[-1]["type"] == "done"  # served once the queue emptied


def test_cors_allows_only_the_configured_origins(server: Server) -> None:
    with server(cors_origins=["https://shop.example"]) as (url, _):
        preflight = {"Access-Control-Request-Method": "POST",
                     "Access-Control-Request-Headers": "authorization,content-type,last-event-id"}
        allowed = httpx.options(f"{url}/v1/conversations", headers={"Origin": "https://shop.example", **preflight})
        assert allowed.status_code == 200
        assert allowed.headers["access-control-allow-origin"] == "https://shop.example"
        created = httpx.post(f"{url}/v1/conversations", headers={"Origin": "https://shop.example"})
        assert "x-conversation-id" in created.headers["access-control-expose-headers"].lower()
        other = httpx.options(f"{url}/v1/conversations", headers={"Origin": "https://evil.example", **preflight})
        assert other.status_code == 400 and "access-control-allow-origin" not in other.headers
    with server() as (url, _):
        page_only = httpx.post(f"{url}/v1/conversations", headers={"Origin": "https://shop.example"})
        assert "access-control-allow-origin" not in page_only.headers
