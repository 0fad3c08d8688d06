"""The human agents' side: the handoff queue, claiming a conversation, its package, replying into the live
conversation, deciding pending approvals, resolving or handing back to the bot. Agent role only."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, HTTPException
from fastapi.responses import FileResponse
from pydantic import BaseModel, ConfigDict, Field

from agent.approvals import AlreadyDecided, Decision, DecisionInProgress, Outcome
from agent.events import ApprovalDecided, StaffMessage
from agent.service import SupportAgent
from api.deps import AgentDep, RuntimeDep
from api.roles import require
from api.route_limits import limit
from core.auth import Principal
from core.errors import NotFound
from tools import desk
from tools.desk import Conflict, HandoffPackage, HandoffSummary
from tools.feedback import ConversationFeedback, feedback_on

router = APIRouter(tags=["handoffs"], dependencies=[limit("staff")])
Staff = Annotated[Principal, Depends(require("agent"))]
CONSOLE_PAGE = Path(__file__).resolve().parents[1] / "web" / "console.html"


class TranscriptLine(BaseModel):
    role: str
    content: str


class HandoffDetail(HandoffPackage):
    """The handoff package plus the whole transcript and what the customer thought of the replies."""

    transcript: list[TranscriptLine]
    feedback: ConversationFeedback


class Reply(BaseModel):
    model_config = ConfigDict(extra="forbid")

    text: str = Field(min_length=1, max_length=4000)


class DecisionRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    approve: bool
    note: str = Field("", max_length=1000, description="Shown to the customer with a denial.")


def _agent_name(who: Principal) -> str:
    return f"{who.subject} (support)"


def _translate(exc: Exception) -> HTTPException:
    return HTTPException(409 if isinstance(exc, Conflict) else 404, str(exc))


@router.get("/console", include_in_schema=False)
def console_page() -> FileResponse:
    """The human agents' console (plain HTML and JavaScript)."""
    return FileResponse(CONSOLE_PAGE, headers={"Cache-Control": "no-store"})


@router.get("/v1/handoffs")
async def list_handoffs(
    _: Staff, agent: AgentDep, queue: str | None = None,
    priority: Literal["low", "normal", "high", "urgent"] | None = None,
    status: Literal["open", "resolved", "returned"] = "open",
) -> list[HandoffSummary]:
    """The queue, most urgent first; filter by queue (skill) and priority."""
    return await asyncio.to_thread(desk.list_queue, agent.deps.store, queue=queue, priority=priority, status=status)


@router.get("/v1/handoffs/{handoff_id}")
async def read_handoff(handoff_id: int, _: Staff, agent: AgentDep) -> HandoffDetail:
    """Everything needed to take over: summary, transcript, customer, orders, tool calls, exception."""
    try:
        package = await asyncio.to_thread(desk.package, agent.deps.store, handoff_id)
    except NotFound as exc:
        raise _translate(exc) from exc
    conversation_id = package.handoff.conversation_id
    transcript = await agent.transcript(conversation_id)
    feedback = await asyncio.to_thread(feedback_on, agent.deps.store, conversation_id)
    return HandoffDetail(**package.model_dump(), transcript=[TranscriptLine(**line) for line in transcript],
                         feedback=feedback)


@router.post("/v1/handoffs/{handoff_id}/claim")
async def claim(handoff_id: int, who: Staff, agent: AgentDep) -> HandoffSummary:
    """Take the conversation; when two agents claim at once, one gets 409."""
    try:
        return await asyncio.to_thread(desk.claim, agent.deps.store, handoff_id, who.subject)
    except (NotFound, Conflict) as exc:
        raise _translate(exc) from exc


@router.post("/v1/handoffs/{handoff_id}/messages", status_code=202)
async def reply(handoff_id: int, body: Reply, who: Staff, agent: AgentDep, runtime: RuntimeDep) -> None:
    """Write into the live conversation; the customer's stream shows it as a human agent's message."""
    handoff = await _claimed_by(agent, handoff_id, who)
    await agent.record_staff_message(handoff.conversation_id, _agent_name(who), body.text)
    await runtime.publish(handoff.conversation_id, StaffMessage(author=_agent_name(who), text=body.text))


@router.post("/v1/handoffs/{handoff_id}/decision")
async def decide(handoff_id: int, body: DecisionRequest, who: Staff, agent: AgentDep,
                 runtime: RuntimeDep) -> ApprovalDecided:
    """Approve or deny the conversation's pending exception; the paused approval run resumes, exactly once: a
    repeat gets the first answer, a decision sent while another is being applied gets 409."""
    handoff = await _claimed_by(agent, handoff_id, who)
    if handoff.exception_id is None:
        raise HTTPException(409, "this conversation has no pending exception")
    try:
        outcome = await agent.approvals.decide(handoff.exception_id,
                                               Decision(approve=body.approve, staff_id=who.subject, note=body.note))
    except DecisionInProgress as exc:  # the same decision sent to two server processes: one resumes the run
        raise HTTPException(409, str(exc)) from exc
    except AlreadyDecided as exc:  # a repeat: the same answer, and the customer is not told twice
        return _decided(exc.outcome)
    decided = _decided(outcome)
    await agent.record_staff_message(handoff.conversation_id, _agent_name(who), outcome.customer_message)
    await runtime.publish(handoff.conversation_id, decided)
    return decided


@router.post("/v1/handoffs/{handoff_id}/resolve")
async def resolve(handoff_id: int, who: Staff, agent: AgentDep) -> HandoffSummary:
    """Close the handoff: the conversation is done."""
    return await _close(agent, handoff_id, who, "resolved")


@router.post("/v1/handoffs/{handoff_id}/release")
async def release(handoff_id: int, who: Staff, agent: AgentDep) -> HandoffSummary:
    """Hand the conversation back to the bot."""
    return await _close(agent, handoff_id, who, "returned")


def _decided(outcome: Outcome) -> ApprovalDecided:
    return ApprovalDecided(request_id=outcome.exception_id, approved=outcome.status == "approved",
                           message=outcome.customer_message)


async def _claimed_by(agent: SupportAgent, handoff_id: int, who: Principal) -> HandoffSummary:
    try:
        handoff = await asyncio.to_thread(desk.get_handoff, agent.deps.store, handoff_id)
    except NotFound as exc:
        raise _translate(exc) from exc
    if handoff.status != "open" or handoff.claimed_by != who.subject:
        raise HTTPException(409, "claim the conversation first")
    return handoff


async def _close(agent: SupportAgent, handoff_id: int, who: Principal,
                 to: Literal["resolved", "returned"]) -> HandoffSummary:
    try:
        return await asyncio.to_thread(desk.close, agent.deps.store, handoff_id, who.subject, to=to)
    except (NotFound, Conflict) as exc:
        raise _translate(exc) from exc
