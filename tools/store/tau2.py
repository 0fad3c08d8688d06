"""Import tau2-bench's retail database (``db.json``) into the store and export it back without loss.

tau2 has no dates. Imported orders have no ``placed_at`` or ``shipped_at``; imported delivered orders count as
delivered on the import day (``delivered_at`` is the import time, also for ``return requested`` and
``exchange requested`` ones), so return and exchange windows treat them as recent. Each tau2 fulfillment
becomes one row per tracking id; a user's list of orders is recovered from the order in which the import
wrote the orders' payment lines.
"""

from __future__ import annotations

import json
import logging
import time
from collections import Counter, defaultdict
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError
from sqlalchemy import delete, insert, inspect, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from core.errors import UserError
from tools.store.db import Store
from tools.store.models import (
    Base,
    Customer,
    Fulfillment,
    Order,
    OrderItem,
    Payment,
    PaymentMethod,
    Product,
    Variant,
    utcnow,
)

log = logging.getLogger(__name__)

_DELIVERED = frozenset({"delivered", "return requested", "exchange requested"})
"""Statuses of orders that have reached the customer."""
_CENT = Decimal("0.01")


class Tau2ImportError(UserError):
    """The tau2 data is malformed, or the store already has customers."""


class ImportSummary(BaseModel):
    """How many rows of each kind an import wrote."""

    model_config = ConfigDict(frozen=True)

    customers: int
    payment_methods: int
    products: int
    variants: int
    orders: int
    order_items: int
    fulfillments: int
    payments: int
    seconds: float


# --- tau2's shape ------------------------------------------------------------------------------


class _Strict(BaseModel):
    model_config = ConfigDict(strict=True, extra="forbid")


class _Name(_Strict):
    first_name: str
    last_name: str


class _Address(_Strict):
    address1: str
    address2: str
    city: str
    country: str
    state: str
    zip: str


class _CreditCard(_Strict):
    source: Literal["credit_card"]
    id: str
    brand: str
    last_four: str


class _GiftCard(_Strict):
    source: Literal["gift_card"]
    id: str
    balance: float


class _PayPal(_Strict):
    source: Literal["paypal"]
    id: str


class _User(_Strict):
    user_id: str
    name: _Name
    address: _Address
    email: str
    payment_methods: dict[str, Annotated[_CreditCard | _GiftCard | _PayPal, Field(discriminator="source")]]
    orders: list[str]


class _Variant(_Strict):
    item_id: str
    options: dict[str, Any]
    available: bool
    price: float


class _Product(_Strict):
    name: str
    product_id: str
    variants: dict[str, _Variant]


class _Item(_Strict):
    name: str
    product_id: str
    item_id: str
    price: float
    options: dict[str, Any]


class _Fulfillment(_Strict):
    tracking_id: list[str] = Field(min_length=1)
    item_ids: list[str]


class _Payment(_Strict):
    transaction_type: Literal["payment", "refund"]
    amount: float
    payment_method_id: str


class _Order(_Strict):
    model_config = ConfigDict(extra="allow")
    """Keys tau2 adds as tools run (``cancel_reason``, ``return_items``...) land in ``Order.extra``."""

    order_id: str
    user_id: str
    address: _Address
    items: list[_Item]
    status: str
    fulfillments: list[_Fulfillment]
    payment_history: list[_Payment]


class _Database(_Strict):
    products: dict[str, _Product]
    users: dict[str, _User]
    orders: dict[str, _Order]


# --- import ------------------------------------------------------------------------------------


def import_tau2(
    store: Store, db_json: Path | dict[str, Any], *, replace: bool = False, now: datetime | None = None
) -> ImportSummary:
    """Load a tau2 retail database into an empty store in one transaction (the schema must exist).

    ``replace=True`` first wipes every table of the store in the same transaction. Malformed data raises
    :class:`Tau2ImportError` before anything is written.
    """
    started = time.perf_counter()
    db = _parse(db_json)
    rows = _rows(db, now or utcnow())
    try:
        with store.session() as session:
            if replace:
                _wipe(session)
            elif session.scalar(select(Customer.id).limit(1)) is not None:
                raise Tau2ImportError("the store already has customers; replace (--replace) wipes it first")
            for model, table_rows in rows.items():
                if table_rows:
                    session.execute(insert(model), table_rows)
    except IntegrityError as exc:
        raise Tau2ImportError(f"the data breaks a store constraint: {exc.orig}") from exc
    counts = {model.__tablename__: len(table_rows) for model, table_rows in rows.items()}
    summary = ImportSummary(**counts, seconds=round(time.perf_counter() - started, 3))
    log.info("imported %d users and %d orders from tau2 in %.2fs", summary.customers, summary.orders, summary.seconds)
    return summary


