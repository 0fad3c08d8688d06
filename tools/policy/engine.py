"""The policy rules, evaluated in code against store data. A rule either passes, denies the call
(:class:`PolicyDenied`), or asks for a person's approval (:class:`ApprovalRequired`)."""

from __future__ import annotations

import json
from collections import Counter
from decimal import Decimal
from typing import Any

from pydantic import BaseModel, ConfigDict
from sqlalchemy import select

from core.errors import ApprovalRequired, PolicyDenied, ToolRetry
from tools.context import ToolContext
from tools.store.models import Customer, Order, OrderItem, PaymentMethod, Product, ToolCall, Variant


def _approvable(ctx: ToolContext, rule: str, customer_message: str, detail: str) -> None:
    """Raise :class:`ApprovalRequired` unless a staff member already approved this call."""
    if ctx.approved_by is None:
        raise ApprovalRequired(rule, customer_message, detail)


def require_status(order: Order, allowed: set[str], doing: str) -> None:
    """The order must be in one of ``allowed`` statuses."""
    if order.status not in allowed:
        raise PolicyDenied("order_status", f"Order {order.id} is {order.status}, so it can't be {doing}.")


def require_pending(order: Order, doing: str) -> None:
    """Pending orders (including ones whose items were modified) can still change before they ship."""
    if "pending" not in order.status:
        raise PolicyDenied("order_status", f"Order {order.id} is {order.status}, so it can't be {doing}: "
                                           "that's only possible before it ships.")


def require_reason(reason: str, ctx: ToolContext) -> str:
    """Cancellations need one of the policy's reasons."""
    allowed = ctx.policy.cancellation_reasons
    normalized = reason.strip().lower()
    if normalized not in allowed:
        raise ToolRetry(f"To cancel, I need the reason: {' or '.join(repr(r) for r in allowed)}.")
    return normalized


def pick_items(order: Order, item_ids: list[str]) -> list[OrderItem]:
    """The order's item rows for ``item_ids`` (duplicates mean several units of the same item)."""
    if not item_ids:
        raise ToolRetry("Which items? Please tell me which items of the order you mean.")
    have = Counter(i.item_id for i in order.items)
    for item_id, count in Counter(item_ids).items():
        if have[item_id] < count:
            raise PolicyDenied("unknown_item", f"Order {order.id} doesn't contain that item ({item_id}).")
    picked: list[OrderItem] = []
    for item_id in item_ids:
        picked.append(next(i for i in order.items if i.item_id == item_id and i not in picked))
    return picked


def check_window(ctx: ToolContext, order: Order, window_days: int, doing: str) -> None:
    """Within ``window_days`` of delivery; a person may approve up to ``exception_grace_days`` more."""
    delivered = order.delivered_at or ctx.now
    age = (ctx.now.date() - delivered.date()).days  # calendar days: the same answer at any hour
    if age <= window_days:
        return
    late = f"Order {order.id} was delivered {age} days ago, past our {window_days}-day window for {doing}"
    if age <= window_days + ctx.policy.exception_grace_days:
        _approvable(ctx, f"{doing}_window", f"{late}, so a person on our team needs to approve it.",
                    f"{late} (grace allows up to {window_days + ctx.policy.exception_grace_days} days).")
        return
    raise PolicyDenied(f"{doing}_window", f"{late}, so I can't do that.")


def check_final_sale(ctx: ToolContext, items: list[OrderItem]) -> None:
    """Items in final-sale categories can't be returned or exchanged."""
    for item in items:
        product = ctx.session.get(Product, item.product_id)
        if product is not None and product.category in ctx.policy.final_sale_categories:
            raise PolicyDenied("final_sale", f"{item.name} is a final-sale item ({product.category}), "
                                             "so it can't be returned or exchanged.")


def check_refund_destination(order: Order, method: PaymentMethod) -> None:
    """Refunds go to the original payment method or to a gift card (store credit)."""
    original = order.payments[0].payment_method_id if order.payments else None
    if method.source != "gift_card" and method.id != original:
        raise PolicyDenied("refund_destination", "Refunds go back to the original payment method or to a gift "
                                                 "card as store credit.")


