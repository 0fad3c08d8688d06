"""Limits over a real server: a rate on every route by kind, open event streams per caller, the bounded queue for
the model, CORS, security headers on every response, and access logs without conversation ids."""

from __future__ import annotations

import dataclasses
import logging
import re
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path

import httpx
import pytest
import uvicorn
from fastapi import FastAPI
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute, iter_route_contexts

from agent.llm.fake import ScriptedChatModel
from agent.state import AgentDeps
from api.access_log import LOG_CONFIG
from api.headers import DOCS_HEADERS, PAGE_HEADERS
from api.openai_compat import PATH
from api.route_limits import Kind, PageLimit, RateLimit
from core.settings import Settings
from server import create_app
from tests.conftest import OTHER_CUSTOMER, make_settings
from tests.live_server import free_port, hold_turns, private_store, serve, world_deps
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


# --- every route's rate limit, by kind ------------------------------------------------------------------------

def route_kinds(app: FastAPI) -> dict[tuple[str, str], list[Kind]]:
    """``(method, path)`` -> the kinds of rate limit of every route the app serves (an empty list: none)."""

    def kinds(dependant: Dependant) -> list[Kind]:
        own = [dependant.call.kind] if isinstance(dependant.call, RateLimit) else []
        return own + [kind for sub in dependant.dependencies for kind in kinds(sub)]

    found: dict[tuple[str, str], list[Kind]] = {}
    for context in iter_route_contexts(app.routes):
        route = context.original_route
        if isinstance(route, APIRoute):
            found |= {(method, context.path): kinds(context.dependant) for method in route.methods}
        else:
            found[("GET", context.path)] = ["page"] if isinstance(getattr(route, "app", None), PageLimit) else []
    return found


def test_every_route_has_exactly_one_rate_limit(tmp_path: Path) -> None:
    kinds = route_kinds(create_app(make_settings(tmp_path)))
    assert {route: found for route, found in kinds.items() if len(found) != 1} == {}
    assert {("GET", "/web"), ("GET", "/docs"), ("GET", "/openapi.json"), ("GET", "/reset-password"),
            ("POST", "/v1/password-reset"), ("GET", "/v1/conversations/{conversation_id}/events")} <= set(kinds)


TINY: dict[str, tuple[str, ...]] = {
    "reads_per_minute": ("read", "stream"),
    "ip_turns_per_minute": ("turn", "new_conversation"),
    "password_resets_per_minute": ("password_reset",),
    "staff_requests_per_minute": ("staff",),
    "page_loads_per_minute": ("page",),
    "metrics_requests_per_minute": ("metrics",),
}
"""Each rate setting and the kinds of route that share it."""


def request_for(method: str, path: str, conversation_id: str) -> tuple[str, str]:
    """A concrete request for a route: its path parameters filled in (``/web``: a file)."""
    path = path.replace("{conversation_id}", conversation_id)
    return method, "/web/chat.js" if path == "/web" else re.sub(r"\{[^}]+\}", "1", path)


@pytest.mark.parametrize("setting", TINY)
def test_each_route_answers_429_with_retry_after_past_its_rate(
    setting: str, world: AgentDeps, store: Store, tmp_path: Path
) -> None:
    settings = make_settings(tmp_path, database_url=str(store.engine.url), **{setting: 3})
    app = create_app(settings, deps_factory=world_deps(dataclasses.replace(world, store=store), ScriptedChatModel()))
    with serve(settings, app=app) as url, httpx.Client(base_url=url, timeout=30) as client:
        customer, ops = bearer(settings), bearer(settings, "Sam Ortiz", role="ops")
        conversation_id = new_conversation(url, customer)
        limited = [request_for(method, path, conversation_id) for (method, path), kinds in route_kinds(app).items()
                   if kinds[0] in TINY[setting]]
        headers = ops if TINY[setting] == ("staff",) else customer
        method, path = next(r for r in limited if r[0] in ("GET", "POST") and not r[1].endswith("/events"))
        assert any(client.request(method, path, headers=headers).status_code == 429 for _ in range(4))
        for method, path in limited:
            refused = client.request(method, path, headers=headers)
            assert refused.status_code == 429, (method, path, refused.text)
            assert int(refused.headers["retry-after"]) >= 1
            problem = refused.json()
            assert "too many" in (problem["error"]["message"] if path == PATH else problem["detail"])


