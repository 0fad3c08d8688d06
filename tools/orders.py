"""Read-only order tools: one order's details, or the customer's recent orders."""

from __future__ import annotations

import re
from datetime import datetime
from decimal import Decimal

from pydantic import BaseModel, Field
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from core.errors import ToolFailed, ToolRetry
from tools.context import ToolContext
from tools.registry import tool
from tools.store.models import Fulfillment, Order

_ORDER_ID = re.compile(r"^#?W?(\d{7})$", re.IGNORECASE)


class TrackingView(BaseModel):
    tracking_id: str
    carrier: str | None
    last_event: str | None
    last_event_at: datetime | None


class OrderView(BaseModel):
    """An order as the customer may see it."""

    order_id: str
    status: str
    placed_at: datetime | None
    shipped_at: datetime | None
    delivered_at: datetime | None
    items: list[str]
    total: Decimal
    tracking: list[TrackingView]


class OrderList(BaseModel):
    orders: list[OrderView]


def normalize_order_id(raw: str) -> str:
    """``W1234567``, ``#w1234567`` or ``1234567`` -> ``#W1234567``; anything else is a retry."""
    match = _ORDER_ID.match(raw.strip())
    if not match:
        raise ToolRetry("That doesn't look like one of our order numbers; they look like #W1234567.")
    return f"#W{match.group(1)}"


def _view(order: Order) -> OrderView:
    return OrderView(
        order_id=order.id,
        status=order.status,
        placed_at=order.placed_at,
        shipped_at=order.shipped_at,
        delivered_at=order.delivered_at,
        items=[item.name for item in order.items],
        total=sum((item.price for item in order.items), Decimal("0")),
        tracking=[_tracking(f) for f in order.fulfillments],
    )


def _tracking(fulfillment: Fulfillment) -> TrackingView:
    last = fulfillment.events[-1] if fulfillment.events else None
    return TrackingView(
        tracking_id=fulfillment.tracking_id,
        carrier=fulfillment.carrier,
        last_event=last.status if last else None,
        last_event_at=last.at if last else None,
    )


def _owned_orders(ctx: ToolContext):
    return (
        select(Order)
        .where(Order.customer_id == ctx.customer_id)
        .options(selectinload(Order.items), selectinload(Order.fulfillments).selectinload(Fulfillment.events))
    )


@tool(label="Looking up your order")
def get_order_details(ctx: ToolContext, order_id: str = Field(max_length=32)) -> OrderView:
    """Look up one of the customer's orders: status, items, total, dates and tracking.

    Args:
        order_id: The order number, such as #W1234567.
    """
    wanted = normalize_order_id(order_id)
    order = ctx.session.scalars(_owned_orders(ctx).where(Order.id == wanted)).first()
    if order is None:  # unknown and someone else's look the same
        raise ToolFailed(f"I couldn't find an order {wanted} on your account.")
    return _view(order)


@tool(label="Looking up your recent orders")
def list_recent_orders(ctx: ToolContext, limit: int = Field(5, ge=1, le=20)) -> OrderList:
    """List the customer's most recent orders with their status.

    Args:
        limit: How many orders to list, newest first.
    """
    query = _owned_orders(ctx).order_by(Order.placed_at.desc(), Order.id).limit(limit)
    return OrderList(orders=[_view(o) for o in ctx.session.scalars(query)])
