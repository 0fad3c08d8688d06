"""What the planner reads into a message is checked against what the customer wrote and owns, words that ask
for a person are noticed whatever the planner read, and the planner reads what the agent asked last."""

from __future__ import annotations

from typing import Any

import pytest
from langchain_core.messages import AIMessage, HumanMessage
from pydantic import TypeAdapter

from agent.commands import Command
from agent.nodes.understand import asks_for_a_person
from agent.planner.clauses import asks_for
from agent.planner.grounding import grounded
from agent.planner.prompt import customer_context

COMMAND = TypeAdapter(Command)
ORDERS = [
    {"order_id": "#W1000001", "status": "delivered", "items": [{"name": "Wireless Earbuds"}, {"name": "T-Shirt"}]},
    {"order_id": "#W1000002", "status": "processed", "items": [{"name": "Coffee Maker"}]},
    {"order_id": "#W1000003", "status": "pending", "items": [{"name": "Water Bottle"}]},
]


def check(text: str, *commands: dict[str, Any], task: dict[str, Any] | None = None) -> list[dict[str, Any]]:
    return grounded([COMMAND.validate_python(c) for c in commands], text, ORDERS, task)


def test_an_order_named_by_number_is_looked_up_when_no_command_is_about_it() -> None:
    answer = {"cmd": "answer", "question": "What if my order has not arrived?"}
    said = check("This is ridiculous! My order #W1000002 still hasn't arrived and nobody tells me anything", answer)
    assert said == [{"cmd": "lookup", "order_id": "#W1000002"}, answer]
    assert check("where is #W1000002?", {"cmd": "lookup", "order_id": "#W1000002"}) == [
        {"cmd": "lookup", "order_id": "#W1000002"}]
    returns = {"cmd": "answer", "question": "How do returns work?"}
    assert check("how do returns work for #W9999999?", returns) == [returns]  # not theirs: nothing looked up
    assert check("yes, #W1000003", {"cmd": "confirm", "yes": True}) == [{"cmd": "confirm", "yes": True}]


def test_the_order_just_talked_about_is_looked_up_when_the_customer_refers_back_to_it() -> None:
    answer = {"cmd": "answer", "question": "How much did I pay?"}
    asked = "and how much did I pay for the items left in that order?"
    assert grounded([COMMAND.validate_python(answer)], asked, ORDERS, None, talked_about="#W1000001") == [
        {"cmd": "lookup", "order_id": "#W1000001"}, answer]
    assert grounded([COMMAND.validate_python(answer)], "how much do orders cost to ship?", ORDERS, None,
                    talked_about="#W1000001") == [answer]  # no reference back: nothing looked up


def test_items_to_return_that_lie_in_several_delivered_orders_are_one_return_per_order() -> None:
    orders = [*ORDERS, {"order_id": "#W1000004", "status": "delivered", "items": [{"name": "Skateboard"}]},
              {"order_id": "#W1000005", "status": "delivered", "items": [{"name": "Pet Bed"}, {"name": "T-Shirt"}]}]
    planned = {"cmd": "write", "tool": "return_delivered_order_items", "order_id": "#W1000004",
               "items": ["Skateboard"]}
    said = grounded([COMMAND.validate_python(planned)], "I want to return the skateboard, earbuds, and bed, and "
                    "cancel the water bottle", orders, None)
    assert [(c["order_id"], c["items"]) for c in said if c["cmd"] == "write"] == [
        ("#W1000004", ["Skateboard"]), ("#W1000003", ["Water Bottle"]), ("#W1000001", ["Wireless Earbuds"]),
        ("#W1000005", ["Pet Bed"])]  # the water bottle's is a cancellation, asked in the same sentence
    both = grounded([COMMAND.validate_python(planned)], "I want to return the skateboard and the t-shirt", orders, None)
    assert [c["order_id"] for c in both if c["cmd"] == "write"] == ["#W1000004"]  # two orders hold a t-shirt: asked


def test_an_order_named_by_its_status_is_the_one_order_of_that_status() -> None:
    orders = [*ORDERS, {"order_id": "#W1000004", "status": "cancelled", "items": [{"name": "Desk Lamp"}]}]
    move = {"cmd": "write", "tool": "modify_pending_order_address", "order_id": "#W1000001",
            "address": "12 Main St, Springfield, IL 62701"}
    said = "return the earbuds. Also send my pending order to 12 Main St, Springfield, IL 62701"
    assert grounded([COMMAND.validate_python(move)], said, orders, None)[0]["order_id"] == "#W1000003"
    tracking = grounded([], "I want to get the tracking number of my cancelled order.", orders, None)
    assert tracking == [{"cmd": "lookup", "order_id": "#W1000004"}]  # asked, though not as a question
    two_pending = [*orders, {"order_id": "#W1000005", "status": "pending", "items": [{"name": "Hoodie"}]}]
    assert grounded([COMMAND.validate_python(move)], said, two_pending, None)[0]["order_id"] == "#W1000001"


def test_a_return_asked_of_all_orders_returns_each_delivered_one_but_what_is_excepted() -> None:
    orders = [*ORDERS, {"order_id": "#W1000004", "status": "delivered", "items": [{"name": "Hiking Boots"}]}]
    cancel = {"cmd": "write", "tool": "cancel_pending_order", "order_id": "#W1000003", "reason": "no longer needed"}
    said = grounded([COMMAND.validate_python(cancel)], "I no longer need them: cancel or return all possible "
                    "orders, except the boots that I love", orders, None)
    assert [(c["tool"], c["order_id"], c.get("items")) for c in said if c["cmd"] == "write"] == [
        ("cancel_pending_order", "#W1000003", []),
        ("return_delivered_order_items", "#W1000001", ["Wireless Earbuds", "T-Shirt"])]  # the boots' order kept


def test_a_reason_the_customer_never_gave_is_dropped() -> None:
    said = check("cancel order #W1000003", {"cmd": "write", "tool": "cancel_pending_order",
                                            "order_id": "#W1000003", "reason": "ordered by mistake"})
    assert said == [{"cmd": "write", "tool": "cancel_pending_order", "order_id": "#W1000003", "items": []}]
    kept = check("cancel it, i dont need it anymore", {"cmd": "write", "tool": "cancel_pending_order",
                                                       "reason": "dont need it anymore"})
    assert kept[0]["reason"] == "dont need it anymore" and "order_id" not in kept[0]


