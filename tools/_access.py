"""Data access that checks ownership next to the query: a tool only ever sees its customer's rows."""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from core.errors import ToolFailed, ToolRetry
from tools.context import ToolContext
from tools.store import Store
from tools.store.models import Customer, Fulfillment, Order, PaymentMethod

_ORDER_ID = re.compile(r"^#?W?(\d{7})$", re.IGNORECASE)


def normalize_order_id(raw: str) -> str:
    """``W1234567``, ``#w1234567`` or ``1234567`` -> ``#W1234567``; anything else is a retry."""
    match = _ORDER_ID.match(raw.strip())
    if not match:
        raise ToolRetry("That doesn't look like one of our order numbers; they look like #W1234567.")
    return f"#W{match.group(1)}"


def owned_orders(ctx: ToolContext):
    """Orders of the session's customer, with what views need loaded."""
    return (
        select(Order)
        .where(Order.customer_id == ctx.customer_id)
        .options(selectinload(Order.items), selectinload(Order.payments),
                 selectinload(Order.fulfillments).selectinload(Fulfillment.events))
    )


def owned_order(ctx: ToolContext, order_id: str, *, for_update: bool = False) -> Order:
    """The customer's order ``order_id``; someone else's is answered exactly like an unknown one."""
    wanted = normalize_order_id(order_id)
    query = owned_orders(ctx).where(Order.id == wanted)
    order = ctx.session.scalars(query.with_for_update() if for_update else query).first()
    if order is None:
        raise ToolFailed(f"I couldn't find an order {wanted} on your account.")
    return order


def current_customer(ctx: ToolContext) -> Customer:
    """The session's customer (tools that need one are only run once identity is known)."""
    customer = ctx.session.get(Customer, ctx.customer_id)
    if customer is None:
        raise ToolFailed("I couldn't find your account.")
    return customer


def owned_payment_method(ctx: ToolContext, payment_method_id: str) -> PaymentMethod:
    """One of the customer's payment methods."""
    method = ctx.session.get(PaymentMethod, payment_method_id)
    if method is None or method.customer_id != ctx.customer_id:
        raise ToolFailed("That payment method isn't on your account.")
    return method


def customer_flags(store: Store, customer_id: str | None) -> dict[str, Any]:
    """Support flags of a customer (``vip``, ``at_risk``...); empty for anonymous or unknown customers."""
    if customer_id is None:
        return {}
    with store.session() as session:
        customer = session.get(Customer, customer_id)
        return dict(customer.flags) if customer else {}
