"""The native streaming protocol over a real server: conversations, events, reconnects, history and access.

The server reuses the session's seeded world (store copy, Chroma, router) with the scripted model, so it starts
at once; the turns used here (order status, greeting, handoff, approval) are written by code, not the model.
"""

from __future__ import annotations

import dataclasses
import sqlite3
import threading
from collections.abc import Iterator

import httpx
import pytest
from fastapi import FastAPI
from pydantic import BaseModel
from sqlalchemy import func, select

from agent.bootstrap import token_keys
from agent.events import ApprovalDecided, StaffMessage
from agent.llm.fake import ScriptedChatModel
from agent.state import AgentDeps
from core.auth import issue_token
from core.settings import Settings
from server import create_app
from tests.conftest import OTHER_CUSTOMER, SHOWCASE, make_settings
from tests.live_server import hold_turns, private_store, serve, world_deps
from tests.sse import iter_events, read_events, reply_text
from tools.store import Store
from tools.store.models import Conversation, ConversationEvent

SOFIA = "sofia_patel_7394"
"""Demo customer whose desk lamp (#W7394002) is past the return window: a return needs approval."""


class StaffPost(BaseModel):
    author: str
    text: str


def with_staff_route(app: FastAPI) -> FastAPI:
    """A test-only route standing in for the later staff console: it appends to a conversation's stream."""

    @app.post("/test/conversations/{conversation_id}/staff")
    async def staff(conversation_id: str, body: StaffPost) -> dict[str, str]:
        runtime = app.state.runtime
        record = await runtime.publish(conversation_id, StaffMessage(author=body.author, text=body.text))
        await runtime.publish(conversation_id, ApprovalDecided(request_id=1, approved=True, message="Approved."))
        return {"id": record.id}

    return app


@pytest.fixture(scope="module")
def store(world_settings: Settings, world: AgentDeps, tmp_path_factory: pytest.TempPathFactory) -> Store:
    return private_store(world_settings, tmp_path_factory.mktemp("api-store"))


@pytest.fixture(scope="module")
def settings(tmp_path_factory: pytest.TempPathFactory, store: Store) -> Settings:
    return make_settings(tmp_path_factory.mktemp("api"), database_url=str(store.engine.url))


@pytest.fixture(scope="module")
def base_url(settings: Settings, world: AgentDeps, store: Store) -> Iterator[str]:
    deps_factory = world_deps(dataclasses.replace(world, store=store), ScriptedChatModel())
    app = with_staff_route(create_app(settings, deps_factory=deps_factory))
    with serve(settings, app=app) as url:
        yield url


def bearer(settings: Settings, subject: str = SHOWCASE, role: str = "customer") -> dict[str, str]:
    return {"Authorization": f"Bearer {issue_token(token_keys(settings), role=role, subject=subject)}"}  # type: ignore[arg-type]


def new_conversation(base_url: str, headers: dict[str, str] | None = None) -> str:
    response = httpx.post(f"{base_url}/v1/conversations", headers=headers)
    assert response.status_code == 201, response.text
    assert response.headers["x-conversation-id"] == response.json()["id"]
    return response.json()["id"]


def send(base_url: str, conversation_id: str, message: str, headers: dict[str, str] | None = None) -> list[dict]:
    with httpx.stream("POST", f"{base_url}/v1/conversations/{conversation_id}/messages", json={"message": message},
                      headers=headers, timeout=60) as response:
        assert response.status_code == 200, response.read()
        assert response.headers["content-type"].startswith("text/event-stream")
        return read_events(response)


def catch_up(base_url: str, conversation_id: str, last_event_id: str | None, headers: dict[str, str] | None = None,
             *, until: str = "done") -> list[dict]:
    """Events after ``last_event_id`` from the live stream, up to the first ``until`` event."""
    got = []
    with httpx.stream("GET", f"{base_url}/v1/conversations/{conversation_id}/events", timeout=60,
                      headers={**(headers or {}), **({"Last-Event-ID": last_event_id} if last_event_id else {})},
                      ) as response:
        assert response.status_code == 200, response.read()
        for event in iter_events(response):
            got.append(event)
            if event["type"] == until:
                break
    return got


def stored(store: Store, conversation_id: str) -> tuple[int, int]:
    """(conversation rows, event rows) stored for ``conversation_id``."""
    with store.session() as session:
        rows = session.scalar(select(func.count()).select_from(Conversation).where(Conversation.id == conversation_id))
        events = session.scalar(select(func.count()).select_from(ConversationEvent)
                                .where(ConversationEvent.conversation_id == conversation_id))
    return rows or 0, events or 0


def totals(store: Store) -> tuple[int, int]:
    with store.session() as session:
        return (session.scalar(select(func.count()).select_from(Conversation)) or 0,
                session.scalar(select(func.count()).select_from(ConversationEvent)) or 0)