def test_details_the_customer_misspelt_are_kept_but_not_numbers_they_did_not_write() -> None:
    cancel = {"cmd": "write", "tool": "cancel_pending_order", "order_id": "#W1000003", "reason": "ordered by mistake"}
    assert check("cancle my oder #W1000003 i orderd it by mistke", cancel)[0]["reason"] == "ordered by mistake"
    move = {"cmd": "write", "tool": "modify_pending_order_address", "order_id": "#W1000003",
            "address": "12 Main St, Portland, OR 97210"}
    assert "address" not in check("send #W1000003 to 12 Main St, Portland, OR 97201", move)[0]


def test_an_item_named_in_two_words_is_named() -> None:
    write = {"cmd": "write", "tool": "return_delivered_order_items", "order_id": "#W1000001",
             "items": ["Wireless Earbuds"]}
    assert check("i want to return the ear buds, they dont work", write)[0]["items"] == ["Wireless Earbuds"]


def test_items_must_be_named_in_english_but_not_in_other_languages() -> None:
    write = {"cmd": "write", "tool": "return_delivered_order_items", "order_id": "#W1000001",
             "items": ["Wireless Earbuds", "T-Shirt"]}
    assert check("return stuff from order #W1000001", write)[0]["items"] == []
    assert check("return the tshirt from #W1000001", write)[0]["items"] == ["T-Shirt"]
    assert check("quiero devolver los auriculares del pedido #W1000001", write)[0]["items"] == [
        "Wireless Earbuds", "T-Shirt"]


def test_an_item_copied_with_its_options_from_the_agents_message_is_the_orders_item() -> None:
    proposed = {"intent": "return_items", "order_id": "#W1000001", "awaiting": "confirmation"}
    narrowed = {"cmd": "correct", "order_id": "#W1000001", "items": ["T-Shirt (black, M)"]}
    assert check("only return the tshirt", narrowed, task=proposed)[0]["items"] == ["T-Shirt"]
    assert check("only that one", {**narrowed, "items": ["Hoodie (black, M)"]}, task=proposed)[0].get(
        "items") in (None, [])  # not an item of that order
    kettle = [{"order_id": "#W1000009", "status": "delivered",
               "items": [{"name": "Electric Toothbrush"}, {"name": "Electric Kettle"}, {"name": "Coffee Machine"}]}]
    every = {"cmd": "write", "tool": "return_delivered_order_items", "order_id": "#W1000009",
             "items": ["Electric Toothbrush", "Electric Kettle"]}  # a word in common: each is still itself
    assert grounded([COMMAND.validate_python(every)], "return everything except the coffee machine", kettle,
                    None)[0]["items"] == ["Electric Toothbrush", "Electric Kettle"]


def test_a_correction_without_items_takes_those_of_the_tasks_order_the_message_wants() -> None:
    proposed = {"intent": "return_items", "order_id": "#W1000001", "awaiting": "confirmation"}
    bare = {"cmd": "correct", "order_id": "#W1000001", "items": []}
    assert check("only return the tshirt", bare, task=proposed)[0]["items"] == ["T-Shirt"]
    assert check("no wait, the earbuds not the shirt", bare, task=proposed)[0]["items"] == ["Wireless Earbuds"]
    assert not check("no, the other order", {"cmd": "correct"}, task=proposed)[0].get("items")


def test_an_order_that_is_not_theirs_or_named_is_dropped() -> None:
    lookup = {"cmd": "lookup", "order_id": "#W0000002"}  # from the prompt's examples
    assert "order_id" not in check("where is my stuff", lookup)[0]


def test_the_one_order_holding_the_item_named_wins() -> None:
    lookup = {"cmd": "lookup", "order_id": "#W1000003"}
    assert check("hey wheres my coffee maker??", lookup)[0]["order_id"] == "#W1000002"


def test_a_bare_yes_starts_nothing_new() -> None:
    said = check("yes please", {"cmd": "write", "tool": "request_password_reset"})
    assert said == [{"cmd": "correct"}]


def test_a_write_of_the_task_in_progress_corrects_it() -> None:
    task = {"intent": "change_address", "order_id": "#W1000003", "awaiting": "address"}
    said = check("12 Oak Street, Portland, OR 97201", {"cmd": "write", "tool": "modify_pending_order_address",
                                                       "address": "12 Oak Street, Portland, OR 97201"}, task=task)
    assert said[0]["cmd"] == "correct" and said[0]["address"] == "12 Oak Street, Portland, OR 97201"


def test_a_handoff_keeps_its_reason() -> None:
    assert check("pls delete my account", {"cmd": "handoff", "reason": "request not covered"}) == [
        {"cmd": "handoff", "reason": "request not covered"}]


def test_orders_named_by_their_items_are_the_ones_looked_up_each_once() -> None:
    same = {"cmd": "lookup", "order_id": "#W1000002"}
    wrong = {"cmd": "lookup", "order_id": "#W1000003"}
    looked_up = check("where are my coffee maker and my earbuds", same, wrong)
    assert sorted(c["order_id"] for c in looked_up) == ["#W1000001", "#W1000002"]
    assert check("where is my coffee maker", same, same) == [same]


def test_an_order_named_by_an_item_in_it_is_looked_up_when_no_command_is_about_it() -> None:
    said = "the earbuds I got stopped charging after a week, what can I do?"
    answer = {"cmd": "answer", "question": "What can I do if my earbuds stopped charging?"}
    assert check(said, answer) == [{"cmd": "lookup", "order_id": "#W1000001"}, answer]
    hoodies = [{"order_id": f"#W200000{n}", "status": "delivered", "items": [{"name": "Hoodie"}]} for n in range(3)]
    shrank = {"cmd": "answer", "question": "What can I do if my hoodie shrank?"}
    assert grounded([COMMAND.validate_python(shrank)], "my hoodie shrank, what can I do?", hoodies, None) == [shrank]


def test_a_change_goes_to_the_one_order_holding_the_items_it_names() -> None:
    said = "has the coffee maker shipped? also i want to return the earbuds"
    write = {"cmd": "write", "tool": "return_delivered_order_items", "order_id": "#W1000002",
             "items": ["Wireless Earbuds"]}
    planned = check(said, {"cmd": "lookup", "order_id": "#W1000002"}, write)
    assert planned[-1]["order_id"] == "#W1000001" and planned[-1]["items"] == ["Wireless Earbuds"]
    assert check("return the earbuds from #W1000002", write)[-1]["order_id"] == "#W1000002"  # named: code refuses
    unnamed = {"cmd": "write", "tool": "return_delivered_order_items", "order_id": "#W1000002"}
    planned = check("where's my coffee maker, and also i want to return the t-shirt", unnamed)
    assert [c["order_id"] for c in planned if c["cmd"] == "write"] == ["#W1000001"]