def check_refund_limit(ctx: ToolContext, amount: Decimal) -> None:
    """Refunds above the automatic limit need a person's approval."""
    limit = ctx.policy.auto_refund_limit
    if amount > limit:
        _approvable(ctx, "refund_limit",
                    f"A refund of ${amount:.2f} is more than I can approve on my own, so a person on our team "
                    "needs to approve it.",
                    f"Refund ${amount:.2f} exceeds the automatic limit of ${limit:.2f}.")


def check_gift_card_covers(method: PaymentMethod, amount: Decimal) -> None:
    """A gift card paying a difference must have the balance for it."""
    if method.source == "gift_card" and (method.balance or Decimal("0")) < amount:
        raise PolicyDenied("gift_card_balance", f"That gift card's balance doesn't cover ${amount:.2f}.")


def replacement_variant(ctx: ToolContext, item: OrderItem, new_item_id: str) -> Variant:
    """The new variant must be another, available option of the same product."""
    variant = ctx.session.get(Variant, new_item_id)
    if variant is None or variant.product_id != item.product_id:
        raise PolicyDenied("same_product", f"{new_item_id} isn't an option of {item.name}: items can only be "
                                           "swapped for another option of the same product.")
    if variant.item_id == item.item_id:
        raise ToolRetry(f"That's the same option of {item.name} you already have; which option do you want?")
    if not variant.available:
        raise PolicyDenied("unavailable", f"That option of {item.name} is out of stock.")
    return variant


class Swap(BaseModel):
    """Items swapped for other options of the same product, and what the customer pays (+) or gets back (-)."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    items: list[OrderItem]
    variants: list[Variant]
    difference: Decimal
    method: PaymentMethod


def check_swap(ctx: ToolContext, order: Order, item_ids: list[str], new_item_ids: list[str],
               method: PaymentMethod) -> Swap:
    """Each item becomes an available other option of its product; a gift card must cover the difference."""
    if len(item_ids) != len(new_item_ids):
        raise ToolRetry("Tell me the new option for each item you want to change.")
    items = pick_items(order, item_ids)
    variants = [replacement_variant(ctx, item, new) for item, new in zip(items, new_item_ids, strict=True)]
    difference = sum((v.price - i.price for i, v in zip(items, variants, strict=True)), Decimal("0"))
    check_gift_card_covers(method, difference)
    return Swap(items=items, variants=variants, difference=difference, method=method)


def check_tool_permissions(ctx: ToolContext, tool: str, arguments: dict[str, Any], *, writes: bool) -> None:
    """What ops set for the tool: customer tiers, a daily count per customer (a retried identical request
    doesn't count twice), approval for every write."""
    permissions = ctx.policy.tool(tool)
    if permissions.customer_tiers:
        customer = ctx.session.get(Customer, ctx.customer_id) if ctx.customer_id else None
        flags = customer.flags if customer else {}
        if not any(flags.get(tier) for tier in permissions.customer_tiers):
            raise PolicyDenied("customer_tier", "That isn't something I can do for your account here; a person "
                                                "on our team can help.")
    if permissions.max_per_customer_per_day is not None and writes:
        day_start = ctx.now.replace(hour=0, minute=0, second=0, microsecond=0)
        done_today = len({json.dumps(args, sort_keys=True) for args in ctx.session.scalars(select(
            ToolCall.arguments).where(ToolCall.tool == tool, ToolCall.customer_id == ctx.customer_id,
                                      ToolCall.outcome == "done", ToolCall.created_at >= day_start))
                          if args != arguments})
        if done_today >= permissions.max_per_customer_per_day:
            _approvable(ctx, "daily_limit", "You've reached today's limit for that in this chat, so a person on "
                                            "our team needs to approve it.",
                        f"{done_today} successful {tool} calls today (limit {permissions.max_per_customer_per_day}).")
    if permissions.requires_approval and writes:
        _approvable(ctx, "requires_approval", "That needs a person on our team to approve it.",
                    f"Ops require approval for every {tool} call.")
