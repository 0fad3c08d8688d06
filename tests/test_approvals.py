"""Approvals resume a paused graph run: exactly once, audited with the approver, across restarts."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import TypeVar

import pytest
from langgraph.checkpoint.sqlite.aio import AsyncSqliteSaver
from sqlalchemy import select

from agent.approvals import STALE_DECISION, AlreadyDecided, Approvals, Decision, DecisionInProgress
from core.errors import NotFound
from tools import execute
from tools.policy import load_policy
from tools.store import Store
from tools.store.models import Order, PolicyException, Refund, ToolCall, utcnow

SOFIA = "sofia_patel_7394"
POLICY = load_policy()


@pytest.fixture
def saver_path(tmp_path: Path) -> Path:
    return tmp_path / "approvals.db"


T = TypeVar("T")


@asynccontextmanager
async def approvals_on(store: Store, path: Path) -> AsyncIterator[Approvals]:
    """Approvals over a checkpoint file, as one server process would hold them."""
    async with AsyncSqliteSaver.from_conn_string(str(path)) as saver:
        yield Approvals(store, lambda: POLICY, saver)


def run(step: Callable[[Approvals], Awaitable[T]], store: Store, path: Path) -> T:
    """Run ``step`` in a process of its own (a fresh saver on the same checkpoint file)."""
    async def once() -> T:
        async with approvals_on(store, path) as approvals:
            return await step(approvals)

    return asyncio.run(once())


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
def opened(fresh_store: Store, saver_path: Path, pending: int) -> int:
    """The paused approval run of the pending exception."""
    run(lambda a: a.open(pending), fresh_store, saver_path)
    return pending


def refunds(store: Store) -> list[Refund]:
    with store.session() as session:
        return list(session.scalars(select(Refund).where(Refund.order_id == "#W7394002")))


def test_approve_runs_the_tool_once_with_the_approver_audited(fresh_store: Store, saver_path: Path,
                                                              opened: int) -> None:
    assert run(lambda a: a.is_waiting(opened), fresh_store, saver_path)
    outcome = run(lambda a: a.decide(opened, Decision(approve=True, staff_id="agent-7")), fresh_store, saver_path)
    assert outcome.status == "approved" and "Your refund of $48.70" in outcome.customer_message
    with pytest.raises(AlreadyDecided) as again:
        run(lambda a: a.decide(opened, Decision(approve=True, staff_id="agent-8")), fresh_store, saver_path)
    assert again.value.outcome == outcome
    assert [(str(r.amount), r.approved_by) for r in refunds(fresh_store)] == [("48.70", "agent-7")]
    with fresh_store.session() as session:
        audit = session.scalars(select(ToolCall).where(ToolCall.actor == "staff:agent-7")).all()
        exception = session.get(PolicyException, opened)
        assert session.get(Order, "#W7394002").status == "return requested"
    assert [(a.tool, a.outcome) for a in audit] == [("return_delivered_order_items", "done")]
    assert (exception.status, exception.decided_by) == ("approved", "agent-7")


def test_deny_explains_and_changes_nothing(fresh_store: Store, saver_path: Path, opened: int) -> None:
    outcome = run(lambda a: a.decide(opened, Decision(approve=False, staff_id="agent-7", note="It was used.")),
                  fresh_store, saver_path)
    assert outcome.status == "denied" and "couldn't approve it. It was used." in outcome.customer_message
    assert refunds(fresh_store) == []
    with fresh_store.session() as session:
        assert session.get(PolicyException, opened).status == "denied"


def test_a_restart_between_escalation_and_approval(fresh_store: Store, saver_path: Path, opened: int) -> None:
    # ``opened`` ran in one "process"; each run() below is a new one on the same checkpoint file
    assert run(lambda a: a.is_waiting(opened), fresh_store, saver_path)
    outcome = run(lambda a: a.decide(opened, Decision(approve=True, staff_id="agent-7")), fresh_store, saver_path)
    assert outcome.status == "approved" and len(refunds(fresh_store)) == 1


def test_two_staff_deciding_at_once_refund_once(fresh_store: Store, saver_path: Path, opened: int) -> None:
    async def both(approvals: Approvals) -> list:
        return list(await asyncio.gather(*(approvals.decide(opened, Decision(approve=True, staff_id=s))
                                           for s in ("agent-1", "agent-2")), return_exceptions=True))

    first, second = run(both, fresh_store, saver_path)
    assert len(refunds(fresh_store)) == 1 and isinstance(second, AlreadyDecided) and second.outcome == first


def test_a_decision_while_another_is_being_applied_elsewhere_is_refused(fresh_store: Store, saver_path: Path,
                                                                        opened: int) -> None:
    with fresh_store.session() as session:  # another process claimed it and is applying its decision
        session.get(PolicyException, opened).status = "deciding"
        session.get(PolicyException, opened).decided_at = utcnow()
    with pytest.raises(DecisionInProgress):
        run(lambda a: a.decide(opened, Decision(approve=True, staff_id="agent-8")), fresh_store, saver_path)
    assert refunds(fresh_store) == []
    with fresh_store.session() as session:  # that process died: after a while the decision may be made again
        session.get(PolicyException, opened).decided_at = utcnow() - STALE_DECISION
    outcome = run(lambda a: a.decide(opened, Decision(approve=True, staff_id="agent-8")), fresh_store, saver_path)
    assert outcome.status == "approved" and len(refunds(fresh_store)) == 1


def test_unknown_exception_is_not_found(fresh_store: Store, saver_path: Path) -> None:
    with pytest.raises(NotFound):
        run(lambda a: a.decide(999_999, Decision(approve=True, staff_id="agent-7")), fresh_store, saver_path)
