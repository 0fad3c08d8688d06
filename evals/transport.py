"""How a conversation reaches the agent: in-process through :class:`SupportAgent`, or over HTTP against a
running server (``POST /v1/chat`` streaming server-sent events, ``X-Conversation-Id`` to continue)."""

from __future__ import annotations

import json
import os
import time
from collections.abc import AsyncIterator
from typing import Any, Literal, Protocol

import httpx
from langchain_core.callbacks import BaseCallbackHandler
from langchain_core.outputs import ChatGenerationChunk
from langgraph.checkpoint.memory import InMemorySaver
from pydantic import BaseModel, Field

from agent.service import SupportAgent
from agent.state import AgentDeps
from tools.store.models import Conversation


class TurnRecord(BaseModel):
    """One customer message and what came back."""

    customer: str
    reply: str = ""
    """The reply as released (text after the last withdrawal)."""
    shown: str = ""
    """Every piece of text that reached the customer, withdrawn or not."""
    events: list[dict[str, Any]] = []
    ttft_s: float | None = None
    """Seconds to the first text delta."""
    first_event_s: float | None = None
    """Seconds to the first event of any kind (``thinking``, a tool starting, text)."""
    after_tools_s: float | None = None
    """Seconds from the last tool result before the first text delta to that delta (None: no tool ran before it)."""
    plan_path: str = ""
    """How the message was read: ``fast``, ``planner``, ``router`` or ``fallback: ...`` (in-process only)."""
    plan_s: float | None = None
    """Seconds the reading took (in-process only)."""
    turn_s: float = 0.0
    tokens: int = 0
    """Tokens the model generated in this turn (in-process only)."""
    gen_s: float = 0.0
    """Seconds the model spent generating them."""
    from_help_center: bool | None = None
    """The reply answers from help-center passages (in-process; None when not observable)."""
    answered_by: Literal["worded", "reworded", "quoted"] | None = None
    """How a help-center answer was said (in-process): ``worded`` by the model and released, ``reworded`` (the
    model's wording withdrawn, the quote said instead; any reply withdrawn in the turn counts), ``quoted``."""
    worded_sentences: int = 0
    """Sentences of the reply the model wrote (in-process)."""
    replaced_sentences: list[str] = []
    """The rule each of them broke that the customer did not get as written (in-process): code's sentences stood in
    for it, or the whole reply was withdrawn."""
    rewritten_sentences: list[str] = []
    """The rule each of them broke that the model wrote again before it was shown (in-process)."""
    passages: list[str] = Field(default=[], exclude=True)
    """Text of those passages (in-process; not written to the report)."""


class Chat(Protocol):
    conversation_id: str | None

    async def say(self, text: str) -> TurnRecord: ...


async def record(text: str, events: AsyncIterator[dict[str, Any]]) -> TurnRecord:
    """Collect a turn's events with its timings."""
    started = time.perf_counter()
    turn = TurnRecord(customer=text)
    tool_result_at: float | None = None
    async for event in events:
        now = time.perf_counter()
        turn.events.append(event)
        if turn.first_event_s is None:
            turn.first_event_s = now - started
        if event["type"] == "tool_finished" and turn.ttft_s is None:
            tool_result_at = now
        elif event["type"] == "text_delta":
            if turn.ttft_s is None:
                turn.ttft_s = now - started
                turn.after_tools_s = None if tool_result_at is None else now - tool_result_at
            turn.reply += event["text"]
            turn.shown += event["text"]
        elif event["type"] == "reply_replaced":
            turn.reply = ""
    turn.turn_s = time.perf_counter() - started
    turn.reply = turn.reply.strip()
    return turn