def test_an_order_that_holds_none_of_the_items_named_gives_way() -> None:
    orders = [*ORDERS, {"order_id": "#W1000004", "status": "delivered", "items": [{"name": "Coffee Maker"}]}]
    write = COMMAND.validate_python({"cmd": "write", "tool": "return_delivered_order_items",
                                     "order_id": "#W1000001", "items": ["Coffee Maker"]})
    assert grounded([write], "return the coffee maker", orders, None)[0]["order_id"] == "#W1000004"  # delivered
    orders.append({"order_id": "#W1000005", "status": "delivered", "items": [{"name": "Coffee Maker"}]})
    assert "order_id" not in grounded([write], "return the coffee maker", orders, None)[0]  # code asks which


def test_a_change_goes_to_the_one_order_whose_status_allows_it() -> None:
    orders = [
        {"order_id": "#W2000001", "status": "pending", "items": [{"name": "Hiking Boots"}, {"name": "Wristwatch"}]},
        {"order_id": "#W2000002", "status": "pending", "items": [{"name": "Smart Watch"}, {"name": "Kettle"}]},
        {"order_id": "#W2000003", "status": "delivered", "items": [{"name": "Smart Watch"}, {"name": "T-Shirt"}]},
    ]
    said = "cancel all pending orders since they are no longer needed and return the watch I have received"
    cancel = {"cmd": "write", "tool": "cancel_pending_order", "order_id": "#W2000001", "reason": "no longer needed"}
    for read in ({"order_id": "#W2000001", "items": ["Wristwatch"]}, {"items": ["Wristwatch"]}, {}):
        write = {"cmd": "write", "tool": "return_delivered_order_items", **read}
        planned = grounded([COMMAND.validate_python(c) for c in (cancel, write)], said, orders, None)
        assert [(c["tool"], c["order_id"]) for c in planned] == [
            ("cancel_pending_order", "#W2000001"), ("cancel_pending_order", "#W2000002"),
            ("return_delivered_order_items", "#W2000003")]
        assert "Wristwatch" not in planned[-1].get("items", [])  # read from another order: not carried over
    named = {"cmd": "write", "tool": "return_delivered_order_items", "order_id": "#W2000001", "items": ["Wristwatch"]}
    assert grounded([COMMAND.validate_python(named)], "return the wristwatch from #W2000001", orders,
                    None)[0]["order_id"] == "#W2000001"  # named by number: code says why it cannot


def test_changes_of_one_kind_share_the_reason_given_once() -> None:
    cancels = check("cancel both #W1000002 and #W1000003, ordered them by mistake",
                    {"cmd": "write", "tool": "cancel_pending_order", "order_id": "#W1000002",
                     "reason": "ordered them by mistake"},
                    {"cmd": "write", "tool": "cancel_pending_order", "order_id": "#W1000003"})
    assert [c.get("reason") for c in cancels] == ["ordered them by mistake"] * 2


def test_changes_of_one_kind_to_one_order_are_one_change() -> None:
    exchange = {"cmd": "write", "tool": "exchange_delivered_order_items", "order_id": "#W1000001"}
    planned = check("exchange my earbuds in #W1000001 for white ones and the t-shirt for a size L, and cancel "
                    "the water bottle",
                    {**exchange, "items": ["Wireless Earbuds"], "new_option": "white"},
                    {**exchange, "tool": "modify_pending_order_items", "items": ["T-Shirt"], "new_option": "size L"},
                    {"cmd": "write", "tool": "cancel_pending_order", "order_id": "#W1000003"})
    assert [c.get("tool") for c in planned] == ["exchange_delivered_order_items", "cancel_pending_order"]
    assert planned[0]["items"] == ["Wireless Earbuds", "T-Shirt"] and planned[0]["new_option"] == "white; size L"


def test_a_question_asked_beside_a_change_is_not_lost() -> None:
    exchange = {"cmd": "write", "tool": "exchange_delivered_order_items", "order_id": "#W1000001",
                "items": ["T-Shirt"], "new_option": "black"}
    planned = check("exchange my tshirt for the black one, and how long do refunds usually take?", exchange)
    assert planned[-1] == {"cmd": "answer", "question": "how long do refunds usually take"}
    for text in ("exchange my tshirt for the black one, and where is my coffee maker?",  # a look-up, not a question
                 "exchange my tshirt for a black one, can you also return the earbuds?",  # a change
                 "exchange my tshirt for a black one, is that ok?", "exchange my tshirt for a black one, could you "
                 "confirm once it's done?", "exchange my tshirt for a black one. thanks!"):
        assert not [c for c in check(text, exchange) if c["cmd"] == "answer"]


def test_a_question_about_what_they_ordered_is_a_look_up_not_a_change() -> None:
    cancel = {"cmd": "write", "tool": "cancel_pending_order", "order_id": "#W1000003"}
    swap = {"cmd": "write", "tool": "modify_pending_order_items", "order_id": "#W1000003", "items": ["T-Shirt"]}
    planned = check("cancel the water bottle. I then want to ask which tshirt I have ordered in another order, and "
                    "what material is it.", cancel, swap)
    assert [(c["cmd"], c["order_id"]) for c in planned] == [("write", "#W1000003"), ("lookup", "#W1000001")]
    exchange = {"cmd": "write", "tool": "exchange_delivered_order_items", "order_id": "#W1000001",
                "items": ["T-Shirt"]}
    asked = check("can i exchange my tshirt for a different size?", exchange)  # asks for a change: no look-up
    assert [c["cmd"] for c in asked] == ["write"]


