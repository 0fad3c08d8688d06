"""The policy engine through the tool runner: every rule, its boundaries, the three outcomes, identity,
idempotency under concurrency, and bad input. Code decides; no model is involved."""

from __future__ import annotations

import threading
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import func, select

from tools import execute
from tools.policy import Policy, load_policy
from tools.store import Store
from tools.store.models import Order, OrderItem, PolicyException, Refund, ToolCall

OLIVIA, LIAM, SOFIA, ETHAN = "olivia_martin_4821", "liam_chen_3057", "sofia_patel_7394", "ethan_walker_2260"
POLICY = load_policy()


def run(store: Store, tool: str, customer: str | None, policy: Policy = POLICY, **arguments: Any):
    return execute(store, tool, arguments, policy=policy, conversation_id="test", customer_id=customer,
                   now=_now.get(store))


_now: dict[Store, Any] = {}


def at_day(store: Store, order_id: str, days: int) -> None:
    """Run the next calls ``days`` calendar days after the order's delivery (at the end of that day)."""
    with store.session() as session:
        delivered = session.get(Order, order_id).delivered_at
        _now[store] = delivered.replace(hour=23, minute=59) + timedelta(days=days)


def refunds(store: Store, order_id: str) -> list[Refund]:
    with store.session() as session:
        return list(session.scalars(select(Refund).where(Refund.order_id == order_id)))


def status(store: Store, order_id: str) -> str:
    with store.session() as session:
        return session.get(Order, order_id).status


def returning(store: Store, customer: str, order_id: str, method: str, *items: str):
    return run(store, "return_delivered_order_items", customer, order_id=order_id, item_ids=list(items),
               payment_method_id=method)


@pytest.mark.parametrize(("day", "outcome"), [(30, "done"), (31, "needs_approval"), (60, "needs_approval"),
                                              (61, "denied")])
def test_return_window_boundaries(fresh_store: Store, day: int, outcome: str) -> None:
    at_day(fresh_store, "#W2260001", day)
    result = returning(fresh_store, ETHAN, "#W2260001", "credit_card_4934149", "1955345537")
    assert result.outcome == outcome, result
    assert bool(refunds(fresh_store, "#W2260001")) == (outcome == "done")
    if outcome != "done":
        assert status(fresh_store, "#W2260001") == "delivered"
        assert result.rule == "return_window" and "30-day" in result.message


def _price(store: Store, order_id: str, price: str) -> None:
    with store.session() as session:
        session.scalars(select(OrderItem).where(OrderItem.order_id == order_id)).first().price = Decimal(price)


@pytest.mark.parametrize(("price", "outcome"), [("200.00", "done"), ("200.01", "needs_approval")])
def test_auto_refund_limit_boundary(fresh_store: Store, price: str, outcome: str) -> None:
    _price(fresh_store, "#W2260001", price)
    at_day(fresh_store, "#W2260001", 3)
    result = returning(fresh_store, ETHAN, "#W2260001", "credit_card_4934149", "1955345537")
    assert result.outcome == outcome
    if outcome == "needs_approval":
        assert result.rule == "refund_limit" and result.exception_id
        with fresh_store.session() as session:
            exception = session.get(PolicyException, result.exception_id)
            assert (exception.status, exception.tool, exception.rule) == ("pending", result.tool, "refund_limit")
            assert "200.01" in exception.detail


def test_an_approved_exception_runs_and_names_the_approver(fresh_store: Store) -> None:
    _price(fresh_store, "#W2260001", "450.00")
    at_day(fresh_store, "#W2260001", 3)
    args = {"order_id": "#W2260001", "item_ids": ["1955345537"], "payment_method_id": "credit_card_4934149"}
    result = execute(fresh_store, "return_delivered_order_items", args, policy=POLICY, conversation_id="test",
                     customer_id=ETHAN, approved_by="agent-7", now=_now[fresh_store])
    assert result.outcome == "done" and result.data["approved_by"] == "agent-7"
    with fresh_store.session() as session:
        audit = session.scalars(select(ToolCall).where(ToolCall.tool == result.tool)).all()[-1]
        assert (audit.actor, audit.policy_version) == ("staff:agent-7", POLICY.version)
    assert [r.approved_by for r in refunds(fresh_store, "#W2260001")] == ["agent-7"]


def test_final_sale_items_are_denied(fresh_store: Store) -> None:
    result = returning(fresh_store, OLIVIA, "#W4821001", "paypal_3237058", "9249648005")
    assert (result.outcome, result.rule) == ("denied", "final_sale")
    assert status(fresh_store, "#W4821001") == "delivered"


def test_refund_goes_only_to_the_original_method_or_a_gift_card(fresh_store: Store) -> None:
    result = returning(fresh_store, OLIVIA, "#W4821001", "credit_card_5180853", "9963334018")
    assert (result.outcome, result.rule) == ("denied", "refund_destination")


def test_one_refund_per_item_and_retries_are_idempotent(fresh_store: Store) -> None:
    first = returning(fresh_store, OLIVIA, "#W4821001", "paypal_3237058", "9963334018")
    again = returning(fresh_store, OLIVIA, "#W4821001", "paypal_3237058", "9963334018")
    assert first.outcome == again.outcome == "done"
    assert again.data["refund_amount"] == first.data["refund_amount"] == "124.24"
    assert len(refunds(fresh_store, "#W4821001")) == 1
    other = returning(fresh_store, OLIVIA, "#W4821001", "paypal_3237058", "9249648005")
    assert other.outcome == "denied"


