"""The human agents' desk: the handoff queue, claims, the handoff package, and closing a handoff."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel
from sqlalchemy import case, select, update
from sqlalchemy.orm import selectinload

from core.errors import NotFound, UserError
from tools.store import Store
from tools.store.models import Customer, Fulfillment, Handoff, Order, PolicyException, ToolCall, utcnow
from tools.views import CustomerView, OrderView, customer_view, order_view

_PRIORITY_ORDER = case({"urgent": 0, "high": 1, "normal": 2, "low": 3}, value=Handoff.priority, else_=4)
NEXT_STEPS = {
    "approval needed": "Review the pending exception and approve or deny it; the customer already confirmed it.",
    "sensitive topic": "Reach out with care first; don't give advice beyond the support task.",
    "customer is frustrated": "Acknowledge the frustration, then resolve the open request from the tool history.",
    "customer asked for a human": "Greet the customer and pick up from the summary; no need to re-verify.",
}


class Conflict(UserError):
    """Someone else already did it (claimed the conversation, decided the exception)."""


class HandoffSummary(BaseModel):
    """One entry of the queue."""

    id: int
    conversation_id: str
    customer_id: str | None
    reason: str
    priority: str
    queue: str
    summary: str
    status: str
    ticket: bool
    exception_id: int | None
    claimed_by: str | None
    created_at: datetime


class ToolCallView(BaseModel):
    tool: str
    arguments: dict[str, Any]
    outcome: str
    rule: str | None
    result: dict[str, Any]
    actor: str
    at: datetime


class ExceptionView(BaseModel):
    id: int
    tool: str
    arguments: dict[str, Any]
    rule: str
    detail: str
    status: str
    decided_by: str | None


class HandoffPackage(BaseModel):
    """Everything a person needs to take over without asking the customer to repeat themselves."""

    handoff: HandoffSummary
    customer: CustomerView | None
    orders_touched: list[OrderView]
    tool_calls: list[ToolCallView]
    exception: ExceptionView | None
    suggested_next_step: str


def _summary(handoff: Handoff) -> HandoffSummary:
    return HandoffSummary.model_validate(handoff, from_attributes=True)


def list_queue(store: Store, *, queue: str | None = None, priority: str | None = None,
               status: Literal["open", "resolved", "returned"] = "open") -> list[HandoffSummary]:
    """Handoffs by urgency, oldest first within a priority; filtered by queue (skill) and priority."""
    query = select(Handoff).where(Handoff.status == status).order_by(_PRIORITY_ORDER, Handoff.created_at,
                                                                     Handoff.id)
    if queue:
        query = query.where(Handoff.queue == queue)
    if priority:
        query = query.where(Handoff.priority == priority)
    with store.session() as session:
        return [_summary(h) for h in session.scalars(query)]


def get_handoff(store: Store, handoff_id: int) -> HandoffSummary:
    with store.session() as session:
        handoff = session.get(Handoff, handoff_id)
        if handoff is None:
            raise NotFound(f"handoff {handoff_id} does not exist")
        return _summary(handoff)


def claim(store: Store, handoff_id: int, staff_id: str) -> HandoffSummary:
    """Take the conversation; exactly one of several staff claiming at once wins (the others: Conflict)."""
    with store.session(write=True) as session:
        won = session.execute(
            update(Handoff)
            .where(Handoff.id == handoff_id, Handoff.status == "open", Handoff.claimed_by.is_(None))
            .values(claimed_by=staff_id, claimed_at=utcnow())
        ).rowcount
        handoff = session.get(Handoff, handoff_id)
        if handoff is None:
            raise NotFound(f"handoff {handoff_id} does not exist")
        if not won and handoff.claimed_by != staff_id:
            raise Conflict(f"handoff {handoff_id} is already taken by {handoff.claimed_by or 'nobody (closed)'}")
        return _summary(handoff)


def close(store: Store, handoff_id: int, staff_id: str, *, to: Literal["resolved", "returned"]) -> HandoffSummary:
    """Resolve the conversation, or hand it back to the bot; only its claimant may."""
    with store.session(write=True) as session:
        handoff = session.get(Handoff, handoff_id)
        if handoff is None:
            raise NotFound(f"handoff {handoff_id} does not exist")
        if handoff.status != "open" or handoff.claimed_by != staff_id:
            raise Conflict(f"handoff {handoff_id} is not open and claimed by {staff_id}")
        handoff.status, handoff.resolved_at = to, utcnow()
        return _summary(handoff)


def with_a_person(store: Store, conversation_id: str) -> HandoffSummary | None:
    """The open, claimed handoff of a conversation: while it exists, a person answers, not the bot."""
    with store.session() as session:
        handoff = session.scalars(select(Handoff).where(
            Handoff.conversation_id == conversation_id, Handoff.status == "open",
            Handoff.claimed_by.is_not(None))).first()
        return _summary(handoff) if handoff else None


def package(store: Store, handoff_id: int) -> HandoffPackage:
    """The handoff with the customer's profile, the orders the conversation touched and every tool call."""
    with store.session() as session:
        handoff = session.get(Handoff, handoff_id)
        if handoff is None:
            raise NotFound(f"handoff {handoff_id} does not exist")
        calls = session.scalars(select(ToolCall).where(ToolCall.conversation_id == handoff.conversation_id)
                                .order_by(ToolCall.id)).all()
        touched = list(dict.fromkeys(str(c.arguments["order_id"]) for c in calls if "order_id" in c.arguments))
        orders = session.scalars(select(Order).where(Order.id.in_(touched), Order.customer_id == handoff.customer_id)
                                 .options(selectinload(Order.items), selectinload(Order.payments),
                                          selectinload(Order.fulfillments).selectinload(Fulfillment.events))).all()
        customer = session.get(Customer, handoff.customer_id) if handoff.customer_id else None
        exception = session.get(PolicyException, handoff.exception_id) if handoff.exception_id else None
        return HandoffPackage(
            handoff=_summary(handoff),
            customer=customer_view(customer) if customer else None,
            orders_touched=[order_view(o) for o in orders],
            tool_calls=[ToolCallView(tool=c.tool, arguments=c.arguments, outcome=c.outcome, rule=c.rule,
                                     result=c.result, actor=c.actor, at=c.created_at) for c in calls],
            exception=ExceptionView.model_validate(exception, from_attributes=True) if exception else None,
            suggested_next_step=NEXT_STEPS.get(handoff.reason, "Read the summary and the tool calls, then reply."),
        )
