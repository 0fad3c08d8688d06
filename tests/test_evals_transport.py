"""The runner's chats: the SSE client without a server, the in-process chat's record of a turn, and the LLM-played
tau2 customer."""

from __future__ import annotations

import asyncio
import dataclasses
import json
from typing import Any, Literal

import httpx
import pytest

from agent.llm.fake import ScriptedChatModel
from agent.state import AgentDeps
from evals.tau2.user import MESSAGE_TOKENS, LlmUser
from evals.transport import HttpChat, InProcessChat, record
from tests.conftest import SHOWCASE
from tools.store import Store


def sse(*events: dict[str, Any]) -> str:
    return "".join(f"id: c:{i}\nevent: {e['type']}\ndata: {json.dumps(e)}\n\n" for i, e in enumerate(events))


def test_the_http_chat_reads_the_stream_and_keeps_the_conversation() -> None:
    seen: list[httpx.Request] = []

    def server(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        body = sse({"type": "customer_message", "text": "hi"}, {"type": "text_delta", "text": "Bad. "},
                   {"type": "reply_replaced", "rule": "x"}, {"type": "text_delta", "text": "Good."},
                   {"type": "message_completed", "text": "Good.", "citations": []}, {"type": "done"})
        return httpx.Response(200, text=body, headers={"X-Conversation-Id": "conv-1",
                                                       "Content-Type": "text/event-stream"})

    async def talk() -> tuple[Any, Any]:
        async with httpx.AsyncClient(transport=httpx.MockTransport(server), base_url="http://agent") as client:
            chat = HttpChat(client, token="t0ken")
            return await chat.say("hi"), await chat.say("again")

    first, _ = asyncio.run(talk())
    assert first.reply == "Good." and first.shown == "Bad. Good." and first.ttft_s is not None
    assert [e["type"] for e in first.events] == ["text_delta", "reply_replaced", "text_delta", "message_completed",
                                                  "done"]
    assert seen[0].headers["Authorization"] == "Bearer t0ken" and "X-Conversation-Id" not in seen[0].headers
    assert seen[1].headers["X-Conversation-Id"] == "conv-1"


def test_a_turns_first_text_is_timed_from_the_last_tool_result_before_it() -> None:
    async def events(*kinds: str) -> Any:
        for kind in kinds:
            await asyncio.sleep(0.05 if kind == "text_delta" else 0)
            yield {"type": kind, "text": "x"}

    after_tools = asyncio.run(record("hi", events("tool_started", "tool_finished", "text_delta", "tool_finished",
                                                  "text_delta")))
    assert after_tools.after_tools_s is not None and 0.05 <= after_tools.after_tools_s <= after_tools.ttft_s
    assert asyncio.run(record("hi", events("thinking", "text_delta"))).after_tools_s is None  # no tool before it


def test_the_llm_customer_plays_from_the_scenario_until_it_stops() -> None:
    asked: list[dict[str, Any]] = []
    answers = iter(["Customer: Hi, I want to cancel order #W1234567.", "yes ###STOP###"])  # its speaker dropped

    def server(request: httpx.Request) -> httpx.Response:
        asked.append(json.loads(request.content))
        return httpx.Response(200, json={"choices": [{"message": {"content": next(answers)}}]})

    scenario = {"instructions": {"reason_for_call": "You want to cancel #W1234567.", "known_info": "You are Al Bo."}}
    user = LlmUser(scenario, url="http://llm/v1", client=httpx.Client(transport=httpx.MockTransport(server)))
    assert user.next_message(None) == "Hi, I want to cancel order #W1234567."
    assert user.next_message("Why would you like to cancel?") is None
    system = asked[0]["messages"][0]["content"]
    assert "You want to cancel #W1234567." in system and "You are Al Bo." in system
    assert [m["role"] for m in asked[1]["messages"]] == ["system", "user"]  # the chat as a transcript to go on
    assert asked[1]["messages"][1]["content"].endswith(
        "Customer: Hi, I want to cancel order #W1234567.\nAgent: Why would you like to cancel?\n\n"
        "Write the customer's next message.")
    assert asked[0]["max_tokens"] == MESSAGE_TOKENS  # a rambling model is cut off


@pytest.mark.parametrize(("style", "model_says", "said_by"), [
    ("quote", [], "quoted"),
    ("model", ["You have 30 days from the delivery date to return an item."], "worded"),
    ("model", ["Bereavement refunds are available to grieving families."], "reworded"),  # withdrawn: the quote
])
def test_a_help_center_answer_is_recorded_as_worded_reworded_or_quoted(
        world: AgentDeps, fresh_store: Store, style: Literal["model", "quote"], model_says: list[str],
        said_by: str) -> None:
    deps = dataclasses.replace(world, store=fresh_store, model=ScriptedChatModel(steps=model_says), planner="router",
                               answer_style=style)
    turn = asyncio.run(InProcessChat(deps, SHOWCASE).say("how long do I have to return an item?"))
    assert turn.from_help_center and turn.answered_by == said_by
    assert "30 days" in turn.reply


@pytest.mark.parametrize(("replies", "worded", "replaced", "rewritten"), [
    (["Your Coffee Maker is being packed. It will arrive tomorrow. Thanks!"], 2, ["wrong_day"], []),  # rest unread
    (["Your Coffee Maker is being packed. Order #W4821001 is processed."], 2, ["personal_data"] * 2, []),  # withdrawn
    (["Your Coffee Maker is being packed."], 1, [], []),
    (["Sorry, I can't help with that.", "Your Coffee Maker is being packed."], 2, [], ["dropped_fact"]),
])
def test_the_model_s_sentences_and_those_replaced_are_recorded(world: AgentDeps, replies: list[str], worded: int,
                                                                replaced: list[str], rewritten: list[str]) -> None:
    deps = dataclasses.replace(world, model=ScriptedChatModel(steps=replies), reply_style="model")
    turn = asyncio.run(InProcessChat(deps, SHOWCASE).say("where is my order #W4821002?"))
    assert (turn.worded_sentences, turn.replaced_sentences, turn.rewritten_sentences) == (worded, replaced, rewritten)
