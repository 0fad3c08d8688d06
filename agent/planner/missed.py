"""What a small model's plan left out of a message, found clause by clause with no model (`clauses.py`): a
change asked for in so many words that the planner read as a look-up or left out beside its other changes, an
order asked about that it did not look up, an order to send to the address the message gives, both addresses
asked for together. The planner's grounding (`grounding.py`) adds what this finds."""

from __future__ import annotations

import re
from typing import Any

from agent.commands import WRITE_INTENT
from agent.executor import extract
from agent.executor.address import US_ADDRESS
from agent.executor.flow import ORDER_STATUS_FOR
from agent.nodes.understand import extract_order_ids
from agent.planner.clauses import ACTION_WORDS, Clause, asks_a_change, asks_for
from agent.planner.prompt import WRITE_DETAILS
from tools.arguments import items_called, items_named, orders_holding

ITEM_SWAPS = {"pending": "modify_pending_order_items", "delivered": "exchange_delivered_order_items"}
"""Swapping items for other options: a change of a pending order, an exchange of a delivered one."""

ITEM_CHANGES = ("modify_pending_order_items", "return_delivered_order_items", "exchange_delivered_order_items")
"""Changes of some items of an order."""

NAMED_BY_ITEM = 2
"""Orders an item the customer names may point to and still be looked up unasked (more: the name is too vague)."""

ABOUT_THEIR_ORDERS = re.compile(r"\b(my|order\w*|bought|purchased|return\w*|cancel\w*|exchang\w*|refund\w*|"
                                r"ship\w*|deliver\w*|arriv\w*|track\w*)\b", re.IGNORECASE)
"""Words of a message about the customer's own orders, not about what the store sells."""

_READS = ("lookup", "answer", "product", "chat", "ask")


def order_meant(parts: tuple[str, ...], orders: list[dict[str, Any]]) -> tuple[str | None, list[dict[str, Any]]]:
    """The one order the first of ``parts`` to name any (the clause, its sentence, the message) names by number, by
    item or by its status ("my cancelled order", when one is), with the items it names; None if it names several or
    none."""
    for part in parts:
        holding = orders_holding(part, orders)
        named = extract_order_ids(part) or [o["order_id"] for o in holding]
        if named:
            items = items_named(part, holding[0]["items"]) if [o["order_id"] for o in holding] == named[:1] else []
            return (named[0], items) if len(named) == 1 else (None, [])
        if by_status := order_of_status(part, orders):
            return by_status, []
    return None, []


_MY_ORDER_OF_STATUS = re.compile(r"\bmy\s+(pending|cancell?ed|delivered|processed)\s+order\b(?!s)", re.IGNORECASE)


def order_of_status(text: str, orders: list[dict[str, Any]]) -> str | None:
    """The order ``text`` names by its status ("my pending order"), when the customer has one order of that status."""
    said = _MY_ORDER_OF_STATUS.search(text)
    status = said.group(1).lower().replace("canceled", "cancelled") if said else None
    of_status = [o["order_id"] for o in orders if status and o["status"].split(" (")[0] == status]
    return of_status[0] if len(of_status) == 1 else None


STATUS = re.compile(r"\b(where|shipped|ship|arrive|arriving|arrived|delivered|status|track|tracking)\b", re.I)
"""A question about where an order is."""
_TRACKING_NUMBER = re.compile(r"\btracking\s+(?:number|no|id|code|info\w*|details)\b", re.IGNORECASE)


def _asks_what_they_ordered(clause: str) -> bool:
    """The clause asks what the items of an order of theirs are, and for no change to them."""
    return (extract.asks_item_details(clause) and bool(ABOUT_THEIR_ORDERS.search(clause))
            and not SWAP_WORDS.search(clause) and not asks_a_change(clause))


