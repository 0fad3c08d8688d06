"""Run a tool call: validate arguments, check identity, execute in one transaction under the live policy,
and write the audit log, whatever the outcome."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ValidationError
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import Session

from core.errors import ApprovalRequired, PolicyDenied, ToolControl, ToolRetry
from core.metrics import TOOL
from core.tracing import span
from tools.context import ToolContext
from tools.policy import Policy, engine
from tools.registry import TOOLS
from tools.store import Store
from tools.store.models import PolicyException, ToolCall, utcnow

log = logging.getLogger(__name__)

DISABLED_MESSAGE = "I can't do that in this chat right now. A person on our team can help: just ask for a human."

Outcome = Literal["done", "denied", "needs_approval", "failed", "retry"]


class ToolResult(BaseModel):
    """The outcome of one tool call, as the agent and the audit log see it."""

    tool: str
    arguments: dict[str, Any]
    outcome: Outcome
    data: dict[str, Any] = {}
    message: str = ""
    """Customer-safe explanation when the outcome is not ``done``."""
    rule: str | None = None
    """The policy rule behind ``denied`` / ``needs_approval``."""
    exception_id: int | None = None
    """The recorded policy exception awaiting a person, for ``needs_approval``."""


def _retry_message(exc: ValidationError) -> str:
    fields = ", ".join(str(err["loc"][0]) for err in exc.errors() if err["loc"]) or "the request"
    return f"I couldn't use that: {fields} doesn't look right."


def _safe(arguments: dict[str, Any]) -> dict[str, Any]:
    """Arguments as they may be logged: bounded keys and values, whatever the caller sent."""
    return {str(k)[:64]: str(v)[:200] for k, v in list(arguments.items())[:20]}


def execute(
    store: Store,
    name: str,
    arguments: dict[str, Any],
    *,
    policy: Policy,
    conversation_id: str,
    customer_id: str | None,
    approved_by: str | None = None,
    client_address: str | None = None,
    preview: bool = False,
    now: datetime | None = None,
) -> ToolResult:
    """Run tool ``name`` as ``customer_id``; every call lands in the audit log with the policy version.

    ``preview=True`` runs the whole call, policy checks included, then rolls it back: it tells what would
    happen (and computes amounts) without changing anything or writing the audit log.
    """
    now = now or utcnow()

    def context(session: Session) -> ToolContext:
        return ToolContext(session, policy, conversation_id, customer_id, now, approved_by, client_address)

    result = _observed_run(store, name, arguments, identified=customer_id is not None, context=context,
                           preview=preview, policy=policy)
    if preview:
        return result
    with store.session(write=True) as session:
        if result.outcome == "needs_approval":
            exception = PolicyException(conversation_id=conversation_id, customer_id=customer_id, tool=name,
                                        arguments=result.arguments, rule=result.rule or "",
                                        detail=result.data.get("detail", result.message), created_at=now)
            session.add(exception)
            session.flush()
            result.exception_id = exception.id
        session.add(ToolCall(
            conversation_id=conversation_id, customer_id=customer_id, tool=name[:64], arguments=result.arguments,
            outcome=result.outcome, rule=result.rule, result=result.data or {"message": result.message},
            policy_version=policy.version, actor=f"staff:{approved_by}" if approved_by else "agent", created_at=now,
        ))
    return result


def _observed_run(store: Store, name: str, arguments: dict[str, Any], *, preview: bool, **options: Any) -> ToolResult:
    """:func:`_run` in a ``tool <name>`` span, timed by tool and outcome unless it is a preview (an unknown name
    is labelled ``unknown``: the model may say anything)."""
    label = name if name in TOOLS else "unknown"
    started = time.perf_counter()
    with span(f"tool {label}", {"support.tool": label, "support.tool.preview": preview}) as current:
        result = _run(store, name, arguments, preview=preview, **options)
        current.set_attribute("support.tool.outcome", result.outcome)
    if not preview:
        TOOL.labels(label, result.outcome).observe(time.perf_counter() - started)
    return result


class _RollBack(Exception):
    def __init__(self, result: ToolResult) -> None:
        self.result = result


def _run(
    store: Store,
    name: str,
    arguments: dict[str, Any],
    *,
    identified: bool,
    context: Callable[[Session], ToolContext],
    preview: bool,
    policy: Policy,
) -> ToolResult:
    tool = TOOLS.get(name)
    if tool is None:
        return ToolResult(tool=name[:64], arguments=_safe(arguments), outcome="failed",
                          message="That action isn't available.")
    if tool.needs_identity and not identified:
        return ToolResult(tool=name, arguments=_safe(arguments), outcome="failed",
                          message="I need to know who you are first.", rule="identity")
    if not policy.tool(name).enabled:
        return ToolResult(tool=name, arguments=_safe(arguments), outcome="denied", rule="tool_disabled",
                          message=DISABLED_MESSAGE)
    try:
        args = tool.args_model.model_validate(arguments)
    except ValidationError as exc:
        return ToolResult(tool=name, arguments=_safe(arguments), outcome="retry", message=_retry_message(exc))
    logged = args.model_dump(mode="json")
    try:
        # write lock for every tool: read-only ones still record rows (handoffs, verification attempts), and a
        # read transaction that writes later fails on SQLite if another connection committed meanwhile
        with store.session(write=True) as session:
            ctx = context(session)
            engine.check_tool_permissions(ctx, name, logged, writes=tool.writes)
            data = tool.fn(ctx, **args.model_dump())
            result = ToolResult(tool=name, arguments=logged, outcome="done", data=data.model_dump(mode="json"))
            if preview:
                raise _RollBack(result)
            return result
    except _RollBack as rolled_back:
        return rolled_back.result
    except ApprovalRequired as exc:
        return ToolResult(tool=name, arguments=logged, outcome="needs_approval", message=exc.customer_message,
                          rule=exc.rule, data={"detail": exc.detail})
    except ToolControl as exc:
        outcome, rule = _control(exc)
        return ToolResult(tool=name, arguments=logged, outcome=outcome, message=exc.customer_message, rule=rule)
    except (IntegrityError, OperationalError) as exc:  # a concurrent identical write won; nothing was changed
        log.warning("tool %s conflicted: %s", name, exc.orig)
        return ToolResult(tool=name, arguments=logged, outcome="failed", rule="conflict",
                          message="That was just done by another request; nothing was changed twice.")


def _control(exc: ToolControl) -> tuple[Outcome, str | None]:
    if isinstance(exc, PolicyDenied):
        return "denied", exc.rule
    return ("retry" if isinstance(exc, ToolRetry) else "failed"), None
