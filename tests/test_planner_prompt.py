"""The planner's prompt: the start of the next turn's prompt, evaluated while the customer writes, is the start of
the prompt their next message gets, whatever the conversation holds."""

from __future__ import annotations

from typing import Any

import pytest
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage

from agent.planner.prompt import (
    PLAN_JOB,
    RECENT_MESSAGES,
    customer_context,
    describe_task,
    next_turn_start,
    plan_prompt,
)

ORDERS = [{"order_id": "#W1000001", "status": "delivered",
           "items": [{"name": "Wireless Earbuds", "options": {"color": "black"}}]}]


def _text(prompt: list[BaseMessage]) -> str:
    return "\n".join(f"{m.type}: {m.content}" for m in prompt)


def _conversation(exchanges: int) -> list[BaseMessage]:
    said = [(HumanMessage(f"question {i}"), AIMessage(f"Answer {i}. Anything else?")) for i in range(exchanges)]
    return [m for pair in said for m in pair]


@pytest.mark.parametrize("exchanges", [0, 1, 5, RECENT_MESSAGES])  # the last one is past the recent-messages window
@pytest.mark.parametrize("orders", [None, ORDERS])
@pytest.mark.parametrize("task", [None, {"intent": "cancel_order", "order_id": "#W1000001", "awaiting": "reason"}])
def test_the_next_turns_start_is_the_start_of_the_prompt_its_message_gets(
    exchanges: int, orders: list[dict[str, Any]] | None, task: dict[str, Any] | None
) -> None:
    messages = _conversation(exchanges)
    start, until = next_turn_start(orders=orders, messages=messages, task=task)
    nxt = HumanMessage("¿dónde está mi pedido?", additional_kwargs={"english": "where is my order?"})
    planned = _text(plan_prompt(customer_context(orders=orders, messages=[*messages, nxt], task=task)))
    known = _text(start)
    assert until in known
    before = known.split(until, 1)[0]
    assert planned.startswith(before)  # the task in progress is known before the message: only the message follows
    assert planned[len(before):] == f" ¿dónde está mi pedido? (in English: where is my order?)\n{PLAN_JOB}"
    assert f"Task in progress: {describe_task(task)}" in before
    assert f"Answer {exchanges - 1}" in before if exchanges else "Conversation so far" not in before
