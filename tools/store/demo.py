"""Deterministic demo data in tau2-bench-retail's shape: a catalogue, customers and their order history.

Everything except the dates comes from ``random.Random(seed)``, so two runs give identical rows; dates count
back from ``today`` so return and refund windows stay meaningful whenever the data is created.
"""

from __future__ import annotations

import logging
import random
import time as clock
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from itertools import product as cartesian
from typing import Any

from pydantic import BaseModel, ConfigDict

from tools.policy import load_policy
from tools.store.db import Store
from tools.store.models import (
    Customer,
    Fulfillment,
    Order,
    OrderItem,
    Payment,
    PaymentMethod,
    Product,
    TrackingEvent,
    Variant,
)

log = logging.getLogger(__name__)

CUSTOMER_COUNT = 220
ORDER_COUNT = 1100
STATUS_WEIGHTS = {
    "delivered": 40,
    "pending": 14,
    "processed": 14,
    "shipped": 12,
    "cancelled": 10,
    "return requested": 10,
}
"""Share of each status among generated orders; delivered is the most common."""

_CATALOGUE: tuple[tuple[str, str, float, dict[str, tuple[str, ...]]], ...] = (
    ("Wireless Earbuds", "electronics", 129.99, {"color": ("black", "white", "blue"), "battery": ("6h", "8h")}),
    ("Bluetooth Speaker", "electronics", 89.0, {"color": ("black", "red", "blue"), "waterproof": ("yes", "no")}),
    ("Smart Watch", "electronics", 249.0, {"color": ("black", "silver", "gold"), "band": ("silicone", "leather")}),
    ("Tablet", "electronics", 399.0, {"screen size": ("8-inch", "10-inch"), "storage": ("64GB", "128GB", "256GB")}),
    ("Portable Charger", "electronics", 39.99, {"capacity": ("10000mAh", "20000mAh"), "color": ("black", "white")}),
    ("Desk Lamp", "home", 45.5, {"color": ("black", "white", "brass"), "brightness": ("low", "medium", "high")}),
    ("Coffee Maker", "home", 119.0, {"capacity": ("4 cups", "8 cups", "12 cups"), "type": ("drip", "espresso")}),
    ("Throw Blanket", "home", 59.0, {"material": ("cotton", "wool", "fleece"), "color": ("grey", "beige", "green")}),
    ("Water Bottle", "home", 24.0, {"capacity": ("500ml", "750ml", "1000ml"), "material": ("steel", "glass")}),
    ("Cookware Set", "home", 189.0, {"pieces": ("5", "10"), "material": ("stainless steel", "non-stick")}),
    ("Office Chair", "home", 289.0, {"color": ("black", "grey"), "armrest": ("fixed", "adjustable")}),
    ("T-Shirt", "apparel", 22.0, {"color": ("black", "white", "navy"), "size": ("S", "M", "L", "XL")}),
    ("Running Shoes", "apparel", 110.0, {"size": ("8", "9", "10", "11"), "color": ("black", "white", "red")}),
    ("Rain Jacket", "apparel", 135.0, {"size": ("S", "M", "L"), "color": ("yellow", "navy", "olive")}),
    ("Hoodie", "apparel", 55.0, {"size": ("S", "M", "L", "XL"), "color": ("grey", "black")}),
    ("Backpack", "apparel", 75.0, {"color": ("black", "green", "grey"), "size": ("small", "large")}),
    ("Gift Card", "gift cards", 0.0, {"amount": ("25", "50", "100"), "delivery": ("email", "print")}),
    ("Electric Toothbrush", "personal care", 69.0, {"color": ("white", "black"), "brush heads": ("1", "3")}),
    ("Hair Dryer", "personal care", 79.0, {"power": ("1200W", "1800W"), "color": ("black", "pink")}),
    ("Shaving Kit", "personal care", 34.0, {"blade": ("safety", "cartridge"), "scent": ("none", "cedar")}),
)
"""Product name, category, list price (gift cards cost their ``amount``) and the options variants draw from."""

