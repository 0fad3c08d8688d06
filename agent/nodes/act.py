"""Act node: carry out this turn's commands in the order the customer asked: lookups run, the task in progress
moves one step (verify, ask, preview, confirm, run), further writes wait in a queue, and the rest becomes a
help-center question, a handoff or a fixed reply for the respond node."""

from __future__ import annotations

from typing import Any

from langgraph.config import get_stream_writer
from langgraph.runtime import Runtime

from agent.commands import WRITE_INTENT
from agent.events import ToolFinished, ToolStarted
from agent.executor import extract
from agent.executor.flow import GIVE_UP, Step, Task, Turn, advance, not_verified, verified_thanks
from agent.executor.wording import refunded
from agent.nodes.understand import extract_order_ids, last_customer_text
from agent.prompts import replies
from agent.replies import describe, describe_product, in_english
from agent.state import AgentContext, AgentState
from tools import TOOLS, execute
from tools.arguments import options_asked, product_meant
from tools.catalog import products

TOOL_OUTCOME_TEXT = {"done": "Done", "failed": "Couldn't complete that", "retry": "Needs more details",
                     "denied": "Not possible under our policy", "needs_approval": "Needs a person's approval"}
DETAILS = ("order_id", "items", "new_option", "reason", "address", "payment")
INTENT_OF_COMMAND = {"lookup": "order_status", "answer": "policy_question", "product": "policy_question",
                     "handoff": "human_agent"}
CHAT_INTENT = {"greeting": "greeting", "thanks": "thanks_bye", "goodbye": "thanks_bye", "bot": "greeting",
               "off_topic": "off_topic", "complaint": "complaint"}


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
                     customer_id=customer_id, client_address=ctx.client_address, preview=preview)
    if not preview and tool is not None:
        write(ToolFinished(tool=name, outcome=result.outcome, description=TOOL_OUTCOME_TEXT[result.outcome]))
    return result.model_dump(mode="json")


def intent_of(command: dict[str, Any]) -> str:
    """The intent a command stands for (the queue a handoff goes to, the fixed replies)."""
    if command["cmd"] == "write":
        return WRITE_INTENT[command["tool"]]
    if command["cmd"] == "chat":
        return CHAT_INTENT[command["kind"]]
    return INTENT_OF_COMMAND.get(command["cmd"], "unknown")


