"""How an order is told to the customer by code (the template the model's wording falls back to): the status
first, with what it means, counts in words, no template artefacts; an upset customer hears an acknowledgement of
what they complain about first."""

from __future__ import annotations

import dataclasses
import json
from typing import Any

import pytest

from agent.llm.fake import ScriptedChatModel
from agent.nodes.understand import sentiment_of
from agent.replies import acknowledgement, describe_order, describe_orders
from agent.state import AgentDeps
from tests.conftest import Chat, text_of
from tests.test_dialogue import OLIVIA
from tools.store import Store

ITEM = {"name": "Coffee Maker", "options": {}}


def order(status: str, items: int = 1) -> dict[str, Any]:
    names = ["Coffee Maker", "T-Shirt", "Water Bottle"][:items]
    return {"order_id": "#W4821002", "status": status, "items": [{**ITEM, "name": n} for n in names],
            "total": "114.22", "placed_at": "2026-11-30T10:00:00", "tracking": [], "shipped_at": None,
            "delivered_at": None}


@pytest.mark.parametrize(("status", "meaning"), [
    ("pending", "can still be cancelled"),
    ("pending (item modified)", "can still be cancelled"),
    ("processed", "It hasn't shipped yet"),
    ("cancelled", "within 5 business days"),
    ("return requested", "return instructions we emailed you"),
])
def test_the_status_is_said_with_what_it_means(status: str, meaning: str) -> None:
    text = describe_order(order(status), refund_days=5)
    assert text.startswith(f"Order #W4821002 is {status}. ") and meaning in text


def test_counts_and_lists_read_naturally() -> None:
    one, three = describe_order(order("processed"), refund_days=5), describe_order(order("processed", 3), refund_days=5)
    assert "It has 1 item: Coffee Maker, total $114.22, placed Nov 30, 2026." in one
    assert "It has 3 items: Coffee Maker, T-Shirt and Water Bottle" in three
    listed = describe_orders([order("pending", 2), order("processed")])
    assert "2 items" in listed and "1 item," in listed
    assert "(s)" not in one + three + listed


def test_an_order_without_a_date_is_told_without_one() -> None:
    undated = {**order("pending"), "placed_at": None}
    assert "It has 1 item: Coffee Maker, total $114.22." in describe_order(undated, refund_days=5)
    assert "#W4821002: pending, 1 item, total $114.22." in describe_orders([undated])
    assert "unknown" not in describe_order(undated, refund_days=5) + describe_orders([undated])


def test_a_shipment_with_no_date_on_record_is_told_with_its_tracking_number() -> None:
    shipped = {**order("delivered"), "tracking": [{"carrier": "UPS", "tracking_id": "840887978435", "last_event": None,
                                                   "last_event_at": None}]}
    assert "Its shipment with UPS has tracking number 840887978435." in describe_order(shipped, refund_days=5)
    packing = {**shipped, "status": "processed"}
    assert "tracking" not in describe_order(packing, refund_days=5)  # a label printed ahead: nothing has shipped


def test_items_being_returned_or_exchanged_are_told_with_the_refund_and_what_is_kept() -> None:
    items = [{**ITEM, "item_id": "1", "name": "Air Purifier", "price": "500.00"},
             {**ITEM, "item_id": "2", "name": "Vacuum Cleaner", "price": "126.04"},
             {**ITEM, "item_id": "3", "name": "Desk Lamp", "price": "97.65"}]
    returning = {**order("return requested"), "items": items, "total": "723.69",
                 "details": {"return_items": ["1", "2"], "return_payment_method_id": "paypal_1"}}
    text = describe_order(returning, refund_days=5)
    assert ("Being returned: Air Purifier and Vacuum Cleaner (refund $626.04). The items you keep come to $97.65."
            in text)
    everything = {**returning, "details": {"return_items": ["1", "2", "3"]}}
    assert "Being returned: Air Purifier, Vacuum Cleaner and Desk Lamp (refund $723.69)." in describe_order(
        everything, refund_days=5) and "keep" not in describe_order(everything, refund_days=5)
    exchanging = {**returning, "status": "exchange requested", "details": {"exchange_items": ["3"]}}
    assert "Being exchanged: Desk Lamp." in describe_order(exchanging, refund_days=5)


