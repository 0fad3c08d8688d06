"""tau2's gold actions, replayed through our tools, leave the store where tau2's database would be."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from evals.tau2 import ReplayReport, oracle, replay, replay_file
from evals.tau2.compare import diff
from evals.tau2.replay import TAU2_POLICY, oracle_side, our_call, store_side
from evals.tau2.tasks import Action, Task
from tests.conftest import shared_set
from tools.policy import load_policy

EXACT_FLOOR = 71
"""Measured: the other three (tasks 20, 21, 37) modify several pending items at once, where tau2 gives every
modified item the price and options of the last new variant and our tools give each item its own."""


@pytest.fixture(scope="module")
def tasks() -> Path:
    return shared_set("tau2-bench/retail/tasks_train.json")


@pytest.fixture(scope="module")
def db(tasks: Path) -> dict[str, Any]:
    return json.loads((tasks.parent / "db.json").read_text())


@pytest.fixture(scope="module")
def ours(tasks: Path) -> ReplayReport:
    return replay_file(tasks)


def test_our_tools_replay_the_train_tasks(ours: ReplayReport) -> None:
    assert len(ours.results) == 74
    failures = {r.task_id: r.refusals or r.diff for r in ours.results if r.status != "exact"}
    assert ours.exact >= EXACT_FLOOR, failures
    assert not any(r.refusals for r in ours.results)


def test_the_oracle_replays_itself_exactly(tasks: Path) -> None:
    report = replay_file(tasks, actual="oracle")
    assert (report.exact, len(report.results)) == (74, 74)


def test_the_comparer_sees_cents_and_ignores_float_noise(db: dict[str, Any]) -> None:
    changed = copy.deepcopy(db)
    changed["users"]["noah_brown_6181"]["address"]["zip"] = "00000"
    changed["orders"]["#W2611340"]["payment_history"][0]["amount"] += 0.0000001
    assert diff(db, changed) == ['users.noah_brown_6181.address.zip: tau2 "80279", ours "00000"']
    changed["orders"]["#W2611340"]["payment_history"][0]["amount"] = 536.66
    changed["orders"]["#W2611340"]["cancel_reason"] = "ordered by mistake"
    assert diff(db, changed) == [
        'users.noah_brown_6181.address.zip: tau2 "80279", ours "00000"',
        'orders.#W2611340.cancel_reason: tau2 missing, ours "ordered by mistake"',
        "orders.#W2611340.payment_history[0].amount: tau2 536.65, ours 536.66",
    ]


def _pending_paid_by_gift_card(db: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    for order_id, order in db["orders"].items():
        method_id = order["payment_history"][0]["payment_method_id"]
        if order["status"] == "pending" and method_id.startswith("gift_card") and len(order["items"]) >= 2:
            return order_id, db["users"][order["user_id"]]["payment_methods"][method_id]
    raise AssertionError("no pending order paid by gift card")


def test_oracle_cancel_refunds_every_payment_and_credits_gift_cards(db: dict[str, Any]) -> None:
    state = copy.deepcopy(db)
    order_id, card = _pending_paid_by_gift_card(state)
    before, paid = card["balance"], state["orders"][order_id]["payment_history"][0]["amount"]
    order = oracle.apply(state, "cancel_pending_order", {"order_id": order_id, "reason": "no longer needed"})
    assert (order["status"], order["cancel_reason"]) == ("cancelled", "no longer needed")
    assert order["payment_history"][1] == {**order["payment_history"][0], "transaction_type": "refund"}
    assert card["balance"] == round(before + paid, 2)


def test_oracle_gives_every_modified_item_the_last_variant(db: dict[str, Any]) -> None:
    state = copy.deepcopy(db)
    order_id, card = _pending_paid_by_gift_card(state)
    card["balance"] = 100000.0
    items = state["orders"][order_id]["items"][:2]
    swaps = [next(v for key, v in state["products"][i["product_id"]]["variants"].items()
                  if key != i["item_id"] and v["available"]) for i in items]
    oracle.apply(state, "modify_pending_order_items", {
        "order_id": order_id, "item_ids": [i["item_id"] for i in items],
        "new_item_ids": [v["item_id"] for v in swaps], "payment_method_id": card["id"]})  # fmt: skip
    order = state["orders"][order_id]
    assert order["status"] == "pending (item modified)"
    assert [i["item_id"] for i in order["items"][:2]] == [v["item_id"] for v in swaps]
    assert [i["price"] for i in order["items"][:2]] == [swaps[-1]["price"]] * 2
    difference = sum(v["price"] for v in swaps) - sum(i["price"] for i in db["orders"][order_id]["items"][:2])
    assert card["balance"] == round(100000.0 - difference, 2)


def test_payment_changes_the_train_set_never_makes_replay_exactly(db: dict[str, Any], tmp_path: Path) -> None:
    order_id, card = _pending_paid_by_gift_card(db)
    user = db["orders"][order_id]["user_id"]
    other = next(m for m in db["users"][user]["payment_methods"] if m != card["id"])
    pay = {"order_id": order_id, "payment_method_id": other}
    tasks = [
        Task(id="pay", actions=[Action(name="modify_pending_order_payment", arguments=pay)]),
        Task(id="pay-twice", actions=[Action(name="modify_pending_order_payment", arguments=pay)] * 2),
    ]
    ours = store_side(db, policy=load_policy(TAU2_POLICY), workdir=tmp_path)
    report = replay(tasks, oracle_side(db), ours)
    assert [(r.status, r.diff) for r in report.results] == [("exact", []), ("exact", [])]
    assert report.results[1].accepted == []


def test_a_call_tau2_refuses_changes_nothing(db: dict[str, Any]) -> None:
    state = copy.deepcopy(db)
    delivered = next(o for o in state["orders"].values() if o["status"] == "delivered")
    with pytest.raises(oracle.OracleError, match="Non-pending order cannot be cancelled"):
        oracle.apply(state, "cancel_pending_order", {"order_id": delivered["order_id"], "reason": "no longer needed"})
    with pytest.raises(oracle.OracleError, match="Unknown tool"):
        oracle.apply(state, "calculate", {"expression": "1 + 1"})
    assert state == db


@pytest.mark.parametrize(
    ("name", "arguments", "expected"),
    [
        ("find_user_id_by_email", {"email": "a@b.c"}, ("verify_customer_by_email", {"email": "a@b.c"})),
        ("get_user_details", {"user_id": "u"}, ("get_user_details", {})),
        ("transfer_to_human_agents", {"summary": "s"},
         ("transfer_to_human", {"reason": "customer asked", "summary": "s"})),
        ("cancel_pending_order", {"order_id": "#W1", "reason": "r"},
         ("cancel_pending_order", {"order_id": "#W1", "reason": "r"})),
        ("calculate", {"expression": "1 + 1"}, None),
    ],
)  # fmt: skip
def test_tau2_actions_map_to_our_tools(name: str, arguments: dict[str, Any], expected: object) -> None:
    assert our_call(Action(name=name, arguments=arguments)) == expected
