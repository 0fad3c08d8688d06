"""Hand the conversation to a human agent (a live queue, or a ticket outside business hours)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field
from sqlalchemy import func, select

from tools.context import ToolContext
from tools.registry import tool
from tools.store.models import Handoff, PolicyException

Queue = Literal["general", "orders", "billing", "account", "escalations"]


class HandoffReceipt(BaseModel):
    handoff_id: int
    queue: str
    position: int
    """Place in the queue, 1 = next."""
    ticket: bool


@tool(label="Connecting you with a person", needs_identity=False)
def transfer_to_human(
    ctx: ToolContext,
    reason: str = Field(max_length=64),
    summary: str = Field(max_length=2000),
    queue: Queue = "general",
    priority: Literal["low", "normal", "high", "urgent"] = "normal",
    ticket: bool = False,
    exception_id: int | None = None,
) -> HandoffReceipt:
    """Transfer the customer to a human agent with a summary of the conversation.

    Args:
        reason: Why a human is needed, in a few words.
        summary: What the customer wants and what has been done so far.
        queue: The team that should take it.
        priority: How urgent it is.
        ticket: Outside business hours: a ticket answered later instead of a live queue.
        exception_id: The policy exception waiting for the person's decision.
    """
    if exception_id is not None:
        exception = ctx.session.get(PolicyException, exception_id)
        if exception is None or exception.conversation_id != ctx.conversation_id:
            exception_id = None
    handoff = ctx.session.scalars(
        select(Handoff).where(Handoff.conversation_id == ctx.conversation_id, Handoff.status == "open")
    ).first()
    if handoff is None:
        handoff = Handoff(conversation_id=ctx.conversation_id, customer_id=ctx.customer_id, reason=reason,
                          priority=priority, queue=queue, summary=summary, ticket=ticket, exception_id=exception_id,
                          created_at=ctx.now)
        ctx.session.add(handoff)
        ctx.session.flush()
    elif exception_id is not None:
        handoff.exception_id, handoff.summary = exception_id, summary
    ahead = ctx.session.scalar(
        select(func.count()).where(Handoff.status == "open", Handoff.queue == handoff.queue,
                                   Handoff.claimed_by.is_(None), Handoff.id < handoff.id)
    )
    return HandoffReceipt(handoff_id=handoff.id, queue=handoff.queue, position=(ahead or 0) + 1,
                          ticket=handoff.ticket)
