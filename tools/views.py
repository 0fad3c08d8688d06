"""What tools return: the customer-visible shape of store rows."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from pydantic import BaseModel

from tools.store.models import Customer, Fulfillment, Order, PaymentMethod, Product


class ItemView(BaseModel):
    item_id: str
    product_id: str
    name: str
    price: Decimal
    options: dict[str, Any]


class TrackingView(BaseModel):
    tracking_id: str
    carrier: str | None
    item_ids: list[str]
    last_event: str | None
    last_event_at: datetime | None
    events: list[dict[str, Any]]


class PaymentView(BaseModel):
    transaction_type: str
    amount: Decimal
    payment_method_id: str


class OrderView(BaseModel):
    """An order as its owner may see it."""

    order_id: str
    status: str
    placed_at: datetime | None
    shipped_at: datetime | None
    delivered_at: datetime | None
    items: list[ItemView]
    total: Decimal
    address: dict[str, Any]
    payments: list[PaymentView]
    tracking: list[TrackingView]
    details: dict[str, Any]
    """What changes recorded on the order (cancel reason, returned or exchanged items...)."""


class OrderList(BaseModel):
    orders: list[OrderView]


class PaymentMethodView(BaseModel):
    payment_method_id: str
    source: str
    description: str
    """``Visa ending 1234``, ``PayPal`` or ``gift card (balance $20.00)``."""


class CustomerView(BaseModel):
    customer_id: str
    name: str
    email: str
    address: dict[str, Any]
    payment_methods: list[PaymentMethodView]
    order_ids: list[str]


class ProductView(BaseModel):
    product_id: str
    name: str
    variants: list[dict[str, Any]]


def order_view(order: Order) -> OrderView:
    return OrderView(
        order_id=order.id,
        status=order.status,
        placed_at=order.placed_at,
        shipped_at=order.shipped_at,
        delivered_at=order.delivered_at,
        items=[ItemView(item_id=i.item_id, product_id=i.product_id, name=i.name, price=i.price, options=i.options)
               for i in order.items],
        total=sum((item.price for item in order.items), Decimal("0")),
        address=order.address,
        payments=[PaymentView(transaction_type=p.transaction_type, amount=p.amount,
                              payment_method_id=p.payment_method_id) for p in order.payments],
        tracking=[tracking_view(f) for f in order.fulfillments],
        details=dict(order.extra),
    )


def tracking_view(fulfillment: Fulfillment) -> TrackingView:
    last = fulfillment.events[-1] if fulfillment.events else None
    return TrackingView(
        tracking_id=fulfillment.tracking_id,
        carrier=fulfillment.carrier,
        item_ids=list(fulfillment.item_ids),
        last_event=last.status if last else None,
        last_event_at=last.at if last else None,
        events=[{"at": e.at.isoformat(), "status": e.status, "location": e.location} for e in fulfillment.events],
    )


def describe_payment_method(method: PaymentMethod) -> str:
    if method.source == "credit_card":
        return f"{(method.brand or 'card').title()} ending {method.last_four}"
    if method.source == "gift_card":
        return f"gift card (balance ${method.balance or 0:.2f})"
    return method.source.replace("_", " ").title().replace("Paypal", "PayPal")


def customer_view(customer: Customer) -> CustomerView:
    return CustomerView(
        customer_id=customer.id,
        name=customer.name,
        email=customer.email,
        address=customer.address,
        payment_methods=[PaymentMethodView(payment_method_id=m.id, source=m.source,
                                           description=describe_payment_method(m))
                         for m in customer.payment_methods],
        order_ids=[o.id for o in customer.orders],
    )


def product_view(product: Product) -> ProductView:
    return ProductView(
        product_id=product.id,
        name=product.name,
        variants=[{"item_id": v.item_id, "options": v.options, "available": v.available, "price": float(v.price)}
                  for v in product.variants],
    )