def _missed_lookups(planned: list[dict[str, Any]], clauses: list[Clause],
                    orders: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Questions about where an order is ("also, has the coffee maker shipped?", "I want the tracking number of my
    cancelled order") or what its items are ("which two t-shirts did I order?") that the planner did not look up:
    the one order each names is looked up (what its items are: each order holding them, up to
    :data:`NAMED_BY_ITEM`)."""
    looked_up = {c.get("order_id") for c in planned if c["cmd"] == "lookup"}
    missed = []
    for clause, _, question in clauses:
        asked = question or _TRACKING_NUMBER.search(clause)  # "I want the tracking number of ...": asked all the same
        if asked and STATUS.search(clause) and (order_id := order_meant((clause,), orders)[0]):
            missed.append(order_id)
        elif question and _asks_what_they_ordered(clause) and not any(c["cmd"] == "product" for c in planned):
            holding = [o["order_id"] for o in orders_holding(clause, orders, typos=False)]
            missed += holding if len(holding) <= NAMED_BY_ITEM else []
    missed = [order_id for order_id in missed if order_id not in looked_up]
    return [*planned, *({"cmd": "lookup", "order_id": order_id} for order_id in dict.fromkeys(missed))]


SWAP_WORDS = re.compile(r"\b(chang\w*|modif\w*|swap\w*|switch\w*|exchang\w*|replac\w*|instead|differen\w*|"
                         r"upgrad\w*|downgrad\w*|convert\w*|rather|prefer\w*)\b", re.IGNORECASE)
"""Words that ask for one option of an item instead of another."""


def swaps_unasked(planned: list[dict[str, Any]], text: str) -> list[dict[str, Any]]:
    """Without item swaps that say neither which items nor what for, in a message that asks for no swap (the
    planner read "which two t-shirts did I order?" beside a cancellation as a change of the t-shirts)."""
    return [c for c in planned if not (c["cmd"] == "write" and c["tool"] in ITEM_SWAPS.values()
                                       and not c.get("items") and not c.get("new_option")
                                       and not SWAP_WORDS.search(text))]


def missed_changes(planned: list[dict[str, Any]], clauses: list[Clause], text: str, orders: list[dict[str, Any]],
                    task: dict[str, Any] | None) -> list[dict[str, Any]]:
    """A change the customer asks for in so many words ("retun my backpak plz") that the planner read as a look-up
    or a question is started all the same, on the order the clause names, instead of looking that order up; an
    order asked about is looked up."""
    planned = _missed_lookups(planned, clauses, orders)
    if task and task.get("awaiting"):
        return planned
    if any(c["cmd"] == "write" for c in planned):
        planned = _changes_left_out(planned, clauses, orders)
        return planned if extract_order_ids(text) else _returns_left_out(planned, clauses, orders)
    if any(c["cmd"] not in _READS for c in planned):
        return planned
    changes: list[dict[str, Any]] = []
    for clause, sentence, question in clauses:
        tool = None if question else next((t for t, a in ACTION_WORDS.items() if asks_for(clause, a)), None)
        if tool is None or any(c["tool"] == tool for c in changes):
            continue
        order_id, items = order_meant((clause, sentence, text), orders)
        named_items = {"items": [i["name"] for i in items]} if items and "items" in WRITE_DETAILS[tool] else {}
        changes.append({"cmd": "write", "tool": tool, **({"order_id": order_id} if order_id else {}), **named_items})
    swap = _missed_swap(clauses, text, orders)
    changes += [swap] if swap and not any(c["tool"] == swap["tool"] for c in changes) else []
    if not changes:
        return planned
    asked_about = {order_meant((clause,), orders)[0] for clause, _, question in clauses if question}
    misread = [c for c in planned if c["cmd"] == "ask" or (
        c["cmd"] == "lookup" and c.get("order_id") in {w.get("order_id") for w in changes} - asked_about)]
    return [*(c for c in planned if c not in misread), *changes]


_CONDITION = re.compile(r"(if|unless|in case|when)\b", re.IGNORECASE)
"""A sentence that makes a wish depend on something ("If the tablet is returned, also cancel the charger")."""


def _changes_left_out(planned: list[dict[str, Any]], clauses: list[Clause],
                      orders: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """A change asked for in so many words beside the planner's changes ("..., also I want to exchange the garden
    hose I received", "I also want to adjust the desk lamp to be black") that none of them is about is made too:
    on the one order of the status it needs that the clause names (by its number, or by the items it holds), when
    no planned change of that kind is about that order. Not a wish that depends on something (the planner may
    have weighed it)."""
    about = {(c.get("order_id"), _kind(c["tool"])) for c in planned if c["cmd"] == "write"}
    if any(order_id is None for order_id, _ in about):  # a change whose order code has yet to find may be these
        return planned
    added = []
    for clause, sentence, question in clauses:
        if question or _CONDITION.match(sentence.strip()):
            continue
        tool, order_id, items = _change_asked(clause, orders, sentence)
        named = items or order_id in extract_order_ids(clause)
        if tool and order_id and named and (order_id, _kind(tool)) not in about:
            swap = {"new_option": clause} if tool in ITEM_SWAPS.values() else {}
            added.append({"cmd": "write", "tool": tool, "order_id": order_id, "items": [i["name"] for i in items],
                          **swap})
            about.add((order_id, _kind(tool)))
    return [*planned, *added]


_RETURN = re.compile(r"\breturn\w*", re.IGNORECASE)
_OTHER_CHANGE = re.compile(r"\b(?:cancel|exchang|modif|chang|swap|switch|replac|keep)\w*", re.IGNORECASE)


def _returns_left_out(planned: list[dict[str, Any]], clauses: list[Clause],
                      orders: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """A return of items that lie in several delivered orders ("I want to return the skateboard, garden hose,
    backpack, keyboard, and bed") is one return per order: the items a sentence asks to return (up to another
    change it asks for) that are in a delivered order no planned change is about are returned from it too, each
    item held by one delivered order only (of two, code cannot tell which is meant). Not a wish that depends on
    something, nor beside an order named by its number."""
    returns = [c for c in planned if c["cmd"] == "write" and c["tool"] == "return_delivered_order_items"]
    about = {c.get("order_id") for c in planned if c["cmd"] == "write"}
    if not returns or None in about:
        return planned
    delivered = [o for o in orders if "delivered" in o["status"]]
    asking = dict.fromkeys(sentence for clause, sentence, question in clauses
                           if not question and asks_for(clause, "return") and not _CONDITION.match(sentence.strip()))
    added = []
    for sentence in asking:
        asked = _OTHER_CHANGE.split(_RETURN.split(sentence, maxsplit=1)[-1], maxsplit=1)[0]
        held = {o["order_id"]: {i["name"] for i in items_called(asked, o["items"])} for o in delivered}
        for order_id, names in held.items():
            alone = sorted(n for n in names if not any(n in other for o, other in held.items() if o != order_id))
            if alone and order_id not in about:
                added.append({**returns[-1], "order_id": order_id, "items": alone})
                about.add(order_id)
    return [*planned, *added]


def _kind(tool: str) -> str:
    """Changes of one order's items are of one kind: an order is changed once (tau2's rule, and ours)."""
    return "items" if tool in ITEM_CHANGES else tool


def _change_asked(clause: str, orders: list[dict[str, Any]],
                  sentence: str = "") -> tuple[str | None, str | None, list[dict[str, Any]]]:
    """The write a clause asks for in so many words (a cancellation or a return, or an item changed: "exchange",
    "modify", "change" ...), with the one order of the status it needs holding the items it names, and those items.
    An item change takes the kind the order's status allows; "my pending order" is the customer's one pending
    order, and its one item."""
    tool = next((t for t, a in ACTION_WORDS.items() if asks_for(clause, a)), None)
    if tool is not None and tool not in ITEM_SWAPS.values():
        status = ORDER_STATUS_FOR[WRITE_INTENT[tool]]
        return (tool, *order_meant((clause,), [o for o in orders if status in o["status"]]))
    if tool is None and (_NOT_AN_ITEM_CHANGE.search(clause) or not any(asks_for(clause, v) for v in _SWAP_VERBS)):
        return None, None, []
    swappable = [o for o in orders if o["status"] in ITEM_SWAPS]
    order_id, items = order_meant((clause,), swappable)
    pending = [o for o in swappable if o["status"] == "pending"]
    said = _PENDING_ORDER.search(clause) or (_ITS.search(clause) and _PENDING_ORDER.search(sentence))
    if not items and said and len(pending) == 1 and len(pending[0]["items"]) == 1:
        order_id, items = pending[0]["order_id"], pending[0]["items"]
    status = next((o["status"] for o in orders if o["order_id"] == order_id), "")
    return ITEM_SWAPS.get(status), order_id, items


_PENDING_ORDER = re.compile(r"\bmy\s+pending\s+order\b", re.IGNORECASE)
"""The customer's one pending order, named so ("change my pending order item to red"), or in the clause's sentence
when the clause says "its" ("change my pending order address ..., and change its item color to red")."""
_ITS = re.compile(r"\bits\b", re.IGNORECASE)
_SWAP_VERBS = ("modify", "change", "switch", "swap", "upgrade", "adjust")
_NOT_AN_ITEM_CHANGE = re.compile(r"\b(address|ship|deliver|pay|payment|card|paypal|gift|password|email)\w*",
                                 re.IGNORECASE)
"""What a change of something other than an item is about ("change the address of the tshirt order")."""


def _missed_swap(clauses: list[Clause], text: str, orders: list[dict[str, Any]]) -> dict[str, Any] | None:
    """An item change asked for in so many words ("modify all my pending tshirts to purple"): a clause that starts
    with a verb of change and names items of the customer's orders, on the order it names, or on none when the
    items are in several orders of the same status (code then asks, or makes it in each for "all")."""
    for clause, sentence, question in clauses:
        if question or _NOT_AN_ITEM_CHANGE.search(clause) or not any(asks_for(clause, v) for v in _SWAP_VERBS):
            continue
        order_id, items = order_meant((clause, sentence, text), orders)
        holding = [o for o in orders if o["order_id"] == order_id] or orders_holding(clause, orders)
        statuses = {o["status"] for o in holding}
        if len(statuses) == 1 and (tool := ITEM_SWAPS.get(statuses.pop())):
            named = {"order_id": order_id, "items": [i["name"] for i in items]} if order_id and items else {}
            return {"cmd": "write", "tool": tool, **named}
    return None


_SEND_ORDER = re.compile(r"\b(send|ship|deliver|redirect|forward)\b[^.?!]*\b(order|package|parcel)\b", re.IGNORECASE)
"""An order sent somewhere in so many words ("send my other pending order to ...")."""


def missed_new_address(planned: list[dict[str, Any]], clauses: list[Clause], text: str, task: dict[str, Any] | None,
                        ) -> list[dict[str, Any]]:
    """An order the message asks to send to the address it gives, which the planner did not plan (it planned the
    account's address, or read a question about addresses), is sent there: code picks the pending order, or
    asks which."""
    address, send = US_ADDRESS.search(text), _SEND_ORDER.search(text)
    asked = send and any(question and send.group(0) in sentence for _, sentence, question in clauses)
    if (not address or not send or asked or (task and task.get("awaiting"))
            or any(c.get("tool") == "modify_pending_order_address" or c["cmd"] == "correct" for c in planned)):
        return planned
    return [*planned, {"cmd": "write", "tool": "modify_pending_order_address", "address": address.group(0)}]


_TO_ACCOUNT_ADDRESS = re.compile(r"\bto\s+(?:my|the)\s+(?:\w+\s+)?(?:(?:default|usual|account'?s?)\s+address|"
                                 r"(?:address|one)\s+on\s+file)\b", re.IGNORECASE)
"""The account's address as where something should go ("change it to my default address")."""


def to_account_address(planned: list[dict[str, Any]], text: str) -> list[dict[str, Any]]:
    """A change of the account's address to the account's address is none: the message asks to send an order
    there ("it went to my son's, change it to my default address instead")."""
    if not _TO_ACCOUNT_ADDRESS.search(text):
        return planned
    return [{**c, "tool": "modify_pending_order_address"} if c.get("tool") == "modify_user_address" else c
            for c in planned]


_ORDERS_ADDRESS = re.compile(r"\border'?s?\s+address(?:es)?\b|\baddress(?:es)?\s+(?:of|on|for)\s+"
                             r"(?:(?:all|each|every)\s+)?(?:of\s+)?(?:my\s+|the\s+)?(?:\w+\s+)?orders?\b",
                             re.IGNORECASE)
"""An order's address as what is changed ("all my pending order addresses", "the address of my order")."""
_ACCOUNTS_ADDRESS = re.compile(r"\b(?:user|default|account'?s?|profile)\s+(?:default\s+)?address\b", re.IGNORECASE)
"""The account's address as what is changed ("my user default address")."""


def both_addresses(planned: list[dict[str, Any]], text: str) -> list[dict[str, Any]]:
    """A message that asks to change both the account's address and its orders' ("correct all order addresses and
    my user address") changes both, to the same address, when the planner planned one of the two."""
    tools = {c.get("tool") for c in planned if c["cmd"] == "write"}
    wanted = {"modify_pending_order_address": _ORDERS_ADDRESS.search(text),
              "modify_user_address": _ACCOUNTS_ADDRESS.search(text) and not _TO_ACCOUNT_ADDRESS.search(text)}
    if not all(wanted.values()) or len(tools & set(wanted)) != 1:
        return planned
    known = next(c for c in planned if c.get("tool") in wanted)
    missing = next(tool for tool in wanted if tool not in tools)
    address = {"address": known["address"]} if known.get("address") else {}
    return [*planned, {"cmd": "write", "tool": missing, **address}]