def test_writes_take_the_form_the_orders_status_allows_when_the_message_asks_for_it() -> None:
    cancel = {"cmd": "write", "tool": "cancel_pending_order", "order_id": "#W1000001", "reason": "no longer needed"}
    payment = {"cmd": "write", "tool": "modify_pending_order_payment", "order_id": "#W1000001", "payment": "PayPal"}
    planned = check("cancel or return everything except the earbuds. PayPal is preferred for the refund",
                    cancel, payment)
    assert [(c["tool"], c["order_id"]) for c in planned] == [("return_delivered_order_items", "#W1000001")]
    left = check("cancel or return everything except the earbuds and the tshirt", cancel)
    assert not [c for c in left if c["cmd"] == "write"]  # nothing left to return
    assert check("cancel #W1000001", cancel)[0]["tool"] == "cancel_pending_order"  # code says why it cannot
    gaming = check("i want to cancel or return everything not associated with gaming", cancel)  # "not" is not "don't"
    assert gaming[0]["tool"] == "return_delivered_order_items"
    assert check("cancel it, i don't want to return it", cancel)[0]["tool"] == "cancel_pending_order"
    asked = check("cancel #W1000001 please, what is your return policy?", cancel)  # "return" asks for nothing
    assert asked[0]["tool"] == "cancel_pending_order"
    pending = {"cmd": "write", "tool": "modify_pending_order_payment", "order_id": "#W1000003", "payment": "PayPal"}
    assert check("pay #W1000003 with PayPal, will the difference be refunded?", pending)[0]["tool"] == (
        "modify_pending_order_payment")  # a pending order's payment changes


@pytest.mark.parametrize("text", ["I think I was charged twice for the coffee maker order, this is not ok",
                                  "you overcharged me for #W1000003", "got billed two times for the water bottle"])
def test_a_payment_change_read_into_a_charge_made_is_a_billing_dispute_for_a_person(text: str) -> None:
    pay = {"cmd": "write", "tool": "modify_pending_order_payment", "order_id": "#W1000003", "payment": "PayPal"}
    planned = check(text, pay)
    assert {"cmd": "handoff", "reason": "request not covered"} in planned
    assert not [c for c in planned if c["cmd"] == "write"]


@pytest.mark.parametrize("text", ["have #W1000003 charged to my PayPal instead", "pay #W1000003 with PayPal"])
def test_a_payment_change_asked_for_stays_one(text: str) -> None:
    pay = {"cmd": "write", "tool": "modify_pending_order_payment", "order_id": "#W1000003", "payment": "PayPal"}
    assert check(text, pay)[0]["tool"] == "modify_pending_order_payment"


def test_a_change_of_the_account_read_several_times_is_made_once() -> None:
    reset = {"cmd": "write", "tool": "request_password_reset"}
    planned = check("olvidé mi contraseña, ¿me pueden mandar un enlace para cambiarla?", reset, reset, reset)
    assert [(c["cmd"], c.get("tool")) for c in planned] == [("write", "request_password_reset")]


@pytest.mark.parametrize(("text", "asks"), [
    ("cna i tlak to a humna", True), ("i want to speak to a represntative", True), ("get me a human", True),
    ("are you human?", False), ("am i talking to a real person", False), ("delete my personal data", False),
    ("je voudrais parler à quelqu'un", True), ("ich möchte mit einem Mitarbeiter sprechen", True),
    ("quiero hablar de mi pedido", False), ("Estou a falar com um robô ou com uma pessoa?", False),
    ("¿hablo con una persona o con un bot?", False), ("Spreche ich mit einem Roboter oder einem Menschen?", False),
])
def test_a_person_asked_for_in_so_many_words_however_misspelt(text: str, asks: bool) -> None:
    assert asks_for_a_person(text) is asks


def test_another_kind_of_change_to_the_same_order_at_the_yes_replaces_the_task() -> None:
    task = {"intent": "return_refund", "order_id": "#W1000001", "awaiting": "confirmation",
            "proposal": {"tool": "return_delivered_order_items", "arguments": {"order_id": "#W1000001"}}}
    exchange = {"cmd": "write", "tool": "exchange_delivered_order_items", "order_id": "#W1000001",
                "items": ["Wireless Earbuds"], "new_option": "white"}
    instead = check("hmm actually can i exchange the earbuds for white ones instead?", exchange, task=task)
    assert [c["cmd"] for c in instead] == ["drop", "write"]
    offered = {**task, "proposal": None}  # offered instead of another request: the executor settles it
    assert [c["cmd"] for c in check("can i exchange the earbuds for white ones?", exchange, task=offered)] == ["write"]
    also = check("and exchange the earbuds for white ones too", exchange, task=task)
    assert [c["cmd"] for c in also] == ["write"]  # another request: it waits in the queue


def test_a_task_let_go_in_so_many_words_is_dropped() -> None:
    task = {"intent": "return_refund", "order_id": "#W1000001", "awaiting": "items"}
    lookup = {"cmd": "lookup", "order_id": "#W1000002"}
    assert [c["cmd"] for c in check("forget that, where is my coffee maker?", lookup, task=task)] == ["drop", "lookup"]
    assert [c["cmd"] for c in check("where is my coffee maker?", lookup, task=task)] == ["lookup"]


def test_a_change_asked_for_in_so_many_words_is_started_where_the_planner_only_looked_up() -> None:
    return_earbuds = {"cmd": "write", "tool": "return_delivered_order_items", "order_id": "#W1000001",
                      "items": ["Wireless Earbuds"]}
    assert check("retun my erbuds plz", {"cmd": "lookup", "order_id": "#W1000001"}) == [return_earbuds]
    assert check("I'd like to return the earbuds", {"cmd": "ask", "about": "request"}) == [return_earbuds]
    coffee_maker = {"cmd": "lookup", "order_id": "#W1000002"}
    assert check("return the t-shirt, and has my coffee maker shipped?", coffee_maker) == [
        {"cmd": "lookup", "order_id": "#W1000002"},
        {"cmd": "write", "tool": "return_delivered_order_items", "order_id": "#W1000001", "items": ["T-Shirt"]}]
    assert check("has my water bottle shipped? if not, cancel it", {"cmd": "lookup", "order_id": "#W1000003"}) == [
        {"cmd": "lookup", "order_id": "#W1000003"},
        {"cmd": "write", "tool": "cancel_pending_order", "order_id": "#W1000003"}]


@pytest.mark.parametrize("text", [
    "can i still return my earbuds?", "what happens if i cancel the earbuds order?",
    "i don't want to return the earbuds", "i don\u2019t want to return the earbuds",
    "the return window is 30 days right",
    "how long do i have to return the earbuds?", "I didn't ask to cancel my earbuds order, why was it cancelled?",
    "I bought earbuds and returned them, where is my refund?", "Cancelled the earbuds order but still got charged",
    "I'd like to know how to return the earbuds", "return label for the earbuds never arrived"])
def test_a_question_about_a_change_or_a_change_turned_down_starts_nothing(text: str) -> None:
    assert check(text, {"cmd": "lookup", "order_id": "#W1000001"}) == [{"cmd": "lookup", "order_id": "#W1000001"}]


