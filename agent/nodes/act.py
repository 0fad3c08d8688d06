"""Act node: move the customer's task one step (verify, ask, preview, confirm, run) through the tools."""

from __future__ import annotations

from typing import Any

from langgraph.config import get_stream_writer
from langgraph.runtime import Runtime

from agent.dialogue.flow import Task, Turn, advance
from agent.events import ToolFinished, ToolStarted
from agent.nodes.understand import last_customer_text
from agent.state import AgentContext, AgentState
from tools import TOOLS, execute

TOOL_OUTCOME_TEXT = {"done": "Done", "failed": "Couldn't complete that", "retry": "Needs more details",
                     "denied": "Not possible under our policy", "needs_approval": "Needs a person's approval"}


def run_tool(
    runtime: Runtime[AgentContext], name: str, arguments: dict[str, Any], *, customer_id: str | None,
    preview: bool = False,
) -> dict[str, Any]:
    """Run one tool call as ``customer_id``, announcing it on the stream (previews run silently)."""
    ctx = runtime.context
    write = get_stream_writer()
    tool = TOOLS.get(name)
    if not preview and tool is not None:
        write(ToolStarted(tool=name, description=tool.customer_label))
    result = execute(ctx.deps.store, name, arguments, policy=ctx.deps.policy, conversation_id=ctx.conversation_id,
                     customer_id=customer_id, preview=preview)
    if not preview and tool is not None:
        write(ToolFinished(tool=name, outcome=result.outcome, description=TOOL_OUTCOME_TEXT[result.outcome]))
    return result.model_dump(mode="json")


def act(state: AgentState, runtime: Runtime[AgentContext]) -> dict[str, Any]:
    """Advance the task for this turn's intent and record what it decided."""
    ctx = runtime.context
    results: list[dict[str, Any]] = []

    def run(name: str, arguments: dict[str, Any], *, customer_id: str | None, preview: bool) -> dict[str, Any]:
        result = run_tool(runtime, name, arguments, customer_id=customer_id, preview=preview)
        if not preview:
            results.append(result)
        return result

    saved = state.get("task")
    task = Task(**saved) if saved and saved["intent"] == state["intent"] else Task(intent=state["intent"])
    step = advance(task, Turn(
        text=last_customer_text(state),
        order_ids=state.get("order_ids", []),
        customer_id=ctx.customer_id or state.get("verified_customer_id"),
        run=run,
        model=ctx.deps.model,
        refund_days=ctx.deps.policy.refund_processing_days,
    ))
    updates: dict[str, Any] = {
        "tool_results": [*state.get("tool_results", []), *results],
        "say": step.say,
        "show": step.show,
        "task": step.task.model_dump() if step.task else None,
        "needs_person": step.needs_person,
    }
    if step.verified_customer_id:
        updates["verified_customer_id"] = step.verified_customer_id
    done = [r for r in results if r["outcome"] == "done"]
    if done:
        updates["done_calls"] = [*state.get("done_calls", []), *done][-50:]
    return updates