@pytest.mark.parametrize(("message", "said"), [
    ("This is ridiculous, my order #W4821002 still hasn't arrived!", "I'm sorry your order is taking this long."),
    ("WHERE IS MY PACKAGE, I'VE BEEN WAITING FOR WEEKS", "I'm sorry your order is taking this long."),
    ("the blender was supposed to arrive on monday, ridiculous", "I'm sorry your order is taking this long."),
    ("the damn earbuds stopped working after a week", "I'm sorry it isn't working as it should."),
    ("what the hell, you charged me twice", "I'm sorry about the trouble with the payment."),
    ("this is unacceptable, your service is useless", "I'm sorry about the trouble."),
])
def test_an_upset_customer_hears_an_acknowledgement_of_what_they_complain_about(message: str, said: str) -> None:
    assert acknowledgement(message) == said


@pytest.mark.parametrize(("message", "sentiment"), [
    ("this is the second time my parcel is late", "negative"),
    ("still no sign of my package and nobody answers the phone", "negative"),
    ("honestly so disappointed with this order", "negative"),
    ("I keep waiting and waiting for my refund", "negative"),
    ("my delivery got delayed again", "negative"),
    ("It's outrageous, no one ever answers my emails", "negative"),
    ("honestly absurd that nobody here tells me anything", "negative"),
    ("the blender was supposed to be here on monday", "negative"),
    ("my package should have arrived by now", "negative"),
    ("when is it supposed to arrive?", "neutral"),
    ("thanks again for the help", "neutral"),
    ("could you check the order again?", "neutral"),
    ("is it still possible to cancel?", "neutral"),
    ("I'd like to return the lamp", "neutral"),
    ("no one else uses this account, can you reset the password?", "neutral"),
])
def test_frustration_repeated_contacts_and_urgency_read_as_upset(message: str, sentiment: str) -> None:
    assert sentiment_of(message) == sentiment


def test_the_acknowledgement_comes_before_the_facts_and_only_when_upset(world: AgentDeps, fresh_store: Store) -> None:
    lookup = json.dumps({"commands": [{"cmd": "lookup", "order_id": "#W4821002"}]})

    def reply(message: str) -> str:
        deps = dataclasses.replace(world, store=fresh_store, planner="model", answer_style="quote",
                                   model=ScriptedChatModel(steps=[lookup]))
        return text_of(Chat(deps, OLIVIA).say(message))

    upset = reply("This is ridiculous! My order #W4821002 still hasn't arrived and nobody tells me anything")
    assert upset.startswith("I'm sorry your order is taking this long. Order #W4821002 is processed.")
    assert reply("Could you tell me the status of my order #W4821002 please?").startswith("Order #W4821002 is")


@pytest.mark.parametrize(("command", "upset", "calm", "then"), [
    ({"cmd": "write", "tool": "cancel_pending_order", "order_id": "#W4821003", "reason": "no longer needed"},
     "ugh, so frustrated with this order. cancel #W4821003, I don't need it",
     "please cancel #W4821003, I don't need it", "To confirm"),
    ({"cmd": "answer", "question": "How long do refunds take?"},
     "this is so annoying, how long do refunds take??", "how long do refunds take?", ""),
])
def test_an_upset_customer_is_acknowledged_before_a_proposal_or_a_help_center_answer_too(
    world: AgentDeps, fresh_store: Store, command: dict[str, Any], upset: str, calm: str, then: str
) -> None:
    def reply(message: str) -> str:
        deps = dataclasses.replace(world, store=fresh_store, planner="model", answer_style="quote",
                                   model=ScriptedChatModel(steps=[json.dumps({"commands": [command]})]))
        return text_of(Chat(deps, OLIVIA).say(message))

    acknowledged = reply(upset)
    assert acknowledged.startswith("I'm sorry about the trouble. " + then), acknowledged
    assert acknowledged.count("sorry") == 1
    assert not reply(calm).startswith("I'm sorry")
