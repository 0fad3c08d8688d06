"""The human agents' desk over the store: queue, claims (one wins), the handoff package, closing."""

from __future__ import annotations

import threading

import pytest

from tools import desk, execute
from tools.desk import Conflict
from tools.policy import load_policy
from tools.store import Store

POLICY = load_policy()
SOFIA = "sofia_patel_7394"


def handoff(store: Store, conversation: str, customer: str | None, **args: object) -> int:
    arguments = {"reason": "customer asked for a human", "summary": "wants a person", **args}
    result = execute(store, "transfer_to_human", arguments, policy=POLICY, conversation_id=conversation,
                     customer_id=customer)
    assert result.outcome == "done"
    return int(result.data["handoff_id"])


def test_queue_is_ordered_by_priority_and_filtered(fresh_store: Store) -> None:
    normal = handoff(fresh_store, "c1", None, queue="orders")
    urgent = handoff(fresh_store, "c2", None, queue="billing", priority="urgent")
    high = handoff(fresh_store, "c3", None, queue="orders", priority="high")
    mine = {normal, urgent, high}

    def ids(**filters: str) -> list[int]:
        return [h.id for h in desk.list_queue(fresh_store, **filters) if h.id in mine]

    assert ids() == [urgent, high, normal]
    assert ids(queue="orders") == [high, normal]
    assert ids(priority="urgent") == [urgent]
    assert all(h.queue == "orders" for h in desk.list_queue(fresh_store, queue="orders"))


def test_two_agents_claiming_at_once_one_wins(fresh_store: Store) -> None:
    target = handoff(fresh_store, "c-race", None)
    winners, losers = [], []
    barrier = threading.Barrier(4)

    def attempt(staff: str) -> None:
        barrier.wait()
        try:
            winners.append(desk.claim(fresh_store, target, staff).claimed_by)
        except Conflict:
            losers.append(staff)

    threads = [threading.Thread(target=attempt, args=(f"agent-{i}",)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(winners) == 1 and len(losers) == 3
    assert desk.get_handoff(fresh_store, target).claimed_by == winners[0]
    assert desk.claim(fresh_store, target, winners[0]).claimed_by == winners[0]  # claiming again is harmless


def test_only_the_claimant_closes_and_the_bot_gets_it_back(fresh_store: Store) -> None:
    target = handoff(fresh_store, "c-close", None)
    desk.claim(fresh_store, target, "agent-1")
    assert desk.with_a_person(fresh_store, "c-close") is not None
    with pytest.raises(Conflict):
        desk.close(fresh_store, target, "agent-2", to="resolved")
    assert desk.close(fresh_store, target, "agent-1", to="returned").status == "returned"
    assert desk.with_a_person(fresh_store, "c-close") is None


def test_the_package_holds_the_whole_story(fresh_store: Store) -> None:
    late = execute(fresh_store, "return_delivered_order_items",
                   {"order_id": "#W7394002", "item_ids": ["8047877267"], "payment_method_id": "paypal_9745959"},
                   policy=POLICY, conversation_id="c-pkg", customer_id=SOFIA)
    target = handoff(fresh_store, "c-pkg", SOFIA, reason="approval needed", exception_id=late.exception_id)
    pkg = desk.package(fresh_store, target)
    assert pkg.customer is not None and pkg.customer.customer_id == SOFIA
    assert [o.order_id for o in pkg.orders_touched] == ["#W7394002"]
    assert [(c.tool, c.outcome) for c in pkg.tool_calls] == [("return_delivered_order_items", "needs_approval"),
                                                             ("transfer_to_human", "done")]
    assert pkg.exception is not None and pkg.exception.rule == "return_window" and pkg.exception.status == "pending"
    assert "approve or deny" in pkg.suggested_next_step


def test_unknown_handoffs_are_not_found(fresh_store: Store) -> None:
    from core.errors import NotFound

    for action in (lambda: desk.claim(fresh_store, 10**9, "a"), lambda: desk.package(fresh_store, 10**9)):
        with pytest.raises(NotFound):
            action()
