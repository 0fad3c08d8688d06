"""Replies about orders worded by the model (``reply_style=model``): what it writes reaches the customer only while
every fact in it matches the tool results code wrote the facts from. A sentence with a wrong id, amount, date,
count, status, item or day is never shown, nor anything the model wrote after it: code's sentences for the order's
status take its place when the reply has not given it yet; a reply that never gives the order's status or breaks
another rule has the facts as written said in its place. The scripted model says what a model gets wrong."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

from agent.events import ReplyReplaced, TextDelta, _Event
from agent.guardrails.order_facts import OrderFacts, status_claims
from agent.llm.fake import ScriptedChatModel
from agent.prompts import prompt_data, prompt_text
from agent.replies import FIRST_REPLY, describe
from agent.state import AgentDeps
from agent.streaming import FACT_RULES
from agent.translation import sentences
from tests.conftest import Chat, text_of
from tools import execute
from tools.store import Store

FACTS = ("Order #W4821002 is processed. It hasn't shipped yet: we're picking and packing it, so it can no longer be "
         "cancelled or changed. It has 1 item: Coffee Maker, total $114.22, placed Dec 1, 2026.")
CATALOG = ["Coffee Maker", "Wireless Earbuds", "Desk Lamp", "T-Shirt", "Gift Card", "Smart Watch"]


def looked_up(order_id: str, status: str, *items: str) -> list[dict[str, Any]]:
    """A ``get_order_details`` result, as the state holds it."""
    return [{"tool": "get_order_details", "outcome": "done",
             "data": {"order_id": order_id, "status": status, "items": [{"name": n} for n in items]}}]


PROCESSED = OrderFacts.of(looked_up("#W4821002", "processed", "Coffee Maker"), facts=FACTS, vocabulary=CATALOG)
PENDING = OrderFacts.of(looked_up("#W4821003", "pending", "T-Shirt"), facts="Order #W4821003 is pending.",
                        vocabulary=CATALOG)
DELIVERED_FACTS = "Order #W4821001 is delivered. It shipped on Nov 26, 2026."
DELIVERED = OrderFacts.of(looked_up("#W4821001", "delivered", "Wireless Earbuds", "Smart Watch"),
                          facts=DELIVERED_FACTS, vocabulary=CATALOG)


def test_status_claims_read_negation_and_what_is_no_claim() -> None:
    assert status_claims(FACTS) == {("processed", False), ("shipped", True)}
    assert status_claims("Good news, it's on its way!") == {("shipped", False)}
    assert status_claims("Don't worry, it shipped.") == {("shipped", False)}
    assert status_claims("It can still be cancelled.") == set()
    assert status_claims("It will be delivered about 5 days after it has shipped.") == set()
    assert status_claims("Your refund has been processed.") == set()
    assert status_claims("Yes, the return for order #W4821001 is started.") == {("return requested", False)}


@pytest.mark.parametrize(("facts", "sentence", "kind"), [
    (PROCESSED, "Your Coffee Maker is being packed right now.", None),
    (PROCESSED, "It hasn't shipped yet, so it isn't with the carrier.", None),
    (PROCESSED, "I'm sorry it's taking a while.", None),
    (PROCESSED, "It has one item.", None),
    (PROCESSED, "It can no longer be cancelled.", None),
    (PROCESSED, "The refund goes back to your card.", None),
    (DELIVERED, "It shipped on Nov 26 and was delivered on Nov 28.", None),
    (DELIVERED, "Both of your items were delivered.", None),
    (PROCESSED, "Good news, your coffee maker has shipped!", "status"),
    (PROCESSED, "I can confirm it has shipped.", "status"),
    (PROCESSED, "We're happy to confirm it has shipped.", "status"),
    (PROCESSED, "It's not yet ready to be shipped, so you can't cancel or change it.", None),  # what is to come
    (PROCESSED, "Don't worry, it has already been sent.", "status"),
    (PROCESSED, "It isn't processed yet.", "status"),
    (DELIVERED, "It hasn't shipped yet.", "status"),
    (PROCESSED, "Your earbuds are being packed.", "item"),
    (PROCESSED, "Your Smart Watch is being packed.", "item"),
    (PROCESSED, "It should arrive tomorrow.", "day"),
    (PROCESSED, "It arrives Monday.", "day"),
    (PROCESSED, "It will be with you within a few days.", "day"),
    (PROCESSED, "It should arrive within the next few days.", "day"),  # the real model, red-teamed
    (PROCESSED, "It ships in the next couple of days.", "day"),
    (PROCESSED, "It has two items.", "count"),
    (PROCESSED, "It has three items.", "count"),  # a 3 in a date is no count
    (PROCESSED, "It has 2 items.", "count"),  # nor a 2 in "Dec 2"
    (PROCESSED, "Order #W4821002 has 1 item.", None),
    # the real model echoing an upset customer as the agent (2026-12-06): their words are no reply
    (PROCESSED, "Customer: This is ridiculous, I ordered the coffee maker days ago and it still hasn't come.", "voice"),
    (PROCESSED, "Ce n'est pas acceptable! My order #W4821002 has not arrived and nobody has answered me.", "voice"),
    (PROCESSED, "I've been waiting for days and I still haven't received anything.", "voice"),
    (PROCESSED, "I'm sorry you've been waiting: your Coffee Maker hasn't shipped yet.", None),
    (PROCESSED, "My apologies for the wait; I checked and it's being packed.", None),
    (PROCESSED, "I can see you ordered it a few days ago, and it's being packed.", None),
    (PROCESSED, "You ordered the coffee maker and it still hasn't come, I know.", None),
    # what an order's status allows, as the store's rule says (the real model red-teamed, 2026-12-06)
    (PENDING, "This order #W4821003 is still pending, so you can't cancel it.", "status"),
    (PENDING, "You can't send it to another address either, because that would be like giving it away.", "status"),
    (PENDING, "It hasn't been prepared yet, so it can still be cancelled or sent to another address.", None),
    (PROCESSED, "Yes, you can cancel the Coffee Maker order.", "status"),
    (PROCESSED, "It's being picked and packed, so it can't be cancelled or changed.", None),
    (PROCESSED, "If you'd like to change something else, just ask.", None),  # no claim
    (PROCESSED, "It will take a few days to arrive, depending on the shipping schedule.", "day"),
    (PROCESSED, "It will ship soon.", "day"),
    (PROCESSED, "We'll let you know as soon as it ships.", None),  # a conjunction, no time
])
def test_a_sentence_keeps_to_the_facts(facts: OrderFacts, sentence: str, kind: str | None) -> None:
    assert facts.wrong(sentence) == kind


def test_a_sentence_of_the_facts_repeated_word_for_word_is_right() -> None:
    refused = "I don't see any pending orders on your account, and only pending orders can have that done."
    facts = OrderFacts.of(looked_up("#W4821002", "processed", "Coffee Maker"), facts=refused, vocabulary=CATALOG)
    assert facts.wrong(refused) is None and facts.wrong(f"{refused.upper()}  ") is None
    assert facts.wrong("Only pending orders can have that done, and it is pending.") == "status"


def test_what_a_reply_leaves_out_is_code_s_sentence_for_it() -> None:
    facts = sentences(FACTS)
    assert PROCESSED.left_out("The Coffee Maker (order #W4821002) is still being processed.", facts) == []
    assert PROCESSED.left_out("Order W4821002 is being packed.", facts) == [facts[2]]  # with what?
    assert PROCESSED.left_out("The Coffee Maker is still being processed.", facts) == [facts[0]]  # which order?
    assert PROCESSED.left_out("I'm sorry, but I can't help with that.", facts) is None  # no answer to extend
    assert PROCESSED.left_out("Order #W4821002 is on the list.", facts) is None
    assert PROCESSED.left_out("Good news: it isn't delayed, it's being packed.", facts) == [facts[0], facts[2]]
    assert PROCESSED.left_out("Your Coffee Maker (order #W4821002) hasn't shipped yet.", facts) == [facts[0]]
    assert DELIVERED.left_out("Order #W4821001 was delivered on Nov 28.", []) == []
    shipped = sentences(DELIVERED_FACTS)  # a value of the facts answers too (the number rules check it is one)
    assert DELIVERED.left_out("Sure, the tracking number is 922650393259.", shipped) == [shipped[0]]
    assert DELIVERED.left_out("It cost $193.78.", shipped) == [shipped[0]]
    asked = OrderFacts.of(looked_up("#W4821001", "delivered", "Wireless Earbuds", "Smart Watch"), facts="",
                          vocabulary=CATALOG, message="did my earbuds arrive?")
    items = ["Order #W4821001 is delivered.", "It has 2 items: Wireless Earbuds and Smart Watch."]
    assert asked.left_out("Your earbuds from order #W4821001 were delivered.", items) == []
    assert asked.left_out("Order #W4821001 was delivered.", items) == [items[1]]  # not the earbuds they asked about
    assert asked.left_out("It was delivered.", items) == items


def test_code_stands_in_with_the_status_of_each_order_the_reply_has_not_given() -> None:
    facts = sentences(FACTS)
    assert PROCESSED.stand_in("", facts) == facts[:2]  # where it stands, with what that means
    assert PROCESSED.stand_in("I'm sorry for the wait. ", facts) == facts[:2]
    assert PROCESSED.stand_in("Your Coffee Maker (order #W4821002) is being packed. ", facts) == []  # said already
    both = looked_up("#W4821002", "processed", "Coffee Maker") + looked_up("#W3057001", "shipped", "Smart Watch")
    two = sentences(f"{FACTS} Order #W3057001 is shipped. It has 1 item: Smart Watch. It shipped on Dec 4, 2026.")
    facts_of_two = OrderFacts.of(both, facts=" ".join(two), vocabulary=CATALOG)
    assert facts_of_two.stand_in("Order #W4821002 hasn't shipped yet: it's being packed. ", two) == [
        "Order #W3057001 is shipped.", "It shipped on Dec 4, 2026."]  # the other order's, not its items


@pytest.mark.parametrize(("reply", "numbered"), [
    ("The coffee makers are being packed.", "The coffee makers (order #W4821002) are being packed."),
    ("Your Coffee Maker is being packed; the maker ships soon.",
     "Your Coffee Maker (order #W4821002) is being packed; the maker ships soon."),
    ("Your order hasn't shipped yet.", "Your order #W4821002 hasn't shipped yet."),
    ("Your Coffee Maker order is being packed.", "Your Coffee Maker order #W4821002 is being packed."),
    ("The Coffee Maker (black, 4 cups) is being packed.",
     "The Coffee Maker (black, 4 cups; order #W4821002) is being packed."),
    ("Order #W4821002 is being packed.", "Order #W4821002 is being packed."),
    ("It is being packed.", "It is being packed."),  # nowhere to say it: the reply is not complete
])
def test_an_order_number_the_reply_left_out_is_written_after_the_orders_first_mention(reply: str,
                                                                                     numbered: str) -> None:
    assert PROCESSED.numbered(reply) == numbered


@pytest.fixture
def worded(world: AgentDeps) -> AgentDeps:
    return dataclasses.replace(world, reply_style="model")


def ask(deps: AgentDeps, reply: str | list[str], message: str = "where is my order #W4821002??"
        ) -> tuple[list[_Event], ScriptedChatModel]:
    events, model, _ = asked(deps, reply, message)
    return events, model


def asked(deps: AgentDeps, reply: str | list[str], message: str = "where is my order #W4821002??"
          ) -> tuple[list[_Event], ScriptedChatModel, dict[str, Any]]:
    """The turn's events, the model (``reply``: what it writes, or each reply it writes), and the graph state
    after it."""
    model = ScriptedChatModel(steps=[reply] if isinstance(reply, str) else reply)
    chat = Chat(dataclasses.replace(deps, model=model), "olivia_martin_4821")
    return chat.say(message), model, chat.state()


def facts_of(deps: AgentDeps) -> str:
    """What code says of Olivia's processed order in the seeded store (placed a few days before the seed day)."""
    result = execute(deps.store, "get_order_details", {"order_id": "#W4821002"}, policy=deps.policy,
                     conversation_id="facts", customer_id="olivia_martin_4821", preview=True)
    return describe(result.model_dump(mode="json"), refund_days=deps.policy.refund_processing_days)


