"""The demo data: deterministic, large enough, covering every status, and reachable from the command line."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections import Counter
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from tools.store import Store
from tools.store.demo import SHOWCASE_CUSTOMER_IDS, DemoSummary, ensure_demo_data, seed_demo_data
from tools.store.models import Base, Customer, Fulfillment, Order, PaymentMethod
from tools.store.queries import sample_customers

TODAY = date(2025, 6, 15)
REPO = Path(__file__).resolve().parents[1]


def _store(path: Path) -> Store:
    store = Store(f"sqlite:///{path / 'store.db'}")
    store.migrate()
    return store


def _rows(store: Store) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table, in primary-key order."""
    with store.session() as session:
        return {
            table.name: [tuple(row) for row in session.execute(select(table).order_by(*table.primary_key))]
            for table in Base.metadata.sorted_tables
        }


@pytest.fixture(scope="module")
def seeded(tmp_path_factory: pytest.TempPathFactory) -> tuple[Store, DemoSummary]:
    store = _store(tmp_path_factory.mktemp("demo"))
    return store, seed_demo_data(store, today=TODAY)


@pytest.fixture(scope="module")
def orders(seeded: tuple[Store, DemoSummary]) -> dict[str, Order]:
    store, _ = seeded
    loads = (
        selectinload(Order.items),
        selectinload(Order.payments),
        selectinload(Order.fulfillments).selectinload(Fulfillment.events),
    )
    with store.session() as session:
        return {order.id: order for order in session.scalars(select(Order).options(*loads))}


def test_same_seed_gives_identical_data(seeded: tuple[Store, DemoSummary], tmp_path: Path) -> None:
    first, _ = seeded
    again = _store(tmp_path / "again")
    seed_demo_data(again, today=TODAY)
    assert _rows(again) == _rows(first)

    other = _store(tmp_path / "other")
    seed_demo_data(other, today=TODAY, seed=7)
    assert _rows(other)["customers"] != _rows(first)["customers"]


def test_counts_and_status_coverage(seeded: tuple[Store, DemoSummary], orders: dict[str, Order]) -> None:
    _, summary = seeded
    statuses = Counter(order.status for order in orders.values())
    assert summary.customers >= 200
    assert summary.orders == len(orders) >= 1000
    assert summary.orders_by_status == dict(statuses)
    assert set(statuses) == {"pending", "processed", "shipped", "delivered", "cancelled", "return requested"}
    assert statuses.most_common(1)[0][0] == "delivered"
    assert summary.products >= 20
    assert all(1 <= len(order.items) <= 4 for order in orders.values())


def test_delivery_ages_span_a_thirty_day_window(orders: dict[str, Order]) -> None:
    ages = {(TODAY - o.delivered_at.date()).days for o in orders.values() if o.status == "delivered" and o.delivered_at}
    assert {5, 29, 30, 31, 45} <= ages
    assert min(ages) < 30 < max(ages)


def test_orders_are_consistent_with_their_status(orders: dict[str, Order]) -> None:
    for order in orders.values():
        paid = sum(item.price for item in order.items)
        kinds = [p.transaction_type for p in order.payments]
        assert order.payments[0].amount == paid
        assert kinds == (["payment", "refund"] if order.status == "cancelled" else ["payment"])
        events = [e.status for f in order.fulfillments for e in f.events]
        if order.status in ("delivered", "return requested"):
            assert events == ["label created", "picked up", "in transit", "out for delivery", "delivered"]
        elif order.status == "shipped":
            assert events[:2] == ["label created", "picked up"]
        if order.status in ("pending", "cancelled"):
            assert order.fulfillments == []
        assert all(event.at.date() < TODAY for f in order.fulfillments for event in f.events)


