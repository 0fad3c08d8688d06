"""Read-only order tools: one order's details, recent orders, and shipment tracking."""

from __future__ import annotations

from pydantic import BaseModel, Field

from tools._access import owned_order, owned_orders
from tools.context import ToolContext
from tools.registry import tool
from tools.store.models import Order
from tools.views import OrderList, OrderView, TrackingView, order_view


@tool(label="Looking up your order")
def get_order_details(ctx: ToolContext, order_id: str = Field(max_length=32)) -> OrderView:
    """Look up one of the customer's orders: status, items, total, dates, payments and tracking.

    Args:
        order_id: The order number, such as #W1234567.
    """
    return order_view(owned_order(ctx, order_id))


@tool(label="Looking up your recent orders")
def list_recent_orders(ctx: ToolContext, limit: int = Field(5, ge=1, le=20)) -> OrderList:
    """List the customer's most recent orders with their status.

    Args:
        limit: How many orders to list, newest first.
    """
    query = owned_orders(ctx).order_by(Order.placed_at.desc(), Order.id).limit(limit)
    return OrderList(orders=[order_view(o) for o in ctx.session.scalars(query)])


class TrackingReport(BaseModel):
    order_id: str
    status: str
    shipments: list[TrackingView]


@tool(label="Checking the shipment")
def get_tracking_details(ctx: ToolContext, order_id: str = Field(max_length=32)) -> TrackingReport:
    """Show where an order's shipments are: carrier, tracking number and every tracking event.

    Args:
        order_id: The order number, such as #W1234567.
    """
    view = order_view(owned_order(ctx, order_id))
    return TrackingReport(order_id=view.order_id, status=view.status, shipments=view.tracking)
