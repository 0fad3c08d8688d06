"""The HTTP service end to end: real bundled model, SQLite, Chroma and a uvicorn server on loopback."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from agent.bootstrap import token_keys
from core.auth import issue_token
from core.settings import Settings
from tests.conftest import OTHER_CUSTOMER, SHOWCASE
from tests.live_server import serve
from tests.sse import iter_events, read_events, reply_text
from tools.store import Store
from tools.store.models import OutboxMessage

pytestmark = pytest.mark.model


@pytest.fixture(scope="module")
def base_url(world_settings: Settings, world: object) -> Iterator[str]:
    with serve(world_settings) as url:
        yield url


def token(settings: Settings, customer: str = SHOWCASE) -> dict[str, str]:
    return {"Authorization": f"Bearer {issue_token(token_keys(settings), role='customer', subject=customer)}"}


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


def _conversation(base_url: str, headers: dict[str, str], *messages: str) -> list[str]:
    """Send ``messages`` in one conversation; the replies the customer saw."""
    replies, conversation = [], dict(headers)
    for message in messages:
        with httpx.stream("POST", f"{base_url}/v1/chat", json={"message": message}, headers=conversation,
                          timeout=120) as response:
            conversation["X-Conversation-Id"] = response.headers["x-conversation-id"]
            replies.append(reply_text(read_events(response)))
    return replies


def test_in_policy_refund_conversation(base_url: str, world_settings: Settings) -> None:
    request, receipt = _conversation(base_url, token(world_settings, OTHER_CUSTOMER),
                                     "Hi, I'd like to return the hoodie from order #W3057002", "yes")
    assert "refund $51.72 to your Visa ending" in request or "refund $51.72 to your" in request
    assert "(yes/no)" in request
    assert "Your refund of $51.72" in receipt and "return requested" in receipt


def test_out_of_policy_refund_conversation_ends_in_needs_approval(base_url: str, world_settings: Settings) -> None:
    request, answer = _conversation(base_url, token(world_settings, "sofia_patel_7394"),
                                    "I want to return the desk lamp from order #W7394002", "yes")
    assert "past our 30-day window" in request and "approval" in request
    assert "sent your request to our team for approval" in answer and "human agent" in answer


def test_password_reset_link_works_once_over_http(base_url: str, world_settings: Settings) -> None:
    _conversation(base_url, token(world_settings, "ethan_walker_2260"), "I forgot my password", "yes")
    with httpx.Client(base_url=base_url) as client:
        store = Store(world_settings.resolved_database_url)
        with store.session() as session:
            mail = session.scalars(select(OutboxMessage).where(
                OutboxMessage.to_address == "ethan.walker2260@example.com")).one()
        reset = {"token": mail.body.split("token=")[1].split()[0], "new_password": "correct horse battery"}
        assert client.post("/v1/password-reset", json=reset).status_code == 204
        again = client.post("/v1/password-reset", json=reset)
        assert again.status_code == 400 and "invalid, used or expired" in again.json()["detail"]
        short = client.post("/v1/password-reset", json={**reset, "new_password": "x"})
        assert short.status_code == 400