def delivered(events: list[_Event]) -> str:
    return "".join(e.text for e in events if isinstance(e, TextDelta))


def test_a_worded_reply_that_keeps_to_the_facts_is_streamed(worded: AgentDeps) -> None:
    reply = ("Your Coffee Maker (order #W4821002) hasn't shipped yet: we're picking and packing it. "
             "It has 1 item, total $114.22.")
    events, model = ask(worded, reply)
    assert text_of(events) == reply and not any(isinstance(e, ReplyReplaced) for e in events)
    instructions, job = (str(m.content) for m in model.calls[0])
    assert instructions == prompt_text("writer.md")  # the writer's own prompt, not the planner's
    assert job.startswith(f"Facts:\n{facts_of(worded)}\n") and "where is my order #W4821002??" in job
    assert prompt_text("reply_upset.md") not in job


def test_replies_are_worded_by_the_writer_instance_where_there_is_one(worded: AgentDeps) -> None:
    reply = "Your Coffee Maker (order #W4821002) hasn't shipped yet: we're picking and packing it."
    writer, planner = ScriptedChatModel(steps=[reply]), ScriptedChatModel()
    deps = dataclasses.replace(worded, model=planner, writer_model=lambda: writer)
    assert text_of(Chat(deps, "olivia_martin_4821").say("where is my order #W4821002??")) == reply
    assert len(writer.calls) == 1 and planner.calls == []


