"""tau2-bench's retail tools applied to the tau2 JSON database: the reference a replay is compared with.

Written from the behaviour tau2 documents (``sierra-research/tau2-bench``, ``src/tau2/domains/retail/tools.py``),
quirks kept on purpose:

* ``modify_pending_order_items`` gives every modified item the price and options of the LAST new variant it
  checked; the price difference is recorded unrounded, as a payment (or a refund when not positive), and a gift
  card pays it (or is credited) at once, its balance rounded to cents.
* ``cancel_pending_order`` appends one refund per payment line and credits gift cards at once.
* return and exchange only record the request (status, sorted item ids, payment method, rounded difference);
  no money moves.
* only an exactly ``pending`` order can be cancelled or have items modified; address and payment changes
  accept any status containing ``pending`` (so ``pending (item modified)`` too).

A tool that tau2 would refuse raises :class:`OracleError` and leaves the database unchanged.
"""

from __future__ import annotations

import inspect
import unicodedata
from collections import Counter
from collections.abc import Callable
from typing import Any

Db = dict[str, Any]
CANCEL_REASONS = ("no longer needed", "ordered by mistake")


class OracleError(ValueError):
    """tau2 refuses the call; the message is tau2's reason."""


def apply(db: Db, name: str, arguments: dict[str, Any]) -> Any:
    """Run tau2 tool ``name`` on ``db`` (changed in place) and return what tau2 returns."""
    tool = TOOLS.get(name)
    if tool is None:
        raise OracleError(f"Unknown tool {name}")
    try:
        inspect.signature(tool).bind(db, **arguments)
    except TypeError as exc:
        raise OracleError(f"Bad arguments for {name}: {exc}") from exc
    return tool(db, **arguments)


# --- lookups -----------------------------------------------------------------------------------


def _get(table: dict[str, Any], key: str, what: str) -> Any:
    if key not in table:
        raise OracleError(f"{what} not found")
    return table[key]


def _order(db: Db, order_id: str) -> dict[str, Any]:
    return _get(db["orders"], order_id, "Order")


def _method(db: Db, user_id: str, payment_method_id: str) -> dict[str, Any]:
    return _get(_get(db["users"], user_id, "User")["payment_methods"], payment_method_id, "Payment method")


def _variant(db: Db, product_id: str, item_id: str) -> dict[str, Any]:
    return _get(_get(db["products"], product_id, "Product")["variants"], item_id, "Variant")


def _is_gift_card(method: dict[str, Any]) -> bool:
    return method["source"] == "gift_card"


def _add_to_balance(method: dict[str, Any], amount: float) -> None:
    if _is_gift_card(method):
        method["balance"] = round(method["balance"] + amount, 2)


def _fold(text: str) -> str:
    """Case- and accent-insensitive form, as tau2 matches names and emails."""
    return "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c)).casefold()


def _address(address1: str, address2: str, city: str, state: str, country: str, zip: str) -> dict[str, str]:
    return {"address1": address1, "address2": address2, "city": city, "state": state, "country": country, "zip": zip}


def _require_items(order: dict[str, Any], item_ids: list[str], message: str) -> None:
    """Every id in ``item_ids`` must be in the order at least as often as it is listed."""
    have = Counter(item["item_id"] for item in order["items"])
    for item_id, wanted in Counter(item_ids).items():
        if wanted > have[item_id]:
            raise OracleError(message.format(item_id=item_id))


def _first_item(order: dict[str, Any], item_id: str) -> dict[str, Any]:
    item = next((item for item in order["items"] if item["item_id"] == item_id), None)
    if item is None:
        raise OracleError(f"Item {item_id} not found")
    return item