# fmt: off
_FIRST_NAMES = (
    "Noah", "Emma", "Liam", "Ava", "Mason", "Mia", "Lucas", "Amelia", "Ethan", "Harper", "Yusuf", "Fatima", "Omar",
    "Aisha", "Mei", "Raj", "Priya", "Sofia", "Mateo", "Lucia", "Diego", "Isabella", "James", "Olivia", "Daniel",
    "Chloe", "Ivan", "Anya", "Kenji", "Yuki", "Amara", "Kwame", "Lena", "Jonas", "Sara", "Ali", "Hana", "Leo", "Nora",
)
_LAST_NAMES = (
    "Brown", "Smith", "Johnson", "Garcia", "Martinez", "Lee", "Kim", "Nguyen", "Patel", "Khan", "Ahmed", "Silva",
    "Santos", "Rossi", "Muller", "Novak", "Ivanov", "Tanaka", "Sato", "Wang", "Li", "Chen", "Lopez", "Gonzalez",
    "Hernandez", "Wilson", "Anderson", "Thomas", "Moore", "Taylor", "Jackson", "White", "Harris", "Clark", "Lewis",
    "Walker", "Young", "Hall", "Allen", "Wright",
)
_STREETS = (
    "Sunset Drive", "Maple Avenue", "Oak Street", "Pine Lane", "Cedar Road", "River Road", "Elm Street",
    "Hillcrest Drive", "Lakeview Avenue", "Park Place", "Willow Lane", "Main Street", "Chestnut Street",
)
# fmt: on
_CITIES = (
    ("Denver", "CO", "802"),
    ("Austin", "TX", "787"),
    ("Seattle", "WA", "981"),
    ("Chicago", "IL", "606"),
    ("New York", "NY", "100"),
    ("Phoenix", "AZ", "850"),
    ("Columbus", "OH", "432"),
    ("Charlotte", "NC", "282"),
    ("San Diego", "CA", "921"),
    ("Portland", "OR", "972"),
    ("Boston", "MA", "021"),
    ("Philadelphia", "PA", "191"),
)
_HUBS = ("Memphis, TN", "Louisville, KY", "Indianapolis, IN", "Dallas, TX", "Ontario, CA", "Newark, NJ")
_WAREHOUSE = "Columbus, OH"
_CARRIERS = ("UPS", "FedEx", "USPS", "DHL")
_CARD_BRANDS = ("visa", "mastercard", "amex", "discover")
_TRACKING_STEPS = ("label created", "picked up", "in transit", "out for delivery", "delivered")
_DAYS_AGO = {
    "delivered": (1, 120),
    "return requested": (2, 25),
    "shipped": (1, 4),
    "cancelled": (3, 90),
    "processed": (2, 6),
    "pending": (1, 3),
}
"""Range of ``_OrderSpec.days_ago`` for generated orders of each status."""


class DemoSummary(BaseModel):
    """How many rows of each kind the demo data holds."""

    model_config = ConfigDict(frozen=True)

    products: int
    variants: int
    customers: int
    payment_methods: int
    orders: int
    order_items: int
    fulfillments: int
    tracking_events: int
    payments: int
    orders_by_status: dict[str, int]


@dataclass(frozen=True)
class _OrderSpec:
    id: str
    status: str
    days_ago: int
    """Days since delivery (delivered, return requested), shipping (shipped) or placing (the rest)."""
    products: tuple[str, ...] = ()
    """Showcase only: product names; each order line is the product's first variant."""


@dataclass(frozen=True)
class _CustomerSpec:
    id: str
    first_name: str
    last_name: str
    city: int
    """Index into ``_CITIES``."""
    payment_kinds: tuple[str, ...]
    flags: dict[str, Any] = field(default_factory=dict)
    orders: tuple[_OrderSpec, ...] = ()
    """Showcase only: the customer's orders."""


@dataclass(frozen=True)
class _Timeline:
    placed: datetime
    shipped: datetime | None
    delivered: datetime | None


