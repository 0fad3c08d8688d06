"""How an order is told to the customer by code (the template the model's wording falls back to): the status
first, with what it means, counts in words, no template artefacts."""

from __future__ import annotations

from typing import Any

import pytest

from agent.replies import describe_order, describe_orders

ITEM = {"name": "Coffee Maker", "options": {}}


def order(status: str, items: int = 1) -> dict[str, Any]:
    names = ["Coffee Maker", "T-Shirt", "Water Bottle"][:items]
    return {"order_id": "#W4821002", "status": status, "items": [{**ITEM, "name": n} for n in names],
            "total": "114.22", "placed_at": "2026-11-30T10:00:00", "tracking": [], "shipped_at": None,
            "delivered_at": None}


@pytest.mark.parametrize(("status", "meaning"), [
    ("pending", "can still be cancelled"),
    ("pending (item modified)", "can still be cancelled"),
    ("processed", "It hasn't shipped yet"),
    ("cancelled", "within 5 business days"),
    ("return requested", "return instructions we emailed you"),
])
def test_the_status_is_said_with_what_it_means(status: str, meaning: str) -> None:
    text = describe_order(order(status), refund_days=5)
    assert text.startswith(f"Order #W4821002 is {status}. ") and meaning in text


def test_counts_and_lists_read_naturally() -> None:
    one, three = describe_order(order("processed"), refund_days=5), describe_order(order("processed", 3), refund_days=5)
    assert "It has 1 item: Coffee Maker, total $114.22, placed Nov 30, 2026." in one
    assert "It has 3 items: Coffee Maker, T-Shirt and Water Bottle" in three
    listed = describe_orders([order("pending", 2), order("processed")])
    assert "2 items" in listed and "1 item," in listed
    assert "(s)" not in one + three + listed