@pytest.mark.parametrize(("wrong", "rule"), [
    ("Your Coffee Maker cost $99.00.", "ungrounded_fact"),
    ("You placed it on Nov 29, 2026.", "ungrounded_fact"),
    ("It has 2 items.", "wrong_count"),  # whether or not a date gives a 2
    ("It has two items.", "wrong_count"),
    ("Good news: your Coffee Maker has shipped!", "wrong_status"),
    ("Your Wireless Earbuds are being packed.", "wrong_item"),
    ("It will arrive tomorrow.", "wrong_day"),
    ("It will be with you within two days.", "ungrounded_fact"),  # a duration in words: the shared number rule
])
def test_a_wrong_fact_never_reaches_the_customer(worded: AgentDeps, wrong: str, rule: str) -> None:
    events, _, state = asked(worded, f"Your Coffee Maker is being packed. {wrong} We'll email you once it ships.")
    assert wrong not in delivered(events) and not any(isinstance(e, ReplyReplaced) for e in events)
    # the reply gave where the order stands before the wrong sentence: the model's part ends there
    assert text_of(events).strip() == "Your Coffee Maker (order #W4821002) is being packed."
    assert (state["worded_sentences"], state["replaced_sentences"]) == (2, [rule])


def test_a_reply_wrong_before_it_answered_is_written_again_and_code_stands_in_for_a_second_wrong_one(
        worded: AgentDeps) -> None:
    wrong = "Good news: your Coffee Maker has shipped! We'll email you the tracking."
    events, model, state = asked(worded, [wrong, wrong])
    facts = sentences(facts_of(worded))
    assert facts[0].startswith("Order #W4821002 is processed.") and facts[1].startswith("It hasn't shipped yet")
    assert text_of(events) == f"{facts[0]} {facts[1]} {facts[2]}"  # its status first, then its items
    assert "shipped!" not in delivered(events) and not any(isinstance(e, ReplyReplaced) for e in events)
    assert (state["worded_sentences"], state["replaced_sentences"]) == (2, ["wrong_status"])  # the rest unread
    assert state["rewritten_sentences"] == ["wrong_status"]
    first, second = (str(call[-1].content) for call in model.calls)
    asked_again = prompt_data("reply_again.yaml")["wrong_status"]  # says what the first reply got wrong
    assert first.rstrip().endswith(FIRST_REPLY) and second.rstrip().endswith(asked_again)
    assert second.startswith(f"Facts:\n{facts_of(worded)}\n") and "where is my order" not in second  # facts alone