class TokenMeter(BaseCallbackHandler):
    """Counts generated tokens and the time spent generating them (attach to the model's callbacks). A stream
    the graph stops early never reports its end, so a call's time runs from its start to its last token."""

    def __init__(self) -> None:
        self.tokens = 0
        self._calls: dict[Any, list[float]] = {}
        """run id -> [started, last token or end]."""

    def on_chat_model_start(self, serialized: Any, messages: Any, *, run_id: Any, **_: Any) -> None:
        now = time.perf_counter()
        self._calls[run_id] = [now, now]

    def on_llm_new_token(self, token: str, *, run_id: Any = None, **_: Any) -> None:
        self.tokens += 1
        if run_id in self._calls:
            self._calls[run_id][1] = time.perf_counter()

    def on_llm_end(self, response: Any, *, run_id: Any, **_: Any) -> None:
        if run_id in self._calls:
            self._calls[run_id][1] = time.perf_counter()
        streamed = any(isinstance(g, ChatGenerationChunk) for gs in response.generations for g in gs)
        if not streamed:  # a plain call: read the usage the backend reported
            for generation in (g for gs in response.generations for g in gs):
                usage = getattr(getattr(generation, "message", None), "response_metadata", {}).get("usage") or {}
                self.tokens += int(usage.get("completion_tokens", 0))

    def take(self) -> tuple[int, float]:
        """Tokens and generation seconds since the last call."""
        taken = (self.tokens, sum(last - started for started, last in self._calls.values()))
        self.tokens, self._calls = 0, {}
        return taken


class InProcessChat:
    """A conversation with the agent in this process."""

    def __init__(self, deps: AgentDeps, customer_id: str | None, *, meter: TokenMeter | None = None) -> None:
        self.deps = deps
        self.customer_id = customer_id
        self.meter = meter
        self.agent = SupportAgent(deps, InMemorySaver())
        self.conversation_id: str | None = os.urandom(8).hex()
        owner = f"customer:{customer_id}" if customer_id else f"anon:{self.conversation_id}"
        with deps.store.session() as session:
            session.add(Conversation(id=self.conversation_id, owner=owner))

    async def say(self, text: str) -> TurnRecord:
        assert self.conversation_id is not None
        if self.meter:
            self.meter.take()

        async def events() -> AsyncIterator[dict[str, Any]]:
            async for event in self.agent.turn(self.conversation_id or "", self.customer_id, text):
                yield event.model_dump(mode="json")

        turn = await record(text, events())
        if self.meter:
            turn.tokens, turn.gen_s = self.meter.take()
        state = await self.agent.graph.aget_state({"configurable": {"thread_id": self.conversation_id}})
        turn.plan_path, turn.plan_s = state.values.get("plan_path", ""), state.values.get("plan_seconds")
        turn.worded_sentences = state.values.get("worded_sentences", 0)
        turn.replaced_sentences = list(state.values.get("replaced_sentences", []))
        turn.rewritten_sentences = list(state.values.get("rewritten_sentences", []))
        passages = state.values.get("passages") or []
        turn.from_help_center = bool(state.values.get("retrieved") and passages)
        turn.passages = [str(p["text"]) for p in passages] if turn.from_help_center else []
        if turn.from_help_center:
            withdrawn = any(e["type"] == "reply_replaced" for e in turn.events)
            turn.answered_by = ("quoted" if self.deps.answer_style == "quote" else
                                "reworded" if withdrawn else "worded")
        return turn


class HttpChat:
    """A conversation with a running server."""

    def __init__(self, client: httpx.AsyncClient, *, token: str | None = None) -> None:
        self.client = client
        self.headers = {"Authorization": f"Bearer {token}"} if token else {}
        self.conversation_id: str | None = None

    async def say(self, text: str) -> TurnRecord:
        headers = dict(self.headers)
        if self.conversation_id:
            headers["X-Conversation-Id"] = self.conversation_id

        async def events() -> AsyncIterator[dict[str, Any]]:
            async with self.client.stream("POST", "/v1/chat", json={"message": text}, headers=headers) as response:
                if response.status_code != 200:
                    body = (await response.aread()).decode(errors="replace")[:300]
                    yield {"type": "error", "message": f"HTTP {response.status_code}: {body}"}
                    return
                self.conversation_id = response.headers.get("X-Conversation-Id", self.conversation_id)
                async for event in sse_events(response.aiter_lines()):
                    if event["type"] != "customer_message":
                        yield event

        return await record(text, events())


async def sse_events(lines: AsyncIterator[str]) -> AsyncIterator[dict[str, Any]]:
    """JSON bodies of the ``data:`` fields of a server-sent event stream, until ``done``."""
    data: list[str] = []
    async for line in lines:
        if line.startswith("data:"):
            data.append(line[5:].strip())
        elif not line.strip() and data:
            event = json.loads("\n".join(data))
            data = []
            yield event
            if event.get("type") == "done":
                return
