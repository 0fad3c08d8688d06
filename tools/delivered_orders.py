"""Returns (with refunds) and exchanges of delivered items."""

from __future__ import annotations

from decimal import Decimal

from pydantic import BaseModel
from sqlalchemy import select

from core.errors import PolicyDenied
from tools._access import owned_order, owned_payment_method
from tools._types import ItemIds, OrderId, PaymentMethodId
from tools.context import ToolContext
from tools.policy import engine
from tools.registry import tool
from tools.store.models import Order, OrderItem, Refund
from tools.views import OrderView, describe_payment_method, order_view


class ReturnReceipt(BaseModel):
    """What a return started, and the refund it carries."""

    order: OrderView
    returned_items: list[str]
    refund_amount: Decimal
    refund_to: str
    refund_days: int
    approved_by: str | None = None


def _existing_return(ctx: ToolContext, order: Order, item_ids: list[str], payment_method_id: str) -> bool:
    """The same return was already made (a retried request): answer with its receipt, change nothing."""
    return (order.status == "return requested" and order.extra.get("return_items") == sorted(item_ids)
            and order.extra.get("return_payment_method_id") == payment_method_id)


def _receipt(ctx: ToolContext, order: Order, items: list[OrderItem], method_description: str) -> ReturnReceipt:
    refunds = ctx.session.scalars(select(Refund).where(Refund.order_id == order.id)).all()
    return ReturnReceipt(
        order=order_view(order),
        returned_items=[i.name for i in items],
        refund_amount=sum((r.amount for r in refunds), Decimal("0")),
        refund_to=method_description,
        refund_days=ctx.policy.refund_processing_days,
        approved_by=ctx.approved_by,
    )


@tool(label="Starting your return", writes=True,
      limits=("return_window_days", "exception_grace_days", "auto_refund_limit", "final_sale_categories"))
def return_delivered_order_items(
    ctx: ToolContext, order_id: OrderId, item_ids: ItemIds, payment_method_id: PaymentMethodId
) -> ReturnReceipt:
    """Return delivered items and refund them to the original payment method or a gift card.

    Args:
        order_id: The order number, such as #W1234567.
        item_ids: The items to return (repeat an id for several units).
        payment_method_id: Where the refund goes: the original payment method or a gift card.
    """
    order = owned_order(ctx, order_id, for_update=True)
    method = owned_payment_method(ctx, payment_method_id)
    if _existing_return(ctx, order, item_ids, payment_method_id):
        return _receipt(ctx, order, engine.pick_items(order, item_ids), describe_payment_method(method))
    engine.require_status(order, {"delivered"}, "returned")
    items = engine.pick_items(order, item_ids)
    if ctx.session.scalars(select(Refund).where(Refund.order_item_id.in_([i.id for i in items]))).first():
        raise PolicyDenied("one_refund_per_item", "Those items were already refunded.")
    engine.check_final_sale(ctx, items)
    engine.check_window(ctx, order, ctx.policy.return_window_days, "return")
    engine.check_refund_destination(order, method)
    amount = sum((i.price for i in items), Decimal("0"))
    engine.check_refund_limit(ctx, amount)
    ctx.session.add_all(Refund(order_id=order.id, order_item_id=i.id, amount=i.price, payment_method_id=method.id,
                               approved_by=ctx.approved_by) for i in items)
    order.status = "return requested"
    order.extra = {**order.extra, "return_items": sorted(item_ids), "return_payment_method_id": method.id}
    ctx.session.flush()
    return _receipt(ctx, order, items, describe_payment_method(method))


@tool(label="Starting your exchange", writes=True,
      limits=("exchange_window_days", "exception_grace_days", "final_sale_categories"))
def exchange_delivered_order_items(
    ctx: ToolContext, order_id: OrderId, item_ids: ItemIds, new_item_ids: ItemIds, payment_method_id: PaymentMethodId
) -> OrderView:
    """Exchange delivered items for other options of the same product (one exchange per order).

    Args:
        order_id: The order number, such as #W1234567.
        item_ids: The items to exchange (repeat an id for several units).
        new_item_ids: The option each item becomes, in the same order.
        payment_method_id: Pays or receives the price difference.
    """
    order = owned_order(ctx, order_id, for_update=True)
    engine.require_status(order, {"delivered"}, "exchanged")
    engine.check_final_sale(ctx, engine.pick_items(order, item_ids))
    engine.check_window(ctx, order, ctx.policy.exchange_window_days, "exchange")
    swap = engine.check_swap(ctx, order, item_ids, new_item_ids, owned_payment_method(ctx, payment_method_id))
    order.status = "exchange requested"
    order.extra = {**order.extra, "exchange_items": sorted(item_ids), "exchange_new_items": sorted(new_item_ids),
                   "exchange_payment_method_id": swap.method.id,
                   "exchange_price_difference": float(swap.difference)}
    return order_view(order)