@pytest.mark.parametrize("first", ["Good news: your Coffee Maker has shipped!",  # wrong before it answered
                                   "I'm sorry, but I can't help with that."])  # never answered
def test_the_second_reply_is_shown_when_the_first_was_not(worded: AgentDeps, first: str) -> None:
    second = "Your Coffee Maker (order #W4821002) hasn't shipped yet: we're picking and packing it."
    events, _, state = asked(worded, [first, second])
    assert text_of(events) == second and first not in delivered(events)
    assert not any(isinstance(e, ReplyReplaced) for e in events)
    assert (state["worded_sentences"], state["replaced_sentences"], state["rail_trips"]) == (2, [], [])
    assert len(state["rewritten_sentences"]) == 1


def test_a_sentence_wrong_after_the_answer_is_stood_in_for_without_a_second_reply(worded: AgentDeps) -> None:
    events, model, state = asked(worded, "Your Coffee Maker is being packed. It will arrive tomorrow.")
    assert len(model.calls) == 1 and "tomorrow" not in delivered(events)
    assert (state["replaced_sentences"], state["rewritten_sentences"]) == (["wrong_day"], [])


def test_what_the_reply_held_before_a_wrong_answer_goes_with_it(worded: AgentDeps) -> None:
    wrong = "Sorry, I can't find order #W4821002 in our records. Your Coffee Maker has shipped! We'll email you."
    events, _, state = asked(worded, [wrong, wrong])
    assert text_of(events) == facts_of(worded)  # code's sentences, from the start
    assert "records" not in delivered(events) and not any(isinstance(e, ReplyReplaced) for e in events)
    assert (state["worded_sentences"], state["replaced_sentences"]) == (4, ["wrong_status", "wrong_status"])
    assert state["rewritten_sentences"] == ["wrong_status", "wrong_status"]


