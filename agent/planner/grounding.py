"""The planner's commands checked against what the customer actually wrote: a small model fills in details the
customer never gave (a reason, the whole order's items, an order from its prompt's examples), and code, not
the model, decides what was said. What fails a check is dropped, and the executor asks for it; what the plan left
out of the message is added (`missed.py`)."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from agent.commands import WRITE_INTENT, Command
from agent.executor import extract
from agent.executor.address import US_ADDRESS
from agent.executor.flow import ORDER_STATUS_FOR
from agent.nodes.understand import extract_order_ids, several_requests
from agent.planner.clauses import ACTION_WORDS, Clause, asks_a_change, asks_for, clauses_of
from agent.planner.floor import from_route
from agent.planner.missed import (
    ABOUT_THEIR_ORDERS,
    ITEM_CHANGES,
    ITEM_SWAPS,
    NAMED_BY_ITEM,
    STATUS,
    SWAP_WORDS,
    both_addresses,
    missed_changes,
    missed_new_address,
    order_meant,
    order_of_status,
    swaps_unasked,
    to_account_address,
)
from agent.planner.prompt import WRITE_DETAILS
from core.embeddings import get_embedder
from core.language import language_of
from tools import TOOLS
from tools.arguments import (
    all_but,
    has_asked,
    items_called,
    items_excepted,
    items_kept,
    items_named,
    options_asked,
    orders_holding,
    product_meant,
    said_in,
)

WRITE_MIN_SIMILARITY = 0.2
"""Below this, one of several changes the planner read into a message is not about the message (the tool's
description against the message, by the embedding model)."""
ANSWER_MIN_SIMILARITY = 0.3
"""Below this, a help-center question the planner added is not about the message (small models copy their
prompt's examples)."""
COPIED_DETAILS = ("address", "new_option", "reason", "payment")
"""Details the planner copies from the message word for word."""


def _order_id(command: dict[str, Any], text: str, orders: list[dict[str, Any]]) -> str | None:
    """The order the command is about (:func:`_order_read`), or, when that order's status does not allow the
    change and the message names no order by number, the planner's order if it allows it, else the one order that
    allows it and holds what the message names ("return the watch I have received" beside a pending order holding
    a wristwatch), or the one it names by its status ("my pending order")."""
    read = _order_read(command, text, orders)
    status = ORDER_STATUS_FOR.get(WRITE_INTENT.get(command.get("tool", ""), ""))

    def allows(order_id: str | None) -> bool:
        return any(o["order_id"] == order_id and status in o["status"] for o in orders) if status else True

    if allows(read) or extract_order_ids(text):
        return read
    planners = next((o for o in orders if o["order_id"] == command.get("order_id")), None)
    holds_items = planners is not None and all(items_named(i, planners["items"]) for i in command.get("items", [])
                                               if i != "all")
    if holds_items and allows(command.get("order_id")):  # the message's item is another request's ("cancel my
        return str(command["order_id"])  # pending order and return the earbuds"): the planner's order can have it
    allowing = orders_holding(text, [o for o in orders if status in o["status"]])
    if len(allowing) == 1:
        return str(allowing[0]["order_id"])
    by_status = order_of_status(text, orders)  # "my pending order"
    return by_status if by_status and allows(by_status) else read


def _order_read(command: dict[str, Any], text: str, orders: list[dict[str, Any]]) -> str | None:
    """The order the command is about: the planner's if it is one of the customer's or named in the message,
    unless the items it names (and the message too) are all in exactly one other order, or the clause asking
    for the change names one order, or the message names an item that exactly one other order holds, or several
    others and not this one."""
    wanted = command.get("order_id")
    named_ids = extract_order_ids(text)
    if wanted and wanted not in named_ids and wanted not in {o["order_id"] for o in orders}:
        wanted = None
    items = {i.casefold() for i in command.get("items", []) if i != "all"}
    with_items = [o for o in orders if items and items <= {i["name"].casefold() for i in items_named(text, o["items"])}]
    if not named_ids and len(with_items) == 1:
        return str(with_items[0]["order_id"])  # "where's my watch, and return the hoodie": the hoodie's order
    asked_for = _order_asked_for(command, text, orders)
    if not named_ids and asked_for:
        return asked_for  # the same, when the planner named no item
    holding = [o["order_id"] for o in orders_holding(text, orders)]
    if not named_ids and len(holding) == 1:
        return holding[0]
    if not named_ids and holding and wanted not in holding:
        return None  # several hold what the message names, not this one: code chooses among them, or asks
    return wanted


def _order_asked_for(command: dict[str, Any], text: str, orders: list[dict[str, Any]]) -> str | None:
    """The one order named (by number or item) in the clause that asks for the command's change in so many
    words, or None."""
    action = ACTION_WORDS.get(command.get("tool", ""))
    asking = next((c for c in clauses_of(text) if action and not c.question and asks_for(c.text, action)), None)
    return order_meant((asking.text, asking.sentence), orders)[0] if asking else None


_ANOTHER_ORDER = re.compile(r"\b(other|another|different|wrong|second|first)\s+(?:[a-z]+\s+)?(order|one)\b",
                            re.IGNORECASE)


def _switches_order(command: dict[str, Any], text: str, orders: list[dict[str, Any]],
                    task: dict[str, Any] | None) -> bool:
    """A correction that moves the task in progress to another order says so: by the order's number, an item only
    it holds (of two orders with a hoodie, "the hoodie one" picks neither: code asks), or in so many words ("no, the
    other one")."""
    wanted = command.get("order_id")
    same_task = task and (command["cmd"] == "correct" or (
        command["cmd"] == "write" and WRITE_INTENT[command["tool"]] == task["intent"]))
    if not same_task or not wanted or wanted == task.get("order_id"):
        return True
    held = {o["order_id"] for o in orders_holding(text, orders)}
    return wanted in extract_order_ids(text) or held == {wanted} or bool(_ANOTHER_ORDER.search(text))


def _details(command: dict[str, Any], text: str, orders: list[dict[str, Any]], task: dict[str, Any] | None,
             written: str, english: bool) -> dict[str, Any]:
    """``command`` with each detail checked against the message (``text``, in English when it was translated;
    ``written``: as the customer wrote it; ``english``: they wrote it in English)."""
    checked = dict(command)
    if not _switches_order(checked, text, orders, task):
        del checked["order_id"]
    if checked["cmd"] not in ("write", "correct", "lookup"):
        return checked
    for detail in COPIED_DETAILS:
        if checked.get(detail) and not said_in(checked[detail], text) and not said_in(checked[detail], written):
            del checked[detail]
    if "order_id" in checked or checked["cmd"] != "correct":
        checked["order_id"] = _order_id(checked, text, orders)
        if checked["order_id"] is None:
            del checked["order_id"]
    held = [i for o in orders if o["order_id"] == checked.get("order_id") for i in o["items"]]
    if held and any(i != "all" and not items_named(i, held) for i in checked.get("items", [])):
        del checked["items"]  # read from another order: the executor reads them from the message
    if english and checked.get("items"):  # written in English, the items must be ones the message names (a
        # translation may call the earbuds headphones); an item written with its options, copied from the agent's
        # last message ("Desk Lamp (white, medium, USB)"), is the order's item of that name
        planned = [named[0] if len(named := items_named(n, held)) == 1 else {"name": n} for n in checked["items"]]
        checked["items"] = [i["name"] for i in items_named(text, planned)]
    if checked["cmd"] == "correct" and not checked.get("items") and task:  # the items of the task's order the
        # correction names are the ones it wants ("only exchange the desk lamp"), those it keeps aside
        order_id = checked.get("order_id", task.get("order_id"))
        own = [i for o in orders if o["order_id"] == order_id for i in o["items"]]
        if wanted := [i["name"] for i in items_named(text, own) if i not in items_kept(text, own)]:
            checked["items"] = wanted
    return checked


def _answers_unrelated(planned: list[dict[str, Any]], text: str) -> list[dict[str, Any]]:
    """Without help-center questions unrelated to the message (nothing left: the planner misread it)."""
    questions = [c for c in planned if c["cmd"] == "answer"]
    if not questions:
        return planned
    vectors = get_embedder().embed([text, *(c["question"] for c in questions)])
    related = {id(c) for c, v in zip(questions, vectors[1:], strict=True)
               if float(v @ vectors[0]) >= ANSWER_MIN_SIMILARITY}
    return [c for c in planned if c["cmd"] != "answer" or id(c) in related]


_CHARGED = re.compile(r"\b(?:over|double[- ]?)charg\w*|\b(?:charged|billed)\b(?!\s+(?:it\s+)?(?:to|on|with)\b)",
                      re.IGNORECASE)
"""A charge the customer says was made ("I was charged twice", "billed me for", "overcharged"), not one they ask to
be made another way ("have it charged to my Visa")."""


def _charges_disputed(planned: list[dict[str, Any]], text: str) -> list[dict[str, Any]]:
    """A payment change read into a message about a charge made (a billing dispute: no tool covers it) is a
    handoff; the planner read "I think I was charged twice for the coffee maker order" as a payment change."""
    if not _CHARGED.search(text):
        return planned
    return [{"cmd": "handoff", "reason": "request not covered"} if c.get("tool") == "modify_pending_order_payment"
            else c for c in planned]


def _writes_unrelated(planned: list[dict[str, Any]], text: str) -> list[dict[str, Any]]:
    """Without changes unrelated to the message, when the planner read several into it, or one beside a
    correction of the task in progress (which is what the message is about)."""
    writes = [c for c in planned if c["cmd"] == "write"]
    corrects = any(c["cmd"] == "correct" for c in planned)
    if len(writes) + corrects < 2:
        return planned
    vectors = get_embedder().embed([text, *(TOOLS[c["tool"]].description for c in writes)])
    related = {id(c) for c, v in zip(writes, vectors[1:], strict=True)
               if float(v @ vectors[0]) >= WRITE_MIN_SIMILARITY}
    return [c for c in planned if c["cmd"] != "write" or id(c) in related] if related or corrects else planned


def _lookups(planned: list[dict[str, Any]], text: str, orders: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Each order looked up once; a message that only asks about orders it names by their items ("where are
    my coffee maker and my earbuds") looks up the orders holding them, and no others."""
    unique = [c for i, c in enumerate(planned) if c["cmd"] != "lookup" or c not in planned[:i]]
    if not unique or any(c["cmd"] != "lookup" for c in unique) or extract_order_ids(text):
        return unique
    holding = [o["order_id"] for o in orders_holding(text, orders)]
    return [{"cmd": "lookup", "order_id": order_id} for order_id in holding] or unique


def _shared_details(planned: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Several changes of one kind in one message ("cancel both, ordered them by mistake") share the reason
    and the option the customer gave once."""
    for command in planned:
        if command["cmd"] != "write":
            continue
        for sibling in planned:
            if sibling is not command and sibling["cmd"] == "write" and sibling["tool"] == command["tool"]:
                for detail in ("reason", "new_option", "payment"):
                    if sibling.get(detail) and not command.get(detail):
                        command[detail] = sibling[detail]
    return planned





def _of_account(command: dict[str, Any]) -> bool:
    """A change of the customer's account, not of an order (a password reset, their address on file)."""
    return "order_id" not in WRITE_DETAILS[command["tool"]]


def _one_change_per_order(planned: list[dict[str, Any]], orders: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Changes of one kind to one order are one change ("exchange the keyboard and the thermostat in #W..."): the
    items together, each with the option the customer gave for it (a delivered order is exchanged once); a change
    of the account is made once (the first reading of it kept). Item swaps take the kind the order's status allows,
    as the executor does."""
    status = {o["order_id"]: o["status"] for o in orders}
    merged: list[dict[str, Any]] = []
    for command in planned:
        if command["cmd"] == "write" and command["tool"] in ITEM_SWAPS.values():
            command["tool"] = ITEM_SWAPS.get(status.get(command.get("order_id", ""), ""), command["tool"])
        same = next((m for m in merged if command["cmd"] == m["cmd"] == "write" and m["tool"] == command["tool"]
                     and (_of_account(m) or m.get("order_id") == command.get("order_id", ""))), None)
        if same is None:
            merged.append(command)
            continue
        if "items" in WRITE_DETAILS[command["tool"]]:
            same["items"] = list(dict.fromkeys([*same.get("items", []), *command.get("items", [])]))
        options = [o for o in (same.get("new_option"), command.get("new_option")) if o]
        if options:
            same["new_option"] = "; ".join(dict.fromkeys(options))
    return merged


_OTHER = re.compile(r"\b(other|another)\s+(?:[a-z]+\s+)?order\b", re.IGNORECASE)


def _other_orders(planned: list[dict[str, Any]], text: str, orders: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """A change for "my other (pending) order" goes to the one order of the right status that the message's
    earlier changes leave, not to the order they are about."""
    if not _OTHER.search(text):
        return planned
    taken: set[str] = set()
    for command in planned:
        if command["cmd"] != "write" or WRITE_INTENT[command["tool"]] not in ORDER_STATUS_FOR:
            continue
        if taken and (not command.get("order_id") or command["order_id"] in taken):
            status = ORDER_STATUS_FOR[WRITE_INTENT[command["tool"]]]
            left = [o["order_id"] for o in orders if status in o["status"] and o["order_id"] not in taken]
            if len(left) == 1:
                command["order_id"] = left[0]
        if command.get("order_id"):
            taken.add(command["order_id"])
    return planned


_EVERY_ORDER = re.compile(r"\b(?:all|every|each)\s+(?:of\s+)?(?:my\s+|the\s+)?(?:[a-z]+\s+){0,2}?orders?\b",
                          re.IGNORECASE)
"""A change asked of every order of a kind ("cancel all my pending orders", "all possible order addresses")."""
WHOLE_ORDER_CHANGES = ("cancel_pending_order", "modify_pending_order_address", "modify_pending_order_payment")


def _every_order(planned: list[dict[str, Any]], text: str, orders: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """A change of a whole order asked of all the customer's orders is one change per order it can apply to
    (the planner's other changes of that kind are among them), unless the message names the order by its number;
    a return asked of all of them too."""
    if not _EVERY_ORDER.search(text) or not orders:
        return planned
    named = set(extract_order_ids(text))
    expanded: list[dict[str, Any]] = []
    for command in planned:
        if command["cmd"] != "write" or command["tool"] not in WHOLE_ORDER_CHANGES or command.get("order_id") in named:
            expanded.append(command)
            continue
        if any(c.get("tool") == command["tool"] and c.get("order_id") not in named for c in expanded):
            continue
        status = ORDER_STATUS_FOR[WRITE_INTENT[command["tool"]]]
        targets = [o["order_id"] for o in orders if status in o["status"]] or [command.get("order_id")]
        expanded.extend({**command, "order_id": order_id} if order_id else command for order_id in targets)
    return [*expanded, *_every_order_returned(expanded, text, orders)]


def _every_order_returned(planned: list[dict[str, Any]], text: str,
                          orders: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """A return asked of all the customer's orders ("cancel or return all possible orders") is a return of each
    delivered order no change is about, of every item the message does not except ("except the boots")."""
    if not any(asks_for(clause.text, "return") for clause in clauses_of(text)) or extract_order_ids(text):
        return []
    about = {c.get("order_id") for c in planned if c["cmd"] == "write"}
    returns = []
    for order in orders:
        kept = items_excepted(text, order["items"])
        if "delivered" in order["status"] and order["order_id"] not in about and len(kept) < len(order["items"]):
            returns.append({"cmd": "write", "tool": "return_delivered_order_items", "order_id": order["order_id"],
                            "items": [i["name"] for i in order["items"] if i not in kept]})
    return returns


def _orders_of_items_cancelled(planned: list[dict[str, Any]], text: str,
                               orders: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """A cancellation of items that lie in several pending orders ("I no longer need the boots, the watch and the
    charger") is one per order holding them: a pending order holding an item the message names, that no planned
    cancellation's order holds and no other planned change is about, is cancelled too (for the same reason).
    Not when the message names an order by its number."""
    cancels = [c for c in planned if c["cmd"] == "write" and c["tool"] == "cancel_pending_order" and c.get("order_id")]
    if not cancels or extract_order_ids(text):
        return planned
    pending = [o for o in orders if "pending" in o["status"]]
    elsewhere = " ".join(i for c in planned if c["cmd"] == "write" and c["tool"] != "cancel_pending_order"
                         for i in c.get("items", []))
    cancelled = {c["order_id"] for c in cancels}
    covered = {i["name"] for o in pending if o["order_id"] in cancelled for i in items_called(text, o["items"])}
    added = []
    for order in pending:
        named = {i["name"] for i in items_called(text, order["items"])} - covered
        if order["order_id"] not in cancelled and named and not items_called(elsewhere, order["items"]):
            added.append({**cancels[-1], "order_id": order["order_id"]})
            covered |= named
    at = planned.index(cancels[-1]) + 1
    return [*planned[:at], *added, *planned[at:]]


_REFUND = re.compile(r"\brefund\w*", re.IGNORECASE)


def _as_status_allows(planned: list[dict[str, Any]], text: str, orders: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Writes as the orders' statuses allow what the message asks: a cancellation of a delivered order in a message
    that also asks for a return ("cancel or return everything") is a return; a payment change of an order that is not
    pending in a message about a refund ("PayPal is preferred for the refund") only says where the refund goes;
    an item change of an order that "everything except ..." leaves nothing of is none."""
    status = {o["order_id"]: o["status"] for o in orders}
    items = {o["order_id"]: o["items"] for o in orders}
    kept = []
    for command in planned:
        order_id, tool = command.get("order_id", ""), command.get("tool")
        delivered = "delivered" in status.get(order_id, "")
        if command["cmd"] == "write" and tool == "cancel_pending_order" and delivered and any(
                asks_for(clause.text, "return") for clause in clauses_of(text)):
            command = {**command, "tool": "return_delivered_order_items"}
            command.pop("reason", None)
        if tool == "modify_pending_order_payment" and order_id in status and "pending" not in status[order_id] and (
                _REFUND.search(text)):
            continue
        if command.get("tool") in ITEM_CHANGES and order_id in items and all_but(text) and not items_named(
                text, items[order_id]):
            continue
        kept.append(command)
    return kept


def _removals(planned: list[dict[str, Any]], clauses: list[Clause]) -> list[dict[str, Any]]:
    """An item to be removed from a pending order ("remove the fleece jacket from my pending order") is no item
    changed for another option: it is a cancellation (of the whole order, which the proposal says first). So is an
    item change read beside the cancellation of its order from the clause that cancels it ("just cancel the t-shirt
    order", the option copied from those words); an option from other words ("cancel the blue mug, I want the red
    one") is a swap."""
    cancelled = {c.get("order_id") for c in planned if c["cmd"] == "write" and c["tool"] == "cancel_pending_order"}
    removing = [sentence for clause, sentence, question in clauses if not question and asks_for(clause, "remove")]
    cancelling = [clause.lower() for clause, _, question in clauses if not question and asks_for(clause, "cancel")]

    def removed(command: dict[str, Any]) -> bool:
        if command["cmd"] != "write" or command["tool"] != "modify_pending_order_items":
            return False
        option, items = (command.get("new_option") or "").lower(), [{"name": i} for i in command.get("items", [])]
        if not option and any(items_named(sentence, items) for sentence in removing):
            return True
        return command.get("order_id") in cancelled and any(
            option in clause and items_named(clause, items) for clause in cancelling)

    return [{**{k: v for k, v in c.items() if k != "new_option"}, "tool": "cancel_pending_order"} if removed(c) else c
            for c in planned]


_DIFFERENCE = re.compile(r"\b(?:price\s+)?difference\b", re.IGNORECASE)
"""Money a swap leaves over or owes ("any price difference should go to a gift card")."""


def _difference_paid(planned: list[dict[str, Any]], text: str) -> list[dict[str, Any]]:
    """A payment change in a message that asks to swap items and says where the price difference goes ("change
    the desk lamp for the cheapest one; any price difference should go to a gift card") is that swap, paid through
    the method named, unless the swap is planned already."""
    if not _DIFFERENCE.search(text) or not SWAP_WORDS.search(_DIFFERENCE.sub("", text)) or any(
            c.get("tool") in ITEM_SWAPS.values() for c in planned):
        return planned
    return [{**c, "tool": "modify_pending_order_items"} if c.get("tool") == "modify_pending_order_payment" else c
            for c in planned]


_ALL_OF = re.compile(r"\b(?:all|every|each)\b(?:\s+of)?((?:(?!\b(?:to|into|for|with|instead|and)\b)[^.,;!?])+)",
                     re.IGNORECASE)
"""Every item of a kind ("modify all my pending small tshirts to purple"): the words up to what it becomes."""



def _every_item(planned: list[dict[str, Any]], text: str, orders: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """A change asked of all the customer's items of a kind ("all my pending small tshirts") is one change per
    order of the right status holding such items, each with those items (the options said pick among them),
    unless the message names an order by its number."""
    every = _ALL_OF.search(text)
    if not every or extract_order_ids(text):
        return planned
    expanded: list[dict[str, Any]] = []
    for command in planned:
        if command["cmd"] != "write" or command["tool"] not in ITEM_CHANGES:
            expanded.append(command)
            continue
        status = ORDER_STATUS_FOR[WRITE_INTENT[command["tool"]]]
        holding = _items_of_kind(every.group(1), [o for o in orders if status in o["status"]])
        if len(holding) < 2 or any(c.get("tool") == command["tool"] for c in expanded):
            expanded.append(command)
            continue
        expanded.extend({**command, "order_id": order_id, "items": [i["name"] for i in items]}
                        for order_id, items in holding.items())
    return expanded


def _items_of_kind(words: str, orders: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    """The items ``words`` name ("pending small tshirts") with the option values it says, by order."""
    named = {o["order_id"]: items_named(words, o["items"]) for o in orders}
    asked = options_asked(words, [i for items in named.values() for i in items])
    fitting = {order_id: [i for i in items if has_asked(i["options"], asked)]
               for order_id, items in named.items()}
    return {order_id: items for order_id, items in fitting.items() if items}


_LET_GO = re.compile(r"\b(forget (it|that|about (it|that))|never ?mind|scratch that|don'?t bother)\b", re.IGNORECASE)
"""The customer lets the task in progress go ("forget that, where is my coffee maker?")."""


def _let_go(planned: list[dict[str, Any]], text: str, task: dict[str, Any] | None) -> list[dict[str, Any]]:
    """A task in progress the customer lets go in so many words is dropped, whatever else they ask."""
    if task and task.get("awaiting") and _LET_GO.search(text) and not any(c["cmd"] == "drop" for c in planned):
        return [{"cmd": "drop"}, *[c for c in planned if c["cmd"] not in ("confirm", "correct")]]
    return planned


def _order_answered(planned: list[dict[str, Any]], text: str, task: dict[str, Any] | None) -> list[dict[str, Any]]:
    """At "which order do you mean?", a look-up of one order alone in a message that asks nothing ("the one with
    the blankets") answers the question: that order is the task's."""
    if (task and task.get("awaiting") == "order" and len(planned) == 1 and planned[0]["cmd"] == "lookup"
            and planned[0].get("order_id") and "?" not in text):
        return [{"cmd": "correct", "order_id": planned[0]["order_id"]}]
    return planned


def _instead(planned: list[dict[str, Any]], text: str, task: dict[str, Any] | None) -> list[dict[str, Any]]:
    """A change of another kind to the same order, asked on its own while the agent waits for a yes to the task
    in progress ("hmm, can I exchange them instead?"), replaces that task: it is dropped first."""
    if (not task or task.get("awaiting") != "confirmation" or not task.get("proposal") or several_requests(text)
            or any(c["cmd"] in ("drop", "confirm") for c in planned)):
        return planned
    instead = next((i for i, c in enumerate(planned) if c["cmd"] == "write" and task.get("order_id")
                    and c.get("order_id") == task["order_id"]), None)
    return planned if instead is None else [*planned[:instead], {"cmd": "drop"}, *planned[instead:]]


_PRODUCT_QUESTION = re.compile(rf"\b({extract.OPTION_WORDS}|in stock|available|availability|sold out|prices?|cost|"
                               r"how much|come in|sell)\b", re.IGNORECASE)
"""A question about what the store sells."""



def _products_said(planned: list[dict[str, Any]], text: str, products: Sequence[str]) -> list[dict[str, Any]]:
    """Without product questions about nothing the message names (small models copy their prompt's examples)."""
    return [c for c in planned if c["cmd"] != "product"
            or product_meant(text, c["product"], products) or said_in(c["product"], text)]


def _missed_product_questions(planned: list[dict[str, Any]], clauses: list[Clause],
                              products: Sequence[str]) -> list[dict[str, Any]]:
    """A question about something the store sells ("how many tshirt options are available?") that the planner
    missed or sent to the help center is answered from the catalogue (help-center questions naming that product
    are dropped); not a question about their orders ("is the shirt I bought available to return?")."""
    if any(c["cmd"] == "product" for c in planned):
        return planned
    asked = [name for clause, _, question in clauses
             if question and _PRODUCT_QUESTION.search(clause) and not ABOUT_THEIR_ORDERS.search(clause)
             and (name := product_meant(clause, "", products))]
    if not asked:
        return planned
    kept = [c for c in planned if c["cmd"] != "answer" or product_meant(c["question"], "", products) not in asked]
    return [*({"cmd": "product", "product": name} for name in dict.fromkeys(asked)), *kept]


_MIN_QUESTION_WORDS = 3
_ASKS_WHAT = re.compile(r"(how|what|when|why|which|who)\b", re.IGNORECASE)
"""A question that asks for information ("how long do refunds take?"), not for something to be done ("can you
cancel it?", "is that ok?")."""


def _missed_questions(planned: list[dict[str, Any]], clauses: list[Clause],
                      orders: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """A question asked beside a change ("exchange my hoodie for a black one, and how long do refunds usually
    take?") that the planner left out goes to the help center: a question in so many words (its sentence ends in a
    question mark) asking how, what, when or why, for no change, not where an order is, naming no order or item of
    theirs."""
    if not any(c["cmd"] == "write" for c in planned) or any(c["cmd"] in ("answer", "product") for c in planned):
        return planned
    asked = [clause for clause, sentence, question in clauses
             if question and sentence.rstrip().endswith("?") and len(clause.split()) >= _MIN_QUESTION_WORDS
             and _ASKS_WHAT.match(clause) and not STATUS.search(clause) and not asks_a_change(clause)
             and not extract_order_ids(clause) and not orders_holding(clause, orders, typos=False)]
    return [*planned, *({"cmd": "answer", "question": question} for question in asked[:1])]


DETAIL_CHANGES = ("modify_pending_order_address", "modify_pending_order_payment", "modify_user_address")
"""Changes that need a detail only the customer can give: where to send it, how to pay."""
_REFERENCE = re.compile(r"\b(?:it|them|this one|that one)\b", re.IGNORECASE)
_CHANGE_WORDS = re.compile(r"\b(?:chang\w*|updat\w*|modif\w*|switch\w*|edit\w*|correct\w*|fix\w*|replac\w*|"
                           r"instead of|want|wanna|would like|'d like|need|please|pls|plz)\b", re.IGNORECASE)
"""Words that ask for a change, or say the customer wants one."""
_THEIR_ORDER = re.compile(r"\b(?:my|the|this|that|our)\s+(?:[\w-]+\s+){0,2}?orders?\b", re.IGNORECASE)
_THEIR_THING = re.compile(r"\b(?:my|the|this|that|these|those)\s+([\w'-]+(?:\s+[\w'-]+)?)", re.IGNORECASE)
"""What the customer calls theirs, or points at ("my hoody", "the earbudz"): where a misspelt item name counts (read
in the whole message, "after" is near enough to "water")."""


def _names_theirs(text: str, orders: list[dict[str, Any]], talked_about: str | None) -> bool:
    """``text`` names one of their orders or items, or refers back to the order just talked about."""
    called = any(orders_holding(words, orders) for words in _THEIR_THING.findall(text))
    return bool(extract_order_ids(text) or _THEIR_ORDER.search(text) or orders_holding(text, orders, typos=False)
                or called or (talked_about and _REFERENCE.search(text)))


def _asked_about(command: dict[str, Any], clauses: list[Clause]) -> bool:
    """A change that may be read into a question about what can be done: of address or payment, or a
    cancellation, return or exchange no clause asks for in so many words ("is there anything I can do?")."""
    if command["cmd"] != "write":
        return False
    action = ACTION_WORDS.get(command["tool"])
    asked = action is not None and any(asks_for(clause.text, action) for clause in clauses)
    return command["tool"] in DETAIL_CHANGES or (action is not None and not asked)


def _changes_asked_about(planned: list[dict[str, Any]], clauses: list[Clause], text: str,
                         orders: list[dict[str, Any]], task: dict[str, Any] | None,
                         talked_about: str | None) -> list[dict[str, Any]]:
    """A change read into a question whether something can be done ("can I pay with paypal?", "I just missed the
    return window, is there anything I can do?") is a help-center question, when the message asks for no change in
    so many words, says no wish, names no order or item of theirs (nor refers back to the one just talked about)
    and gives no address."""
    changes = [c for c in planned if _asked_about(c, clauses)]
    awaiting = task is not None and task.get("awaiting")
    asks = any(clause.question for clause in clauses)
    if (not changes or awaiting or not asks or _names_theirs(text, orders, talked_about) or _CHANGE_WORDS.search(text)
            or US_ADDRESS.search(text)):
        return planned
    kept = [c for c in planned if c not in changes]
    answered = any(c["cmd"] == "answer" for c in kept)
    return kept if answered else [*kept, {"cmd": "answer", "question": text}]


_SHORT = 10


def _answers_nothing_asked(planned: list[dict[str, Any]], clauses: list[Clause], text: str,
                           intent: str | None) -> list[dict[str, Any]]:
    """Help-center answers to a short message that asks nothing and that the router reads as thanks ("thank you so
    much, that's all i needed") are small talk."""
    asks = "?" in text or len(text.split()) > _SHORT or any(clause.question for clause in clauses)
    if intent != "thanks_bye" or asks or any(c["cmd"] != "answer" for c in planned):
        return planned
    return from_route(intent, text, [])





_BACK_REFERENCE = re.compile(r"\b(?:the same|that|this) order\b", re.IGNORECASE)


def _named_orders(planned: list[dict[str, Any]], text: str, orders: list[dict[str, Any]],
                  talked_about: str | None) -> list[dict[str, Any]]:
    """An order of theirs the customer names, by its number, by an item in it or as the one just talked about
    (``talked_about``: "the same order", "that order"), is never passed over: one no command is about is looked up
    first ("my order #W... still hasn't arrived!" or "the toothbrush doesn't even turn on" read as a help-center
    question gets its status too). Not while a task goes on (an answer to the agent's question), nor by item or
    reference beside a change (the change names its order, or asks which one) or a question about a product (the
    catalogue's, not their order)."""
    if any(c["cmd"] in ("confirm", "correct") for c in planned):
        return planned
    theirs = {o["order_id"] for o in orders}
    writes = any(c["cmd"] in ("write", "product") for c in planned)
    by_item = [] if writes else [o["order_id"] for o in orders_holding(text, orders, typos=False)]  # not guessed
    if not writes and not by_item and talked_about and _BACK_REFERENCE.search(text):
        by_item = [talked_about]
    named = [*extract_order_ids(text), *(by_item if len(by_item) <= NAMED_BY_ITEM else [])]
    covered = {c.get("order_id") for c in planned}
    missed = [i for i in dict.fromkeys(named) if i in theirs and i not in covered]
    return [*({"cmd": "lookup", "order_id": i} for i in missed), *planned]


def grounded(commands: list[Command], text: str, orders: list[dict[str, Any]],
             task: dict[str, Any] | None, intent: str | None = None,
             products: Sequence[str] = (), translation: str | None = None,
             talked_about: str | None = None) -> list[dict[str, Any]]:
    """The planner's ``commands`` as data, each detail checked against ``text`` and the customer's ``orders``.
    A bare yes or okay starts nothing new; a write of the task in progress corrects it; ``intent`` is the router's
    reading of the message; ``products``: the names of what the store sells; ``translation``: the message in
    English, which the checks read, when the customer wrote in another language; ``talked_about``: the order the
    agent's last reply was about. Empty: nothing the planner read holds up."""
    written, english = text, language_of(text) == "en"
    text = translation or text
    planned = _shared_details(_lookups(
        [_details(c.model_dump(exclude_none=True), text, orders, task, written, english) for c in commands], text,
        orders))
    if extract.bare_acknowledgement(text):
        planned = [{k: v for k, v in c.items() if c["cmd"] != "correct" or k not in (*COPIED_DETAILS, "items")}
                   for c in planned if c["cmd"] != "write"] or [{"cmd": "correct"}]
    awaited = task["intent"] if task and task.get("awaiting") else None
    for command in planned:
        if command["cmd"] == "write" and WRITE_INTENT[command["tool"]] == awaited:
            command["cmd"] = "correct"
            del command["tool"]
    planned = _difference_paid(_let_go(_instead(_order_answered(planned, text, task), text, task), text, task), text)
    if english or translation:  # the embedding model and the action words are English
        clauses = clauses_of(text)
        planned = _answers_nothing_asked(_answers_unrelated(_writes_unrelated(planned, text), text), clauses, text,
                                         intent)
        planned = _charges_disputed(planned, text)
        planned = _missed_product_questions(_products_said(planned, text, products), clauses, products)
        planned = missed_changes(_removals(swaps_unasked(planned, text), clauses), clauses, text, orders, task)
        planned = _missed_questions(planned, clauses, orders)
        planned = missed_new_address(to_account_address(planned, text), clauses, text, task)
        planned = both_addresses(planned, text)
        planned = _other_orders(planned, text, orders)
        planned = _changes_asked_about(planned, clauses, text, orders, task, talked_about)
    planned = _every_item(_every_order(planned, text, orders), text, orders)
    planned = _orders_of_items_cancelled(planned, text, orders)
    every = _as_status_allows(planned, text, orders)
    return _named_orders(_one_change_per_order(every, orders), text, orders, talked_about)