def test_a_turn_streams_typed_numbered_events_from_the_message_to_done(base_url: str, settings: Settings) -> None:
    conversation_id = new_conversation(base_url, bearer(settings))
    events = send(base_url, conversation_id, "Where is my order #W4821002?", bearer(settings))
    assert [e["type"] for e in events] == ["customer_message", "tool_started", "tool_finished",
                                           *["text_delta"] * 3, "message_completed", "done"]  # a sentence each
    assert [e["id"] for e in events] == [f"{conversation_id}:{n}" for n in range(1, 9)]
    assert all(e["event"] == e["type"] for e in events)
    assert events[0]["text"] == "Where is my order #W4821002?"
    assert events[1]["description"] == "Looking up your order"
    assert "Order #W4821002 is processed." in reply_text(events)


def test_reconnecting_with_last_event_id_gets_exactly_what_was_missed(base_url: str, settings: Settings) -> None:
    headers = bearer(settings)
    conversation_id = new_conversation(base_url, headers)
    first = send(base_url, conversation_id, "hi", headers)
    second = send(base_url, conversation_id, "where is my order #W4821001", headers)
    everything = first + second
    for cut in range(len(everything) - 1):
        end = next(i for i in range(cut + 1, len(everything)) if everything[i]["type"] == "done")
        assert catch_up(base_url, conversation_id, everything[cut]["id"], headers) == everything[cut + 1:end + 1]
    assert catch_up(base_url, conversation_id, None, headers) == first  # from the start: up to the first done
    assert catch_up(base_url, conversation_id, "0", headers) == first


@pytest.fixture
def slow_turns(monkeypatch: pytest.MonkeyPatch) -> Iterator[threading.Event]:
    release = hold_turns(monkeypatch)
    yield release
    release.set()


def test_a_client_that_drops_mid_turn_loses_nothing(base_url: str, settings: Settings,
                                                    slow_turns: threading.Event) -> None:
    headers = bearer(settings)
    conversation_id = new_conversation(base_url, headers)
    with httpx.stream("POST", f"{base_url}/v1/conversations/{conversation_id}/messages", json={"message": "hi"},
                      headers=headers, timeout=30) as response:
        seen = []
        for event in iter_events(response):
            seen.append(event)
            if event["type"] == "tool_started":
                break  # the client goes away while the turn is still running
    busy = httpx.get(f"{base_url}/v1/conversations/{conversation_id}", headers=headers).json()
    assert busy["busy"] is True and busy["last_event_id"] == seen[-1]["id"]
    again = httpx.post(f"{base_url}/v1/conversations/{conversation_id}/messages", json={"message": "hello?"},
                       headers=headers)
    assert again.status_code == 409 and again.headers["retry-after"]
    slow_turns.set()
    rest = catch_up(base_url, conversation_id, seen[-1]["id"], headers)
    assert [e["type"] for e in seen + rest] == ["customer_message", "tool_started", "text_delta", "text_delta",
                                                "message_completed", "done"]
    assert [e["id"] for e in seen + rest] == [f"{conversation_id}:{n}" for n in range(1, 7)]
    assert catch_up(base_url, conversation_id, None, headers) == seen + rest  # stored the same way


def test_staff_messages_reach_a_waiting_customer_on_the_same_stream(base_url: str, settings: Settings) -> None:
    headers = bearer(settings)
    conversation_id = new_conversation(base_url, headers)
    handoff = send(base_url, conversation_id, "I want to talk to a human", headers)
    assert any(e["type"] == "handoff_started" for e in handoff)
    received: list[dict] = []
    listening = threading.Event()

    def listen() -> None:
        with httpx.stream("GET", f"{base_url}/v1/conversations/{conversation_id}/events", timeout=30,
                          headers={**headers, "Last-Event-ID": handoff[-1]["id"]}) as response:
            listening.set()
            for event in iter_events(response):
                received.append(event)
                if event["type"] == "approval_decided":
                    return

    listener = threading.Thread(target=listen)
    listener.start()
    assert listening.wait(10)
    posted = httpx.post(f"{base_url}/test/conversations/{conversation_id}/staff",
                        json={"author": "Sam (support)", "text": "Hi, I'm Sam. Let me look at this."})
    listener.join(timeout=30)
    assert [(e["type"], e["id"]) for e in received] == [("staff_message", posted.json()["id"]),
                                                        ("approval_decided", f"{conversation_id}:{len(handoff) + 2}")]
    assert received[0]["author"] == "Sam (support)"


def test_a_request_outside_policy_announces_the_pending_approval(base_url: str, settings: Settings) -> None:
    headers = bearer(settings, SOFIA)
    conversation_id = new_conversation(base_url, headers)
    send(base_url, conversation_id, "I want to return the desk lamp from order #W7394002", headers)
    events = send(base_url, conversation_id, "yes", headers)
    pending = [e for e in events if e["type"] == "approval_pending"]
    assert len(pending) == 1 and pending[0]["request_id"] > 0
    assert pending[0]["description"] == "Waiting for a person's approval (starting your return)"
    assert any(e["type"] == "handoff_started" for e in events)