def _parse(db_json: Path | dict[str, Any]) -> _Database:
    if isinstance(db_json, Path):
        try:
            db_json = json.loads(db_json.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise Tau2ImportError(f"cannot read {db_json} as JSON: {exc}") from exc
    try:
        db = _Database.model_validate(db_json)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"])
        detail = f"{where}: {first['msg']} ({exc.error_count()} errors)"
        raise Tau2ImportError(f"not a tau2 retail database: {detail}") from exc
    _check(db)
    return db


def _check(db: _Database) -> None:
    """Refuse data that would not come back unchanged from :func:`export_tau2`."""
    problems = [f"{kind} {key} has id {value}" for kind, key, value in _keyed_ids(db) if key != value]
    owned: dict[str, list[str]] = defaultdict(list)
    for order in db.orders.values():
        owned[order.user_id].append(order.order_id)
        if order.user_id not in db.users:
            problems.append(f"order {order.order_id} belongs to unknown user {order.user_id}")
        pairs = zip(order.fulfillments, order.fulfillments[1:], strict=False)
        if any(a.item_ids == b.item_ids for a, b in pairs):
            problems.append(f"order {order.order_id} has back-to-back fulfillments of the same items")
    problems += [f"user {u.user_id} lists orders {u.orders} but owns {owned[u.user_id]}"
                 for u in db.users.values() if u.orders != owned[u.user_id]]
    for kind, values in _unique_values(db).items():
        problems += [f"{kind} {value} appears {count} times" for value, count in Counter(values).items() if count > 1]
    if problems:
        more = f" (and {len(problems) - 1} more problems)" if len(problems) > 1 else ""
        raise Tau2ImportError(f"not a consistent tau2 retail database: {problems[0]}{more}")


def _keyed_ids(db: _Database) -> list[tuple[str, str, str]]:
    """``(kind, dict key, id inside the value)`` for every keyed entry."""
    users = db.users.values()
    return [
        *(("user", key, user.user_id) for key, user in db.users.items()),
        *(("product", key, product.product_id) for key, product in db.products.items()),
        *(("order", key, order.order_id) for key, order in db.orders.items()),
        *(("item", key, v.item_id) for product in db.products.values() for key, v in product.variants.items()),
        *(("payment method", key, m.id) for user in users for key, m in user.payment_methods.items()),
    ]


def _unique_values(db: _Database) -> dict[str, list[str]]:
    return {
        "email": [user.email for user in db.users.values()],
        "payment method": [key for user in db.users.values() for key in user.payment_methods],
        "item": [key for product in db.products.values() for key in product.variants],
    }


def _money(value: float) -> Decimal:
    return Decimal(repr(value)).quantize(_CENT)


def _rows(db: _Database, now: datetime) -> dict[type[Base], list[dict[str, Any]]]:
    """Row dicts per table, parents first; payments in database order (the export relies on it)."""
    rows: dict[type[Base], list[dict[str, Any]]] = {
        model: [] for model in (Product, Variant, Customer, PaymentMethod, Order, OrderItem, Fulfillment, Payment)
    }
    for product in db.products.values():
        rows[Product].append({"id": product.product_id, "name": product.name, "category": None})
        rows[Variant] += [{"item_id": v.item_id, "product_id": product.product_id, "options": v.options,
                           "available": v.available, "price": _money(v.price)} for v in product.variants.values()]
    for user in db.users.values():
        rows[Customer].append({"id": user.user_id, "first_name": user.name.first_name, "last_name": user.name.last_name,
                               "email": user.email, "address": user.address.model_dump(), "password_hash": None})
        rows[PaymentMethod] += [_method_row(user.user_id, method) for method in user.payment_methods.values()]
    for order in db.orders.values():
        _order_rows(order, now, rows)
    return rows


def _method_row(user_id: str, method: _CreditCard | _GiftCard | _PayPal) -> dict[str, Any]:
    return {
        "id": method.id,
        "customer_id": user_id,
        "source": method.source,
        "brand": method.brand if isinstance(method, _CreditCard) else None,
        "last_four": method.last_four if isinstance(method, _CreditCard) else None,
        "balance": _money(method.balance) if isinstance(method, _GiftCard) else None,
    }


def _order_rows(order: _Order, now: datetime, rows: dict[type[Base], list[dict[str, Any]]]) -> None:
    oid = order.order_id
    rows[Order].append({
        "id": oid, "customer_id": order.user_id, "status": order.status, "address": order.address.model_dump(),
        "placed_at": None, "shipped_at": None, "delivered_at": now if order.status in _DELIVERED else None,
        "extra": dict(order.model_extra or {}),
    })
    rows[OrderItem] += [{"order_id": oid, "position": i, "item_id": item.item_id, "product_id": item.product_id,
                         "name": item.name, "price": _money(item.price), "options": item.options}
                        for i, item in enumerate(order.items)]
    rows[Fulfillment] += [{"order_id": oid, "tracking_id": tracking_id, "carrier": None, "item_ids": f.item_ids}
                          for f in order.fulfillments for tracking_id in f.tracking_id]
    rows[Payment] += [{"order_id": oid, "position": i, "transaction_type": p.transaction_type,
                       "amount": _money(p.amount), "payment_method_id": p.payment_method_id}
                      for i, p in enumerate(order.payment_history)]


def _wipe(session: Session) -> None:
    present = set(inspect(session.connection()).get_table_names())
    for table in reversed(Base.metadata.sorted_tables):
        if table.name in present:
            session.execute(delete(table))


# --- export ------------------------------------------------------------------------------------


def export_tau2(store: Store) -> dict[str, Any]:
    """The store as a tau2 retail database: ``users``, ``products`` and ``orders`` keyed by id."""
    with store.session() as session:
        products = _export_products(session)
        orders = _export_orders(session)
        users = _export_users(session, orders)
    return {"products": products, "users": users, "orders": orders}


def _all(session: Session, model: type[Base], *order_by: Any) -> list[Any]:
    return list(session.execute(select(model.__table__).order_by(*order_by)).mappings())


def _number(value: Decimal | None) -> float | None:
    return None if value is None else round(float(value), 2)


def _export_products(session: Session) -> dict[str, Any]:
    variants: dict[str, dict[str, Any]] = defaultdict(dict)
    for v in _all(session, Variant, Variant.item_id):
        variants[v["product_id"]][v["item_id"]] = {"item_id": v["item_id"], "options": v["options"],
                                                   "available": v["available"], "price": _number(v["price"])}
    return {p["id"]: {"name": p["name"], "product_id": p["id"], "variants": variants[p["id"]]}
            for p in _all(session, Product, Product.id)}


def _export_users(session: Session, orders: dict[str, Any]) -> dict[str, Any]:
    methods: dict[str, dict[str, Any]] = defaultdict(dict)
    for m in _all(session, PaymentMethod, PaymentMethod.id):
        methods[m["customer_id"]][m["id"]] = _export_method(m)
    owned: dict[str, list[str]] = defaultdict(list)
    for order in orders.values():
        owned[order["user_id"]].append(order["order_id"])
    return {
        c["id"]: {"user_id": c["id"], "name": {"first_name": c["first_name"], "last_name": c["last_name"]},
                  "address": c["address"], "email": c["email"], "payment_methods": methods[c["id"]],
                  "orders": owned[c["id"]]}
        for c in _all(session, Customer, Customer.id)
    }


def _export_method(m: Any) -> dict[str, Any]:
    method = {"source": m["source"], "id": m["id"]}
    if m["source"] == "credit_card":
        method |= {"brand": m["brand"], "last_four": m["last_four"]}
    elif m["source"] == "gift_card":
        method["balance"] = _number(m["balance"])
    return method


def _export_orders(session: Session) -> dict[str, Any]:
    """Orders in import order: by their first payment line, then (orders without payments) by id."""
    children: dict[str, dict[str, list[Any]]] = defaultdict(lambda: defaultdict(list))
    for model, key in ((OrderItem, OrderItem.position), (Fulfillment, Fulfillment.id), (Payment, Payment.position)):
        for row in _all(session, model, key, model.id):
            children[row["order_id"]][model.__tablename__].append(row)
    first_payment = {oid: min(p["id"] for p in kids["payments"]) for oid, kids in children.items() if kids["payments"]}
    rows = sorted(_all(session, Order), key=lambda o: (first_payment.get(o["id"], float("inf")), o["id"]))
    return {o["id"]: _export_order(o, children[o["id"]]) for o in rows}


def _export_order(order: Any, kids: dict[str, list[Any]]) -> dict[str, Any]:
    return {
        "order_id": order["id"],
        "user_id": order["customer_id"],
        "address": order["address"],
        "items": [{"name": i["name"], "product_id": i["product_id"], "item_id": i["item_id"],
                   "price": _number(i["price"]), "options": i["options"]} for i in kids["order_items"]],
        "status": order["status"],
        "fulfillments": _export_fulfillments(kids["fulfillments"]),
        "payment_history": [{"transaction_type": p["transaction_type"], "amount": _number(p["amount"]),
                             "payment_method_id": p["payment_method_id"]} for p in kids["payments"]],
        **order["extra"],
    }


def _export_fulfillments(rows: list[Any]) -> list[dict[str, Any]]:
    """Back-to-back rows with the same items are one tau2 fulfillment with several tracking ids."""
    fulfillments: list[dict[str, Any]] = []
    for row in rows:
        if fulfillments and fulfillments[-1]["item_ids"] == row["item_ids"]:
            fulfillments[-1]["tracking_id"].append(row["tracking_id"])
        else:
            fulfillments.append({"tracking_id": [row["tracking_id"]], "item_ids": row["item_ids"]})
    return fulfillments
