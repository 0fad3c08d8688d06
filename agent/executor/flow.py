"""One step of a customer task: verify identity, fill the tool call from the details the customer gave (as the
planner passed them on, or the message itself) checked against the store, preview it against policy, ask for
a yes, then run it. Code decides every step, and never asks the same question twice in a row: a second
failed try at the same thing hands the conversation to a person."""

from __future__ import annotations

import re
from collections.abc import Callable, Collection
from typing import Any, Literal

from langchain_core.language_models import BaseChatModel
from pydantic import BaseModel

from agent.executor import extract, wording
from agent.executor.address import US_ADDRESS, address_on_record, missing_parts, parse_address
from agent.executor.fallback import fallback_change, fallback_sentence
from tools.arguments import (
    alike_items_meant,
    has_asked,
    items_called,
    items_listed_with,
    items_named,
    option_named,
    options_asked,
    options_fitting,
    order_by_price,
    orders_holding,
    orders_holding_most,
    payment_named,
    sentences,
)
from tools.customers import verification_request
from tools.policy import VerificationMethod

READ_INTENTS = {"order_status"}
ACTION_INTENTS = {"cancel_order", "change_address", "update_account_address", "return_refund", "exchange_item",
                  "modify_items", "change_payment", "account_password"}
GO_AHEAD = "Shall I go ahead? (yes/no)"
ALREADY_PROPOSED = "That's already part of it, so the proposal above stands."
"""Said at the yes when the items the customer adds are in the proposal already: no new proposal to read again."""
ORDER_STATUS_FOR = {"cancel_order": "pending", "change_address": "pending", "return_refund": "delivered",
                    "exchange_item": "delivered", "modify_items": "pending", "change_payment": "pending"}

RunTool = Callable[..., dict[str, Any]]
"""``run(name, arguments, *, customer_id, preview) -> ToolResult as a dict``."""


class Task(BaseModel):
    """A customer task in progress, kept in the conversation state between turns."""

    intent: str
    order_id: str | None = None
    item_ids: list[str] = []
    new_item_ids: list[str] = []
    options_chosen: dict[str, str] = {}
    """The new item id settled for each item id, kept when the customer narrows the items ("only the lamp")."""
    reason: str | None = None
    address: dict[str, str] | None = None
    payment_method_id: str | None = None
    """The method a payment change moves to, or the one the customer named for a refund or a price difference."""
    awaiting: str | None = None
    """What the agent asked for last: identity, order, items, options, reason, address or confirmation."""
    details: dict[str, Any] = {}
    """Details the customer gave before they were verified, used once they are."""
    option_said: str = ""
    """What the customer has said so far about the option they want ("size 9", then "white")."""
    address_said: str = ""
    """What the customer has said so far towards the new address ("101 Highway, New York, 10001", then "NY")."""
    request: str = ""
    """The customer's message that started the task (what "my coffee maker" meant, once they are verified)."""
    identity_facts: dict[str, Any] = {}
    """What the customer has said so far about who they are (an email, a name, a zip code), until it is enough
    to verify them by a way the policy accepts."""
    tries: int = 0
    """Questions in a row about ``awaiting`` that the customer's answers did not settle."""
    proposal: dict[str, Any] | None = None
    """The previewed tool call awaiting the customer's yes: ``{"tool", "arguments", "outcome"}``."""

    @property
    def offered(self) -> bool:
        """The agent offered this task instead of one the order's status ruled out, and waits for a yes."""
        return self.awaiting == "confirmation" and self.proposal is None

    def elsewhere(self) -> Task:
        """This task started again for another order, with what the customer said that is not about the order:
        the reason, the new address, the payment method, the option wanted."""
        return Task(intent=self.intent, reason=self.reason, address=self.address,
                    payment_method_id=self.payment_method_id, option_said=self.option_said)

    def revised(self, details: dict[str, Any]) -> Task:
        """The task with the slots the new ``details`` speak to cleared, for code to fill again from the
        customer's words; what it asked for last (and how often) stays, so a question is never repeated."""
        update: dict[str, Any] = {}
        if details.get("items"):
            update.update(item_ids=[], new_item_ids=[])
        if details.get("new_option"):
            update.update(new_item_ids=[], options_chosen={})
        if details.get("order_id") and details["order_id"] != self.order_id:
            update.update(order_id=details["order_id"], item_ids=[], new_item_ids=[], options_chosen={})
        if details.get("reason"):
            update["reason"] = None
        if details.get("address"):
            update.update(address=None, address_said="")
        if details.get("payment"):
            update["payment_method_id"] = None
        return self.model_copy(update=update)


class Step(BaseModel):
    """What a step decided: the words to say, the task as it stands, and any new verified identity."""

    say: str
    task: Task | None = None
    show: dict[str, Any] | None = None
    """A read tool's result for the reply to describe."""
    verified_customer_id: str | None = None
    needs_person: bool = False
    """A tool call outside policy was recorded for a person's approval."""
    hand_off: str | None = None
    """The conversation should go to a person, for this reason."""
    refused: Task | None = None
    """The task as it stood when its order or the policy ruled it out: the customer may name another order next
    ("oh sorry, I meant #W..."), and what they said for this one still holds."""