_SHOWCASE = (
    _CustomerSpec(
        "olivia_martin_4821", "Olivia", "Martin", 1, ("credit_card", "paypal"),
        orders=(
            _OrderSpec("#W4821001", "delivered", 5, ("Wireless Earbuds", "Electric Toothbrush")),
            _OrderSpec("#W4821002", "processed", 2, ("Coffee Maker",)),
            _OrderSpec("#W4821003", "pending", 1, ("T-Shirt", "Water Bottle")),
        ),
    ),
    _CustomerSpec(
        "liam_chen_3057", "Liam", "Chen", 2, ("credit_card", "gift_card"), {"vip": True},
        orders=(
            _OrderSpec("#W3057001", "shipped", 2, ("Smart Watch",)),
            _OrderSpec("#W3057002", "delivered", 10, ("Running Shoes", "Hoodie")),
        ),
    ),
    _CustomerSpec(
        "sofia_patel_7394", "Sofia", "Patel", 4, ("paypal",), {"at_risk": True},
        orders=(
            _OrderSpec("#W7394001", "cancelled", 6, ("Tablet",)),
            _OrderSpec("#W7394002", "delivered", 45, ("Desk Lamp",)),
        ),
    ),
    _CustomerSpec(
        "ethan_walker_2260", "Ethan", "Walker", 0, ("credit_card",),
        orders=(
            _OrderSpec("#W2260001", "delivered", 29, ("Backpack",)),
            _OrderSpec("#W2260002", "delivered", 30, ("Rain Jacket",)),
            _OrderSpec("#W2260003", "delivered", 31, ("Bluetooth Speaker",)),
            _OrderSpec("#W2260004", "return requested", 12, ("Throw Blanket", "Portable Charger")),
        ),
    ),
)  # fmt: skip
"""Customers that always exist with known orders, for docs and tests: a mix of statuses (0), a package on its
way and a recent delivery (1), a cancellation and an old delivery (2), deliveries on both edges of a 30-day
window and a return in progress (3)."""
SHOWCASE_CUSTOMER_IDS = tuple(customer.id for customer in _SHOWCASE)
"""Ids of the showcase customers, in order."""


def seed_demo_data(store: Store, *, today: date | None = None, seed: int = 42) -> DemoSummary:
    """Insert the demo catalogue, customers and orders in one transaction (the store must be empty)."""
    started = clock.perf_counter()
    products, customers, orders = _Builder(random.Random(seed), today or datetime.now(UTC).date()).build()
    with store.session() as session:
        session.add_all([*products, *customers, *orders])
    summary = _summarize(products, customers, orders)
    seconds = clock.perf_counter() - started
    log.info("seeded %d customers and %d orders in %.2fs", summary.customers, summary.orders, seconds)
    return summary


def ensure_demo_data(store: Store, *, today: date | None = None, seed: int = 42) -> bool:
    """Create the schema and seed the demo data if the store has no customers; return whether it seeded."""
    store.migrate()
    if not store.is_empty():
        return False
    seed_demo_data(store, today=today, seed=seed)
    return True


def _summarize(products: list[Product], customers: list[Customer], orders: list[Order]) -> DemoSummary:
    fulfillments = [f for order in orders for f in order.fulfillments]
    return DemoSummary(
        products=len(products),
        variants=sum(len(p.variants) for p in products),
        customers=len(customers),
        payment_methods=sum(len(c.payment_methods) for c in customers),
        orders=len(orders),
        order_items=sum(len(o.items) for o in orders),
        fulfillments=len(fulfillments),
        tracking_events=sum(len(f.events) for f in fulfillments),
        payments=sum(len(o.payments) for o in orders),
        orders_by_status=dict(Counter(o.status for o in orders).most_common()),
    )