def test_an_answer_to_a_message_that_asks_nothing_is_small_talk_when_the_router_reads_thanks() -> None:
    thanks = "thank you so much, that's all i needed"
    answer = COMMAND.validate_python({"cmd": "answer", "question": thanks})
    assert grounded([answer], thanks, ORDERS, None, "thanks_bye") == [{"cmd": "chat", "kind": "thanks"}]
    asked = "thanks! and how long do refunds take?"
    refunds = COMMAND.validate_python({"cmd": "answer", "question": "How long do refunds take?"})
    assert grounded([refunds], asked, ORDERS, None, "thanks_bye")[0]["cmd"] == "answer"


def test_the_planner_reads_the_end_of_a_long_agent_message_where_its_question_is() -> None:
    reply = "Order #W1000001 is delivered. " * 10 + "Which items do you mean: Wireless Earbuds, T-Shirt?"
    context = customer_context(orders=None, messages=[HumanMessage("return stuff"), AIMessage(reply),
                                                         HumanMessage("the earbuds")], task=None)
    assert "Which items do you mean: Wireless Earbuds, T-Shirt?" in context
    assert context.count("is delivered.") < 10 and context.endswith("Customer: the earbuds")


def test_a_correction_moves_the_task_to_another_order_only_when_the_customer_says_so() -> None:
    exchange = {"intent": "exchange_item", "order_id": "#W1000001", "awaiting": "confirmation"}
    to_other = {"cmd": "correct", "order_id": "#W1000002", "new_option": "black"}
    assert check("actually make it the black ones, not white", to_other, task=exchange) == [
        {"cmd": "correct", "new_option": "black", "items": []}]
    for said in ("no, the other order", "sorry, i meant #W1000002", "no, the coffee maker one"):
        assert check(said, {"cmd": "correct", "order_id": "#W1000002"}, task=exchange)[0]["order_id"] == "#W1000002"


def test_an_order_asked_about_that_the_planner_did_not_look_up_is_looked_up() -> None:
    said = "Hi, I need help. My earbuds stopped working so I want to return them. Also, has the coffee maker shipped?"
    assert check(said, {"cmd": "answer", "question": "I need help"}) == [
        {"cmd": "lookup", "order_id": "#W1000002"},
        {"cmd": "write", "tool": "return_delivered_order_items", "order_id": "#W1000001",
         "items": ["Wireless Earbuds"]}]
    assert check("where is my water bottle? i'd like it before friday",
                 {"cmd": "lookup", "order_id": "#W1000003"}) == [{"cmd": "lookup", "order_id": "#W1000003"}]


def test_an_order_sent_to_the_address_given_is_planned_when_the_planner_missed_it() -> None:
    moved = "i moved to 55 Elm Road, Salem, OR 97301, please update my account and send my pending order there too"
    account = {"cmd": "write", "tool": "modify_user_address", "address": "55 Elm Road, Salem, OR 97301"}
    assert check(moved, account) == [{**account, "items": []}, {
        "cmd": "write", "tool": "modify_pending_order_address", "address": "55 Elm Road, Salem, OR 97301"}]
    complaint = "why did you ship my order to 12 Old Road, Austin, TX 73301? i live at 5 New St, Austin, TX 73301"
    assert check(complaint, {"cmd": "answer", "question": "Why was my order shipped there?"})[-1]["cmd"] == "answer"
    assert check("update my account to 55 Elm Road, Salem, OR 97301", account) == [{**account, "items": []}]


def test_a_change_for_the_other_order_goes_to_the_one_the_earlier_change_leaves() -> None:
    orders = [*ORDERS, {"order_id": "#W1000004", "status": "pending", "items": [{"name": "Desk Lamp"}]}]
    said = ("cancel the water bottle order, ordered it by mistake, and send my other pending order to "
            "77 Pine Street, Seattle, WA 98101")
    cancel = {"cmd": "write", "tool": "cancel_pending_order", "order_id": "#W1000003",
              "reason": "ordered it by mistake"}
    move = {"cmd": "write", "tool": "modify_pending_order_address", "order_id": "#W1000003",
            "address": "77 Pine Street, Seattle, WA 98101"}
    planned = grounded([COMMAND.validate_python(c) for c in (cancel, move)], said, orders, None)
    assert [c.get("order_id") for c in planned] == ["#W1000003", "#W1000004"]
    alone = grounded([COMMAND.validate_python(cancel)], said, orders, None)  # the move the planner missed
    assert [c.get("order_id") for c in alone] == ["#W1000003", "#W1000004"]


def test_another_colour_is_not_another_order() -> None:
    said = "swap the water bottle for the other colour and ship it to 77 Pine Street, Seattle, WA 98101"
    swap = {"cmd": "write", "tool": "modify_pending_order_items", "order_id": "#W1000003", "new_option": "other colour"}
    move = {"cmd": "write", "tool": "modify_pending_order_address", "order_id": "#W1000003",
            "address": "77 Pine Street, Seattle, WA 98101"}
    orders = [*ORDERS, {"order_id": "#W1000004", "status": "pending", "items": [{"name": "Desk Lamp"}]}]
    planned = grounded([COMMAND.validate_python(c) for c in (swap, move)], said, orders, None)
    assert [c.get("order_id") for c in planned] == ["#W1000003", "#W1000003"]


def test_a_change_asked_of_all_orders_is_one_change_per_order_it_applies_to() -> None:
    orders = [*ORDERS, {"order_id": "#W1000004", "status": "pending", "items": [{"name": "Desk Lamp"}]}]
    cancel = {"cmd": "write", "tool": "cancel_pending_order", "order_id": "#W1000003", "reason": "no longer needed"}
    ret = {"cmd": "write", "tool": "return_delivered_order_items", "order_id": "#W1000001", "items": ["T-Shirt"]}
    said = "cancel all my pending orders, i no longer need them, and return the t-shirt"
    planned = grounded([COMMAND.validate_python(c) for c in (cancel, ret)], said, orders, None)
    cancels = [c for c in planned if c.get("tool") == "cancel_pending_order"]
    assert [c["order_id"] for c in cancels] == ["#W1000003", "#W1000004"]
    assert {c["reason"] for c in cancels} == {"no longer needed"}
    assert [c["items"] for c in planned if c.get("tool") == "return_delivered_order_items"] == [["T-Shirt"]]
    also = [cancel, *({**cancel, "order_id": order_id} for order_id in ("#W1000001", "#W1000002", "#W1000004"))]
    planned = grounded([COMMAND.validate_python(c) for c in also], "I want to cancel all pending orders.", orders, None)
    assert [c["order_id"] for c in planned] == ["#W1000003", "#W1000004"]  # the planner's others are among them
    one = grounded([COMMAND.validate_python(cancel)], "cancel #W1000003, all the items in it are wrong", orders, None)
    assert [c["order_id"] for c in one] == ["#W1000003"]