def test_a_caller_past_the_open_stream_cap_gets_429_until_one_closes(server: Server) -> None:
    with server(max_open_streams=1) as (url, settings):
        mine, theirs = bearer(settings), bearer(settings, OTHER_CUSTOMER)
        events = f"{url}/v1/conversations/{new_conversation(url, mine)}/events"
        with httpx.stream("GET", events, headers=mine, timeout=30) as first:
            assert first.status_code == 200
            refused = httpx.get(events, headers=mine)
            assert refused.status_code == 429 and "open event streams" in refused.json()["detail"]
            assert int(refused.headers["retry-after"]) >= 1
            their_events = f"{url}/v1/conversations/{new_conversation(url, theirs)}/events"
            with httpx.stream("GET", their_events, headers=theirs, timeout=30) as other:
                assert other.status_code == 200  # a cap per caller
        deadline = time.monotonic() + 10
        while True:  # the server frees the slot once it sees the client gone
            with httpx.stream("GET", events, headers=mine, timeout=30) as again:
                if again.status_code == 200:
                    break
            assert time.monotonic() < deadline, "the closed stream still counts"
            time.sleep(0.05)


def test_the_security_headers_are_on_every_page_and_response(tmp_path: Path, world: AgentDeps) -> None:
    settings = make_settings(tmp_path)
    app = create_app(settings, deps_factory=world_deps(world, ScriptedChatModel()))
    pages = [request_for(method, path, "x")[1] for (method, path) in route_kinds(app)
             if method == "GET" and "{" not in path and not path.startswith("/v1/")]
    assert {"/", "/console", "/admin", "/reset-password", "/web/chat.js", "/docs", "/healthz"} <= set(pages)
    with serve(settings, app=app) as url:
        for path in [*pages, "/web/index.html", "/no-such-page", "/v1/conversations/unknown"]:
            response = httpx.get(f"{url}{path}")
            expected = DOCS_HEADERS if path in ("/docs", "/redoc", "/docs/oauth2-redirect") else PAGE_HEADERS
            assert {name: response.headers.get(name) for name in expected} == expected, path


def test_access_log_lines_hold_no_conversation_id_or_query_value(world: AgentDeps, tmp_path: Path) -> None:
    """The real server with the log configuration ``server.py`` gives uvicorn; the access lines as written."""
    settings = make_settings(tmp_path)
    app = create_app(settings, deps_factory=world_deps(world, ScriptedChatModel()))
    lines: list[str] = []
    config = uvicorn.Config(app, host="127.0.0.1", port=free_port(), log_config=LOG_CONFIG)
    access = logging.getLogger("uvicorn.access")
    capture = logging.Handler()
    capture.emit = lambda record: lines.append(access.handlers[0].format(record))  # type: ignore[method-assign]
    access.addHandler(capture)
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        while not server.started:
            assert thread.is_alive(), "server did not start"
            time.sleep(0.05)
        url = f"http://127.0.0.1:{config.port}"
        conversation_id = new_conversation(url)
        assert httpx.get(f"{url}/v1/conversations/{conversation_id}").status_code == 200
        httpx.get(f"{url}/reset-password", params={"token": "secret-reset-token"})
    finally:
        server.should_exit = True
        thread.join(timeout=30)
        access.removeHandler(capture)
    assert any('"GET /v1/conversations/{id} HTTP/1.1" 200' in line for line in lines), lines
    assert any('"GET /reset-password?token=* HTTP/1.1" 200' in line for line in lines), lines
    assert not [line for line in lines if conversation_id in line or "secret-reset-token" in line]
