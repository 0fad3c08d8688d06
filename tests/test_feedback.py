"""Customer feedback over the API on a live server: thumbs on a reply, the conversation's rating, who may give and
read them, bad input, and deletion with the conversation."""

from __future__ import annotations

import httpx
import pytest
from sqlalchemy import func, select

from core.settings import Settings
from tests.conftest import OTHER_CUSTOMER
from tests.test_api_conversations import base_url, bearer, new_conversation, send, settings, store  # noqa: F401
from tools.store import Store
from tools.store.models import Feedback


def _conversation_with_a_reply(base: str, settings: Settings) -> tuple[str, int, int]:  # noqa: F811
    """A conversation with one answered message: its id, the reply's seq and the customer message's seq."""
    conversation = new_conversation(base, bearer(settings))
    events = send(base, conversation, "Where is my order #W4821002?", bearer(settings))
    reply = next(int(e["id"].rsplit(":", 1)[1]) for e in events if e["type"] == "message_completed")
    message = next(int(e["id"].rsplit(":", 1)[1]) for e in events if e["type"] == "customer_message")
    return conversation, reply, message


def test_a_customer_rates_replies_and_the_conversation_and_reads_it_back(
    base_url: str, settings: Settings,  # noqa: F811
) -> None:
    conversation, reply, _ = _conversation_with_a_reply(base_url, settings)
    path = f"{base_url}/v1/conversations/{conversation}"
    assert httpx.put(f"{path}/replies/{reply}/feedback", json={"helpful": False}, headers=bearer(settings)
                     ).status_code == 204
    assert httpx.put(f"{path}/replies/{reply}/feedback", json={"helpful": True}, headers=bearer(settings)
                     ).status_code == 204  # a change of mind replaces the first
    rated = httpx.put(f"{path}/rating", json={"rating": 4, "comment": "  quick, thanks "}, headers=bearer(settings))
    assert rated.status_code == 204
    for reader in (bearer(settings), bearer(settings, "Pat Lee", "agent")):
        feedback = httpx.get(f"{path}/feedback", headers=reader).json()
        assert [(r["reply"], r["helpful"]) for r in feedback["replies"]] == [(reply, True)]
        assert "#W4821002" in feedback["replies"][0]["text"]
        assert (feedback["rating"]["rating"], feedback["rating"]["comment"]) == (4, "quick, thanks")


@pytest.mark.parametrize(("change", "status", "says"), [
    ({"rating": 0}, 422, "greater than or equal to 1"),
    ({"rating": 6}, 422, "less than or equal to 5"),
    ({"rating": "five"}, 422, "valid integer"),
    ({"rating": 3, "comment": "x" * 2001}, 422, "at most 2000 characters"),
    ({"rating": 3, "stars": 3}, 422, "xtra"),
])
def test_a_bad_rating_is_422_and_stores_nothing(base_url: str, settings: Settings, store: Store,  # noqa: F811
                                                change: dict, status: int, says: str) -> None:
    conversation, _, _ = _conversation_with_a_reply(base_url, settings)
    response = httpx.put(f"{base_url}/v1/conversations/{conversation}/rating", json=change, headers=bearer(settings))
    assert response.status_code == status and says in response.text
    assert _rows(store, conversation) == 0


def test_feedback_on_what_is_not_yours_or_not_a_reply_is_refused(
    base_url: str, settings: Settings, store: Store,  # noqa: F811
) -> None:
    conversation, reply, message = _conversation_with_a_reply(base_url, settings)
    path = f"{base_url}/v1/conversations/{conversation}"
    thumbs = {"helpful": True}
    assert httpx.put(f"{path}/replies/{reply}/feedback", json=thumbs, headers=bearer(settings, OTHER_CUSTOMER)
                     ).status_code == 404  # another customer's conversation: as if it did not exist
    assert httpx.put(f"{path}/rating", json={"rating": 5}).status_code == 404  # anonymous
    assert httpx.get(f"{path}/feedback", headers=bearer(settings, OTHER_CUSTOMER)).status_code == 404
    for seq in (message, 9999):  # the customer's own message, and no event at all
        refused = httpx.put(f"{path}/replies/{seq}/feedback", json=thumbs, headers=bearer(settings))
        assert refused.status_code == 404 and "no reply" in refused.json()["detail"]
    staff = httpx.put(f"{path}/rating", json={"rating": 1}, headers=bearer(settings, "Pat Lee", "agent"))
    assert staff.status_code == 403
    assert httpx.put(f"{base_url}/v1/conversations/{'0' * 32}/rating", json={"rating": 5}, headers=bearer(settings)
                     ).status_code == 404
    assert _rows(store, conversation) == 0


def test_deleting_the_conversation_deletes_its_feedback_and_comments(
    base_url: str, settings: Settings, store: Store,  # noqa: F811
) -> None:
    conversation, reply, _ = _conversation_with_a_reply(base_url, settings)
    path = f"{base_url}/v1/conversations/{conversation}"
    httpx.put(f"{path}/replies/{reply}/feedback", json={"helpful": True}, headers=bearer(settings))
    httpx.put(f"{path}/rating", json={"rating": 2, "comment": "my name is Olivia and I am upset"},
              headers=bearer(settings))
    assert _rows(store, conversation) == 2
    assert httpx.delete(path, headers=bearer(settings)).status_code == 204
    assert _rows(store, conversation) == 0


def _rows(store: Store, conversation: str) -> int:  # noqa: F811
    with store.session() as session:
        return session.scalar(select(func.count()).select_from(Feedback).where(
            Feedback.conversation_id == conversation)) or 0