def test_a_question_about_what_the_store_sells_is_answered_from_the_catalogue() -> None:
    catalogue = ["T-Shirt", "Coffee Maker", "Hoodie"]

    def read(text: str, *commands: dict[str, Any]) -> list[dict[str, Any]]:
        return grounded([COMMAND.validate_python(c) for c in commands], text, ORDERS, None, None, catalogue)

    help_center = {"cmd": "answer", "question": "How many tshirt options are available in the online store?"}
    assert read("I want to know exactly how many tshirt options are available in the online store right now.",
                help_center) == [{"cmd": "product", "product": "T-Shirt"}]
    planned = {"cmd": "product", "product": "hoodie"}
    assert read("do you have the hoodie in XL?", planned) == [planned]
    returns = {"cmd": "answer", "question": "Can I return the t-shirt?"}
    about_theirs = read("is the t-shirt I bought still available to return?", returns)  # their order, looked up
    assert about_theirs == [{"cmd": "lookup", "order_id": "#W1000001"}, returns]
    shipping = {"cmd": "answer", "question": "How much is shipping?"}
    assert read("how much is shipping?", shipping) == [shipping]  # no product named
    assert read("how much is shipping?", shipping, planned) == [shipping]  # the prompt's example, copied
    unknown = {"cmd": "product", "product": "flux capacitor"}
    assert read("do you sell a flux capacitor?", unknown) == [unknown]  # the customer's word: asked about


def test_a_change_of_all_items_of_a_kind_is_made_in_every_order_holding_them() -> None:
    orders = [
        {"order_id": "#W2000001", "status": "pending", "items": [
            {"name": "T-Shirt", "options": {"size": "S", "color": "blue"}},
            {"name": "Espresso Machine", "options": {}}]},
        {"order_id": "#W2000002", "status": "pending", "items": [
            {"name": "T-Shirt", "options": {"size": "XXL", "color": "black"}}]},
        {"order_id": "#W2000003", "status": "delivered", "items": [
            {"name": "T-Shirt", "options": {"size": "S", "color": "red"}}]},
    ]
    write = {"cmd": "write", "tool": "modify_pending_order_items", "order_id": "#W2000001", "items": ["T-Shirt"]}

    def read(text: str) -> list[dict[str, Any]]:
        return [{k: c[k] for k in ("order_id", "items")} for c in
                grounded([COMMAND.validate_python(write)], text, orders, None)]

    assert read("modify all my pending tshirts to purple, s size") == [
        {"order_id": "#W2000001", "items": ["T-Shirt"]}, {"order_id": "#W2000002", "items": ["T-Shirt"]}]
    assert read("modify all my pending small tshirts to purple") == [  # the XXL one is not small
        {"order_id": "#W2000001", "items": ["T-Shirt"]}]
    assert read("change the tshirt in #W2000001 to purple, all good") == [
        {"order_id": "#W2000001", "items": ["T-Shirt"]}]


def test_a_change_keeps_the_planners_order_when_the_item_named_is_another_requests() -> None:
    cancel = {"cmd": "write", "tool": "cancel_pending_order", "order_id": "#W1000003", "reason": "no longer needed"}
    back = {"cmd": "write", "tool": "return_delivered_order_items", "order_id": "#W1000001",
            "items": ["Wireless Earbuds"]}
    planned = check("cancel my pending order, no longer needed, and return the earbuds", cancel, back)
    assert [(c["tool"], c["order_id"]) for c in planned] == [("cancel_pending_order", "#W1000003"),
                                                              ("return_delivered_order_items", "#W1000001")]


def test_where_a_swaps_price_difference_goes_is_the_swaps_payment_not_a_payment_change() -> None:
    pay = {"cmd": "write", "tool": "modify_pending_order_payment", "order_id": "#W1000003", "payment": "gift card"}
    said = check("change the water bottle in #W1000003 for the cheapest one, any price difference should go to "
                 "a gift card", pay)
    assert said == [{"cmd": "write", "tool": "modify_pending_order_items", "order_id": "#W1000003", "items": [],
                     "payment": "gift card"}]
    assert check("pay #W1000003 with my gift card instead", pay)[0]["tool"] == "modify_pending_order_payment"
    kept = check("what's the price difference if I pay #W1000003 with a gift card?", pay)  # no swap asked
    assert kept[0]["tool"] == "modify_pending_order_payment"


def test_a_change_of_the_account_address_to_the_account_address_is_an_orders() -> None:
    account = {"cmd": "write", "tool": "modify_user_address", "address": "Charlotte"}
    said = check("I sent an order to my son in Washington, change it to my default address in Charlotte", account)
    assert [c["tool"] for c in said] == ["modify_pending_order_address"]
    assert check("change my default address to Charlotte", account)[0]["tool"] == "modify_user_address"
    assert check("update the address on file to Charlotte", account)[0]["tool"] == "modify_user_address"
    assert check("send it to the one on file in Charlotte", account)[0]["tool"] == "modify_pending_order_address"


def test_a_cancellation_of_items_in_several_pending_orders_cancels_each_of_them() -> None:
    orders = [
        {"order_id": "#W3000001", "status": "pending",
         "items": [{"name": "Hiking Boots"}, {"name": "Wristwatch"}, {"name": "Mechanical Keyboard"}]},
        {"order_id": "#W3000002", "status": "pending",
         "items": [{"name": "Portable Charger"}, {"name": "Fleece Jacket"}, {"name": "Running Shoes"}]},
        {"order_id": "#W3000003", "status": "pending", "items": [{"name": "Desk Lamp"}, {"name": "Wristwatch"}]},
        {"order_id": "#W3000004", "status": "delivered", "items": [{"name": "Fleece Jacket"}]},
    ]
    cancel = {"cmd": "write", "tool": "cancel_pending_order", "order_id": "#W3000001", "reason": "no longer needed"}

    def read(text: str, *commands: dict[str, Any]) -> list[tuple[str, str]]:
        planned = grounded([COMMAND.validate_python(c) for c in commands], text, orders, None)
        return [(c["tool"], c["order_id"]) for c in planned if c["cmd"] == "write"]

    said = ("I no longer need hiking boots, watch, keyboard, charger, jacket, and running shoes. If cancelling part "
            "of the order is not possible, just cancel the whole order.")
    assert read(said, cancel) == [("cancel_pending_order", "#W3000001"), ("cancel_pending_order", "#W3000002")]
    # the other order with a watch holds nothing else named; an order named by number is the one meant
    assert read("cancel the boots and the watch, i don't need them", cancel) == [("cancel_pending_order", "#W3000001")]
    assert read("cancel #W3000001 with the boots and the charger", cancel) == [("cancel_pending_order", "#W3000001")]
    swap = {"cmd": "write", "tool": "modify_pending_order_items", "order_id": "#W3000002", "items": ["Fleece Jacket"],
            "new_option": "size L"}
    assert read("cancel the boots order, and change the jacket to size L", cancel, swap) == [
        ("cancel_pending_order", "#W3000001"), ("modify_pending_order_items", "#W3000002")]