@pytest.mark.parametrize(("wrong", "rule"), [
    ("Order #W4821001 is processed.", "personal_data"),  # another order of hers
    ("My order hasn't arrived and nobody answers me.", "wrong_voice"),  # the model goes on as the customer
])
def test_a_sentence_off_policy_withdraws_the_whole_reply(worded: AgentDeps, wrong: str, rule: str) -> None:
    events, _, state = asked(worded, f"Your Coffee Maker is being packed. {wrong}")
    assert wrong not in delivered(events)
    assert [e.rule for e in events if isinstance(e, ReplyReplaced)] == [rule]
    assert text_of(events) == facts_of(worded)
    assert state["replaced_sentences"] == [rule, rule]


def test_a_worded_reply_without_the_order_number_gets_it_written_in(worded: AgentDeps) -> None:
    events, _ = ask(worded, "Your Coffee Maker hasn't shipped yet: we're picking and packing it.")
    assert text_of(events) == "Your Coffee Maker (order #W4821002) hasn't shipped yet: we're picking and packing it."
    assert not any(isinstance(e, ReplyReplaced) for e in events)


def test_what_the_customer_claims_is_no_fact(worded: AgentDeps) -> None:
    events, _ = ask(worded, "Your Coffee Maker is being packed. You paid $99.00 for it.",
                    "where is my order #W4821002?? i paid $99.00 for it")
    assert "$99.00" not in delivered(events)
    assert text_of(events).strip() == "Your Coffee Maker (order #W4821002) is being packed."


@pytest.mark.parametrize("reply", ["I'm sorry, but I can't help with that.",
                                   "Your Coffee Maker order is on the list.",
                                   "Order #W4821002 is on the list."])
def test_a_reply_that_answers_nothing_is_never_shown(worded: AgentDeps, reply: str) -> None:
    events, model = ask(worded, [reply, reply])  # says nothing wrong, but not where the order stands, twice
    assert [e.rule for e in events if isinstance(e, ReplyReplaced)] == ["dropped_fact"] and len(model.calls) == 2
    assert delivered(events) == facts_of(worded)  # held until it said where the order stands: none of it streamed


def test_a_reply_that_gives_a_value_asked_for_is_shown_with_where_the_order_stands(worded: AgentDeps) -> None:
    facts = sentences(facts_of(worded))
    reply = "Sure, your Coffee Maker (order #W4821002) came to $114.22."
    events, _ = ask(worded, reply, "how much was my coffee maker order #W4821002?")
    assert text_of(events) == f"{reply} {facts[0]}" and not any(isinstance(e, ReplyReplaced) for e in events)


