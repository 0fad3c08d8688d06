"""Approvals resume a paused graph run: exactly once, audited with the approver, across restarts."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from langgraph.checkpoint.sqlite import SqliteSaver
from sqlalchemy import select

from agent.approvals import Approvals, Decision
from core.errors import NotFound
from tools import execute
from tools.policy import load_policy
from tools.store import Store
from tools.store.models import Order, PolicyException, Refund, ToolCall

SOFIA = "sofia_patel_7394"
POLICY = load_policy()


@pytest.fixture
def saver_path(tmp_path: Path) -> Path:
    return tmp_path / "approvals.db"


def approvals_on(store: Store, path: Path) -> Approvals:
    return Approvals(store, lambda: POLICY, SqliteSaver(sqlite3.connect(path, check_same_thread=False)))


@pytest.fixture
def pending(fresh_store: Store) -> int:
    """Sofia's late return of the desk lamp, recorded as a policy exception."""
    result = execute(fresh_store, "return_delivered_order_items",
                     {"order_id": "#W7394002", "item_ids": ["8047877267"], "payment_method_id": "paypal_9745959"},
                     policy=POLICY, conversation_id="conv-sofia", customer_id=SOFIA)
    assert result.outcome == "needs_approval"
    assert result.exception_id is not None
    return result.exception_id


@pytest.fixture
def approvals(fresh_store: Store, saver_path: Path, pending: int) -> Iterator[Approvals]:
    approvals = approvals_on(fresh_store, saver_path)
    approvals.open(pending)
    yield approvals


def refunds(store: Store) -> list[Refund]:
    with store.session() as session:
        return list(session.scalars(select(Refund).where(Refund.order_id == "#W7394002")))


def test_approve_runs_the_tool_once_with_the_approver_audited(fresh_store: Store, approvals: Approvals,
                                                              pending: int) -> None:
    assert approvals.is_waiting(pending)
    outcome = approvals.decide(pending, Decision(approve=True, staff_id="agent-7"))
    assert outcome.status == "approved" and "Your refund of $48.70" in outcome.customer_message
    again = approvals.decide(pending, Decision(approve=True, staff_id="agent-8"))
    assert again == outcome
    assert [(str(r.amount), r.approved_by) for r in refunds(fresh_store)] == [("48.70", "agent-7")]
    with fresh_store.session() as session:
        audit = session.scalars(select(ToolCall).where(ToolCall.actor == "staff:agent-7")).all()
        exception = session.get(PolicyException, pending)
        assert session.get(Order, "#W7394002").status == "return requested"
    assert [(a.tool, a.outcome) for a in audit] == [("return_delivered_order_items", "done")]
    assert (exception.status, exception.decided_by) == ("approved", "agent-7")


def test_deny_explains_and_changes_nothing(fresh_store: Store, approvals: Approvals, pending: int) -> None:
    outcome = approvals.decide(pending, Decision(approve=False, staff_id="agent-7", note="It was used."))
    assert outcome.status == "denied" and "couldn't approve it. It was used." in outcome.customer_message
    assert refunds(fresh_store) == []
    with fresh_store.session() as session:
        assert session.get(PolicyException, pending).status == "denied"


def test_a_restart_between_escalation_and_approval(fresh_store: Store, saver_path: Path, pending: int) -> None:
    approvals_on(fresh_store, saver_path).open(pending)
    after_restart = approvals_on(fresh_store, saver_path)  # a new process: new saver, same checkpoint file
    assert after_restart.is_waiting(pending)
    assert after_restart.decide(pending, Decision(approve=True, staff_id="agent-7")).status == "approved"
    assert len(refunds(fresh_store)) == 1


def test_two_staff_deciding_at_once_refund_once(fresh_store: Store, saver_path: Path, approvals: Approvals,
                                                pending: int) -> None:
    outcomes = []
    barrier = threading.Barrier(2)

    def decide(staff: str) -> None:
        barrier.wait()
        outcomes.append(approvals_on(fresh_store, saver_path).decide(pending, Decision(approve=True, staff_id=staff)))

    threads = [threading.Thread(target=decide, args=(s,)) for s in ("agent-1", "agent-2")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(refunds(fresh_store)) == 1
    assert {o.exception_id for o in outcomes} == {pending}


def test_unknown_exception_is_not_found(approvals: Approvals) -> None:
    with pytest.raises(NotFound):
        approvals.decide(999_999, Decision(approve=True, staff_id="agent-7"))