def test_a_message_in_another_language_is_checked_through_its_english_translation() -> None:
    orders = [*ORDERS, {"order_id": "#W1000004", "status": "processed", "items": [{"name": "Coffee Maker"}]}]
    orders[1] = {**orders[1], "items": [{"name": "Desk Lamp"}]}

    def read(written: str, english: str, command: dict[str, Any]) -> list[dict[str, Any]]:
        return grounded([COMMAND.validate_python(command)], written, orders, None, translation=english)

    status = read("¿ya enviaron mi cafetera?", "Have you sent your coffee?", {"cmd": "lookup", "order_id": "#W1000003"})
    assert status == [{"cmd": "lookup", "order_id": "#W1000004"}]  # the order holding what it names
    ret = {"cmd": "write", "tool": "return_delivered_order_items", "order_id": "#W1000001",
           "items": ["Wireless Earbuds"]}
    kept = read("quiero devolver los auriculares", "I want to return the headphones", ret)
    assert kept[0]["items"] == ["Wireless Earbuds"]  # read from the customer's own words: the translation's differ
    address = {"cmd": "write", "tool": "modify_pending_order_address", "order_id": "#W1000003",
               "address": "Calle Mayor 5, Springfield, IL 62701"}
    moved = read("envíen el pedido a Calle Mayor 5, Springfield, IL 62701", "send the order to Main Street 5, "
                 "Springfield, IL 62701", address)
    assert moved[0]["address"] == "Calle Mayor 5, Springfield, IL 62701"  # copied from what the customer wrote


def test_an_item_change_asked_in_so_many_words_is_made_when_the_planner_only_looked_up() -> None:
    shirt = {"name": "T-Shirt", "options": {"color": "blue", "size": "S"}}
    orders = [
        {"order_id": "#W4000001", "status": "pending",
         "items": [shirt, {"name": "Espresso Machine", "options": {"pressure": "9 bar"}}]},
        {"order_id": "#W4000002", "status": "pending",
         "items": [{**shirt, "options": {"color": "black", "size": "XL"}}]},
        {"order_id": "#W4000003", "status": "delivered", "items": [{"name": "Hoodie", "options": {"size": "M"}}]},
    ]

    def writes(text: str, *commands: dict[str, Any]) -> list[tuple[str, str | None, list[str]]]:
        planned = grounded([COMMAND.validate_python(c) for c in commands], text, orders, None)
        return [(c["tool"], c.get("order_id"), c.get("items", [])) for c in planned if c["cmd"] == "write"]

    looked = [{"cmd": "lookup", "order_id": "#W4000001"}, {"cmd": "lookup", "order_id": "#W4000002"}]
    said = ("I want to know exactly how many tshirt options are available right now and modify all my pending "
            "tshirts to purple, s size, same v-neck, and prefer polyester.")
    assert writes(said, *looked) == [("modify_pending_order_items", "#W4000001", ["T-Shirt"]),
                                     ("modify_pending_order_items", "#W4000002", ["T-Shirt"])]
    assert writes("please change my hoodie to size L", {"cmd": "lookup", "order_id": "#W4000003"}) == [
        ("exchange_delivered_order_items", "#W4000003", ["Hoodie"])]
    assert writes("change the address of my espresso machine order", looked[0]) == []  # not an item change
    assert writes("can i change the tshirt in #W4000002 to blue?", looked[1]) == []  # a question about it


def test_an_action_word_misspelt_is_read_but_not_another_word_alike_it() -> None:
    assert asks_for("retun my backpak plz", "return") and asks_for("i want to exchnage it", "exchange")
    assert not asks_for("change the address of my order", "exchange")  # as alike as a misspelling, another word


def test_an_item_two_orders_hold_does_not_move_the_task_to_the_planners_pick_of_them() -> None:
    orders = [{"order_id": "#W5000001", "status": "pending", "items": [{"name": "Hoodie"}, {"name": "Throw Blanket"}]},
              {"order_id": "#W5000002", "status": "pending",
               "items": [{"name": "Bluetooth Speaker"}, {"name": "Hoodie"}]}]
    task = {"intent": "cancel_order", "awaiting": "order", "reason": "ordered by mistake"}
    picked = {"cmd": "correct", "order_id": "#W5000001"}
    [guess] = grounded([COMMAND.validate_python(picked)], "the hoodie one", orders, task)
    assert "order_id" not in guess  # code asks again
    [told] = grounded([COMMAND.validate_python({**picked, "order_id": "#W5000002"})], "the one with the speaker then",
                      orders, task)
    assert told["order_id"] == "#W5000002"


def test_a_change_asked_for_beside_the_planners_change_is_not_lost() -> None:
    cancel_bottle = {"cmd": "write", "tool": "cancel_pending_order", "order_id": "#W1000003"}
    return_earbuds = {"cmd": "write", "tool": "return_delivered_order_items", "order_id": "#W1000001",
                      "items": ["Wireless Earbuds"]}
    assert check("cancel my water bottle order. I also want to return the earbuds I received", cancel_bottle) == [
        {**cancel_bottle, "items": []}, return_earbuds]
    for already in ("return the earbuds and the t-shirt", "return the earbuds. If it's free, cancel the bottle too",
                    "return the earbuds. I don't want to cancel the water bottle"):
        assert check(already, return_earbuds) == [return_earbuds]  # the same order; a condition; turned down
    address = {"cmd": "write", "tool": "modify_pending_order_address", "order_id": "#W1000003",
               "address": "12 Main St, Springfield, IL 62701"}
    assert check("send my water bottle order to 12 Main St, Springfield, IL 62701. I also want to adjust the water "
                 "bottle to be blue", address)[1:] == [{
                     "cmd": "write", "tool": "modify_pending_order_items", "order_id": "#W1000003",
                     "items": ["Water Bottle"], "new_option": "want to adjust the water bottle to be blue"}]
    for asked in ("I also want to exchange the water bottle for a blue one",
                  "also change my pending order item to blue"):
        [added] = check(f"send my water bottle order to 12 Main St, Springfield, IL 62701. {asked}", address)[1:]
        assert (added["tool"], added["order_id"], added["items"]) == (
            "modify_pending_order_items", "#W1000003", ["Water Bottle"])  # the pending order's kind of swap
    assert check("return the earbuds. Finally, cancel order #W1000003 because I ordered it by mistake",
                 return_earbuds) == [return_earbuds, {**cancel_bottle, "items": []}]  # named by its number
    unplaced = {"cmd": "write", "tool": "return_delivered_order_items", "items": ["Wireless Earbuds"]}
    assert check("return the earbuds, also cancel the water bottle", unplaced) == [
        return_earbuds, {**cancel_bottle, "items": ["Water Bottle"]}]