class _Execution:
    """The state of one turn's execution: what to say, the task, the queue and the tool results."""

    def __init__(self, state: AgentState, runtime: Runtime[AgentContext]) -> None:
        self.state = state
        self.runtime = runtime
        self.customer_id = runtime.context.customer_id or state.get("verified_customer_id")
        saved = state.get("task")
        self.task: Task | None = Task(**saved) if saved else None
        self.queue: list[dict[str, Any]] = list(state.get("queue", []))
        self.says: list[str] = []
        self.ask = ""
        """The question the task in progress waits on, said last."""
        self.results: list[dict[str, Any]] = []
        self.questions: list[str] = []
        self.hand_off: str | None = None
        self.needs_person = False
        self.verified: str | None = None
        self.moved = False
        """The task in progress took a step this turn."""
        self.intent: str | None = None
        """The intent of the first task this turn worked on."""
        self.started: Task | None = None
        """A task this message started."""
        self.refused_before: Task | None = Task(**state["refused"]) if state.get("refused") else None
        """The task the previous message's order or the policy ruled out, which this message may take up again."""
        self.refused: Task | None = None
        self.dropped: Task | None = None
        """The task this message dropped: a change asked instead, on the same order, is about the same items."""
        self.confirmable = self.task is not None and self.task.awaiting == "confirmation"
        """A yes can only answer a proposal the customer saw before this message."""
        self.identity: dict[str, Any] | None = state.get("identity")
        """The verification this message got before planning; said once, by the task flow or here."""
        if self.identity and self.customer_id:
            self.says.append(verified_thanks(self.identity))
            self.identity = None

    def run(self, name: str, arguments: dict[str, Any], *, customer_id: str | None, preview: bool) -> dict[str, Any]:
        result = run_tool(self.runtime, name, arguments, customer_id=customer_id, preview=preview)
        if not preview:
            self.results.append(result)
        return result

    def step(self, task: Task, command: dict[str, Any]) -> None:
        """Move ``task`` one step with this message and the command's details."""
        deps = self.runtime.context.deps
        queued = "said" in command  # a request from an earlier message, started now: its own words count
        said = command["said"] if queued else last_customer_text(self.state)
        task = task if task.request else task.model_copy(update={"request": said})
        self.intent = self.intent or task.intent
        answer = None if "yes" not in command else ("yes" if command["yes"] else "no")
        step = advance(task, Turn(
            text=said, order_ids=extract_order_ids(said) if queued else self.state.get("order_ids", []),
            customer_id=self.customer_id, run=self.run, model=deps.model,
            refund_days=deps.policy.refund_processing_days, verify_with=deps.policy.identity.verify_with,
            details={k: command[k] for k in DETAILS if command.get(k)}, answer=answer, identity=self.identity,
        ))
        self.identity = None
        self._record(step)

    def _record(self, step: Step) -> None:
        self.moved = True
        self.task = step.task
        if step.task is not None and step.task.awaiting:
            self.ask = step.say
        elif step.say:
            self.says.append(step.say)
        if step.show:
            self._describe(step.show)
        if step.verified_customer_id:
            self.verified = self.customer_id = step.verified_customer_id
        self.refused = step.refused or self.refused
        self.needs_person = self.needs_person or step.needs_person
        self.hand_off = self.hand_off or step.hand_off

    def apply(self, command: dict[str, Any]) -> None:
        kind = command["cmd"]
        if kind == "lookup":
            self._look_up(command)
        elif kind == "write":
            self._write(command)
        elif kind in ("confirm", "correct"):
            self._continue(command)
        elif kind == "drop":
            self._drop()
        elif kind == "answer":
            self.questions.append(command["question"])
        elif kind == "product":
            self._product(command["product"])
        elif kind == "handoff":
            if self.started is not None and self.task is not None and self.task.awaiting:
                self.queue.append(command)  # "cancel it, and get me a person": the request first
            else:
                self._hand_off(command["reason"])
        elif kind == "chat":
            self.says.append(replies()["small_talk"][command["kind"]])
        elif kind == "ask":
            self._ask(command["about"])

    def _write(self, command: dict[str, Any]) -> None:
        if self.confirmable and self.task is not None and self.task.offered:  # the customer answers what
            offered, self.task = self.task, None  # the agent offered instead with a request: of its kind, taken up
            if WRITE_INTENT[command["tool"]] == offered.intent:
                self.step(offered, command)
                return
        if self.task is not None and self.task.awaiting:
            self.queue.append({"said": last_customer_text(self.state), **command})  # its details were said now
        else:
            self._start(Task(intent=WRITE_INTENT[command["tool"]]), command)

    def _drop(self) -> None:
        if self.task is not None:
            self.dropped, self.task = self.task, None
            self.says.append("Okay, I've left that as it is.")

    def _start(self, task: Task, command: dict[str, Any]) -> None:
        """Start ``task``; what the customer said for the same task that was just refused still holds, and a
        change asked instead of the one just dropped ("can I exchange them instead?") is about the same items."""
        if self.refused_before is not None and self.refused_before.intent == task.intent:
            task, self.refused_before = self.refused_before.elsewhere(), None
        dropped = self.dropped
        if dropped and dropped.order_id and command.get("order_id") == dropped.order_id and not command.get("items"):
            task = task.model_copy(update={"order_id": dropped.order_id, "item_ids": dropped.item_ids})
        self.started = task
        self.step(task, command)

    def _look_up(self, command: dict[str, Any]) -> None:
        """Show an order (or the recent ones) without disturbing the task in progress; an anonymous customer is
        verified first."""
        if self.customer_id is None:
            if self.task is None or not self.task.awaiting:
                self.step(Task(intent="order_status", order_id=command.get("order_id")), command)
            return
        if command.get("order_id"):
            result = self.run("get_order_details", {"order_id": command["order_id"]}, customer_id=self.customer_id,
                              preview=False)
        else:
            result = self.run("list_recent_orders", {}, customer_id=self.customer_id, preview=False)
        asked = command.get("said") or in_english(self.state, last_customer_text(self.state))
        self._describe(result, options=extract.asks_item_details(asked))

    def _product(self, named: str) -> None:
        """Say what is in stock of the catalogue product the customer asks about (``named``: the planner's
        reading), or ask what it is called when the catalogue has no one such product."""
        catalogue = products(self.runtime.context.deps.store)
        text = in_english(self.state, last_customer_text(self.state))
        name = product_meant(text, named, list(catalogue))
        if name is None:
            self.says.append(replies()["product"]["unknown"])
            return
        result = self.run("get_product_details", {"product_id": catalogue[name]}, customer_id=self.customer_id,
                          preview=False)
        if result["outcome"] != "done":
            self.says.append(str(result["message"]))
            return
        self.says.append(describe_product(result["data"], options_asked(text, result["data"]["variants"])))

    def _describe(self, result: dict[str, Any], *, options: bool = False) -> None:
        refund_days = self.runtime.context.deps.policy.refund_processing_days
        self.says.append(describe(result, refund_days=refund_days, options=options))

    def _continue(self, command: dict[str, Any]) -> None:
        if (self.task is not None and self.task.offered and command["cmd"] == "correct"
                and command.get("order_id") not in (None, self.task.order_id)):
            self.task = None  # another order than the one of the offer made instead: the refused request, there
        if self.task is None:
            if command["cmd"] == "correct" and command.get("order_id") and self.refused_before is not None:
                self._start(self.refused_before, command)  # "oh sorry, I meant #W...": the refused task, elsewhere
            return
        if self.moved or (command["cmd"] == "confirm" and not self.confirmable):
            return  # a yes or a correction read into the message that made the proposal changes nothing: the
            # customer must see the proposal first
        self.step(self.task, command)

    def _hand_off(self, reason: str) -> None:
        if reason == "customer asked for a human" and not self.runtime.context.deps.escalation.explicit_request:
            self.questions.append(last_customer_text(self.state))  # ops turned explicit requests off
        else:
            self.hand_off = reason

    def _ask(self, about: str) -> None:
        if self.task is not None and about != "request":
            self.step(self.task, {})
        else:
            self.says.append(replies()["ask_request"])

    def finish(self) -> None:
        """Start the next queued request once the task in progress is over, and say what comes next."""
        if self.identity:  # no task took up the failed verification: say it all the same
            self.says.append(not_verified(self.identity))
        while self.task is None and self.queue and not self.hand_off and not self.needs_person:
            command = self.queue.pop(0)
            if command["cmd"] == "handoff":
                self._hand_off(command["reason"])
                continue
            self.says.append(replies()["next_request"])
            self.step(Task(intent=WRITE_INTENT[command["tool"]]), command)
        if self.task is not None and self.task.awaiting and not self.moved:
            if self.says or self.questions or self.hand_off:  # a digression: answered, then back to the task
                what = replies()["awaited"].get(self.task.awaiting, "an answer")
                self.ask = replies()["back_to_task"].format(what=what)
                if _asked_last(self.state, self.ask):  # the same digression again: not the same question twice in
                    # a row, a person takes over
                    self.ask, self.task = "", None
                    if not self.hand_off:
                        self.says.append(GIVE_UP)
                        self.hand_off = "conversation is going in circles"
            else:
                self.step(self.task, {})
        if self.queue and self.task is not None:
            writes = sum(c["cmd"] == "write" for c in self.queue)
            what = "request" if writes == 1 else f"{writes} requests"
            after = [replies()["queued"].format(what=what)] if writes else []
            if any(c["cmd"] == "handoff" for c in self.queue):
                after.append(replies()["queued_handoff"])
            self.ask = " ".join([self.ask, *after]).strip()


