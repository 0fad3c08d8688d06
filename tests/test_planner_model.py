"""The real default model plans first messages the way customers write them, carries a two-request message
through to both receipts, and words an order reply that keeps to the facts. (The understanding suite in evals/
measures this on whole conversations.)"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

import pytest
from langchain_core.messages import HumanMessage

from agent.bootstrap import translation_model
from agent.commands import Plan
from agent.llm import ChatLlamaCpp
from agent.llm.models import DEFAULT_MODEL
from agent.planner.node import customer_orders, prepare_next_turn
from agent.planner.prompt import customer_context, plan_prompt, warm_up
from agent.state import AgentDeps
from agent.translation import in_language
from tests.conftest import Chat, text_of
from tests.test_dialogue import OLIVIA, order, writes
from tools.store import Store

pytestmark = pytest.mark.bigmodel

Check = Callable[[list[dict[str, Any]]], bool]


def _has(cmd: str, **fields: Any) -> Check:
    def check(commands: list[dict[str, Any]]) -> bool:
        return any(c["cmd"] == cmd and all(c.get(k) == v for k, v in fields.items()) for c in commands)

    return check


def _only(cmd: str, **fields: Any) -> Check:
    return lambda commands: len(commands) == 1 and _has(cmd, **fields)(commands)


def _both(*checks: Check) -> Check:
    return lambda commands: all(check(commands) for check in checks)


def _no_writes(commands: list[dict[str, Any]]) -> bool:
    return not any(c["cmd"] == "write" for c in commands)


FIRST_MESSAGES: list[tuple[str, Check]] = [
    ("wheres my coffe maker??", _only("lookup", order_id="#W4821002")),
    ("i want to send back the earbuds", _has("write", tool="return_delivered_order_items", order_id="#W4821001")),
    ("cancel the order with the water bottle, i ordered it by mistake",  # the order code settles on counts
     _has("write", tool="cancel_pending_order")),
    ("is it still possible to cancel my pending order?", _both(_has("answer"), _no_writes)),
    ("are you a bot?", _only("chat", kind="bot")),
    ("thanks, that's all, bye!", lambda c: _only("chat", kind="goodbye")(c) or _only("chat", kind="thanks")(c)),
    ("I want to talk to a real person", _only("handoff")),
    ("i forgot my password and cant log in", _has("write", tool="request_password_reset")),
    ("the earbuds i got are black but i wanted white, can i swap them?",
     _has("write", tool="exchange_delivered_order_items", order_id="#W4821001")),
    ("how long do refunds take?", _both(_only("answer"), _no_writes)),
    ("quiero devolver los auriculares", _has("write", tool="return_delivered_order_items")),
    ("cancel my tshirt order and also reset my password",
     _both(_has("write", tool="cancel_pending_order"), _has("write", tool="request_password_reset"))),
]


@pytest.fixture(scope="module")
def deps_on_default(world: AgentDeps, default_model: ChatLlamaCpp) -> AgentDeps:
    return dataclasses.replace(world, model=default_model, planner="model", answer_style="quote")


def commands_for(chat: Chat) -> list[dict[str, Any]]:
    """What the turn was read as; a request for a person caught before planning counts as a handoff."""
    values = chat.agent.graph.get_state({"configurable": {"thread_id": chat.conversation_id}}).values
    return [{"cmd": "handoff"}] if values.get("escalated") and not values["commands"] else values["commands"]


def test_first_messages_are_planned_right(deps_on_default: AgentDeps, fresh_store: Store) -> None:
    deps = dataclasses.replace(deps_on_default, store=fresh_store)
    wrong = []
    for message, check in FIRST_MESSAGES:
        chat = Chat(deps, OLIVIA)
        reply = text_of(chat.say(message))
        if "water bottle" in message and "#W4821003" not in reply:
            wrong.append((message, reply))
        elif not check(commands_for(chat)):
            wrong.append((message, commands_for(chat)))
    print(f"planned right: {len(FIRST_MESSAGES) - len(wrong)} of {len(FIRST_MESSAGES)}; wrong: {wrong}")
    assert len(wrong) <= 2, wrong


def test_two_requests_in_one_message_end_to_end(deps_on_default: AgentDeps, fresh_store: Store) -> None:
    chat = Chat(dataclasses.replace(deps_on_default, store=fresh_store), OLIVIA)
    first = text_of(chat.say("pls cancel my tshirt order, ordered it by mistake. and reset my password too"))
    assert "cancel order #W4821003" in first and "(yes/no)" in first and writes(chat) == []
    second = text_of(chat.say("yes"))
    assert "cancelled" in second and "password-reset link" in second
    assert "sent a password-reset link" in text_of(chat.say("yes please"))
    assert order(fresh_store, "#W4821003").status == "cancelled"
    assert writes(chat) == [("cancel_pending_order", "done"), ("request_password_reset", "done")]


def test_an_order_reply_is_worded_by_the_model_and_kept_to_the_facts(
    deps_on_default: AgentDeps, fresh_store: Store
) -> None:
    deps = dataclasses.replace(deps_on_default, store=fresh_store, reply_style="model")
    events = Chat(deps, OLIVIA).say("has my coffee maker shipped yet?")
    reply = text_of(events)
    assert not any(e.type == "reply_replaced" for e in events), reply
    assert "Coffee Maker" in reply and not reply.startswith("Order #W4821002 is processed.")  # not the template


def test_an_upset_customer_hears_an_acknowledgement_before_the_facts(
    deps_on_default: AgentDeps, fresh_store: Store
) -> None:
    chat = Chat(dataclasses.replace(deps_on_default, store=fresh_store), OLIVIA)
    reply = text_of(chat.say("my coffee maker was supposed to arrive yesterday, this is getting ridiculous"))
    assert reply.startswith("I'm sorry your order is taking this long.") and "#W4821002" in reply, reply
    assert "hasn't shipped yet" in reply and writes(chat) == []


def test_a_spanish_conversation_is_answered_in_spanish_or_honestly_in_english(
    deps_on_default: AgentDeps, fresh_store: Store
) -> None:
    model = deps_on_default.model
    settings = deps_on_default.settings.model_copy(update={"model": DEFAULT_MODEL})
    translator = translation_model(settings, "model", model=lambda: model, separate=True)  # a second instance
    chat = Chat(dataclasses.replace(deps_on_default, store=fresh_store, translation_model=translator), OLIVIA)
    status = text_of(chat.say("¿Dónde está mi pedido #W4821002? Lo necesito esta semana"))
    assert in_language(status, "es") and "#W4821002" in status and "Coffee Maker" in status, status
    confirm = text_of(chat.say("Quiero cancelar el pedido #W4821003, lo pedí por error"))
    # the model's translation of the confirmation is shown only when every fact survived; else the English
    translated = in_language(confirm, "es")
    assert translated or confirm.startswith("Lo siento, no he podido escribir esta respuesta en español"), confirm
    assert "#W4821003" in confirm and "42" in confirm and ("(sí/no)" if translated else "(yes/no)") in confirm
    assert writes(chat) == []


def test_the_next_turns_start_is_evaluated_after_a_turn_and_plans_as_a_cold_prompt_does(
    deps_on_default: AgentDeps, fresh_store: Store
) -> None:
    settings = deps_on_default.settings.model_copy(update={"prepare_next_turn": True})
    deps = dataclasses.replace(deps_on_default, store=fresh_store, settings=settings)
    chat = Chat(deps, OLIVIA)
    chat.say("where is my coffee maker?")  # the test's turn ends once the background preparation has
    state = chat.agent.graph.get_state({"configurable": {"thread_id": chat.conversation_id}}).values
    assert prepare_next_turn(deps, chat.conversation_id, OLIVIA, state) == 0  # the turn already left it evaluated
    context = customer_context(orders=customer_orders(deps, chat.conversation_id, OLIVIA),
                               messages=[*state["messages"], HumanMessage("ok cancel it then")], task=state.get("task"))
    prompt = plan_prompt(context)
    planner = deps.model.with_structured_output(Plan)
    warm = planner.invoke(prompt)
    warm_up(deps.model)  # the fixed start stays; the customer's context is evaluated again, in one go
    assert planner.invoke(prompt) == warm