def test_the_account_address_and_the_orders_asked_for_together_are_both_changed() -> None:
    account = {"cmd": "write", "tool": "modify_user_address", "address": "Washington DC"}
    assert check("modify all my pending order address to the Washington DC address, along with my user default "
                 "address", account) == [{**account, "items": []}, {
                     "cmd": "write", "tool": "modify_pending_order_address", "address": "Washington DC",
                     "order_id": "#W1000003"}]
    orders = {"cmd": "write", "tool": "modify_pending_order_address"}
    assert check("please correct all order addresses and my user address", orders) == [
        {**orders, "items": [], "order_id": "#W1000003"}, {"cmd": "write", "tool": "modify_user_address"}]
    for one in ("change my order address to my default address", "update my default address to 1 Main St"):
        assert [c["tool"] for c in check(one, orders)] == ["modify_pending_order_address"]


def test_a_change_read_beside_a_correction_must_be_about_the_message() -> None:
    awaiting = {"intent": "return_refund", "order_id": "#W1000001", "awaiting": "confirmation"}
    correct = {"cmd": "correct", "items": ["Wireless Earbuds"]}
    assert check("do not say yes immediately, because I also want to return the earbuds", correct,
                 {"cmd": "write", "tool": "request_password_reset"}, task=awaiting) == [{**correct, "cmd": "correct"}]


def test_an_item_removed_from_a_pending_order_is_a_cancellation_not_a_swap() -> None:
    swap = {"cmd": "write", "tool": "modify_pending_order_items", "order_id": "#W1000003", "items": ["Water Bottle"]}
    [removal] = check("I ordered a water bottle by mistake, please remove it from my pending order", swap)
    assert removal["tool"] == "cancel_pending_order" and removal["order_id"] == "#W1000003"
    [kept] = check("can you remove the water bottle from my order?", swap)  # a question: the planner's reading
    assert kept["tool"] == "modify_pending_order_items"
    [swapped] = check("change the water bottle to a blue one", {**swap, "new_option": "blue"})
    assert swapped["tool"] == "modify_pending_order_items"


def test_an_item_cancelled_is_the_cancellation_however_the_planner_also_read_it() -> None:
    text = "ugh I'm so frustrated, just cancel the water bottle order, I don't want it anymore"
    cancel = {"cmd": "write", "tool": "cancel_pending_order", "order_id": "#W1000003", "reason": "no longer needed"}
    swap = {"cmd": "write", "tool": "modify_pending_order_items", "order_id": "#W1000003", "items": ["Water Bottle"],
            "new_option": "just cancel the water bottle order"}  # an option copied from the cancellation's words
    [one] = check(text, cancel, swap)
    assert one["tool"] == "cancel_pending_order" and one["order_id"] == "#W1000003" and "new_option" not in one
    other = {**swap, "new_option": "a red one"}
    swapped = check("cancel the water bottle, i want a red one", other)
    assert {**other, "cmd": "write"} in swapped  # the swap stays one


def test_a_change_of_address_or_payment_read_into_a_question_about_what_can_be_done_is_a_question() -> None:
    pay = {"cmd": "write", "tool": "modify_pending_order_payment", "payment": "paypal"}
    send = {"cmd": "write", "tool": "modify_pending_order_address"}
    for text, change in [("can I pay with paypal?", pay), ("can I get a refund as gift card credit instead?", pay),
                         ("can I have an order sent to my sister's address as a gift?", send),
                         ("my country isn't in the list at checkout, can you make an exception and ship there?", send),
                         ("the price dropped a week after I bought it, do you refund the difference?", pay)]:
        assert check(text, change) == [{"cmd": "answer", "question": text}]
    answer = {"cmd": "answer", "question": "Do you accept PayPal?"}
    assert check("can I pay with paypal?", pay, answer) == [answer]
    for asked in ("can you change the payment of my order to paypal?", "can I pay for the water bottle with paypal?",
                  "i want to pay with paypal", "can I pay #W1000003 with paypal?", "please use paypal"):
        assert "write" in [c["cmd"] for c in check(asked, pay)], asked
    assert "write" in [c["cmd"] for c in check("can you ship it to 12 Main St, Springfield, IL 62701?", send)]
    waiting = {"intent": "change_payment", "awaiting": "payment", "order_id": "#W1000003"}
    assert check("can I pay with paypal?", pay, task=waiting)[0]["cmd"] != "answer"


def test_a_return_read_into_a_question_that_asks_for_none_is_a_question() -> None:
    returns = {"cmd": "write", "tool": "return_delivered_order_items", "order_id": "#W1000001", "items": ["all"]}
    missed = "I just missed the 30 day return window, is there anything I can do?"
    assert check(missed, returns) == [{"cmd": "answer", "question": missed}]
    for asked in ("can you return the earbuds?", "can I return something? i want my money back", "please return it"):
        assert "write" in [c["cmd"] for c in check(asked, returns)], asked
    cancel = {"cmd": "write", "tool": "cancel_pending_order", "order_id": "#W1000003"}
    assert grounded([COMMAND.validate_python(cancel)], "can you cancel it?", ORDERS, None,
                    talked_about="#W1000003")[0]["cmd"] == "write"  # the order just talked about
    exchange = {"cmd": "write", "tool": "exchange_delivered_order_items", "order_id": "#W1000001", "items": ["T-Shirt"]}
    assert check("can i exchnage my tshirt for a blak one size s", exchange)[0]["cmd"] == "write"  # named, misspelt