def _asked_last(state: AgentState, question: str) -> bool:
    """Whether the agent's last reply (in English, as the conversation keeps it) asked ``question``."""
    last = next((m for m in reversed(state["messages"]) if m.type == "ai"), None)
    return last is not None and question in str(last.content)


def _refunds(state: AgentState, execution: _Execution) -> list[float]:
    """The refunds of the changes done since the customer's requests began; once the last one is done, more than
    one refund is told as a total ("cancel all my pending orders and return the watch")."""
    refunds = [*state.get("refunds", []), *(amount for r in execution.results if r["outcome"] == "done"
                                            and (amount := refunded(r["tool"], r["data"])))]
    if execution.task is not None or execution.queue:
        return refunds
    if len(refunds) > 1:
        execution.says.append(replies()["refund_total"].format(total=f"{sum(refunds):.2f}"))
    return []


def act(state: AgentState, runtime: Runtime[AgentContext]) -> dict[str, Any]:
    """Carry out this turn's commands and record what the reply must say."""
    execution = _Execution(state, runtime)
    commands = state.get("commands") or []
    hand_over = state.get("hand_over_after_lookups")
    for command in commands:
        if not hand_over or command["cmd"] == "lookup":  # a person takes the rest over
            execution.apply(command)
    if hand_over:
        execution.hand_off = hand_over
    else:
        execution.finish()
    refunds = _refunds(state, execution)
    intent = execution.intent or (intent_of(commands[0]) if commands else "unknown")
    updates: dict[str, Any] = {
        "intent": intent,
        "tool_results": [*state.get("tool_results", []), *execution.results],
        "say": " ".join(execution.says),
        "ask": execution.ask,
        "question": " ".join(execution.questions),
        "task": execution.task.model_dump() if execution.task else None,
        "queue": execution.queue,
        "refused": execution.refused.model_dump() if execution.refused else None,
        "needs_person": execution.needs_person,
        "refunds": refunds,
    }
    if execution.hand_off:
        updates["escalation_reason"] = execution.hand_off
    if execution.verified:
        updates["verified_customer_id"] = execution.verified
    done = [r for r in execution.results if r["outcome"] == "done"]
    if done:
        updates["done_calls"] = [*state.get("done_calls", []), *done][-50:]
    return updates
