"""Plan node: turn the customer's message into commands. Plain answers to the agent's own question and
single requests the router is sure of take the fast path; everything else goes to the model planner under
a JSON-schema grammar, with the router's reading as the floor when its output is unusable."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from functools import cache
from typing import Any

from langchain_core.messages import BaseMessage, HumanMessage
from langgraph.config import get_stream_writer
from langgraph.runtime import Runtime
from pydantic import ValidationError

from agent.commands import Plan, tool_of
from agent.events import Thinking
from agent.executor import extract
from agent.executor.address import US_ADDRESS
from agent.executor.flow import verified
from agent.nodes.understand import asks_for_a_person, extract_order_ids, last_customer_text, several_requests
from agent.planner.floor import TOOL_FOR_INTENT, from_route
from agent.planner.grounding import grounded
from agent.planner.prompt import customer_context, next_turn_start, plan_prompt
from agent.replies import in_english
from agent.state import AgentContext, AgentDeps, AgentState
from core.errors import ModelError
from tools import execute
from tools.arguments import items_named
from tools.catalog import product_names

log = logging.getLogger(__name__)

SURE_SCORE = 0.8
SURE_MARGIN = 0.7
FAST_INTENTS = {"greeting", "thanks_bye", "human_agent", "order_status"}
"""Intents the router may settle alone: nothing is written on its word."""
_SHORT_WORDS = 8
ANSWERED_UNVERIFIED = ("answer", "product", "chat")
"""Commands answered before the customer is verified, not again once they are."""


def _short(text: str) -> bool:
    return len(text.split()) <= _SHORT_WORDS


def _answers_question(task: dict[str, Any], text: str, order_ids: list[str]) -> list[dict[str, Any]] | None:
    """Commands for a message that plainly answers what the task asked for, or None."""
    awaiting = task.get("awaiting")
    if awaiting == "confirmation" and extract.bare_acknowledgement(text) and (answer := extract.confirmation(text)):
        return [{"cmd": "confirm", "yes": answer == "yes"}]
    if awaiting == "identity" and (extract.email(text) or extract.zip_code(text)):
        return [{"cmd": "correct"}]
    if awaiting == "order" and len(order_ids) == 1 and _short(text):
        return [{"cmd": "correct", "order_id": order_ids[0]}]
    if awaiting == "reason" and _short(text) and extract.cancel_reason(text):
        return [{"cmd": "correct", "reason": text}]
    if awaiting == "address" and US_ADDRESS.search(text):
        return [{"cmd": "correct", "address": text}]
    return None


def _items_answer(task: dict[str, Any], text: str, orders: list[dict[str, Any]]) -> list[dict[str, Any]] | None:
    """A short answer naming items of the order the task asked about ("the shoes"), as a correction."""
    order = next((o for o in orders if o["order_id"] == task.get("order_id")), None)
    named = items_named(text, order["items"]) if order and _short(text) else []
    return [{"cmd": "correct", "items": [i["name"] for i in named]}] if named else None


def fast_path(state: AgentState, text: str, orders: Callable[[], list[dict[str, Any]]]) -> list[dict[str, Any]] | None:
    """Commands that need no planner, or None (``orders``: the customer's, read only when needed)."""
    task = state.get("task")
    if task and (answered := _answers_question(task, text, state.get("order_ids", []))):
        return answered
    if task and task.get("awaiting") == "items" and (answered := _items_answer(task, text, orders())):
        return answered
    sure = state.get("route_score", 0.0) >= SURE_SCORE and state.get("route_margin", 0.0) >= SURE_MARGIN
    if sure and state["intent"] in FAST_INTENTS and not task and not several_requests(text):
        return from_route(state["intent"], text, state.get("order_ids", []))
    return None


def customer_orders(deps: AgentDeps, conversation_id: str, customer_id: str | None) -> list[dict[str, Any]] | None:
    """The customer's recent orders, read as that customer (a preview: no audit row), or None if unknown."""
    if customer_id is None:
        return None
    result = execute(deps.store, "list_recent_orders", {"limit": 8}, policy=deps.policy,
                     conversation_id=conversation_id, customer_id=customer_id, preview=True)
    return result.data.get("orders", []) if result.outcome == "done" else []


def _covered_after_all(commands: list[dict[str, Any]], state: AgentState, text: str) -> list[dict[str, Any]]:
    """A lone handoff for a request not covered, of a message the router clearly reads as a request a tool covers,
    is that request: the model passes over typos ("i forgot my pasword") that the embeddings read through. The
    write still waits for the customer's yes."""
    not_covered = commands == [{"cmd": "handoff", "reason": "request not covered"}]
    intent = state.get("intent")
    covered = intent in TOOL_FOR_INTENT and state.get("route_margin", 0.0) >= SURE_MARGIN
    return from_route(intent, text, state.get("order_ids", [])) if not_covered and covered else commands


def _order_talked_about(messages: list[BaseMessage]) -> str | None:
    """The order the agent's last reply named last ("Done: the return for order #W... is started.")."""
    last = next((m for m in reversed(messages) if m.type == "ai"), None)
    named = extract_order_ids(str(last.content)) if last is not None else []
    return named[-1] if named else None


def _model_plan(state: AgentState, runtime: Runtime[AgentContext], text: str, context: str,
                orders: list[dict[str, Any]] | None) -> tuple[list[dict[str, Any]] | None, str]:
    """The model's commands and the path taken (``planner`` or ``fallback: why``)."""
    deps = runtime.context.deps
    prompt = plan_prompt(context)
    try:
        planned = deps.model.with_structured_output(Plan).invoke(prompt)
    except (ModelError, ValidationError, ValueError, TimeoutError) as exc:
        log.warning("planner output unusable (%s): %s", type(exc).__name__, exc)
        return None, f"fallback: {type(exc).__name__}"
    english = in_english(state, text)
    checked = grounded(planned.commands, text, orders or [], state.get("task"), state.get("intent"),
                       product_names(deps.store), translation=english if english != text else None,
                       talked_about=_order_talked_about(state["messages"]))
    commands = _covered_after_all(checked, state, text)
    if not commands:
        log.warning("planner output not grounded in the message: %s", planned.commands)
        return None, "fallback: not grounded"
    policy = deps.policy
    disabled = [tool for c in commands if (tool := tool_of(c)) and not policy.tool(tool).enabled]
    if disabled:
        log.warning("planner named a disabled tool: %s", disabled)
        return None, "fallback: disabled tool"
    return commands, "planner"


def _waiting_request(state: AgentState) -> str | None:
    """The request that waited for the customer to say who they are, when this message verified them
    (``agent.nodes.identify``): it is planned again, now with their orders ("cancel all my pending orders")."""
    task = state.get("task")
    if verified(state.get("identity")) and task and task.get("awaiting") == "identity" and task.get("request"):
        return str(task["request"])
    return None


def _up_to(messages: list[BaseMessage], request: str) -> list[BaseMessage]:
    """The conversation as it stood when the customer made ``request``."""
    for index in range(len(messages) - 1, -1, -1):
        if messages[index].type == "human" and str(messages[index].content) == request:
            return messages[: index + 1]
    return [*messages, HumanMessage(request)]


def plan(state: AgentState, runtime: Runtime[AgentContext]) -> dict[str, Any]:
    """This turn's commands and how they were found."""
    text, messages = last_customer_text(state), state["messages"]
    started = time.perf_counter()
    customer_id = runtime.context.customer_id or state.get("verified_customer_id")
    orders = cache(lambda: customer_orders(runtime.context.deps, runtime.context.conversation_id, customer_id))
    request = _waiting_request(state) if runtime.context.deps.planner == "model" else None
    restart: dict[str, Any] = {}
    if request:
        # the request is planned afresh, as if they had been verified
        restart = {"task": None, "queue": [], "refused": None}
        state, text, messages = {**state, **restart}, request, _up_to(messages, request)  # type: ignore[assignment]
    commands = None if request else fast_path(state, text, lambda: orders() or [])
    path = "fast"
    if commands is None and runtime.context.deps.planner == "model":
        if not state.get("thinking_sent"):  # sent already when the message was translated
            get_stream_writer()(Thinking())
        context = customer_context(orders=orders(), messages=messages, task=state.get("task"))
        commands, path = _model_plan(state, runtime, text, context, orders())
    if commands is not None and request:  # the changes and look-ups it asked for are made with its own words; its
        # questions were answered when it was asked
        commands = [{**c, "said": request} if c["cmd"] in ("write", "lookup") else c for c in commands
                    if c["cmd"] not in ANSWERED_UNVERIFIED]
    if request and not commands:  # not planned again: the waiting task goes on with what it was told
        commands, restart = [{"cmd": "correct"}], {}
    if commands is None:
        commands = from_route(state["intent"], text, state.get("order_ids", []), state.get("task"))
        path = path if path.startswith("fallback") else "router"
    if asks_for_a_person(text) and not any(c["cmd"] == "handoff" for c in commands):
        commands = [*commands, {"cmd": "handoff", "reason": "customer asked for a human"}]
    return {"commands": commands, "plan_path": path, "plan_seconds": round(time.perf_counter() - started, 3),
            **restart}


def prepares_turns(deps: AgentDeps) -> bool:
    """Whether :func:`prepare_next_turn` runs: it is on (``SUPPORT_PREPARE_NEXT_TURN``), the model plans and keeps
    its KV state in this process."""
    in_process = callable(getattr(deps.model, "prefill", None))
    return deps.settings.prepare_next_turn and deps.planner == "model" and in_process


def prepare_next_turn(deps: AgentDeps, conversation_id: str, customer_id: str | None, state: dict[str, Any]) -> int:
    """Evaluate the start of the next turn's planning prompt (the customer's orders and the conversation so far)
    while the customer reads the reply and writes: their next message is then planned from its own tokens on.
    Returns the tokens evaluated (:meth:`agent.llm.llama_cpp.ChatLlamaCpp.prefill`)."""
    orders = customer_orders(deps, conversation_id, customer_id or state.get("verified_customer_id"))
    prompt, until = next_turn_start(orders=orders, messages=state.get("messages", []), task=state.get("task"))
    return int(deps.model.prefill(prompt, until=until))  # type: ignore[attr-defined]