def _swap_prices(
    db: Db, order: dict[str, Any], item_ids: list[str], new_item_ids: list[str], *, allow_same: bool
) -> tuple[float, dict[str, Any]]:
    """Price difference of swapping ``item_ids`` for ``new_item_ids`` (same products), and the last variant."""
    if len(item_ids) != len(new_item_ids):
        raise OracleError("The number of items to be exchanged should match")
    difference = 0.0
    variant: dict[str, Any] = {}
    for item_id, new_item_id in zip(item_ids, new_item_ids, strict=True):
        if not allow_same and item_id == new_item_id:
            raise OracleError("The new item id should be different from the old item id")
        item = _first_item(order, item_id)
        variant = _variant(db, item["product_id"], new_item_id)
        if not variant["available"]:
            raise OracleError(f"New item {new_item_id} not found or available")
        difference += variant["price"] - item["price"]
    return difference, variant


# --- read tools --------------------------------------------------------------------------------


def find_user_id_by_email(db: Db, email: str) -> str:
    wanted = _fold(email)
    for user_id, user in db["users"].items():
        if _fold(user["email"]) == wanted:
            return user_id
    raise OracleError("User not found")


def find_user_id_by_name_zip(db: Db, first_name: str, last_name: str, zip: str) -> str:
    wanted = (_fold(first_name), _fold(last_name), zip)
    for user_id, user in db["users"].items():
        if (_fold(user["name"]["first_name"]), _fold(user["name"]["last_name"]), user["address"]["zip"]) == wanted:
            return user_id
    raise OracleError("User not found")


def get_user_details(db: Db, user_id: str) -> dict[str, Any]:
    return _get(db["users"], user_id, "User")


def get_order_details(db: Db, order_id: str) -> dict[str, Any]:
    return _order(db, order_id)


def get_product_details(db: Db, product_id: str) -> dict[str, Any]:
    return _get(db["products"], product_id, "Product")


def get_item_details(db: Db, item_id: str) -> dict[str, Any]:
    variants = {key: v for product in db["products"].values() for key, v in product["variants"].items()}
    return _get(variants, item_id, "Item")


def list_all_product_types(db: Db) -> dict[str, str]:
    return dict(sorted((p["name"], p["product_id"]) for p in db["products"].values()))


def transfer_to_human_agents(db: Db, summary: str) -> str:
    return "Transfer successful"


# --- write tools -------------------------------------------------------------------------------


def cancel_pending_order(db: Db, order_id: str, reason: str) -> dict[str, Any]:
    order = _order(db, order_id)
    if order["status"] != "pending":
        raise OracleError("Non-pending order cannot be cancelled")
    if reason not in CANCEL_REASONS:
        raise OracleError("Invalid reason")
    lines = order["payment_history"]
    methods = [_method(db, order["user_id"], line["payment_method_id"]) for line in lines]
    for line, method in zip(lines, methods, strict=True):
        _add_to_balance(method, line["amount"])
    order["status"] = "cancelled"
    order["cancel_reason"] = reason
    lines.extend([{"transaction_type": "refund", "amount": line["amount"],
                   "payment_method_id": line["payment_method_id"]} for line in list(lines)])
    return order


def modify_pending_order_address(
    db: Db, order_id: str, address1: str, address2: str, city: str, state: str, country: str, zip: str
) -> dict[str, Any]:
    order = _order(db, order_id)
    if "pending" not in order["status"]:
        raise OracleError("Non-pending order cannot be modified")
    order["address"] = _address(address1, address2, city, state, country, zip)
    return order


def modify_user_address(
    db: Db, user_id: str, address1: str, address2: str, city: str, state: str, country: str, zip: str
) -> dict[str, Any]:
    user = _get(db["users"], user_id, "User")
    user["address"] = _address(address1, address2, city, state, country, zip)
    return user


