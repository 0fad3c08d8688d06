"""What the customer is told about an action: the proposal to confirm, and the receipt once it is done.
Every fact comes from tool results (code), never from the model."""

from __future__ import annotations

from typing import Any


def money(value: Any) -> str:
    return f"${float(value):.2f}"


def address_line(address: dict[str, str]) -> str:
    parts = [address["address1"], address.get("address2", ""), address["city"], f"{address['state']} {address['zip']}"]
    return ", ".join(p for p in parts if p)


def join(names: list[str]) -> str:
    """"a", "a and b", "a, b and c"."""
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + f" and {names[-1]}"


def _difference_line(order: dict[str, Any]) -> dict[str, Any] | None:
    """The payment line a pending order's item change adds for the price difference: the order's last one."""
    return order["payments"][-1] if order.get("payments") else None


def price_difference(order: dict[str, Any], method: str = "", *, done: bool = False) -> str:
    """What a pending order's item change costs or gives back, paid or refunded through ``method`` (``done``: told
    once it is made)."""
    line = _difference_line(order)
    if not line or not float(line["amount"]):
        return "the price stays the same"
    amount, to = money(line["amount"]), f"your {method}" if method else "the original payment method"
    if line["transaction_type"] == "refund":
        return f"{amount} is refunded to {to}" if done else f"you get {amount} back on {to}"
    return f"{amount} more is charged to {to}" if done else f"you pay {amount} more with {to}"


def proposal(tool: str, args: dict[str, Any], preview: dict[str, Any], *, changes: str = "", pay_with: str = "") -> str:
    """The action in one sentence, for the customer to confirm (``changes``: an exchange's swaps in words;
    ``pay_with``: the payment method the customer chose for a price difference)."""
    through = f", paid or refunded through your {pay_with}" if pay_with else ""
    if tool == "cancel_pending_order":
        refunded = sum(float(p["amount"]) for p in preview["payments"] if p["transaction_type"] == "refund")
        return (f"cancel order {args['order_id']} ({join([i['name'] for i in preview['items']])}) because it's "
                f"{args['reason']}, and refund {money(refunded)} to the original payment method")
    if tool == "return_delivered_order_items":
        return (f"return {join(preview['returned_items'])} from order {args['order_id']} and refund "
                f"{money(preview['refund_amount'])} to your {preview['refund_to']}")
    if tool == "exchange_delivered_order_items":
        difference = preview["details"].get("exchange_price_difference", 0.0)
        return f"exchange your {changes} from order {args['order_id']} (price difference {money(difference)}{through})"
    if tool == "modify_pending_order_items":
        return (f"change your {changes} in order {args['order_id']}, before it ships "
                f"({price_difference(preview, pay_with)})")
    if tool == "modify_pending_order_payment":
        return f"pay order {args['order_id']} with your {changes} instead, and refund the payment made before"
    if tool == "modify_pending_order_address":
        return f"send order {args['order_id']} to {address_line(args)}"
    if tool == "modify_user_address":
        return f"change the address on your account to {address_line(args)}"
    if tool == "request_password_reset":
        return "email a password-reset link to the address on your account"
    return tool.replace("_", " ")


def refunded(tool: str, data: dict[str, Any]) -> float:
    """The money a done cancellation, return or cheaper item change refunds (0 for other changes)."""
    if tool == "cancel_pending_order":
        return sum(float(p["amount"]) for p in data["payments"] if p["transaction_type"] == "refund")
    if tool == "modify_pending_order_items" and (line := _difference_line(data)):
        return float(line["amount"]) if line["transaction_type"] == "refund" else 0.0
    return float(data["refund_amount"]) if tool == "return_delivered_order_items" else 0.0


def receipt(tool: str, data: dict[str, Any], refund_days: int, *, pay_with: str = "") -> str:
    """What was done, in the store's own words (``pay_with``: the payment method the customer chose for a price
    difference)."""
    if tool == "cancel_pending_order":
        amount = refunded(tool, data)
        refund = f" The refund of {money(amount)} goes to the original payment method." if amount else ""
        return (f"Done: order {data['order_id']} is {data['status']}.{refund} Card and PayPal refunds arrive within "
                f"{refund_days} business days; gift-card refunds are back on the card now.")
    if tool == "return_delivered_order_items":
        return (f"Done: the return for order {data['order']['order_id']} is started (status: "
                f"{data['order']['status']}). Your refund of {money(data['refund_amount'])} goes to your "
                f"{data['refund_to']} within {data['refund_days']} business days. We'll email you how to send "
                "the items back.")
    if tool == "exchange_delivered_order_items":
        return (f"Done: order {data['order_id']} is now {data['status']}. We'll email you how to send the old "
                "items back.")
    if tool == "modify_pending_order_items":
        return f"Done: order {data['order_id']} is now {data['status']}; {price_difference(data, pay_with, done=True)}."
    if tool == "modify_pending_order_payment":
        return (f"Done: order {data['order_id']} is paid with the new payment method, and the payment before is "
                "refunded.")
    if tool == "modify_pending_order_address":
        return f"Done: order {data['order_id']} will ship to {address_line(data['address'])}."
    if tool == "modify_user_address":
        return f"Done: the address on your account is now {address_line(data['address'])}."
    if tool == "request_password_reset":
        return (f"I've sent a password-reset link to {data['sent_to']}. It works once and expires in "
                f"{data['expires_in_minutes']} minutes. I'll never ask for your password here.")
    return "Done."