def test_history_lists_reads_and_deletes_with_everything_stored(
    base_url: str, settings: Settings, store: Store
) -> None:
    headers = bearer(settings, "ethan_walker_2260")
    older, newer = new_conversation(base_url, headers), new_conversation(base_url, headers)
    hello = send(base_url, older, "hi", headers)
    send(base_url, newer, "where is my order #W2260001", headers)
    listed = httpx.get(f"{base_url}/v1/conversations", headers=headers).json()
    assert [c["id"] for c in listed][:2] == [newer, older]  # the latest first (the copied store may hold older ones)
    assert listed[0]["preview"] == "where is my order #W2260001"
    transcript = httpx.get(f"{base_url}/v1/conversations/{older}/messages", headers=headers).json()
    assert [m["role"] for m in transcript] == ["customer", "assistant"] and transcript[0]["content"] == "hi"
    assert stored(store, older) == (1, len(hello))  # all stored once `done` arrived

    assert httpx.delete(f"{base_url}/v1/conversations/{older}", headers=headers).status_code == 204
    assert stored(store, older) == (0, 0)
    with sqlite3.connect(settings.resolved_checkpoint_url) as checkpoints:
        left = checkpoints.execute("SELECT count(*) FROM checkpoints WHERE thread_id = ?", (older,)).fetchone()
    assert left == (0,)
    for method, path in [("GET", ""), ("GET", "/messages"), ("GET", "/events"), ("DELETE", "")]:
        gone = httpx.request(method, f"{base_url}/v1/conversations/{older}{path}", headers=headers)
        assert gone.status_code == 404 and gone.json() == {"detail": "unknown conversation"}
    left_listed = [c["id"] for c in httpx.get(f"{base_url}/v1/conversations", headers=headers).json()]
    assert left_listed[0] == newer and older not in left_listed


def test_a_conversation_is_reachable_only_by_its_owner(base_url: str, settings: Settings, store: Store) -> None:
    mine = new_conversation(base_url, bearer(settings))
    send(base_url, mine, "hi", bearer(settings))
    anonymous = new_conversation(base_url)
    before = totals(store)
    for who in (bearer(settings, OTHER_CUSTOMER), {}):
        for method, path, body in [("GET", "", None), ("GET", "/messages", None), ("GET", "/events", None),
                                   ("POST", "/messages", {"message": "hi"}), ("DELETE", "", None)]:
            response = httpx.request(method, f"{base_url}/v1/conversations/{mine}{path}", json=body, headers=who)
            assert response.status_code == 404 and response.json() == {"detail": "unknown conversation"}
    as_customer = httpx.get(f"{base_url}/v1/conversations/{anonymous}", headers=bearer(settings))
    assert as_customer.status_code == 404
    assert httpx.get(f"{base_url}/v1/conversations/{anonymous}").status_code == 200
    other_list = httpx.get(f"{base_url}/v1/conversations", params={"customer_id": OTHER_CUSTOMER},
                           headers=bearer(settings))
    assert other_list.status_code == 403
    assert httpx.get(f"{base_url}/v1/conversations").status_code == 401
    assert totals(store) == before


def test_staff_read_but_never_chat_and_only_ops_delete(base_url: str, settings: Settings) -> None:
    conversation_id = new_conversation(base_url, bearer(settings))
    send(base_url, conversation_id, "hi", bearer(settings))
    agent, ops = bearer(settings, "a1", "agent"), bearer(settings, "o1", "ops")
    assert httpx.get(f"{base_url}/v1/conversations/{conversation_id}/messages", headers=agent).status_code == 200
    listed = httpx.get(f"{base_url}/v1/conversations", params={"customer_id": SHOWCASE}, headers=agent).json()
    assert conversation_id in [c["id"] for c in listed]
    for path in (f"/v1/conversations/{conversation_id}/messages", "/v1/chat"):
        assert httpx.post(f"{base_url}{path}", json={"message": "hi"}, headers=agent).status_code == 403
    assert httpx.post(f"{base_url}/v1/conversations", headers=ops).status_code == 403
    assert httpx.delete(f"{base_url}/v1/conversations/{conversation_id}", headers=agent).status_code == 403
    assert httpx.delete(f"{base_url}/v1/conversations/{conversation_id}", headers=ops).status_code == 204


def test_the_chat_alias_still_streams_the_same_protocol(base_url: str, settings: Settings) -> None:
    with httpx.stream("POST", f"{base_url}/v1/chat", json={"message": "where is my order #W4821003"},
                      headers=bearer(settings), timeout=60) as response:
        conversation_id = response.headers["x-conversation-id"]
        events = read_events(response)
    assert events[0] == {"id": f"{conversation_id}:1", "event": "customer_message", "type": "customer_message",
                         "text": "where is my order #W4821003"}
    assert events[-1]["type"] == "done" and "Order #W4821003 is pending." in reply_text(events)


def test_card_numbers_are_masked_in_the_stored_stream(base_url: str, store: Store) -> None:
    conversation_id = new_conversation(base_url)
    events = send(base_url, conversation_id, "my card is 4111 1111 1111 1111, can you check it?")
    assert "4111 1111 1111 1111" not in str(events)
    with store.session() as session:
        data = session.scalars(select(ConversationEvent.data)
                               .where(ConversationEvent.conversation_id == conversation_id)).all()
    assert "4111 1111 1111 1111" not in str(data)

