"""Changes to orders that have not shipped: cancel, new address, other item options, other payment."""

from __future__ import annotations

from decimal import Decimal

from pydantic import Field

from core.errors import PolicyDenied, ToolRetry
from tools._access import owned_order, owned_payment_method
from tools._types import AddressLine, Country, ItemIds, OptionalLine, OrderId, PaymentMethodId, State, Zip, address
from tools.context import ToolContext
from tools.policy import engine
from tools.registry import tool
from tools.store.models import Payment, PaymentMethod
from tools.views import OrderView, order_view


def _pay(order_payments: list[Payment], order_id: str, kind: str, amount: Decimal, method: PaymentMethod) -> Payment:
    """Append a payment-history line; gift cards move at once (payments take, refunds give back)."""
    if method.source == "gift_card":
        change = amount if kind == "refund" else -amount
        method.balance = ((method.balance or Decimal("0")) + change).quantize(Decimal("0.01"))
    line = Payment(order_id=order_id, position=len(order_payments), transaction_type=kind, amount=amount,
                   payment_method_id=method.id)
    order_payments.append(line)
    return line


@tool(label="Cancelling your order", writes=True, limits=("cancellation_reasons",))
def cancel_pending_order(ctx: ToolContext, order_id: OrderId, reason: str = Field(max_length=64)) -> OrderView:
    """Cancel a pending order and refund what was paid (gift cards at once, other methods in a few days).

    Args:
        order_id: The order number, such as #W1234567.
        reason: Why: 'no longer needed' or 'ordered by mistake'.
    """
    order = owned_order(ctx, order_id, for_update=True)
    engine.require_status(order, {"pending"}, "cancelled")
    why = engine.require_reason(reason, ctx)
    for payment in list(order.payments):
        method = owned_payment_method(ctx, payment.payment_method_id)
        _pay(order.payments, order.id, "refund", payment.amount, method)
    order.status = "cancelled"
    order.extra = {**order.extra, "cancel_reason": why}
    return order_view(order)


@tool(label="Changing the delivery address", writes=True)
def modify_pending_order_address(
    ctx: ToolContext,
    order_id: OrderId,
    address1: AddressLine,
    address2: OptionalLine,
    city: AddressLine,
    state: State,
    country: Country,
    zip: Zip,
) -> OrderView:
    """Change the shipping address of an order that has not shipped yet.

    Args:
        order_id: The order number, such as #W1234567.
        address1: Street and number.
        address2: Apartment, suite or unit ('' if none).
        city: City.
        state: State, such as CA.
        country: Country, such as USA.
        zip: Five-digit zip code.
    """
    order = owned_order(ctx, order_id, for_update=True)
    engine.require_pending(order, "sent to a new address")
    order.address = address(address1, address2, city, state, country, zip)
    return order_view(order)


@tool(label="Changing the items of your order", writes=True)
def modify_pending_order_items(
    ctx: ToolContext, order_id: OrderId, item_ids: ItemIds, new_item_ids: ItemIds, payment_method_id: PaymentMethodId
) -> OrderView:
    """Swap items of a pending order for other options of the same product (possible once per order).

    Args:
        order_id: The order number, such as #W1234567.
        item_ids: The items to change (repeat an id for several units).
        new_item_ids: The option each item becomes, in the same order.
        payment_method_id: Pays or receives the price difference.
    """
    order = owned_order(ctx, order_id, for_update=True)
    engine.require_status(order, {"pending"}, "changed (items can be changed once, before shipping)")
    swap = engine.check_swap(ctx, order, item_ids, new_item_ids, owned_payment_method(ctx, payment_method_id))
    kind = "payment" if swap.difference > 0 else "refund"
    _pay(order.payments, order.id, kind, abs(swap.difference), swap.method)
    for item, variant in zip(swap.items, swap.variants, strict=True):
        item.item_id, item.price, item.options = variant.item_id, variant.price, dict(variant.options)
    order.status = "pending (item modified)"
    return order_view(order)


@tool(label="Changing the payment method", writes=True)
def modify_pending_order_payment(ctx: ToolContext, order_id: OrderId, payment_method_id: PaymentMethodId) -> OrderView:
    """Pay a pending order with another of the customer's payment methods; the old one is refunded.

    Args:
        order_id: The order number, such as #W1234567.
        payment_method_id: The payment method to use instead.
    """
    order = owned_order(ctx, order_id, for_update=True)
    engine.require_pending(order, "paid differently")
    if len(order.payments) != 1 or order.payments[0].transaction_type != "payment":
        raise PolicyDenied("payment_history", f"The payment of order {order.id} can't be changed any more.")
    paid = order.payments[0]
    if paid.payment_method_id == payment_method_id:
        raise ToolRetry("That's the payment method the order already uses; which one should I use instead?")
    method = owned_payment_method(ctx, payment_method_id)
    engine.check_gift_card_covers(method, paid.amount)
    old = owned_payment_method(ctx, paid.payment_method_id)
    _pay(order.payments, order.id, "payment", paid.amount, method)
    _pay(order.payments, order.id, "refund", paid.amount, old)
    return order_view(order)
