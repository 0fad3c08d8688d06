"""The planner's commands checked against what the customer actually wrote: a small model fills in details the
customer never gave (a reason, the whole order's items, an order from its prompt's examples), and code, not
the model, decides what was said. What fails a check is dropped, and the executor asks for it."""

from __future__ import annotations

import re
from typing import Any

from agent.commands import WRITE_INTENT, Command
from agent.executor import extract
from agent.nodes.understand import extract_order_ids, several_requests
from core.embeddings import get_embedder
from core.language import language_of
from tools import TOOLS
from tools.arguments import items_named, orders_holding, said_in

WRITE_MIN_SIMILARITY = 0.2
"""Below this, one of several changes the planner read into a message is not about the message (the tool's
description against the message, by the embedding model)."""
ANSWER_MIN_SIMILARITY = 0.3
"""Below this, a help-center question the planner added is not about the message (small models copy their
prompt's examples)."""
COPIED_DETAILS = ("address", "new_option", "reason", "payment")
"""Details the planner copies from the message word for word."""


def _order_id(command: dict[str, Any], text: str, orders: list[dict[str, Any]]) -> str | None:
    """The order the command is about: the planner's if it is one of the customer's or named in the message,
    unless the message names an item that exactly one other order holds, or several others and not this one."""
    wanted = command.get("order_id")
    named_ids = extract_order_ids(text)
    if wanted and wanted not in named_ids and wanted not in {o["order_id"] for o in orders}:
        wanted = None
    holding = [o["order_id"] for o in orders_holding(text, orders)]
    if not named_ids and len(holding) == 1:
        return holding[0]
    if not named_ids and holding and wanted not in holding:
        return None  # several hold what the message names, not this one: code chooses among them, or asks
    return wanted


def _details(command: dict[str, Any], text: str, orders: list[dict[str, Any]], english: bool) -> dict[str, Any]:
    checked = dict(command)
    if checked["cmd"] not in ("write", "correct", "lookup"):
        return checked
    for detail in COPIED_DETAILS:
        if checked.get(detail) and not said_in(checked[detail], text):
            del checked[detail]
    if "order_id" in checked or checked["cmd"] != "correct":
        checked["order_id"] = _order_id(checked, text, orders)
        if checked["order_id"] is None:
            del checked["order_id"]
    if english and checked.get("items"):  # in English the items must be ones the message names
        checked["items"] = [i["name"] for i in items_named(text, [{"name": n} for n in checked["items"]])]
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


def _writes_unrelated(planned: list[dict[str, Any]], text: str) -> list[dict[str, Any]]:
    """Without changes unrelated to the message, when the planner read several into it."""
    writes = [c for c in planned if c["cmd"] == "write"]
    if len(writes) < 2:
        return planned
    vectors = get_embedder().embed([text, *(TOOLS[c["tool"]].description for c in writes)])
    related = {id(c) for c, v in zip(writes, vectors[1:], strict=True)
               if float(v @ vectors[0]) >= WRITE_MIN_SIMILARITY}
    return [c for c in planned if c["cmd"] != "write" or id(c) in related] if related else planned


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


_LET_GO = re.compile(r"\b(forget (it|that|about (it|that))|never ?mind|scratch that|don'?t bother)\b", re.IGNORECASE)
"""The customer lets the task in progress go ("forget that, where is my coffee maker?")."""


def _let_go(planned: list[dict[str, Any]], text: str, task: dict[str, Any] | None) -> list[dict[str, Any]]:
    """A task in progress the customer lets go in so many words is dropped, whatever else they ask."""
    if task and task.get("awaiting") and _LET_GO.search(text) and not any(c["cmd"] == "drop" for c in planned):
        return [{"cmd": "drop"}, *[c for c in planned if c["cmd"] not in ("confirm", "correct")]]
    return planned


def _instead(planned: list[dict[str, Any]], text: str, task: dict[str, Any] | None) -> list[dict[str, Any]]:
    """A change of another kind to the same order, asked on its own while the agent waits for a yes to the task
    in progress ("hmm, can I exchange them instead?"), replaces that task: it is dropped first."""
    if (not task or task.get("awaiting") != "confirmation" or several_requests(text)
            or any(c["cmd"] in ("drop", "confirm") for c in planned)):
        return planned
    instead = next((i for i, c in enumerate(planned) if c["cmd"] == "write" and task.get("order_id")
                    and c.get("order_id") == task["order_id"]), None)
    return planned if instead is None else [*planned[:instead], {"cmd": "drop"}, *planned[instead:]]


def grounded(commands: list[Command], text: str, orders: list[dict[str, Any]],
             task: dict[str, Any] | None) -> list[dict[str, Any]]:
    """The planner's ``commands`` as data, each detail checked against ``text`` and the customer's ``orders``.
    A bare yes or okay starts nothing new; a write of the task in progress corrects it. Empty: nothing the
    planner read holds up."""
    english = language_of(text) == "en"
    planned = _shared_details(_lookups(
        [_details(c.model_dump(exclude_none=True), text, orders, english) for c in commands], text, orders))
    if extract.bare_acknowledgement(text):
        planned = [{k: v for k, v in c.items() if c["cmd"] != "correct" or k not in (*COPIED_DETAILS, "items")}
                   for c in planned if c["cmd"] != "write"] or [{"cmd": "correct"}]
    awaited = task["intent"] if task and task.get("awaiting") else None
    for command in planned:
        if command["cmd"] == "write" and WRITE_INTENT[command["tool"]] == awaited:
            command["cmd"] = "correct"
            del command["tool"]
    planned = _let_go(_instead(planned, text, task), text, task)
    if not english:  # the embedding model reads English
        return planned
    return _answers_unrelated(_writes_unrelated(planned, text), text)
