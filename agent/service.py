"""Run chat turns: the one entry point the server and the terminal chat share."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

from langchain_core.messages import AIMessage, BaseMessage, HumanMessage
from langgraph.checkpoint.base import BaseCheckpointSaver
from sqlalchemy import select

from agent.approvals import Approvals
from agent.events import ApprovalPending, BaseEvent, Done, ErrorEvent, TextDelta, Thinking, ToolFinished
from agent.graph import build_graph
from agent.guardrails import mask_secrets, rules_for
from agent.planner.node import prepare_next_turn, prepares_turns
from agent.state import TURN_RESET, AgentContext, AgentDeps
from agent.telemetry import TurnTelemetry, observe_model
from agent.turn_outcome import turn_facts
from core.errors import SupportError
from tools import TOOLS, desk
from tools.outcomes import record_turn
from tools.policy import Policy
from tools.store.models import PolicyException

log = logging.getLogger(__name__)

STAFF = "staff"
"""Name on transcript messages written by a human agent."""
TURN_FAILED = "Sorry, something went wrong on our side. Please try again, or ask for a person."


class SupportAgent:
    """The compiled graph plus the shared parts it runs with."""

    def __init__(self, deps: AgentDeps, checkpointer: BaseCheckpointSaver) -> None:
        self.deps = deps
        self.checkpointer = checkpointer
        self.graph = build_graph(checkpointer)
        observe_model(deps.model)
        self.approvals = Approvals(deps.store, lambda: deps.policy, checkpointer)
        self._prepares_turns = prepares_turns(deps)

    @staticmethod
    def _config(conversation_id: str) -> dict[str, Any]:
        return {"configurable": {"thread_id": conversation_id}}

    async def turn(self, conversation_id: str, customer_id: str | None, text: str, *,
                   client_address: str | None = None) -> AsyncIterator[BaseEvent]:
        """Stream the events of one customer turn (from ``client_address``, over HTTP); the last event is always
        ``done``. The turn is traced and counted (:class:`agent.telemetry.TurnTelemetry`)."""
        with TurnTelemetry() as telemetry:
            async for event in self._turn(conversation_id, customer_id, text, client_address, telemetry):
                yield telemetry.saw(event)

    async def _turn(self, conversation_id: str, customer_id: str | None, text: str, client_address: str | None,
                    telemetry: TurnTelemetry) -> AsyncIterator[BaseEvent]:
        policy, masked = await asyncio.to_thread(self._in_force, text)
        telemetry.received(masked)
        message = HumanMessage(masked)
        if await asyncio.to_thread(desk.with_a_person, self.deps.store, conversation_id):
            await self._record(conversation_id, message)  # the person answers, not the bot
            telemetry.with_person()
            yield Done()
            return
        context = AgentContext(deps=self.deps, conversation_id=conversation_id, customer_id=customer_id,
                               client_address=client_address, guardrails=policy.guardrails)
        turn_input = {"messages": [message], **TURN_RESET}
        if self._prepares_turns:  # the model may be busy with the next turn's start, slowing the rails: say at once
            yield Thinking()
            turn_input["thinking_sent"] = True
        began, started, first_text_ms, failed = self.deps.clock(), time.perf_counter(), None, False
        try:
            async for mode, event in self.graph.astream(
                turn_input, self._config(conversation_id), context=context, stream_mode=["custom", "updates"]
            ):
                if mode == "updates":
                    telemetry.update(event)
                    continue
                yield event
                if first_text_ms is None and isinstance(event, TextDelta):
                    first_text_ms = round((time.perf_counter() - started) * 1000)
                if isinstance(event, ToolFinished) and event.outcome == "needs_approval":
                    pending = await asyncio.to_thread(self._pending_approval, conversation_id, event.tool)
                    if pending is not None:
                        await self.approvals.open(pending.request_id)
                        yield pending
        except SupportError as exc:
            log.warning("turn failed in conversation %s: %s", conversation_id, exc)
            failed = True
            yield ErrorEvent(message=TURN_FAILED)
        except Exception:  # the stream must end cleanly whatever broke; details go to the log
            log.exception("unexpected error in conversation %s", conversation_id)
            failed = True
            yield ErrorEvent(message=TURN_FAILED)
        state = await self._record_turn(conversation_id, began, failed=failed, first_text_ms=first_text_ms)
        if state is not None and not failed and self._prepares_turns:
            self._prepare_next_turn(conversation_id, customer_id, state)
        yield Done()

    async def _record_turn(self, conversation_id: str, began: datetime, *, failed: bool,
                           first_text_ms: int | None) -> dict[str, Any] | None:
        """Record what the turn did, for the conversation's outcome and the insights, and return the state it
        left (a failure to record only goes to the log: the customer's turn is not affected)."""
        try:
            state = (await self.graph.aget_state(self._config(conversation_id))).values
            facts = turn_facts(state, at=began.astimezone(UTC).replace(tzinfo=None), failed=failed,
                               first_text_ms=first_text_ms)
            await asyncio.to_thread(record_turn, self.deps.store, conversation_id, facts)
            return state
        except Exception:
            log.exception("a turn of conversation %s was not recorded", conversation_id)
            return None

    def _prepare_next_turn(self, conversation_id: str, customer_id: str | None, state: dict[str, Any]) -> None:
        """In the background, while the customer reads and writes: the next planning prompt's start
        (:func:`agent.planner.node.prepare_next_turn`)."""

        def prepare() -> None:
            try:
                prepare_next_turn(self.deps, conversation_id, customer_id, state)
            except Exception:  # only the next turn's speed is at stake
                log.exception("the next turn of conversation %s was not prepared", conversation_id)

        asyncio.get_running_loop().run_in_executor(None, prepare)  # submitted now: the loop's end waits for it

    async def mask_secrets(self, text: str) -> str:
        """``text`` with secrets masked by the guardrails of the policy version in force."""
        return (await asyncio.to_thread(self._in_force, text))[1]

    def _in_force(self, text: str) -> tuple[Policy, str]:
        """The policy in force and ``text`` masked by its guardrails (off the event loop: the first use of a new
        version compiles its rules)."""
        policy = self.deps.policies.current()
        return policy, mask_secrets(text, rules=rules_for(policy.guardrails))

    def _pending_approval(self, conversation_id: str, tool: str) -> ApprovalPending | None:
        """The request this conversation just recorded for a person's approval, as the customer may see it."""
        with self.deps.store.session() as session:
            request = session.scalars(
                select(PolicyException)
                .where(PolicyException.conversation_id == conversation_id, PolicyException.tool == tool,
                       PolicyException.status == "pending")
                .order_by(PolicyException.id.desc())
            ).first()
        if request is None:
            return None
        label = TOOLS[tool].customer_label.lower() if tool in TOOLS else "your request"
        return ApprovalPending(request_id=request.id, tool=tool,
                               description=f"Waiting for a person's approval ({label})")

    async def record_staff_message(self, conversation_id: str, author: str, text: str) -> None:
        """Add a human agent's message to the conversation's transcript (the stream carries it separately)."""
        await self._record(conversation_id, AIMessage(content=text, name=STAFF))

    async def _record(self, conversation_id: str, message: BaseMessage) -> None:
        """Append ``message`` to the transcript without running the graph."""
        await self.graph.aupdate_state(self._config(conversation_id), {"messages": [message]}, as_node="guardrail")

    async def forget(self, conversation_id: str) -> None:
        """Delete the conversation's checkpoints (its messages and state)."""
        await self.checkpointer.adelete_thread(conversation_id)

    async def transcript(self, conversation_id: str) -> list[dict[str, str]]:
        """The conversation's messages as ``{"role", "content"}`` (empty for a new conversation)."""
        snapshot = await self.graph.aget_state(self._config(conversation_id))
        roles = {"human": "customer", "ai": "assistant"}
        return [{"role": "staff" if m.name == STAFF else roles.get(m.type, m.type),
                 "content": str(m.additional_kwargs.get("shown", m.content))}
                for m in snapshot.values.get("messages", [])]
