"""Run a tool call: validate arguments, check identity, execute in a transaction, write the audit log."""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ValidationError

from core.errors import ToolControl, ToolRetry
from tools.context import ToolContext
from tools.policy import Policy
from tools.registry import TOOLS
from tools.store import Store
from tools.store.models import ToolCall, utcnow

log = logging.getLogger(__name__)


class ToolResult(BaseModel):
    """The outcome of one tool call, as the agent and the audit log see it."""

    tool: str
    arguments: dict[str, Any]
    outcome: Literal["done", "failed", "retry"]
    data: dict[str, Any] = {}
    message: str = ""
    """Customer-safe explanation when the outcome is not ``done``."""


def _retry_message(exc: ValidationError) -> str:
    fields = ", ".join(str(err["loc"][0]) for err in exc.errors() if err["loc"]) or "the request"
    return f"I couldn't use that: {fields} doesn't look right."


def execute(
    store: Store,
    name: str,
    arguments: dict[str, Any],
    *,
    policy: Policy,
    conversation_id: str,
    customer_id: str | None,
    now: datetime | None = None,
) -> ToolResult:
    """Run tool ``name`` as ``customer_id``; every call, whatever its outcome, lands in the audit log."""
    result = _run(store, name, arguments, policy, conversation_id, customer_id, now or utcnow())
    with store.session() as session:
        session.add(
            ToolCall(
                conversation_id=conversation_id,
                customer_id=customer_id,
                tool=name[:64],
                arguments=result.arguments,
                outcome=result.outcome,
                result=result.data or {"message": result.message},
            )
        )
    return result


def _run(
    store: Store,
    name: str,
    arguments: dict[str, Any],
    policy: Policy,
    conversation_id: str,
    customer_id: str | None,
    now: datetime,
) -> ToolResult:
    safe_args = {str(k)[:64]: str(v)[:200] for k, v in arguments.items()}
    tool = TOOLS.get(name)
    if tool is None:
        return ToolResult(tool=name, arguments=safe_args, outcome="failed", message="That action isn't available.")
    if tool.needs_identity and customer_id is None:
        message = "I need to know who you are first: please sign in to your account."
        return ToolResult(tool=name, arguments=safe_args, outcome="failed", message=message)
    try:
        args = tool.args_model.model_validate(arguments)
    except ValidationError as exc:
        return ToolResult(tool=name, arguments=safe_args, outcome="retry", message=_retry_message(exc))
    try:
        with store.session() as session:
            ctx = ToolContext(session, policy, conversation_id, customer_id, now)
            data = tool.fn(ctx, **args.model_dump())
    except ToolControl as exc:
        outcome: Literal["failed", "retry"] = "retry" if isinstance(exc, ToolRetry) else "failed"
        return ToolResult(tool=name, arguments=safe_args, outcome=outcome, message=exc.customer_message)
    log.info("tool %s done for conversation %s", name, conversation_id)
    return ToolResult(tool=name, arguments=args.model_dump(mode="json"), outcome="done",
                      data=data.model_dump(mode="json"))
