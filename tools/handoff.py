"""Hand the conversation to a human agent."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field
from sqlalchemy import func, select

from tools.context import ToolContext
from tools.registry import tool
from tools.store.models import Handoff

Queue = Literal["general", "orders", "billing", "account", "escalations"]


class HandoffReceipt(BaseModel):
    handoff_id: int
    queue: str
    position: int
    """Place in the queue, 1 = next."""


@tool(label="Connecting you with a person", needs_identity=False)
def transfer_to_human(
    ctx: ToolContext,
    reason: str = Field(max_length=64),
    summary: str = Field(max_length=2000),
    queue: Queue = "general",
    priority: Literal["low", "normal", "high", "urgent"] = "normal",
) -> HandoffReceipt:
    """Transfer the customer to a human agent with a summary of the conversation.

    Args:
        reason: Why a human is needed, in a few words.
        summary: What the customer wants and what has been done so far.
        queue: The team that should take it.
        priority: How urgent it is.
    """
    open_handoff = ctx.session.scalars(
        select(Handoff).where(Handoff.conversation_id == ctx.conversation_id, Handoff.status == "open")
    ).first()
    if open_handoff is None:
        open_handoff = Handoff(
            conversation_id=ctx.conversation_id,
            customer_id=ctx.customer_id,
            reason=reason,
            priority=priority,
            queue=queue,
            summary=summary,
        )
        ctx.session.add(open_handoff)
        ctx.session.flush()
    ahead = ctx.session.scalar(
        select(func.count()).where(Handoff.status == "open", Handoff.queue == open_handoff.queue,
                                   Handoff.id < open_handoff.id)
    )
    return HandoffReceipt(handoff_id=open_handoff.id, queue=open_handoff.queue, position=(ahead or 0) + 1)
