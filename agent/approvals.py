"""Approvals of policy exceptions as a paused LangGraph run per exception.

When the policy engine records a request that a person may approve, :meth:`Approvals.open` starts a run
that stops at ``interrupt()`` and is checkpointed, so it survives restarts. A staff member's decision
resumes it (:meth:`Approvals.decide`): an approved call runs through the same tool with the approver in the
audit log, exactly once (the exception row is claimed atomically before anything runs, and LangGraph's
re-run of the interrupted node has no side effects before ``interrupt()``). Whichever server process receives
a decision, only one resumes the run: a decision arriving while another is being applied gets
:class:`DecisionInProgress`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import timedelta
from typing import Any, Literal, TypedDict

from langgraph.checkpoint.base import BaseCheckpointSaver
from langgraph.graph import END, START, StateGraph
from langgraph.types import Command, interrupt
from pydantic import BaseModel
from sqlalchemy import and_, or_, update

from agent.executor import wording
from core.errors import NotFound, UserError
from tools import execute
from tools.policy import Policy
from tools.store import Store
from tools.store.models import PolicyException, utcnow

STALE_DECISION = timedelta(minutes=2)
"""A decision still being applied after this long was cut short (its process died): another may be applied."""


class DecisionInProgress(UserError):
    """Another decision on this exception is being applied right now (in this process or another)."""


class AlreadyDecided(UserError):
    """The exception was decided before; ``outcome`` is what that decision did."""

    def __init__(self, outcome: Outcome) -> None:
        super().__init__(f"exception {outcome.exception_id} was already decided")
        self.outcome = outcome


class Decision(BaseModel):
    """A staff member's answer to a pending exception."""

    approve: bool
    staff_id: str
    note: str = ""


class Outcome(BaseModel):
    """What the decision did, and what the customer is told."""

    exception_id: int
    status: Literal["approved", "denied", "failed"]
    customer_message: str
    conversation_id: str


class _State(TypedDict, total=False):
    exception_id: int
    decision: dict[str, Any]
    outcome: dict[str, Any]


class Approvals:
    """Pending approvals as paused graph runs over the store's policy exceptions."""

    def __init__(self, store: Store, policy: Callable[[], Policy], checkpointer: BaseCheckpointSaver) -> None:
        self._store = store
        self._policy = policy
        graph = StateGraph(_State)
        graph.add_node("wait_for_decision", self._wait)
        graph.add_node("apply_decision", self._apply)
        graph.add_edge(START, "wait_for_decision")
        graph.add_edge("wait_for_decision", "apply_decision")
        graph.add_edge("apply_decision", END)
        self._graph = graph.compile(checkpointer=checkpointer)
        self._deciding = asyncio.Lock()

    @staticmethod
    def _config(exception_id: int) -> dict[str, Any]:
        return {"configurable": {"thread_id": f"approval-{exception_id}"}}

    async def open(self, exception_id: int) -> None:
        """Start the paused run for a new exception (a no-op if it already exists)."""
        if not (await self._graph.aget_state(self._config(exception_id))).values:
            await self._graph.ainvoke({"exception_id": exception_id}, self._config(exception_id))

    async def is_waiting(self, exception_id: int) -> bool:
        return bool((await self._graph.aget_state(self._config(exception_id))).next)

    async def decide(self, exception_id: int, decision: Decision) -> Outcome:
        """Resume the paused run with ``decision``: the first decision only (then :class:`AlreadyDecided`)."""
        config = self._config(exception_id)
        async with self._deciding:
            state = await self._graph.aget_state(config)
            if not state.values:
                raise NotFound(f"no approval is waiting for exception {exception_id}")
            if not state.next:
                raise AlreadyDecided(Outcome(**state.values["outcome"]))
            if not await asyncio.to_thread(self._claim, exception_id, decision):
                raise DecisionInProgress(f"another decision on exception {exception_id} is being applied right now; "
                                         "reload the handoff to see its outcome")
            result = await self._graph.ainvoke(Command(resume=decision.model_dump()), config)
            return Outcome(**result["outcome"])

    def _claim(self, exception_id: int, decision: Decision) -> bool:
        """Mark the exception ``deciding`` unless another decision is being applied (one claim wins)."""
        now = utcnow()
        with self._store.session(write=True) as session:
            return bool(session.execute(
                update(PolicyException)
                .where(PolicyException.id == exception_id,
                       or_(PolicyException.status == "pending",
                           and_(PolicyException.status.in_(("deciding", "approving")),
                                PolicyException.decided_at < now - STALE_DECISION)))
                .values(status="deciding", decided_by=decision.staff_id, decided_at=now)
            ).rowcount)

    @staticmethod
    def _wait(state: _State) -> dict[str, Any]:
        # Nothing before interrupt(): LangGraph re-runs this node from the top when it resumes.
        return {"decision": interrupt({"exception_id": state["exception_id"]})}

    def _apply(self, state: _State) -> dict[str, Any]:
        decision = Decision(**state["decision"])
        exception_id = state["exception_id"]
        with self._store.session(write=True) as session:
            exception = session.get(PolicyException, exception_id)
            if exception is None:
                raise NotFound(f"policy exception {exception_id} does not exist")
            claimed = session.execute(
                update(PolicyException)
                .where(PolicyException.id == exception_id,
                       PolicyException.status.in_(("pending", "deciding", "approving")))
                .values(status="approving" if decision.approve else "denied", decided_by=decision.staff_id,
                        decided_at=utcnow())
            ).rowcount
            call = {"tool": exception.tool, "arguments": dict(exception.arguments),
                    "customer_id": exception.customer_id, "conversation_id": exception.conversation_id}
            already = exception.status
        if not claimed:  # decided elsewhere (another process): report it, run nothing
            return {"outcome": Outcome(exception_id=exception_id, conversation_id=call["conversation_id"],
                                       status="denied" if already == "denied" else "approved",
                                       customer_message="This request was already decided.").model_dump()}
        if not decision.approve:
            return {"outcome": self._denied(exception_id, call, decision).model_dump()}
        return {"outcome": self._run_approved(exception_id, call, decision).model_dump()}

    def _denied(self, exception_id: int, call: dict[str, Any], decision: Decision) -> Outcome:
        note = f" {decision.note.strip()}" if decision.note.strip() else ""
        return Outcome(exception_id=exception_id, status="denied", conversation_id=call["conversation_id"],
                       customer_message=f"A member of our team reviewed your request and couldn't approve it.{note}")

    def _run_approved(self, exception_id: int, call: dict[str, Any], decision: Decision) -> Outcome:
        policy = self._policy()
        result = execute(self._store, call["tool"], call["arguments"], policy=policy,
                         conversation_id=call["conversation_id"], customer_id=call["customer_id"],
                         approved_by=decision.staff_id)
        status: Literal["approved", "failed"] = "approved" if result.outcome == "done" else "failed"
        with self._store.session(write=True) as session:
            session.execute(update(PolicyException).where(PolicyException.id == exception_id).values(status=status))
        if status == "failed":
            message = f"Our team approved your request, but it couldn't be completed: {result.message}"
        else:
            message = "Good news: our team approved your request. " + wording.receipt(
                call["tool"], result.data, policy.refund_processing_days)
        return Outcome(exception_id=exception_id, status=status, customer_message=message,
                       conversation_id=call["conversation_id"])
