"""Read-only views of the store for docs, tests and the command line."""

from __future__ import annotations

from decimal import Decimal

from pydantic import BaseModel
from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from tools.store.db import Store
from tools.store.demo import SHOWCASE_CUSTOMER_IDS
from tools.store.models import Customer, Order


class SampleOrder(BaseModel):
    """One order as ``sample`` shows it."""

    id: str
    status: str
    total: float
    """Sum of the item prices, rounded to cents."""
    placed_at: str | None
    """ISO 8601, UTC."""
    items: list[str]
    """Item (product) names."""


class SampleCustomer(BaseModel):
    """One customer and their orders, newest first."""

    id: str
    name: str
    email: str
    zip: str
    orders: list[SampleOrder]


def sample_customers(store: Store, *, count: int = 5) -> list[SampleCustomer]:
    """Up to ``count`` customers with their orders: the showcase customers first, then others by id."""
    with store.session() as session:
        ids = _sample_ids(session, count)
        query = select(Customer).where(Customer.id.in_(ids))
        loaded = session.scalars(query.options(selectinload(Customer.orders).selectinload(Order.items)))
        by_id = {customer.id: customer for customer in loaded}
        return [_sample_customer(by_id[customer_id]) for customer_id in ids]


def _sample_ids(session: Session, count: int) -> list[str]:
    present = set(session.scalars(select(Customer.id).where(Customer.id.in_(SHOWCASE_CUSTOMER_IDS))))
    showcase = [customer_id for customer_id in SHOWCASE_CUSTOMER_IDS if customer_id in present][:count]
    others = select(Customer.id).where(Customer.id.not_in(SHOWCASE_CUSTOMER_IDS)).order_by(Customer.id)
    return showcase + list(session.scalars(others.limit(count - len(showcase))))


def _sample_customer(customer: Customer) -> SampleCustomer:
    return SampleCustomer(
        id=customer.id,
        name=customer.name,
        email=customer.email,
        zip=customer.address.get("zip", ""),
        orders=[_sample_order(order) for order in customer.orders],
    )


def _sample_order(order: Order) -> SampleOrder:
    total = sum((item.price for item in order.items), Decimal(0))
    return SampleOrder(
        id=order.id,
        status=order.status,
        total=float(round(total, 2)),
        placed_at=order.placed_at.isoformat() if order.placed_at else None,
        items=[item.name for item in order.items],
    )
