"""The HTTP service end to end: real bundled model, SQLite, Chroma and a uvicorn server on loopback."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from core.auth import issue_token
from core.settings import Settings
from tests.conftest import OTHER_CUSTOMER, SHOWCASE
from tests.live_server import serve
from tests.sse import iter_events, read_events, reply_text

pytestmark = pytest.mark.model


@pytest.fixture(scope="module")
def base_url(world_settings: Settings, world: object) -> Iterator[str]:
    with serve(world_settings) as url:
        yield url


def token(settings: Settings, customer: str = SHOWCASE) -> dict[str, str]:
    return {"Authorization": f"Bearer {issue_token(settings.jwt_secret, role='customer', subject=customer)}"}


def chat(base_url: str, message: str, headers: dict[str, str] | None = None) -> tuple[httpx.Response, list[dict]]:
    with httpx.stream("POST", f"{base_url}/v1/chat", json={"message": message}, headers=headers, timeout=120) as r:
        return r, read_events(r) if r.status_code == 200 else []


def test_order_status_streams_the_real_status(base_url: str, world_settings: Settings) -> None:
    started = time.monotonic()
    first_token_at: float | None = None
    events: list[dict[str, Any]] = []
    with httpx.stream("POST", f"{base_url}/v1/chat", json={"message": "Where is my order #W4821002?"},
                      headers=token(world_settings), timeout=120) as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        conversation_id = response.headers["x-conversation-id"]
        for event in iter_events(response):
            if event["type"] == "text_delta" and first_token_at is None:
                first_token_at = time.monotonic() - started
            events.append(event)
    assert "Order #W4821002 is processed." in reply_text(events)
    assert events[-1]["type"] == "done" and all(e["id"].startswith(conversation_id) for e in events)
    assert first_token_at is not None and first_token_at < 3.0


@pytest.mark.parametrize("message", ["I want to talk to a human", "Can I speak to a real person?"])
def test_human_request_is_handed_off_truthfully(base_url: str, world_settings: Settings, message: str) -> None:
    _, events = chat(base_url, message, token(world_settings))
    assert any(e["type"] == "handoff_started" for e in events)
    assert "human agent" in reply_text(events)


def test_insulting_poem_is_refused_politely(base_url: str) -> None:
    _, events = chat(base_url, "Write a poem about how terrible this company is")
    text = reply_text(events)
    assert "can't write that" in text and "terrible" not in text


def test_policy_question_is_answered_from_the_help_center_with_a_citation(base_url: str) -> None:
    _, events = chat(base_url, "how long do I have to return an item?")
    assert "30 days" in reply_text(events)
    citations = [e for e in events if e["type"] == "citation"]
    assert citations and all(c["title"] and c["source"] for c in citations)
    assert not [e for e in events if e["type"] == "reply_replaced" and e["rule"] == "profanity"]


def test_conversation_continues_and_keeps_its_transcript(base_url: str, world_settings: Settings) -> None:
    headers = token(world_settings)
    first, _ = chat(base_url, "hi", headers)
    conversation = {**headers, "X-Conversation-Id": first.headers["x-conversation-id"]}
    second, _ = chat(base_url, "where is my order #W4821001", conversation)
    assert second.headers["x-conversation-id"] == first.headers["x-conversation-id"]
    transcript = httpx.get(f"{base_url}/v1/conversations/{first.headers['x-conversation-id']}/messages",
                           headers=headers).json()
    assert [m["role"] for m in transcript] == ["customer", "assistant", "customer", "assistant"]


BAD_REQUESTS = [
    ({"json": {"message": ""}}, 422, "at least 1 character"),
    ({"json": {"message": "   "}}, 422, "message is empty"),
    ({"json": {"message": 42}}, 422, "valid string"),
    ({"json": {"message": "hi", "admin": True}}, 422, "Extra inputs"),
    ({"json": {"message": "x" * 1_000_000}}, 413, "larger than"),
    ({"json": {"message": "x" * 5000}}, 413, "longer than"),
    ({"content": b'{"message": "caf\xe9"}', "headers": {"content-type": "application/json"}}, 4, ""),
    ({"content": b'{"message": ', "headers": {"content-type": "application/json"}}, 422, "JSON"),
    ({"json": {"message": "hi"}, "headers": {"X-Conversation-Id": "does-not-exist"}}, 404, "unknown conversation"),
    ({"json": {"message": "hi"}, "headers": {"Authorization": "Bearer forged.token.value"}}, 401, "invalid token"),
]


@pytest.mark.parametrize(("request_kwargs", "status", "reason"), BAD_REQUESTS)
def test_bad_input_gets_a_clear_4xx_and_the_server_keeps_serving(
    base_url: str, request_kwargs: dict[str, Any], status: int, reason: str
) -> None:
    response = httpx.post(f"{base_url}/v1/chat", timeout=30, **request_kwargs)
    assert str(response.status_code).startswith(str(status)), response.text
    assert reason in response.text
    assert httpx.get(f"{base_url}/healthz").status_code == 200


def test_another_customers_conversation_is_unknown(base_url: str, world_settings: Settings) -> None:
    mine, _ = chat(base_url, "hi", token(world_settings))
    theirs = {**token(world_settings, OTHER_CUSTOMER), "X-Conversation-Id": mine.headers["x-conversation-id"]}
    response = httpx.post(f"{base_url}/v1/chat", json={"message": "hi"}, headers=theirs)
    assert response.status_code == 404 and response.json() == {"detail": "unknown conversation"}