class _Builder:
    """Builds every demo row from one seeded generator; ids are unique across kinds."""

    def __init__(self, rng: random.Random, today: date) -> None:
        self.rng = rng
        self.today = today
        self.used: set[str] = {c.id for c in _SHOWCASE} | {o.id for c in _SHOWCASE for o in c.orders}
        policy = load_policy()
        self.cancel_reasons = policy.cancellation_reasons
        self.products = [self._product(*entry) for entry in _CATALOGUE]
        self.by_name = {p.name: p for p in self.products}
        self.variants = [(p, v) for p in self.products for v in p.variants]
        self.returnable = [(p, v) for p, v in self.variants if p.category not in policy.final_sale_categories]

    def build(self) -> tuple[list[Product], list[Customer], list[Order]]:
        customers = [self._customer(spec) for spec in _SHOWCASE]
        orders = [self._showcase_order(c, spec) for c, s in zip(customers, _SHOWCASE, strict=True) for spec in s.orders]
        others = [self._customer(self._random_customer()) for _ in range(CUSTOMER_COUNT - len(_SHOWCASE))]
        for customer, count in zip(others, self._order_counts(len(others), len(orders)), strict=True):
            orders += [self._random_order(customer) for _ in range(count)]
        return self.products, customers + others, orders

    # --- ids and dates ---------------------------------------------------------------------

    def _unique(self, prefix: str, digits: int) -> str:
        while True:
            candidate = f"{prefix}{self.rng.randrange(10 ** (digits - 1), 10**digits)}"
            if candidate not in self.used:
                self.used.add(candidate)
                return candidate

    def _days_ago(self, days: int) -> datetime:
        """A time between 08:00 and 19:59 on the date ``days`` before today."""
        moment = time(self.rng.randint(8, 19), self.rng.randint(0, 59))
        return datetime.combine(self.today - timedelta(days=days), moment)

    def _hours(self, low: int, high: int) -> timedelta:
        return timedelta(hours=self.rng.randint(low, high), minutes=self.rng.randint(0, 59))

    # --- catalogue -------------------------------------------------------------------------

    def _product(self, name: str, category: str, price: float, options: dict[str, tuple[str, ...]]) -> Product:
        combos = [dict(zip(options, values, strict=True)) for values in cartesian(*options.values())]
        chosen = self.rng.sample(combos, min(len(combos), self.rng.randint(3, 6)))
        variants = [self._variant(price, combo) for combo in chosen]
        return Product(id=self._unique("", 10), name=name, category=category, variants=variants)

    def _variant(self, list_price: float, options: dict[str, str]) -> Variant:
        if "amount" in options:
            price = Decimal(options["amount"])
        else:
            price = Decimal(f"{list_price * self.rng.uniform(0.9, 1.15):.2f}")
        available = self.rng.random() < 0.85
        return Variant(item_id=self._unique("", 10), options=options, available=available, price=price)

    # --- customers -------------------------------------------------------------------------

    def _random_customer(self) -> _CustomerSpec:
        first, last = self.rng.choice(_FIRST_NAMES), self.rng.choice(_LAST_NAMES)
        roll = self.rng.random()
        flags = {"vip": True} if roll < 0.04 else {"at_risk": True} if roll < 0.07 else {}
        kinds = tuple(self.rng.sample(("credit_card", "paypal", "gift_card"), self.rng.randint(1, 3)))
        customer_id = self._unique(f"{first}_{last}_".lower(), 4)
        return _CustomerSpec(customer_id, first, last, self.rng.randrange(len(_CITIES)), kinds, flags)

    def _customer(self, spec: _CustomerSpec) -> Customer:
        return Customer(
            id=spec.id,
            first_name=spec.first_name,
            last_name=spec.last_name,
            email=f"{spec.first_name}.{spec.last_name}{spec.id.rsplit('_', 1)[1]}@example.com".lower(),
            address=self._address(spec.city),
            password_hash=None,
            flags=dict(spec.flags),
            created_at=self._days_ago(self.rng.randint(120, 1500)),
            payment_methods=[self._payment_method(kind) for kind in spec.payment_kinds],
        )

    def _address(self, city: int) -> dict[str, str]:
        name, state, zip_prefix = _CITIES[city]
        suite = self.rng.random() < 0.4
        return {
            "address1": f"{self.rng.randint(10, 999)} {self.rng.choice(_STREETS)}",
            "address2": f"Suite {self.rng.randint(100, 999)}" if suite else "",
            "city": name,
            "state": state,
            "country": "USA",
            "zip": f"{zip_prefix}{self.rng.randint(0, 99):02d}",
        }

    def _payment_method(self, kind: str) -> PaymentMethod:
        method = PaymentMethod(id=self._unique(f"{kind}_", 7), source=kind)
        if kind == "credit_card":
            method.brand = self.rng.choice(_CARD_BRANDS)
            method.last_four = f"{self.rng.randint(0, 9999):04d}"
        elif kind == "gift_card":
            method.balance = Decimal(self.rng.randint(0, 25000)) / 100
        return method

    # --- orders ----------------------------------------------------------------------------

    def _order_counts(self, customers: int, existing: int) -> list[int]:
        """At least one order each; the rest spread at random so some customers order a lot."""
        counts = [1] * customers
        for _ in range(ORDER_COUNT - existing - customers):
            counts[self.rng.randrange(customers)] += 1
        return counts

    def _random_order(self, customer: Customer) -> Order:
        status = self.rng.choices(list(STATUS_WEIGHTS), weights=list(STATUS_WEIGHTS.values()))[0]
        pool = self.returnable if status == "return requested" else self.variants
        lines = self.rng.sample(pool, self.rng.randint(1, 4))
        days = self.rng.randint(*_DAYS_AGO[status])
        return self._order(customer, _OrderSpec(self._unique("#W", 7), status, days), lines=lines)

    def _showcase_order(self, customer: Customer, spec: _OrderSpec) -> Order:
        lines = [(self.by_name[name], self.by_name[name].variants[0]) for name in spec.products]
        return self._order(customer, spec, lines=lines)

    def _order(self, customer: Customer, spec: _OrderSpec, *, lines: list[tuple[Product, Variant]]) -> Order:
        when = self._timeline(spec.status, spec.days_ago)
        method = self.rng.choice(customer.payment_methods)
        items = [
            OrderItem(position=i, item_id=v.item_id, product_id=p.id, name=p.name, price=v.price, options=v.options)
            for i, (p, v) in enumerate(lines)
        ]
        return Order(
            id=spec.id,
            customer_id=customer.id,
            status=spec.status,
            address=dict(customer.address),
            placed_at=when.placed,
            shipped_at=when.shipped,
            delivered_at=when.delivered,
            extra=self._extra(spec.status, items, method),
            items=items,
            payments=self._payments(spec.status, items, method, when),
            fulfillments=[] if spec.status in ("pending", "cancelled") else [self._fulfillment(customer, items, when)],
        )

    def _timeline(self, status: str, days: int) -> _Timeline:
        """When the order was placed, shipped and delivered, counting back from ``days`` ago."""
        if status in ("delivered", "return requested"):
            delivered = self._days_ago(days)
            shipped = delivered - timedelta(days=self.rng.randint(2, 5)) - self._hours(0, 6)
            return _Timeline(shipped - timedelta(days=self.rng.randint(1, 2)), shipped, delivered)
        if status == "shipped":
            shipped = self._days_ago(days)
            return _Timeline(shipped - timedelta(days=self.rng.randint(1, 2)), shipped, None)
        return _Timeline(self._days_ago(days), None, None)

    def _payments(self, status: str, items: list[OrderItem], method: PaymentMethod, when: _Timeline) -> list[Payment]:
        total = sum((item.price for item in items), Decimal(0))
        rows = [Payment(position=0, transaction_type="payment", amount=total, created_at=when.placed)]
        if status == "cancelled":
            refunded = when.placed + self._hours(1, 20)
            rows.append(Payment(position=1, transaction_type="refund", amount=total, created_at=refunded))
        for row in rows:
            row.payment_method_id = method.id
        return rows

    def _extra(self, status: str, items: list[OrderItem], method: PaymentMethod) -> dict[str, Any]:
        if status == "cancelled":
            return {"cancel_reason": self.rng.choice(self.cancel_reasons)}
        if status == "return requested":
            return {"return_items": [item.item_id for item in items], "return_payment_method_id": method.id}
        return {}

    def _fulfillment(self, customer: Customer, items: list[OrderItem], when: _Timeline) -> Fulfillment:
        home = f"{customer.address['city']}, {customer.address['state']}"
        return Fulfillment(
            tracking_id=self._unique("", 12),
            carrier=self.rng.choice(_CARRIERS),
            item_ids=[item.item_id for item in items],
            events=[TrackingEvent(status=s, at=at, location=where) for s, at, where in self._tracking(when, home)],
        )

    def _tracking(self, when: _Timeline, home: str) -> list[tuple[str, datetime, str]]:
        """The tracking steps reached so far; a processed order only has its label."""
        label = when.placed + self._hours(2, 20)
        if when.shipped is None:
            return [(_TRACKING_STEPS[0], label, _WAREHOUSE)]
        steps = [(min(label, when.shipped - timedelta(hours=1)), _WAREHOUSE), (when.shipped, _WAREHOUSE)]
        in_transit = when.shipped + self._hours(14, 30)
        if when.delivered is not None:
            steps += [
                (min(in_transit, when.delivered - timedelta(hours=6)), self.rng.choice(_HUBS)),
                (when.delivered - self._hours(1, 4), home),
                (when.delivered, home),
            ]
        elif in_transit.date() < self.today:
            steps.append((in_transit, self.rng.choice(_HUBS)))
        return [(name, at, where) for name, (at, where) in zip(_TRACKING_STEPS, steps, strict=False)]