class Turn(BaseModel):
    """The inputs of one step."""

    model_config = {"arbitrary_types_allowed": True}

    text: str
    order_ids: list[str]
    customer_id: str | None
    run: RunTool
    model: BaseChatModel
    refund_days: int
    verify_with: list[VerificationMethod]
    """The ways the policy accepts to verify an anonymous customer."""
    details: dict[str, Any] = {}
    """What the planner read out of the message (``agent.commands``): order_id, items, new_option, reason,
    address. Each is checked against the store like the customer's own words."""
    answer: Literal["yes", "no"] | None = None
    """The customer's answer to a yes/no question, when the planner read one."""
    identity: dict[str, Any] | None = None
    """The verification this message's facts already got this turn (``agent.nodes.identify``): not run twice."""

    def about(self, detail: str) -> str:
        """What the customer said about ``detail``: the planner's reading, else the whole message."""
        value = self.planned(detail)
        return value if value else self.text

    def planned(self, detail: str) -> str:
        """The planner's reading of ``detail``; nothing when the message is a bare yes, no or okay, which cannot
        carry a detail whatever the planner read into it."""
        value = self.details.get(detail)
        if isinstance(value, list):
            value = ", ".join(value)
        return "" if not value or extract.bare_acknowledgement(self.text) else str(value)

    def reason(self) -> str | None:
        """The cancellation reason in the customer's own words, else in the planner's reading of them."""
        return extract.cancel_reason(self.text) or extract.cancel_reason(self.planned("reason"))

    def items(self, order_items: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """The order's items the customer means: those the planner read that the message also names (a message
        with two requests names more than one task's items) with those the message lists beside them (a small
        model reads one of "the cleaner, headphone, and smart watch"), else whichever of the two names any."""
        named, planned = items_named(self.text, order_items), items_named(self.planned("items"), order_items)
        both = [i for i in planned if i in named]
        return items_listed_with(self.text, order_items, both) if both else named or planned

    def call(self, name: str, arguments: dict[str, Any], *, preview: bool = False) -> dict[str, Any]:
        """Run a tool as this turn's customer."""
        return self.run(name, arguments, customer_id=self.customer_id, preview=preview)


def advance(task: Task, turn: Turn) -> Step:
    """Move ``task`` one step forward with what the customer just said."""
    if turn.order_ids and not turn.details.get("order_id"):
        turn = turn.model_copy(update={"details": {**turn.details, "order_id": turn.order_ids[0]}})
    if turn.customer_id is None:
        return _verify(task.revised(turn.details), turn)
    if task.details:  # verified before this step (``agent.nodes.identify``): what they said before counts now
        turn = turn.model_copy(update={"details": {**task.details, **turn.details}})
        task = task.model_copy(update={"details": {}})
    if task.awaiting == "confirmation":
        return _offer_answered(task, turn) if task.offered else _revised_or_confirmed(task, turn)
    task = task.revised(turn.details)
    if task.intent in READ_INTENTS:
        return _read(task, turn)
    return _fill(_swap_kind(task, turn), turn)


def _revised_or_confirmed(task: Task, turn: Turn) -> Step:
    """At the customer's yes or no: a detail that changes the proposal makes a new one to confirm; details
    that change nothing (the planner restating the request) leave the answer to the question asked. Items the
    customer adds ("also the smart watch") join the proposal's. A new street line alone ("no, it's 21 Oak Street")
    corrects the proposed address."""
    proposed = (task.proposal or {}).get("arguments", {})
    if "address1" in proposed and (line := extract.street(turn.text)) and not US_ADDRESS.search(turn.text):
        address = {k: proposed[k] for k in ("address1", "address2", "city", "state", "zip", "country") if k in proposed}
        revised = task.model_copy(update={"address": {**address, "address1": line}, "proposal": None})
        step = _fill(revised, turn)
        if step.task is None or step.task.proposal != task.proposal:
            return step
    if turn.details:
        revised = task.revised(turn.details).model_copy(update={"proposal": None})
        adding = bool(task.item_ids) and revised.order_id == task.order_id and extract.adds(turn.text)
        if adding:
            revised = revised.model_copy(update={"item_ids": _items_added(task, turn)})
        step = _fill(_swap_kind(revised, turn), turn)
        if step.task is None or step.task.proposal != task.proposal:
            return step
        if adding:  # "don't say yes yet, I also want to return the smart watch": not a no, and no new proposal
            return step.model_copy(update={"say": f"{ALREADY_PROPOSED} {GO_AHEAD}"})
    return _confirmed(task, turn)


def _items_added(task: Task, turn: Turn) -> list[str]:
    """The proposal's items with those of its order the customer adds ("I also want to return the smart watch")."""
    found = turn.call("get_order_details", {"order_id": task.order_id}, preview=True)
    named = turn.items(found["data"]["items"]) if found["outcome"] == "done" else []
    return list(dict.fromkeys([*task.item_ids, *(i["item_id"] for i in named)]))


def _swap_kind(task: Task, turn: Turn) -> Task:
    """Swapping an item for another option is an exchange once the order is delivered and a change of the
    order before it ships: the order's status, not the wording, decides which."""
    if task.intent not in ("exchange_item", "modify_items") or not task.order_id:
        return task
    found = turn.call("get_order_details", {"order_id": task.order_id}, preview=True)
    status = found["data"].get("status", "") if found["outcome"] == "done" else ""
    kind = "modify_items" if "pending" in status else "exchange_item" if "delivered" in status else task.intent
    return task.model_copy(update={"intent": kind})


VERIFICATIONS: dict[VerificationMethod, tuple[str, tuple[str, ...]]] = {
    "email_zip": ("verify_customer_by_email_zip", ("email", "zip")),
    "name_zip": ("verify_customer_by_name_zip", ("name", "zip")),
    "email": ("verify_customer_by_email", ("email",)),
}
"""Each way to verify: its tool and the facts it needs."""
FACT_WORDS = {"email": "the email address on your account", "zip": "your zip code", "name": "your full name"}


def identity_facts(text: str) -> dict[str, Any]:
    """What ``text`` says about who the customer is: an email, a full name, a zip code (not one that belongs to
    a street address the message gives, "send it to 77 Pine Street, Seattle, WA 98101")."""
    zip_code = None if extract.street(text) else extract.zip_code(text)
    found = {"email": extract.email(text), "name": extract.full_name(text), "zip": zip_code}
    return {fact: value for fact, value in found.items() if value}


def identity_call(facts: dict[str, Any], verify_with: list[VerificationMethod],
                  fresh: Collection[str] = ()) -> tuple[str, dict[str, str]] | None:
    """The verification tool call of the first way in ``verify_with`` that ``facts`` complete, or None; ways that
    use a ``fresh`` fact (said in this message) first: a name and zip code given after an email that matched no
    account are tried, not that email again."""
    for method in sorted(verify_with, key=lambda m: not set(VERIFICATIONS[m][1]) & set(fresh)):
        tool, needs = VERIFICATIONS[method]
        if all(facts.get(fact) for fact in needs):
            arguments = {fact: facts[fact] for fact in needs if fact != "name"}
            if "name" in needs:
                arguments.update(first_name=facts["name"][0], last_name=facts["name"][1])
            return tool, arguments
    return None


def _still_needed(facts: dict[str, Any], verify_with: list[VerificationMethod]) -> str:
    """The facts the customer has yet to give for each way they have started on, in words ("your zip code";
    "the email address on your account, or your full name"); empty when they have started on none."""
    started = [needs for needs in (VERIFICATIONS[method][1] for method in verify_with)
               if any(facts.get(fact) for fact in needs)]
    return ", or ".join(" and ".join(FACT_WORDS[fact] for fact in needs if not facts.get(fact)) for needs in started)


def verified(result: dict[str, Any] | None) -> bool:
    """A verification tool's result that matched an account."""
    return bool(result) and result["outcome"] == "done" and bool(result["data"]["verified"])


def verified_thanks(result: dict[str, Any]) -> str:
    return f"Thanks, {result['data']['name']}, you're verified."


def not_verified(result: dict[str, Any]) -> str:
    """What a verification that failed says: the tool's refusal, or that the details matched no account."""
    if result["outcome"] != "done":
        return str(result["message"])
    left = result["data"]["attempts_left"]
    return (f"I couldn't match those details to an account. Please check them and try again "
            f"({left} {'attempt' if left == 1 else 'attempts'} left).")


def _verify(task: Task, turn: Turn) -> Step:
    said = identity_facts(turn.text)
    facts = {**task.identity_facts, **said}
    call = identity_call(facts, turn.verify_with, said) if said else None  # not details already tried again
    if call is None:
        task = task.model_copy(update={"details": {**task.details, **turn.details}, "identity_facts": facts})
        missing = _still_needed(facts, turn.verify_with)
        if missing:
            return _ask(task, "identity", f"Thanks. To verify your account I also need {missing}.",
                        f"I still need {missing} to verify your account.")
        request = verification_request(turn.verify_with)
        return _ask(task, "identity", f"First I need to verify your account: {request}.",
                    f"I still can't tell which account is yours. To verify it, {request}.")
    result = turn.identity or turn.call(*call)
    if result["outcome"] != "done":
        return Step(say=not_verified(result), task=None)
    if not result["data"]["verified"]:
        return Step(say=not_verified(result), task=task.model_copy(update={"awaiting": "identity",
                                                                           "identity_facts": facts}))
    verified = result["data"]["customer_id"]
    ready = task.model_copy(update={"awaiting": None, "details": {}, "tries": 0, "identity_facts": {}})
    details = {**task.details, **turn.details}
    step = advance(ready, turn.model_copy(update={"customer_id": verified, "details": details}))
    return step.model_copy(update={"say": f"{verified_thanks(result)} {step.say}", "verified_customer_id": verified})


def _read(task: Task, turn: Turn) -> Step:
    if not task.order_id and task.request:  # "where is my coffee maker?", asked before they were verified
        recent = turn.call("list_recent_orders", {"limit": 10}, preview=True)["data"].get("orders", [])
        holding = orders_holding(task.request, recent)
        task = task.model_copy(update={"order_id": holding[0]["order_id"]}) if len(holding) == 1 else task
    if task.order_id:
        return Step(say="", show=turn.call("get_order_details", {"order_id": task.order_id}))
    return Step(say="", show=turn.call("list_recent_orders", {}))


def _fill(task: Task, turn: Turn) -> Step:
    """Collect the next missing argument, or preview the complete call."""
    if task.intent == "account_password":
        return _preview(task, turn, "request_password_reset", {})
    if task.intent == "update_account_address":
        address, task = _new_address(task, turn)
        if address is None:
            return _ask_address(task, "What's the new address? Please write it like: 12 Main St, Apt 3, "
                                      "Springfield, IL 62701.",
                                "I need the complete new address: street and number, city, state and zip code. "
                                "What is it?")
        return _preview(task.model_copy(update={"address": address}), turn, "modify_user_address", address)
    if task.intent == "cancel_order" and not task.reason:
        task = task.model_copy(update={"reason": turn.reason()})  # given up front, kept while the order is asked
    order, ask = _order(task, turn)
    if order is None:
        return ask
    task = task.model_copy(update={"order_id": order["order_id"]})
    return _fill_order_task(task, turn, order)


def _new_address(task: Task, turn: Turn, current: dict[str, Any] | None = None,
                 ) -> tuple[dict[str, str] | None, Task]:
    """The new address: known already, or from what the customer has said towards it so far, this message
    included (an address given in parts: "101 Highway, New York, 10001", then "NY"), or one of their own records
    they refer to instead of writing one out ("my default address", "the same as order #W...") other than
    ``current`` (the address being changed; None: the account's)."""
    if task.address:
        return task.address, task
    said = turn.about("address") if task.awaiting != "address" else f"{task.address_said} {turn.about('address')}"
    said = said.strip()[-300:]
    task = task.model_copy(update={"address_said": said})
    address = parse_address(said, turn.model)
    if address is None and not missing_parts(said):  # a street or zip given: they are writing one out
        account = turn.call("get_user_details", {}, preview=True)["data"]
        orders = {order_id: turn.call("get_order_details", {"order_id": order_id}, preview=True)["data"]["address"]
                  for order_id in account["order_ids"]}
        address = next((found for text in dict.fromkeys((said, turn.text)) if (found := address_on_record(
            text, account=account["address"], orders=orders, current=current or account["address"]))), None)
    return address, task


def _ask_address(task: Task, question: str, again: str) -> Step:
    """Ask for the address; when the customer has given part of it, for the parts it lacks."""
    missing = missing_parts(task.address_said)
    if missing:
        parts = wording.join(missing)
        return _ask(task, "address", f"Thanks. I still need the {parts} of the address: what is it?",
                    f"To finish the address I need its {parts}. Please write just that.")
    return _ask(task, "address", question, again)


_TO_CANCEL = re.compile(r"\bcancel\w*\b[^.,;!?]*", re.IGNORECASE)
"""What the customer asks to cancel: the words after "cancel" up to the end of the clause."""
_ONLY_THESE = re.compile(r"\bonly\b[^.,;!?]*\bcancel|"
                         r"\bcancel\w*\b[^.,;!?]*\b(?:only|just (?:the|that|this|one|a|my))\b", re.IGNORECASE)
"""The customer wants the items they name cancelled and nothing else ("cancel the skateboard (and only the
skateboard)", "I ONLY want to cancel that hose", "if I cannot cancel just the air purifier")."""


def _fill_order_task(task: Task, turn: Turn, order: dict[str, Any]) -> Step:
    order_id = order["order_id"]
    if task.intent == "cancel_order":
        part = _items_to_cancel(task, order)
        if part and (_ONLY_THESE.search(task.request) or _keeps_another(task.request, order, part)):
            return Step(say=f"{_cancels_whole(part, order)} So I can't cancel just the "
                            f"{wording.join([i['name'] for i in part])}, and I've left the order as it is. If you'd "
                            "like the whole order cancelled, just say so.", task=None)
        reason = task.reason or turn.reason()
        if reason is None:
            return _ask(task, "reason", f"Why would you like to cancel order {order_id}: is it no longer needed, "
                                        "or was it ordered by mistake?",
                        f"I can cancel order {order_id} for one of two reasons: it's no longer needed, or it was "
                        "ordered by mistake. Which one fits?")
        return _whole_order(task, order, _preview(task.model_copy(update={"reason": reason}), turn,
                                                  "cancel_pending_order", {"order_id": order_id, "reason": reason}))
    if task.intent == "change_address":
        address, task = _new_address(task, turn, order["address"])
        if address is None:
            return _ask_address(task, f"Where should order {order_id} go instead? Please write the address "
                                         "like: 12 Main St, Apt 3, Springfield, IL 62701.",
                        f"I need the complete address for order {order_id}: street and number, city, state and zip "
                        "code. What is it?")
        return _preview(task.model_copy(update={"address": address}), turn, "modify_pending_order_address",
                        {"order_id": order_id, **address})
    if task.intent == "change_payment":
        return _pay_with(task, turn, order)
    items = _items(task, turn, order)
    if not items:
        names = ", ".join(i["name"] for i in order["items"])
        return _ask(task, "items", f"Which items of order {order_id} do you mean: {names}? (or say \"all\")",
                    f"Please name the items you mean; order {order_id} has: {names}. You can also say \"all\".")
    items, which = _alike_told_apart(task, turn, items, order_id)
    if which is not None:
        return which
    task = task.model_copy(update={"item_ids": [i["item_id"] for i in items]})
    refund_to = order["payments"][0]["payment_method_id"] if order["payments"] else ""
    if task.intent == "return_refund":
        original = refund_to
        refund_to, why = _refund_destination(task, turn, original)
        task = task.model_copy(update={"payment_method_id": refund_to if refund_to != original else None})
        step = _preview(task, turn, "return_delivered_order_items",
                        {"order_id": order_id, "item_ids": task.item_ids, "payment_method_id": refund_to})
        return step.model_copy(update={"say": f"{why} {step.say}"}) if why else step
    swaps, ask, left_out = _new_options(task, turn, items)
    if swaps is None:
        return ask
    if not swaps:
        said = f"{task.request} {turn.text}"
        fallbacks = (fallback_sentence(said, item) for item in items)
        offer = next((o for sentence in fallbacks if sentence and (o := _fallback_offer(sentence, said, order,
                                                                                          left_out))), None)
        return offer or Step(say=f"{left_out} Is there something else I can do?", task=None)
    tool = "modify_pending_order_items" if task.intent == "modify_items" else "exchange_delivered_order_items"
    item_ids, new_ids = [old for old, _ in swaps], [new for _, new in swaps]
    named = _method_named(task, turn, refund_to)  # the price difference goes through it (the tool checks a gift card)
    update = {"item_ids": item_ids, "new_item_ids": new_ids, "options_chosen": {**task.options_chosen, **dict(swaps)},
              "payment_method_id": named["payment_method_id"] if named else None}
    step = _preview(task.model_copy(update=update), turn, tool,
                    {"order_id": order_id, "item_ids": item_ids, "new_item_ids": new_ids,
                     "payment_method_id": named["payment_method_id"] if named else refund_to}, changes=ask.say,
                    pay_with=named["description"] if named else "")
    return step.model_copy(update={"say": f"{left_out} {step.say}"}) if left_out else step


def _items_to_cancel(task: Task, order: dict[str, Any]) -> list[dict[str, Any]]:
    """The items of ``order`` the customer asked to cancel, when they are not all of its items (else none)."""
    named = items_called(" ".join(_not_kept(cancel) for cancel in _TO_CANCEL.findall(task.request)), order["items"])
    return named if len(named) < len(order["items"]) else []


_KEEP = re.compile(r"\bkeep\w*\b([^.;!?]*)", re.IGNORECASE)


def _not_kept(text: str) -> str:
    """``text`` up to what the customer keeps ("cancel the boot and keep the kettle": "cancel the boot and")."""
    return re.split(r"\bkeep", text, maxsplit=1, flags=re.IGNORECASE)[0]


def _keeps_another(request: str, order: dict[str, Any], part: list[dict[str, Any]]) -> bool:
    """The customer keeps another item of the order they cancel items of ("cancel the boots and keep the kettle")."""
    return any(i not in part for kept in _KEEP.findall(request) for i in items_called(kept, order["items"]))


def _cancels_whole(part: list[dict[str, Any]], order: dict[str, Any]) -> str:
    count = "both" if len(order["items"]) == 2 else f"all {len(order['items'])}"
    return (f"An order can only be cancelled as a whole: cancelling the {wording.join([i['name'] for i in part])} "
            f"cancels {count} items of order {order['order_id']}.")


def _whole_order(task: Task, order: dict[str, Any], step: Step) -> Step:
    """The cancellation's proposal, first saying that the whole order goes when the customer asked to cancel some of
    its items ("cancel the garden hose")."""
    part = _items_to_cancel(task, order)
    if not part or step.task is None:
        return step
    return step.model_copy(update={"say": f"{_cancels_whole(part, order)} {step.say}"})


def _alike_told_apart(task: Task, turn: Turn, items: list[dict[str, Any]],
                      order_id: str) -> tuple[list[dict[str, Any]], Step | None]:
    """The items meant where several alike ones are named (:func:`tools.arguments.alike_items_meant`), or the
    question which one, the alike items kept in the task for the answer to pick from. A correction of a proposal
    narrows its items or leaves them."""
    meant, unclear = alike_items_meant(turn.text, items)
    if task.awaiting == "confirmation":
        return [i for i in items if i in meant or any(i in group for group in unclear)], None
    if not unclear:
        return meant, None
    task = task.model_copy(update={"item_ids": [i["item_id"] for group in [meant, unclear[0]] for i in group]})
    name, kinds = unclear[0][0]["name"], " and ".join(f"one {_values(i['options'])}" for i in unclear[0])
    return meant, _ask(task, "items", f"Order {order_id} holds more than one {name}: {kinds}. Which one do you mean?",
                       f"Please tell me which {name} you mean by what sets it apart: {kinds}, or say \"both\".")


def _method_named(task: Task, turn: Turn, original: str) -> dict[str, Any] | None:
    """The payment method, other than ``original``, that the customer names for the money of this change, now or
    before (a correction of the items keeps the gift card named for the difference)."""
    methods = turn.call("get_user_details", {}, preview=True)["data"]["payment_methods"]
    named = payment_named(turn.about("payment"), methods) or next(
        (m for m in methods if m["payment_method_id"] == task.payment_method_id), None)
    return named if named and named["payment_method_id"] != original else None


def _refund_destination(task: Task, turn: Turn, original: str) -> tuple[str, str]:
    """Where a return's refund goes: the payment method the customer names if refunds may go there (the original
    one or a gift card), else the original one, with the reason when they named another."""
    named = _method_named(task, turn, original)
    if named is None or named["source"] == "gift_card":
        return (named or {}).get("payment_method_id", original), ""
    return original, (f"Refunds go back to the original payment method or to a gift card, so the refund can't go to "
                      f"your {named['description']}.")


def _pay_with(task: Task, turn: Turn, order: dict[str, Any]) -> Step:
    """Pay a pending order with another of the customer's payment methods, the one they named."""
    order_id = order["order_id"]
    paid_with = {p["payment_method_id"] for p in order["payments"]}
    methods = [m for m in turn.call("get_user_details", {}, preview=True)["data"]["payment_methods"]
               if m["payment_method_id"] not in paid_with]
    if not methods:
        return Step(say=f"Order {order_id} is paid with the only payment method on your account.", task=None)
    method = next((m for m in methods if m["payment_method_id"] == task.payment_method_id), None) or (
        payment_named(turn.about("payment"), methods))
    if method is None:
        listed = "; ".join(m["description"] for m in methods)
        return _ask(task, "payment", f"Which payment method should order {order_id} use instead: {listed}?",
                    f"Please name one of your payment methods for order {order_id}: {listed}.")
    task = task.model_copy(update={"payment_method_id": method["payment_method_id"]})
    return _preview(task, turn, "modify_pending_order_payment",
                    {"order_id": order_id, "payment_method_id": method["payment_method_id"]},
                    changes=method["description"])


INSTEAD = {
    ("cancel_order", "delivered"): ("return_refund", "Its items can be returned instead: shall I start a return?"),
    ("return_refund", "pending"): ("cancel_order", "It hasn't shipped yet, so it can be cancelled instead: shall I "
                                                   "cancel it?"),
}
"""What the agent offers instead when an order's status does not allow what the customer asked (no dead end): the
task to offer and the words of the offer."""


_NO_LONGER = {"cancel_order": "it can no longer be cancelled", "change_address": "it can no longer be sent to another "
             "address", "modify_items": "its items can no longer be changed", "change_payment": "its payment method "
             "can no longer be changed"}
_NOT_YET = {"return_refund": "returned", "exchange_item": "exchanged"}
"""What a change refused by the order's status can no longer be, or a return or exchange not yet: said without the
status that would allow it (the model wording the refusal took "only pending orders" for the order's status)."""


def _why_not(intent: str, order: dict[str, Any]) -> str:
    """Why ``order``'s status rules out the change ``intent`` names, in the customer's terms."""
    head, status = f"Order {order['order_id']} is", order["status"]
    if intent == "cancel_order" and status.startswith("cancelled"):
        return f"{head} already cancelled."
    if intent in _NO_LONGER:
        return f"{head} {status}, so {_NO_LONGER[intent]}."
    if status.split(" (")[0] in ("pending", "processed", "shipped"):
        return f"{head} {status}, so it can't be {_NOT_YET[intent]} yet: that's possible once it's delivered."
    return f"{head} {status}, so it can't be {_NOT_YET[intent]}."


def _instead(task: Task, order: dict[str, Any], why: str) -> Step:
    """Refuse ``task`` on ``order`` with the reason, offering what its status allows instead when there is such a
    thing: a task of that kind on the same order, waiting for the customer's yes (a task with no proposal). Not a
    cancellation of the whole order when the customer asked about some of its items, or keeps some."""
    offer = INSTEAD.get((task.intent, order["status"]))
    named = items_called(_not_kept(task.request), order["items"])
    some = 0 < len(named) < len(order["items"]) or _keeps_another(task.request, order, named)
    if offer is not None and offer[0] == "cancel_order" and some:  # not the whole order they would cancel
        return Step(say=f"{why} It could only be cancelled as a whole, all {len(order['items'])} items.", task=None,
                    refused=task)
    if offer is None:
        return Step(say=why, task=None, refused=task)
    intent, words = offer
    offered = Task(intent=intent, order_id=order["order_id"], item_ids=task.item_ids, request=task.request,
                   awaiting="confirmation")
    return Step(say=f"{why} {words} (yes/no)", task=offered, refused=task)


def _offer_answered(task: Task, turn: Turn) -> Step:
    """The customer's answer to what the agent offered instead: a yes, or a detail of it ("ok, return the
    earbuds"), goes on with it; a no leaves the order as it is."""
    answer = turn.answer or extract.confirmation(turn.text)
    if answer == "no":
        return Step(say=f"Okay, I've left order {task.order_id} as it is. Is there something else I can do?",
                    task=None)
    if answer is None and not turn.details:
        return _confirmed(task, turn)  # asks for a yes or no once more, then offers a person
    return _fill(task.revised(turn.details).model_copy(update={"awaiting": None, "tries": 0}), turn)


def _order(task: Task, turn: Turn) -> tuple[dict[str, Any] | None, Step]:
    """The order the task is about: named now or earlier, or the only one it can apply to. An order the customer
    named (by its number or an item of this task in it) that the task cannot apply to is refused with the reason;
    one the planner chose gives way to those it can apply to (in a message with several requests, the order of
    another request holds items the message names: not a reason to refuse this one)."""
    wanted = task.order_id
    if wanted:
        result = turn.call("get_order_details", {"order_id": wanted})
        status = ORDER_STATUS_FOR[task.intent]
        if result["outcome"] != "done":
            return None, Step(say=result["message"], task=task.model_copy(update={"awaiting": "order"}))
        if status in result["data"]["status"]:
            return result["data"], Step(say="")
        if wanted in turn.order_ids or orders_holding(turn.about("items"), [result["data"]]):  # named: say why not
            return None, _instead(task, result["data"], _why_not(task.intent, result["data"]))
        task = task.model_copy(update={"order_id": None})  # the planner's guess: look among the eligible ones
    recent = turn.call("list_recent_orders", {"limit": 10})
    status = ORDER_STATUS_FOR[task.intent]
    eligible = [o for o in recent["data"].get("orders", []) if status in o["status"]]
    holding = orders_holding(turn.about("items"), eligible)
    if len(holding) > 1:  # "the desk lamp and the backpack": the order holding both, not those with a backpack
        holding = orders_holding_most(f"{task.request} {turn.text}", holding) or holding
    if len(holding) > 1 and task.intent == "return_refund":  # "return the more expensive one" (not a new option's)
        holding = [chosen] if (chosen := order_by_price(f"{task.request} {turn.text}", holding)) else holding
    if len(holding) == 1 or len(eligible) == 1:
        return (holding or eligible)[0], Step(say="")
    if holding:
        eligible = holding
    if len(eligible) == 1:
        return eligible[0], Step(say="")
    if not eligible:
        return None, Step(say=f"I don't see any {status} orders on your account, and only {status} orders can "
                              "have that done.", task=None)
    listed = "; ".join(f"{o['order_id']} ({', '.join(i['name'] for i in o['items'])})" for o in eligible)
    return None, _ask(task, "order", f"Which order do you mean? Your {status} orders: {listed}.",
                      f"I need to know the order: its number, or an item in it. Your {status} orders: {listed}.")


def _items(task: Task, turn: Turn, order: dict[str, Any]) -> list[dict[str, Any]]:
    """The task's items, in the order the customer named them; else the order's one item, or those the customer
    means."""
    if task.item_ids:
        left = list(order["items"])  # two alike items share an item id: each is taken once
        return [left.pop(left.index(i)) for item_id in task.item_ids
                if (i := next((i for i in left if i["item_id"] == item_id), None)) is not None]
    if len(order["items"]) == 1:
        return list(order["items"])
    return turn.items(order["items"])


def _fallback_offer(sentence: str, said: str, order: dict[str, Any], left_out: str) -> Step | None:
    """The change the customer's fallback ``sentence`` asks for when no option fits, offered for their yes (the item
    they wanted changed is left as it is), with the cancellation reason they gave (in all they ``said``)."""
    change = fallback_change(sentence, order["status"])
    if change is None:
        return None
    action, intent = change
    offered = Task(intent=intent, order_id=order["order_id"], request=sentence.split(",", 1)[-1].strip(),
                   reason=extract.cancel_reason(said) if action == "cancel" else None, awaiting="confirmation")
    verb = "cancel order" if action == "cancel" else "return the items of order"
    return Step(say=f"{left_out} You said that in that case you'd like me to {verb} {order['order_id']}: shall I? "
                    "(yes/no)", task=offered)


def _new_options(task: Task, turn: Turn,
                 items: list[dict[str, Any]]) -> tuple[list[tuple[str, str]] | None, Step, str]:
    """The option each item becomes (item id, new item id), the swaps in words (``Step.say``) and what was left
    out; or the question to ask. An item no option fits is left out when the customer said what to do then ("If
    there is no keyboard that is clicky, ..., I'd rather only exchange the thermostat")."""
    chosen: list[tuple[str, str]] = []
    changes: list[str] = []
    left_out: list[str] = []
    said = f"{task.option_said} {turn.about('new_option')}".strip()
    task = task.model_copy(update={"option_said": said[-300:]})
    for item in items:
        product = turn.call("get_product_details", {"product_id": item["product_id"]})["data"]
        settled = next((v for v in product["variants"]
                        if v["available"] and v["item_id"] == task.options_chosen.get(item["item_id"])), None)
        option = settled or _like_one_owned(f"{task.request} {turn.text}", turn, item, product["variants"]) or (
            _option_meant(said, f"{task.option_said} {turn.text}", product["variants"], item))
        if option is None and fallback_sentence(f"{task.request} {turn.text}", item) is not None:
            left_out.append(f"No {item['name']} option fits what you asked, so I've left your {item['name']} as it is.")
            continue
        if option is None:
            fitting = options_fitting(f"{task.option_said} {turn.text}", product["variants"], item["options"])
            choices = "; ".join(_values(variant["options"]) for variant in fitting)[:400]
            return None, _ask(task, "options", f"Which option would you like instead of your {item['name']} "
                                               f"({', '.join(str(v) for v in item['options'].values())})? "
                                               f"Available: {choices}.",
                              f"Please pick one of the options available for your {item['name']}: {choices}."), ""
        chosen.append((item["item_id"], option["item_id"]))
        changes.append(f"{item['name']} ({_values(item['options'])}) for {item['name']} ({_values(option['options'])})")
    return chosen, Step(say=wording.join(changes) if changes else ""), " ".join(left_out)


_LIKE_ONE_OWNED = re.compile(r"\bsame\b[^.;!?]*?\bas\s+(?:the\s+one|mine|the\s+\w+|my\s+\w+)[^.;!?]*?\b(?:received|"
                             r"have|got|bought|own|already)\b", re.IGNORECASE)
"""An option asked to be like an item the customer has ("the same type as the one I already received")."""


def _like_one_owned(text: str, turn: Turn, item: dict[str, Any],
                    variants: list[dict[str, Any]]) -> dict[str, Any] | None:
    """The available variant with the options of the one other item of the same product in the customer's orders,
    when the sentence naming ``item`` asks for the same as the one they have."""
    if not any(_LIKE_ONE_OWNED.search(s) and items_called(s, [item]) for s in sentences(text)):
        return None
    orders = turn.call("list_recent_orders", {"limit": 20}, preview=True)["data"].get("orders", [])
    owned = {tuple(sorted(i["options"].items())) for o in orders for i in o["items"]
             if i["product_id"] == item["product_id"] and i["options"] != item["options"]}
    if len(owned) != 1:
        return None
    options = dict(owned.pop())
    return next((v for v in variants if v["available"] and v["options"] == options), None)


def _option_meant(read: str, words: str, variants: list[dict[str, Any]], item: dict[str, Any]) -> dict[str, Any] | None:
    """The option the customer wants: the one the customer's ``words`` fit best when it has every value the
    planner ``read`` ("purple" out of "purple, s size, same v-neck, and prefer polyester"), else the planner's."""
    by_read, by_words = option_named(read, variants, item["options"]), option_named(words, variants, item["options"])
    asked = options_asked(read, variants)
    if asked and by_words and has_asked(by_words["options"], asked):
        return by_words
    return by_read or by_words


def _values(options: dict[str, Any]) -> str:
    return ", ".join(str(v) for v in options.values())


GIVE_UP = ("I'm sorry, I'm not getting this right. I'm handing our conversation to a person on our team, "
           "so you won't have to repeat yourself.")


def _ask(task: Task, slot: str, question: str, again: str) -> Step:
    """Ask for ``slot``; right after an answer that did not settle it, ask ``again`` (other words, more
    guidance); a third time, hand the conversation to a person."""
    tries = task.tries + 1 if task.awaiting == slot else 0
    if tries >= 2:
        return Step(say=GIVE_UP, task=None, hand_off="conversation is going in circles")
    return Step(say=again if tries else question,
                task=task.model_copy(update={"awaiting": slot, "proposal": None, "tries": tries}))


def _preview(task: Task, turn: Turn, tool: str, arguments: dict[str, Any], *, changes: str = "",
             pay_with: str = "") -> Step:
    """Check the complete call against policy without changing anything, then ask for the customer's yes
    (``changes``: the item swaps in words, for exchanges and item changes; ``pay_with``: the payment method the
    customer chose for the price difference)."""
    result = turn.call(tool, arguments, preview=True)
    if result["outcome"] in ("denied", "failed", "retry"):
        return Step(say=result["message"], task=None, refused=task)
    action = (wording.proposal(tool, result["arguments"], result["data"], changes=changes, pay_with=pay_with)
              if result["outcome"] == "done" else "")
    proposal = {"tool": tool, "arguments": result["arguments"], "outcome": result["outcome"], "pay_with": pay_with,
                "action": action or "send your request to our team for approval"}
    confirm = task.model_copy(update={"awaiting": "confirmation", "proposal": proposal, "tries": 0})
    if result["outcome"] == "needs_approval":
        return Step(say=f"{result['message']} Shall I send it to them for approval? (yes/no)", task=confirm)
    return Step(say=f"To confirm: I'll {action}. {GO_AHEAD}", task=confirm)


def _method_now(turn: Turn, method_id: str) -> str:
    """A payment method's description as it is now (a gift card's balance after it paid a difference)."""
    methods = turn.call("get_user_details", {}, preview=True)["data"]["payment_methods"]
    return next((m["description"] for m in methods if m["payment_method_id"] == method_id), "")


def _confirmed(task: Task, turn: Turn) -> Step:
    """The customer's answer to the proposal: a yes runs it, a no drops it, and anything else gets the proposal
    asked again in other words, in full (a yes to "go ahead with it?" could confirm what the customer was
    correcting), then a person."""
    answer = turn.answer or extract.confirmation(turn.text)
    proposal = task.proposal or {}
    if answer is None:
        if task.tries >= 1:
            return Step(say=GIVE_UP, task=None, hand_off="conversation is going in circles")
        action = proposal.get("action", "go ahead with it")  # proposals saved before it was kept
        return Step(say=f"Sorry, I didn't catch that. Should I {action}? Please answer yes or no.",
                    task=task.model_copy(update={"tries": task.tries + 1}))
    if answer == "no":
        return Step(say="Okay, I haven't changed anything. Is there something else I can do?", task=None)
    result = turn.call(proposal["tool"], proposal["arguments"])
    if result["outcome"] == "done":
        paid_with = _method_now(turn, proposal["arguments"]["payment_method_id"]) if proposal.get("pay_with") else ""
        return Step(say=wording.receipt(proposal["tool"], result["data"], turn.refund_days, pay_with=paid_with),
                    task=None)
    if result["outcome"] == "needs_approval":
        return Step(say="I've sent your request to our team for approval.", task=None, needs_person=True)
    return Step(say=result["message"], task=None)
