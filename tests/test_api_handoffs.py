"""The human side over HTTP: roles, the queue, claims, the package, replies into the live conversation,
approvals that resume the paused run exactly once, and handing back to the bot."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from agent.bootstrap import token_keys
from core.auth import issue_token
from core.settings import Settings
from tests.live_server import serve_on_own_store
from tests.sse import iter_events, read_events, reply_text

pytestmark = pytest.mark.model
SOFIA = "sofia_patel_7394"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, world_settings: Settings) -> Iterator[tuple[str, Settings]]:
    with serve_on_own_store(tmp_path_factory.mktemp("desk"), world_settings) as running:
        yield running


def bearer(settings: Settings, role: str, subject: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {issue_token(token_keys(settings), role=role, subject=subject)}"}  # type: ignore[arg-type]


def say(base: str, headers: dict[str, str], text: str) -> tuple[str, list[dict]]:
    with httpx.stream("POST", f"{base}/v1/chat", json={"message": text}, headers=headers, timeout=60) as response:
        return response.headers["x-conversation-id"], read_events(response)


def test_roles(server: tuple[str, Settings]) -> None:
    base, settings = server
    assert httpx.get(f"{base}/v1/handoffs").status_code == 401
    assert httpx.get(f"{base}/v1/handoffs", headers=bearer(settings, "customer", SOFIA)).status_code == 403
    assert httpx.get(f"{base}/v1/handoffs", headers=bearer(settings, "agent", "sam")).status_code == 200


def test_handoff_listed_by_the_end_of_the_stream_that_announced_it(server: tuple[str, Settings]) -> None:
    base, settings = server
    conversation, events = say(base, bearer(settings, "customer", "olivia_martin_4821"), "I want a human")
    assert any(e["type"] == "handoff_started" for e in events)
    queue = httpx.get(f"{base}/v1/handoffs", headers=bearer(settings, "agent", "sam")).json()
    assert conversation in [h["conversation_id"] for h in queue]


def test_claim_reply_approve_and_hand_back(server: tuple[str, Settings]) -> None:
    base, settings = server
    customer = bearer(settings, "customer", SOFIA)
    conversation, _ = say(base, customer, "I want to return the desk lamp from order #W7394002")
    customer = {**customer, "X-Conversation-Id": conversation}
    _, events = say(base, customer, "yes")
    assert any(e["type"] == "approval_pending" for e in events)
    sam, kim = bearer(settings, "agent", "sam"), bearer(settings, "agent", "kim")
    [handoff] = [h for h in httpx.get(f"{base}/v1/handoffs", headers=sam).json()
                 if h["conversation_id"] == conversation]
    assert handoff["reason"] == "approval needed" and handoff["exception_id"]
    assert httpx.post(f"{base}/v1/handoffs/{handoff['id']}/claim", headers=sam).status_code == 200
    assert httpx.post(f"{base}/v1/handoffs/{handoff['id']}/claim", headers=kim).status_code == 409
    detail = httpx.get(f"{base}/v1/handoffs/{handoff['id']}", headers=sam).json()
    assert detail["exception"]["rule"] == "return_window" and detail["customer"]["customer_id"] == SOFIA
    assert [line["role"] for line in detail["transcript"]][:2] == ["customer", "assistant"]

    with httpx.stream("GET", f"{base}/v1/conversations/{conversation}/events", headers=customer,
                      timeout=30) as stream:
        assert httpx.post(f"{base}/v1/handoffs/{handoff['id']}/messages", headers=sam,
                          json={"text": "Hi Sofia, I'm looking at your lamp now."}).status_code == 202
        decided = httpx.post(f"{base}/v1/handoffs/{handoff['id']}/decision", headers=sam, json={"approve": True})
        assert decided.status_code == 200 and decided.json()["approved"] is True
        seen = []
        for event in iter_events(stream):
            seen.append(event)
            if event["type"] == "approval_decided":
                break
    staff = [e for e in seen if e["type"] == "staff_message"]
    assert staff and staff[0]["text"] == "Hi Sofia, I'm looking at your lamp now."
    assert staff[0]["author"].startswith("sam")
    assert "Your refund of $48.70" in seen[-1]["message"]
    again = httpx.post(f"{base}/v1/handoffs/{handoff['id']}/decision", headers=sam, json={"approve": True})
    assert again.json() == decided.json()  # exactly once: the same outcome, no second refund

    _, while_human = say(base, customer, "thanks, anything else I need to do?")
    assert not [e for e in while_human if e["type"] == "text_delta"]  # a person has it: the bot stays quiet
    assert httpx.post(f"{base}/v1/handoffs/{handoff['id']}/release", headers=kim).status_code == 409
    assert httpx.post(f"{base}/v1/handoffs/{handoff['id']}/release", headers=sam).status_code == 200
    _, back = say(base, customer, "where is my order #W7394002")
    assert "Order #W7394002 is return requested" in reply_text(back)