def test_concurrent_identical_refunds_refund_exactly_once(fresh_store: Store) -> None:
    results: list[Any] = []
    barrier = threading.Barrier(8)

    def attempt() -> None:
        barrier.wait()
        results.append(returning(fresh_store, OLIVIA, "#W4821001", "paypal_3237058", "9963334018"))

    threads = [threading.Thread(target=attempt) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(refunds(fresh_store, "#W4821001")) == 1
    assert all(r.outcome in ("done", "failed") for r in results) and any(r.outcome == "done" for r in results)
    assert {r.data.get("refund_amount") for r in results if r.outcome == "done"} == {"124.24"}


@pytest.mark.parametrize(("order_id", "outcome", "rule"), [("#W4821003", "done", None),
                                                          ("#W4821002", "denied", "order_status")])
def test_only_pending_orders_can_be_cancelled(fresh_store: Store, order_id: str, outcome: str, rule: str) -> None:
    result = run(fresh_store, "cancel_pending_order", OLIVIA, order_id=order_id, reason="ordered by mistake")
    assert (result.outcome, result.rule) == (outcome, rule)
    if outcome == "done":
        assert result.data["status"] == "cancelled"
        assert [p["transaction_type"] for p in result.data["payments"]] == ["payment", "refund"]


def test_cancellation_needs_an_allowed_reason(fresh_store: Store) -> None:
    result = run(fresh_store, "cancel_pending_order", OLIVIA, order_id="#W4821003", reason="found it cheaper")
    assert result.outcome == "retry" and "no longer needed" in result.message
    assert status(fresh_store, "#W4821003") == "pending"


def test_address_changes_only_before_shipping(fresh_store: Store) -> None:
    address = {"address1": "1 New St", "address2": "", "city": "Austin", "state": "TX", "country": "USA",
               "zip": "78701"}
    assert run(fresh_store, "modify_pending_order_address", OLIVIA, order_id="#W4821003", **address).outcome == "done"
    shipped = run(fresh_store, "modify_pending_order_address", LIAM, order_id="#W3057001", **address)
    assert (shipped.outcome, shipped.rule) == ("denied", "order_status")


@pytest.mark.parametrize("tool", ["get_order_details", "get_tracking_details", "cancel_pending_order"])
def test_another_customers_order_is_answered_like_an_unknown_one(fresh_store: Store, tool: str) -> None:
    args = {"order_id": "#W4821003"} | ({"reason": "no longer needed"} if tool.startswith("cancel") else {})
    theirs = run(fresh_store, tool, LIAM, **args)
    unknown = run(fresh_store, tool, LIAM, **{**args, "order_id": "#W9999999"})
    assert theirs.outcome == unknown.outcome == "failed"
    assert theirs.message.replace("4821003", "N") == unknown.message.replace("9999999", "N")
    assert status(fresh_store, "#W4821003") == "pending"


def test_account_tools_need_an_identified_customer(fresh_store: Store) -> None:
    result = run(fresh_store, "get_order_details", None, order_id="#W4821003")
    assert (result.outcome, result.rule) == ("failed", "identity")
    assert run(fresh_store, "get_product_details", None, product_id="nope").outcome == "failed"


BAD_ARGUMENTS = [
    {"order_id": "1' OR '1'='1"},
    {"order_id": "#W" + "1" * 10_000},
    {"order_id": 1234567},
    {"order_id": None},
    {"order_id": "#W4821003", "customer_id": LIAM},
    {},
]


@pytest.mark.parametrize("arguments", BAD_ARGUMENTS)
def test_bad_arguments_are_a_clear_retry_and_write_nothing(fresh_store: Store, arguments: dict[str, Any]) -> None:
    with fresh_store.session() as session:
        before = session.scalar(select(func.count()).select_from(Refund)), status(fresh_store, "#W4821003")
    result = run(fresh_store, "cancel_pending_order", OLIVIA, reason="no longer needed", **arguments)
    assert result.outcome in ("retry", "failed") and result.message and "Traceback" not in result.message
    with fresh_store.session() as session:
        assert (session.scalar(select(func.count()).select_from(Refund)), status(fresh_store, "#W4821003")) == before


def test_every_call_is_audited_with_the_policy_version(fresh_store: Store) -> None:
    run(fresh_store, "get_order_details", OLIVIA, order_id="#W4821003")
    run(fresh_store, "cancel_pending_order", OLIVIA, order_id="#W4821002", reason="no longer needed")
    with fresh_store.session() as session:
        rows = session.scalars(select(ToolCall).order_by(ToolCall.id)).all()[-2:]
    assert [(r.tool, r.outcome, r.rule, r.policy_version, r.customer_id) for r in rows] == [
        ("get_order_details", "done", None, 1, OLIVIA),
        ("cancel_pending_order", "denied", "order_status", 1, OLIVIA),
    ]


def test_a_failure_half_way_leaves_the_store_as_it_was(fresh_store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    import tools.delivered_orders

    def explode(*_: object, **__: object) -> None:
        raise RuntimeError("disk full")

    monkeypatch.setattr(tools.delivered_orders, "_receipt", explode)  # fails after the refund rows were added
    with pytest.raises(RuntimeError):
        returning(fresh_store, OLIVIA, "#W4821001", "paypal_3237058", "9963334018")
    assert refunds(fresh_store, "#W4821001") == [] and status(fresh_store, "#W4821001") == "delivered"