def modify_pending_order_items(
    db: Db, order_id: str, item_ids: list[str], new_item_ids: list[str], payment_method_id: str
) -> dict[str, Any]:
    order = _order(db, order_id)
    if order["status"] != "pending":
        raise OracleError("Non-pending order cannot be modified")
    _require_items(order, item_ids, "{item_id} not found")
    difference, last_variant = _swap_prices(db, order, item_ids, new_item_ids, allow_same=False)
    method = _method(db, order["user_id"], payment_method_id)
    if _is_gift_card(method) and method["balance"] < difference:
        raise OracleError("Insufficient gift card balance to pay for the new item")
    order["payment_history"].append({"transaction_type": "payment" if difference > 0 else "refund",
                                     "amount": abs(difference), "payment_method_id": payment_method_id})
    _add_to_balance(method, -difference)
    for item_id, new_item_id in zip(item_ids, new_item_ids, strict=True):
        item = _first_item(order, item_id)
        item.update(item_id=new_item_id, price=last_variant["price"], options=dict(last_variant["options"]))
    order["status"] = "pending (item modified)"
    return order


def modify_pending_order_payment(db: Db, order_id: str, payment_method_id: str) -> dict[str, Any]:
    order = _order(db, order_id)
    if "pending" not in order["status"]:
        raise OracleError("Non-pending order cannot be modified")
    new = _method(db, order["user_id"], payment_method_id)
    lines = order["payment_history"]
    if len(lines) != 1 or lines[0]["transaction_type"] != "payment":
        raise OracleError("There should be exactly one payment for a pending order")
    old_id, amount = lines[0]["payment_method_id"], lines[0]["amount"]
    if old_id == payment_method_id:
        raise OracleError("The new payment method should be different from the current one")
    if _is_gift_card(new) and new["balance"] < amount:
        raise OracleError("Insufficient gift card balance to pay for the order")
    old = _method(db, order["user_id"], old_id)
    lines.append({"transaction_type": "payment", "amount": amount, "payment_method_id": payment_method_id})
    lines.append({"transaction_type": "refund", "amount": amount, "payment_method_id": old_id})
    _add_to_balance(new, -amount)
    _add_to_balance(old, amount)
    return order


def return_delivered_order_items(db: Db, order_id: str, item_ids: list[str], payment_method_id: str) -> dict[str, Any]:
    order = _order(db, order_id)
    if order["status"] != "delivered":
        raise OracleError("Non-delivered order cannot be returned")
    method = _method(db, order["user_id"], payment_method_id)
    if not _is_gift_card(method) and payment_method_id != order["payment_history"][0]["payment_method_id"]:
        raise OracleError("Payment method should be the original payment method")
    _require_items(order, item_ids, "Some item not found")
    order.update(status="return requested", return_items=sorted(item_ids), return_payment_method_id=payment_method_id)
    return order


def exchange_delivered_order_items(
    db: Db, order_id: str, item_ids: list[str], new_item_ids: list[str], payment_method_id: str
) -> dict[str, Any]:
    order = _order(db, order_id)
    if order["status"] != "delivered":
        raise OracleError("Non-delivered order cannot be exchanged")
    _require_items(order, item_ids, "Number of {item_id} not found.")
    difference, _ = _swap_prices(db, order, item_ids, new_item_ids, allow_same=True)
    difference = round(difference, 2)
    method = _method(db, order["user_id"], payment_method_id)
    if _is_gift_card(method) and method["balance"] < difference:
        raise OracleError("Insufficient gift card balance to pay for the price difference")
    order.update(status="exchange requested", exchange_items=sorted(item_ids), exchange_new_items=sorted(new_item_ids),
                 exchange_payment_method_id=payment_method_id, exchange_price_difference=difference)
    return order


TOOLS: dict[str, Callable[..., Any]] = {
    tool.__name__: tool
    for tool in (
        find_user_id_by_email, find_user_id_by_name_zip, get_user_details, get_order_details, get_product_details,
        get_item_details, list_all_product_types, transfer_to_human_agents, cancel_pending_order,
        modify_pending_order_address, modify_user_address, modify_pending_order_items, modify_pending_order_payment,
        return_delivered_order_items, exchange_delivered_order_items,
    )
}
"""tau2's retail tools by name (``calculate`` has no database effect and is left out)."""
