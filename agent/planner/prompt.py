"""The planner's prompt: a fixed part first (instructions and the tool catalog, the same for every turn, so
llama.cpp reuses its KV state), then this conversation's short context: the customer's orders, the task in
progress and the latest messages."""

from __future__ import annotations

from functools import cache
from typing import Any, get_args

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import BaseMessage, HumanMessage, SystemMessage

from agent.commands import ReadTool, WriteTool
from agent.llm.prompt_states import PromptStart
from agent.prompts import prompt_text
from tools import TOOLS

WRITE_DETAILS: dict[str, tuple[str, ...]] = {
    "cancel_pending_order": ("order_id", "reason"),
    "modify_pending_order_address": ("order_id", "address"),
    "modify_pending_order_items": ("order_id", "items", "new_option"),
    "modify_pending_order_payment": ("order_id", "payment"),
    "return_delivered_order_items": ("order_id", "items"),
    "exchange_delivered_order_items": ("order_id", "items", "new_option"),
    "modify_user_address": ("address",),
    "request_password_reset": (),
}
"""Which details of a write command each tool uses (code maps them to the tool's own arguments)."""
RECENT_MESSAGES = 12
MESSAGE_CHARS = 300
AGENT_CHARS = 160
"""An agent message's end: what it asked last, which the next customer message answers (fewer tokens to read)."""
MAX_ORDERS = 8
NEXT_MESSAGE = "(their next message)"
PLAN_JOB = "Job: PLAN the newest message. Answer with the JSON only."
"""Stands in for the customer's next message in :func:`next_turn_start`."""


def catalog() -> str:
    """One line per tool the planner may name, from the registry: name, first docstring line, details."""
    lines = [f"- {name} (lookup): {TOOLS[name].description}" for name in get_args(ReadTool)]
    for name in get_args(WriteTool):
        details = ", ".join(WRITE_DETAILS[name]) or "none"
        lines.append(f"- {name} (write; details: {details}): {TOOLS[name].description}")
    return "\n".join(lines)


@cache
def system_text() -> str:
    """The fixed start of every prompt the model gets (planning and answering), so that llama.cpp keeps its KV
    state from one call to the next."""
    return prompt_text("planner.md").format(catalog=catalog())


def fixed_start() -> list[BaseMessage]:
    """The messages whose prompt, up to :data:`NEXT_MESSAGE`, starts every prompt the model gets."""
    return [SystemMessage(system_text()), HumanMessage(NEXT_MESSAGE)]


def planner_start() -> PromptStart:
    """The planner's fixed start, kept in a file (:mod:`agent.llm.prompt_states`)."""
    return PromptStart("planner", fixed_start(), NEXT_MESSAGE)


def warm_up(model: BaseChatModel) -> None:
    """Evaluate the fixed prompt start once at load, so the first customer does not wait for it; an in-process
    model loads it from the state an earlier process saved (:meth:`agent.llm.llama_cpp.ChatLlamaCpp.keep`)."""
    keep = getattr(model, "keep", None)
    if callable(keep):
        keep(planner_start())
    else:
        model.invoke([SystemMessage(system_text()), HumanMessage("Newest message:\nCustomer: hi")], max_tokens=1)


def describe_orders(orders: list[dict[str, Any]]) -> str:
    """Orders in a few tokens each: id, status and items with their options."""
    lines = []
    for order in orders[:MAX_ORDERS]:
        items = "; ".join(f"{i['name']} ({', '.join(str(v) for v in i['options'].values())})" for i in order["items"])
        lines.append(f"{order['order_id']} {order['status']}: {items}")
    return "\n".join(lines) or "none"


def describe_task(task: dict[str, Any] | None) -> str:
    if not task:
        return "none"
    known = {k: task[k] for k in ("order_id", "reason") if task.get(k)}
    waiting = f", waiting for the customer's {task['awaiting']}" if task.get("awaiting") else ""
    return f"{task['intent'].replace('_', ' ')} {known or ''}{waiting}".replace("  ", " ")


def _line(message: BaseMessage) -> str:
    text = str(message.content)
    if message.type == "human":
        english = message.additional_kwargs.get("english")
        return f"Customer: {text[:MESSAGE_CHARS]}" + (f" (in English: {english[:MESSAGE_CHARS]})" if english else "")
    return f"Agent: {'...' if len(text) > AGENT_CHARS else ''}{text[-AGENT_CHARS:]}"


def customer_context(*, orders: list[dict[str, Any]] | None, messages: list[BaseMessage],
                     task: dict[str, Any] | None) -> str:
    """The part of a prompt about this customer: their orders (None while they are not identified), the
    conversation so far, the task in progress and, last and on its own, the newest message (set apart so that a
    small model plans it and not the requests it already planned). It follows the fixed part in every prompt of
    the turn, planning and answering alike, and next turn's differs from it only from the newest message on (unless
    the task changed in between), so llama.cpp reuses its KV state."""
    said = [m for m in messages if m.type in ("human", "ai")][-RECENT_MESSAGES:]
    newest = said.pop() if said and said[-1].type == "human" else None
    earlier = "\n".join(_line(m) for m in said)
    return (f"Customer's orders:\n{describe_orders(orders) if orders is not None else 'not verified yet'}\n\n"
            + (f"Conversation so far (already handled):\n{earlier}\n\n" if earlier else "")
            + f"Task in progress: {describe_task(task)}\n\n"
            + f"Newest message:\n{_line(newest) if newest else ''}")


def next_turn_start(*, orders: list[dict[str, Any]] | None, messages: list[BaseMessage],
                    task: dict[str, Any] | None) -> tuple[list[BaseMessage], str]:
    """The next turn's planning prompt as far as it is known before the customer writes again, and the text it
    stops before: everything up to their next message (:data:`NEXT_MESSAGE` stands in for it)."""
    context = customer_context(orders=orders, messages=[*messages, HumanMessage(NEXT_MESSAGE)], task=task)
    return plan_prompt(context), f" {NEXT_MESSAGE}"


def plan_prompt(context: str) -> list[BaseMessage]:
    """The planner prompt: the fixed part, the customer ``context`` (which ends with the message to plan), then
    the job in a few tokens, so that little follows the part prepared before the message came."""
    return [SystemMessage(system_text()), HumanMessage(f"{context}\n{PLAN_JOB}")]
