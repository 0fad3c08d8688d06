"""Replies about orders worded by the model (``reply_style=model``): what it writes reaches the customer only while
every fact in it matches what code wrote from the tool results; a wrong id, amount, date, count, status, item or
day puts the facts as written in its place. The scripted model says what a model gets wrong."""

from __future__ import annotations

import dataclasses

import pytest

from agent.events import ReplyReplaced, TextDelta
from agent.guardrails.order_facts import OrderFacts, status_claims
from agent.llm.fake import ScriptedChatModel
from agent.replies import UPSET
from agent.state import AgentDeps
from tests.conftest import Chat, text_of

FACTS = ("Order #W4821002 is processed. It hasn't shipped yet: we're picking and packing it, so it can no longer be "
         "cancelled or changed. It has 1 item: Coffee Maker, total $114.22, placed Dec 1, 2026.")
ITEMS = ["Coffee Maker", "Wireless Earbuds", "Desk Lamp", "T-Shirt"]


def test_status_claims_read_negation_and_what_is_not_a_claim() -> None:
    assert status_claims(FACTS) == {("processed", False), ("shipped", True)}
    assert status_claims("Good news, it's on its way!") == {("shipped", False)}
    assert status_claims("It will be delivered about 5 days after it has shipped.") == set()
    assert status_claims("It has not been delivered.") == {("delivered", True)}
    assert status_claims("Yes, the return for order #W4821001 is started.") == {("return requested", False)}


@pytest.mark.parametrize(("sentence", "kind"), [
    ("Your Coffee Maker is being packed right now.", None),
    ("It hasn't shipped yet, so it isn't with the carrier.", None),
    ("I'm sorry it's taking a while.", None),
    ("It has one item.", None),
    ("Good news, your coffee maker has shipped!", "status"),
    ("It isn't processed yet.", "status"),
    ("Your earbuds are being packed.", "item"),
    ("It should arrive tomorrow.", "day"),
    ("It will be with you within two days.", "day"),
    ("It has two items.", "count"),
])
def test_a_sentence_keeps_to_the_facts(sentence: str, kind: str | None) -> None:
    assert OrderFacts.of(FACTS, customer_said="where's my coffee maker", vocabulary=ITEMS).wrong(sentence) == kind


@pytest.fixture
def worded(world: AgentDeps) -> AgentDeps:
    return dataclasses.replace(world, reply_style="model")


def ask(deps: AgentDeps, reply: str, message: str = "where is my order #W4821002??") -> tuple[list, ScriptedChatModel]:
    model = ScriptedChatModel(steps=[reply])
    return Chat(dataclasses.replace(deps, model=model), "olivia_martin_4821").say(message), model


def test_one_order_may_be_named_by_its_item(worded: AgentDeps) -> None:
    reply = "The Coffee Maker is still being processed. It hasn't shipped yet, so you can't cancel it."
    assert text_of(ask(worded, reply)[0]) == reply


def test_a_worded_reply_that_keeps_to_the_facts_is_streamed(worded: AgentDeps) -> None:
    reply = ("Your Coffee Maker hasn't shipped yet: we're picking and packing it. "
             "Order #W4821002 has 1 item, total $114.22.")
    events, model = ask(worded, reply)
    assert text_of(events) == reply and not any(isinstance(e, ReplyReplaced) for e in events)
    job = str(model.calls[0][-1].content)
    assert job.startswith("Job: ANSWER") and f"Facts:\n{FACTS}" in job and UPSET not in job


@pytest.mark.parametrize(("wrong", "rule"), [
    ("Order #W4821001 is processed.", "personal_data"),  # another order of hers
    ("Your Coffee Maker cost $99.00.", "ungrounded_fact"),
    ("You placed it on Nov 29, 2026.", "ungrounded_fact"),
    ("It has 2 items.", "ungrounded_fact"),
    ("It has two items.", "wrong_count"),
    ("Good news: your Coffee Maker has shipped!", "wrong_status"),
    ("Your Wireless Earbuds are being packed.", "wrong_item"),
    ("It will arrive tomorrow.", "wrong_day"),
])
def test_a_wrong_fact_never_reaches_the_customer(worded: AgentDeps, wrong: str, rule: str) -> None:
    events, _ = ask(worded, f"Your Coffee Maker is being packed. {wrong}")
    delivered = "".join(e.text for e in events if isinstance(e, TextDelta))
    assert wrong not in delivered
    assert [e.rule for e in events if isinstance(e, ReplyReplaced)] == [rule]
    assert text_of(events) == FACTS  # the facts as code wrote them


@pytest.mark.parametrize("reply", ["I'm sorry, but I can't help with that.",
                                   "Your Coffee Maker order is on the list.",
                                   "Order #W4821002 is on the list."])
def test_a_reply_that_drops_the_answer_is_replaced(worded: AgentDeps, reply: str) -> None:
    events, _ = ask(worded, reply)  # says nothing wrong, but not which order or where it stands
    assert [e.rule for e in events if isinstance(e, ReplyReplaced)] == ["dropped_fact"] and text_of(events) == FACTS


def test_an_upset_customer_is_acknowledged_first(worded: AgentDeps) -> None:
    events, model = ask(worded, "I'm sorry it's taking so long. Order #W4821002 is being packed right now.",
                        "WHERE IS MY ORDER #W4821002?? this is ridiculous, it's been days!!!")
    assert UPSET in str(model.calls[0][-1].content)
    assert text_of(events).startswith("I'm sorry it's taking so long.")


def test_templates_need_no_model(world: AgentDeps) -> None:
    events, model = ask(dataclasses.replace(world, reply_style="template"), "unused")
    assert text_of(events) == FACTS and model.calls == []