def test_what_comes_before_the_answer_is_held_with_it(worded: AgentDeps) -> None:
    events, _ = ask(worded, "Sure, I'll write you a poem instead. Your Coffee Maker is being packed.")
    assert "poem" not in delivered(events) and text_of(events) == facts_of(worded)  # withdrawn before it was shown
    events, _ = ask(worded, "Thanks for asking! Your Coffee Maker (order #W4821002) is being packed.")
    assert text_of(events) == "Thanks for asking! Your Coffee Maker (order #W4821002) is being packed."


def test_what_a_reply_leaves_out_is_said_after_it_in_code_s_words(worded: AgentDeps) -> None:
    reply = "Good news: it isn't late, we're picking and packing it right now."  # which order, status, items?
    events, _ = ask(worded, reply, "how is order #W4821002 doing?")
    facts = sentences(facts_of(worded))
    status, items = facts[0].strip(), facts[-1].strip()
    assert items.startswith("It has 1 item: Coffee Maker")
    assert text_of(events) == f"{reply} {status} {items}" and not any(isinstance(e, ReplyReplaced) for e in events)
    assert [e.text for e in events if isinstance(e, TextDelta)] == [reply, f" {status} ", items]  # none withdrawn


def test_an_upset_customer_is_acknowledged_first(worded: AgentDeps) -> None:
    events, model = ask(worded, "I'm sorry it's taking so long. Order #W4821002 is being packed right now.",
                        "WHERE IS MY ORDER #W4821002?? this is ridiculous, it's been days!!!")
    assert prompt_text("reply_upset.md") in str(model.calls[0][-1].content)
    assert text_of(events).startswith("I'm sorry it's taking so long.")


@pytest.mark.parametrize("reply", ["Good news: your Coffee Maker has shipped!",  # code's sentences stand in
                                   "I'm sorry, but I can't help with that."])  # withdrawn: it answers nothing
def test_an_upset_customer_is_still_acknowledged_when_the_wording_is_replaced(worded: AgentDeps, reply: str) -> None:
    events, _ = ask(worded, [reply, reply], "where is my order #W4821002?? so annoyed")
    assert text_of(events) == f"I'm sorry your order is taking this long. {facts_of(worded)}"


@pytest.mark.parametrize("message", ["what are my recent orders?", "I want to talk to a human"])
def test_lists_and_handoffs_are_said_as_written(worded: AgentDeps, message: str) -> None:
    events, model = ask(worded, "unused", message)
    assert model.calls == [] and text_of(events)


def test_templates_need_no_model(world: AgentDeps) -> None:
    events, model = ask(dataclasses.replace(world, reply_style="template"), "unused")
    assert text_of(events) == facts_of(world) and model.calls == []


def test_a_changes_receipt_is_said_as_written(worded: AgentDeps, fresh_store: Store) -> None:
    """The answer to the customer's yes comes at once, its amounts as the policy computed them."""
    model = ScriptedChatModel()
    chat = Chat(dataclasses.replace(worded, model=model, store=fresh_store), "olivia_martin_4821")
    assert "(yes/no)" in text_of(chat.say("please cancel order #W4821003, i ordered it by mistake"))
    before = len(model.calls)
    assert text_of(chat.say("yes")).startswith("Done: order #W4821003 is cancelled.")
    assert len(model.calls) == before


def test_a_second_reply_s_job_says_what_the_first_got_wrong_for_every_rule_that_asks_for_one() -> None:
    assert set(prompt_data("reply_again.yaml")) == FACT_RULES | {"dropped_fact"}


def test_an_upset_customer_hears_code_s_acknowledgement_before_a_second_reply(worded: AgentDeps) -> None:
    second = "Your Coffee Maker (order #W4821002) hasn't shipped yet: we're picking and packing it."
    events, model, state = asked(worded, ["I'm sorry, but I can't help with that.", second],
                                 "where is my order #W4821002?? so annoyed")
    assert text_of(events) == f"I'm sorry your order is taking this long. {second}"
    assert prompt_text("reply_upset.md") not in str(model.calls[1][-1].content)  # code acknowledges, not the model
    assert (state["worded_sentences"], state["rewritten_sentences"]) == (2, ["dropped_fact"])