def test_ids_and_customers_look_like_tau2(seeded: tuple[Store, DemoSummary]) -> None:
    store, _ = seeded
    with store.session() as session:
        customers = session.scalars(select(Customer).options(selectinload(Customer.payment_methods))).all()
        sources = set(session.scalars(select(PaymentMethod.source)))
        order_ids = session.scalars(select(Order.id)).all()
        cards = session.scalars(select(PaymentMethod).where(PaymentMethod.source == "credit_card")).all()
    assert all(re.fullmatch(r"[a-z]+_[a-z]+_\d{4}", c.id) for c in customers)
    assert all(re.fullmatch(r"[a-z]+\.[a-z]+\d{4}@example\.com", c.email) for c in customers)
    assert all(re.fullmatch(r"\d{5}", c.address["zip"]) for c in customers)
    assert all(c.password_hash is None and c.payment_methods for c in customers)
    assert all(re.fullmatch(r"#W\d{7}", order_id) for order_id in order_ids)
    assert all(card.brand and card.last_four for card in cards)
    assert sources == {"credit_card", "paypal", "gift_card"}
    assert any(c.flags.get("vip") for c in customers) and any(c.flags.get("at_risk") for c in customers)


def test_showcase_customers(seeded: tuple[Store, DemoSummary], orders: dict[str, Order]) -> None:
    store, _ = seeded
    mine = {cid: {o.id: o.status for o in orders.values() if o.customer_id == cid} for cid in SHOWCASE_CUSTOMER_IDS}
    assert mine["olivia_martin_4821"] == {"#W4821001": "delivered", "#W4821002": "processed", "#W4821003": "pending"}
    assert mine["liam_chen_3057"] == {"#W3057001": "shipped", "#W3057002": "delivered"}
    assert mine["sofia_patel_7394"] == {"#W7394001": "cancelled", "#W7394002": "delivered"}
    assert orders["#W3057002"].delivered_at.date() == TODAY - timedelta(days=10)  # type: ignore[union-attr]
    in_transit = ["label created", "picked up", "in transit"]
    assert [e.status for e in orders["#W3057001"].fulfillments[0].events] == in_transit
    assert orders["#W7394001"].extra["cancel_reason"] in ("no longer needed", "ordered by mistake")
    with store.session() as session:
        assert session.get(Customer, "liam_chen_3057").flags == {"vip": True}  # type: ignore[union-attr]


def test_sample_lists_showcase_customers_first(seeded: tuple[Store, DemoSummary]) -> None:
    store, _ = seeded
    rows = sample_customers(store, count=6)
    assert [row.id for row in rows[:4]] == list(SHOWCASE_CUSTOMER_IDS)
    assert len(rows) == 6
    assert rows[0].name == "Olivia Martin"
    assert [order.id for order in rows[0].orders] == ["#W4821003", "#W4821002", "#W4821001"]


def test_ensure_demo_data_seeds_once(tmp_path: Path) -> None:
    store = Store(f"sqlite:///{tmp_path / 'nested' / 'store.db'}")
    assert ensure_demo_data(store, today=TODAY) is True
    assert ensure_demo_data(store, today=TODAY) is False
    with store.session() as session:
        assert session.scalar(select(func.count()).select_from(Customer)) >= 200


def test_cli_sample_json_prints_only_json(tmp_path: Path) -> None:
    env = {**os.environ, "SUPPORT_DATA_DIR": str(tmp_path), "SUPPORT_DATABASE_URL": "", "SUPPORT_SEED_DEMO_DATA": "1"}
    result = subprocess.run(
        [sys.executable, "-m", "tools.store", "sample", "--json"],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=120, check=True,
    )  # fmt: skip
    customers = json.loads(result.stdout)
    assert [c["id"] for c in customers[:3]] == list(SHOWCASE_CUSTOMER_IDS[:3])
    assert len(customers) == 5
    for customer in customers:
        assert set(customer) == {"id", "name", "email", "zip", "orders"}
        assert isinstance(customer["name"], str)
        for order in customer["orders"]:
            assert set(order) == {"id", "status", "total", "placed_at", "items"}
            assert isinstance(order["total"], float | int) and all(isinstance(i, str) for i in order["items"])
    assert sum(bool(c["orders"]) for c in customers) >= 2
    assert (tmp_path / "store.db").exists()
