"""Customer tasks through the real graph (scripted model): verification, slot filling, the customer's
confirmation before any write, receipts, denials and approvals."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from datetime import timedelta

import pytest
from sqlalchemy import select

from agent.llm.fake import ScriptedChatModel
from agent.state import AgentDeps
from tests.conftest import Chat, text_of
from tools.password_reset import complete_password_reset, verify_password
from tools.store import Store
from tools.store.models import (
    Customer,
    Handoff,
    Order,
    OutboxMessage,
    PolicyException,
    Refund,
    ToolCall,
    utcnow,
)

OLIVIA, SOFIA = "olivia_martin_4821", "sofia_patel_7394"


@pytest.fixture
def chat_on(world: AgentDeps, fresh_store: Store) -> Callable[..., Chat]:
    """``chat_on(customer_id)``: a conversation on a private copy of the store."""
    deps = dataclasses.replace(world, store=fresh_store, model=ScriptedChatModel())
    return lambda customer_id=OLIVIA: Chat(deps, customer_id)


def order(store: Store, order_id: str) -> Order:
    with store.session() as session:
        found = session.get(Order, order_id)
        assert found is not None
        return found


def writes(chat: Chat) -> list[tuple[str, str]]:
    with chat.deps.store.session() as session:
        calls = session.scalars(select(ToolCall).where(ToolCall.conversation_id == chat.conversation_id))
        return [(c.tool, c.outcome) for c in calls if not c.tool.startswith(("get_", "list_"))]


def test_in_policy_return_asks_confirms_and_gives_a_receipt(chat_on: Callable[..., Chat]) -> None:
    chat = chat_on()
    proposal = text_of(chat.say("I want to return the earbuds from order #W4821001"))
    assert "return Wireless Earbuds from order #W4821001 and refund $124.24" in proposal
    assert "(yes/no)" in proposal and writes(chat) == []  # nothing written before the yes
    receipt = chat.say("yes please")
    assert "Your refund of $124.24" in text_of(receipt) and "return requested" in text_of(receipt)
    assert any(e.type == "tool_finished" and e.outcome == "done" for e in receipt)
    assert order(chat.deps.store, "#W4821001").status == "return requested"
    assert writes(chat) == [("return_delivered_order_items", "done")]


def test_no_means_nothing_changes(chat_on: Callable[..., Chat]) -> None:
    chat = chat_on()
    chat.say("please cancel order #W4821003, I ordered it by mistake")
    assert "haven't changed anything" in text_of(chat.say("no"))
    assert order(chat.deps.store, "#W4821003").status == "pending" and writes(chat) == []


def test_cancel_collects_the_reason_then_confirms(chat_on: Callable[..., Chat]) -> None:
    chat = chat_on()
    assert "no longer needed, or was it ordered by mistake" in text_of(chat.say("cancel my order #W4821003"))
    assert "because it's no longer needed" in text_of(chat.say("I don't need it anymore"))
    assert "is cancelled" in text_of(chat.say("yes"))
    assert order(chat.deps.store, "#W4821003").extra["cancel_reason"] == "no longer needed"


def test_the_order_is_found_when_only_one_fits(chat_on: Callable[..., Chat]) -> None:
    text = text_of(chat_on().say("I want to cancel my order, ordered by mistake"))
    assert "cancel order #W4821003" in text  # her only pending order


def test_which_items_is_asked_when_unclear(chat_on: Callable[..., Chat]) -> None:
    chat = chat_on()
    assert "Which items of order #W4821001" in text_of(chat.say("I'd like to return order #W4821001"))
    assert "return Wireless Earbuds" in text_of(chat.say("the earbuds"))


def test_final_sale_item_is_refused_with_the_rule(chat_on: Callable[..., Chat]) -> None:
    chat = chat_on()
    text = text_of(chat.say("return the toothbrush from #W4821001 please"))
    assert "final-sale" in text and "(yes/no)" not in text
    assert order(chat.deps.store, "#W4821001").status == "delivered"


def test_out_of_policy_return_ends_in_needs_approval_and_a_handoff(chat_on: Callable[..., Chat]) -> None:
    chat = chat_on(SOFIA)
    first = text_of(chat.say("I want to return the desk lamp from order #W7394002"))
    assert "needs to approve it" in first and "(yes/no)" in first
    events = chat.say("yes")
    assert "sent your request to our team for approval" in text_of(events)
    assert any(e.type == "handoff_started" for e in events)
    with chat.deps.store.session() as session:
        exception = session.scalars(select(PolicyException).where(
            PolicyException.conversation_id == chat.conversation_id)).one()
        handoff = session.scalars(select(Handoff).where(Handoff.conversation_id == chat.conversation_id)).one()
        assert session.scalars(select(Refund).where(Refund.order_id == "#W7394002")).first() is None
    assert (exception.status, exception.rule, exception.customer_id) == ("pending", "return_window", SOFIA)
    assert handoff.reason == "approval needed" and f"#{exception.id}" in handoff.summary
    assert order(chat.deps.store, "#W7394002").status == "delivered"


def test_change_of_address_reads_the_address_and_confirms(chat_on: Callable[..., Chat]) -> None:
    chat = chat_on()
    chat.say("please ship order #W4821003 to a different address")
    proposal = text_of(chat.say("12 Oak Street, Apt 4, Portland, OR 97201"))
    assert "send order #W4821003 to 12 Oak Street, Apt 4, Portland, OR 97201" in proposal
    chat.say("yes")
    assert order(chat.deps.store, "#W4821003").address["city"] == "Portland"


def test_password_reset_sends_a_single_use_link_and_never_a_password(chat_on: Callable[..., Chat]) -> None:
    chat = chat_on()
    assert "email a password-reset link" in text_of(chat.say("I forgot my password"))
    text = text_of(chat.say("yes"))
    assert "o***@example.com" in text and "token=" not in text
    with chat.deps.store.session() as session:
        mail = session.scalars(select(OutboxMessage).where(  # the newest: the copied store may hold older mail
            OutboxMessage.to_address == "olivia.martin4821@example.com").order_by(OutboxMessage.id.desc())).first()
        assert mail is not None
    token = mail.body.split("token=")[1].split()[0]
    assert complete_password_reset(chat.deps.store, token, "a new long password", now=utcnow()) == OLIVIA
    with pytest.raises(Exception, match="invalid, used or expired"):
        complete_password_reset(chat.deps.store, token, "another long password", now=utcnow())
    with chat.deps.store.session() as session:
        assert verify_password(session.get(Customer, OLIVIA).password_hash, "a new long password")


def test_reset_links_expire(chat_on: Callable[..., Chat]) -> None:
    chat = chat_on()
    chat.say("reset my password")
    chat.say("yes")
    with chat.deps.store.session() as session:
        mail = session.scalars(select(OutboxMessage).where(
            OutboxMessage.to_address == "olivia.martin4821@example.com").order_by(OutboxMessage.id.desc())).first()
        assert mail is not None
        token = mail.body.split("token=")[1].split()[0]
    later = utcnow() + timedelta(minutes=chat.deps.policy.password_reset_link_minutes + 1)
    with pytest.raises(Exception, match="expired"):
        complete_password_reset(chat.deps.store, token, "a new long password", now=later)


def test_anonymous_customer_is_verified_in_code_then_helped(chat_on: Callable[..., Chat]) -> None:
    chat = chat_on(None)
    assert "verify your account" in text_of(chat.say("where is my order #W4821002"))
    text = text_of(chat.say("my name is Olivia Martin and my zip is 78789"))
    assert "you're verified" in text
    assert "Order #W4821002 is processed" in text_of(chat.say("where is my order #W4821002"))


def test_anonymous_password_reset_after_verification(chat_on: Callable[..., Chat]) -> None:
    chat = chat_on(None)
    assert "verify your account" in text_of(chat.say("I can't log in, I forgot my password"))
    assert "email a password-reset link" in text_of(chat.say("olivia.martin4821@example.com 78789"))
    assert "I've sent a password-reset link" in text_of(chat.say("yes"))


def test_the_model_reads_an_unusual_address_but_cannot_invent_one(world: AgentDeps, fresh_store: Store) -> None:
    written = "new place is 55 Elm Road in Salem Oregon, apartment 2B, zip OR 97301"
    honest = {"address1": "55 Elm Road", "address2": "apartment 2B", "city": "Salem", "state": "OR", "zip": "97301"}
    invented = {**honest, "city": "Portland"}
    for slots, expected in ((honest, "55 Elm Road, apartment 2B, Salem, OR 97301"), (invented, None)):
        chat = Chat(dataclasses.replace(world, store=fresh_store, model=ScriptedChatModel(steps=[slots])), OLIVIA)
        chat.say("please ship order #W4821003 to a different address")
        text = text_of(chat.say(written))
        if expected:
            assert f"send order #W4821003 to {expected}" in text
        else:
            assert "complete address for order #W4821003" in text  # the invention was refused: asked again, reworded


def test_the_order_named_before_verification_is_remembered(chat_on: Callable[..., Chat]) -> None:
    chat = chat_on(None)
    chat.say("where is my order #W4821002")
    text = text_of(chat.say("it's olivia.martin4821@example.com, zip 78789"))
    assert "you're verified" in text and "Order #W4821002 is processed" in text
