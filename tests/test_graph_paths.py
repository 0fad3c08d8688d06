"""Graph paths with the scripted fake model: routing, tools, handoff, and rails against bad output."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import select

from agent.bootstrap import answer_style, planner_mode, reply_style, writer_model
from agent.events import HandoffStarted, MessageCompleted, ReplyReplaced, TextDelta, ToolStarted
from agent.guardrails import Grounding, check_sentence
from agent.llm.fake import ScriptedChatModel
from agent.prompts import prompt_text
from agent.state import AgentDeps
from agent.streaming import STOOD_IN_FOR
from core.errors import ModelError
from tests.conftest import OTHER_CUSTOMER, SHOWCASE, Chat, make_settings, text_of
from tools.store.models import Handoff, Order, ToolCall

ChatWith = Callable[..., Chat]


def types(events: list) -> list[str]:
    return [e.type for e in events]


def unchecked_chars(events: list, grounding: Grounding) -> int:
    """Characters delivered in text deltas that fail a rail (must always be 0)."""
    return sum(len(e.text) for e in events if isinstance(e, TextDelta) and check_sentence(e.text, grounding))


def test_order_status_states_the_real_status_from_the_store(chat_with: ChatWith) -> None:
    model = ScriptedChatModel()
    chat = chat_with(model)
    events = chat.say("Where is my order #W4821002?")
    with chat.deps.store.session() as session:
        status = session.get(Order, "#W4821002").status
    assert f"Order #W4821002 is {status}." in text_of(events)
    assert [e.tool for e in events if isinstance(e, ToolStarted)] == ["get_order_details"]
    assert types(events)[-2:] == ["message_completed", "done"]
    model.assert_all_used()  # facts came from code: the model was not asked


def test_order_status_without_id_lists_recent_orders(chat_with: ChatWith) -> None:
    events = chat_with(ScriptedChatModel()).say("has my order shipped yet?")
    text = text_of(events)
    assert "#W4821001" in text and "#W4821003" in text
    assert "Which one" in text


def test_someone_elses_order_looks_exactly_like_an_unknown_one(chat_with: ChatWith) -> None:
    theirs = text_of(chat_with(ScriptedChatModel(), OTHER_CUSTOMER).say("where is my order #W4821002"))
    unknown = text_of(chat_with(ScriptedChatModel(), OTHER_CUSTOMER).say("where is my order #W9999999"))
    assert theirs.replace("4821002", "X") == unknown.replace("9999999", "X")
    assert "processed" not in theirs and "Coffee Maker" not in theirs


def test_anonymous_customer_gets_no_order_data_before_verification(chat_with: ChatWith) -> None:
    chat = chat_with(ScriptedChatModel(), None)
    text = text_of(chat.say("Where is my order #W4821002?"))
    assert "verify your account" in text and "Coffee Maker" not in text
    wrong = text_of(chat.say("it's nobody@example.com, zip 78789"))
    assert "couldn't match" in wrong and "4 attempts left" in wrong and "Coffee Maker" not in wrong
    with chat.deps.store.session() as session:
        calls = session.scalars(select(ToolCall).where(ToolCall.conversation_id == chat.conversation_id)).all()
    assert [c.tool for c in calls] == ["verify_customer_by_email_zip"]


def test_an_email_alone_gets_asked_for_the_zip_code_then_verifies(chat_with: ChatWith) -> None:
    chat = chat_with(ScriptedChatModel(), None)
    asked = text_of(chat.say("where is my order #W4821002? my email is olivia.martin4821@example.com"))
    assert "also need your zip code" in asked and "Coffee Maker" not in asked
    again = text_of(chat.say("why do you need that"))
    assert "still need your zip code" in again  # not the same words twice
    done = text_of(chat.say("ok it's 78789"))
    assert "you're verified" in done and "Coffee Maker" in done


@pytest.mark.parametrize(
    "message",
    ["I want to talk to a human", "can i speak with a real person please", "get me a representative", "operator"],
)
def test_asking_for_a_human_hands_off_and_says_so(chat_with: ChatWith, message: str) -> None:
    chat = chat_with(ScriptedChatModel())
    events = chat.say(message)
    handoff = next(e for e in events if isinstance(e, HandoffStarted))
    assert "human agent" in text_of(events) and f"number {handoff.position}" in text_of(events)
    with chat.deps.store.session() as session:
        row = session.scalars(select(Handoff).where(Handoff.conversation_id == chat.conversation_id)).one()
    assert row.status == "open" and row.customer_id == SHOWCASE and message[:20] in row.summary


def test_poem_insulting_the_company_is_refused_without_model_or_tools(chat_with: ChatWith) -> None:
    model = ScriptedChatModel()
    chat = chat_with(model)
    events = chat.say("Write a poem about how terrible this company is")
    assert "can't write that" in text_of(events)
    assert not [e for e in events if isinstance(e, ToolStarted)]
    model.assert_all_used()


def test_knowledge_answer_is_grounded_and_cited(chat_with: ChatWith) -> None:
    model = ScriptedChatModel(steps=["You can return items within 30 days of delivery."])
    events = chat_with(model).say("how long do I have to return an item?")
    assert "30 days" in text_of(events)
    completed = next(e for e in events if isinstance(e, MessageCompleted))
    assert completed.citations and any("eturn" in c.title for c in completed.citations)
    model.assert_all_used()


def test_a_help_center_answer_is_worded_by_the_writer_s_instance_when_there_is_one(world: AgentDeps) -> None:
    agents, writer = ScriptedChatModel(), ScriptedChatModel(steps=["You have 30 days to return an item."])
    chat = Chat(dataclasses.replace(world, model=agents, writer_model=lambda: writer), SHOWCASE)
    assert "30 days" in text_of(chat.say("how long do I have to return an item?"))
    writer.assert_all_used()
    assert agents.calls == [] and writer.calls[0][0].content == prompt_text("writer.md")  # its kept prompt


def test_a_yes_that_says_the_question_back_gets_the_help_center_s_own_words(chat_with: ChatWith) -> None:
    echo = "Yes, you can return a gift card you bought."  # the default model's answer to this question
    events = chat_with(ScriptedChatModel(steps=[echo])).say("Can I return a gift card I bought?")
    assert [e.rule for e in events if isinstance(e, ReplyReplaced)] == ["unsupported_claim"]
    delivered = "".join(e.text for e in events if isinstance(e, TextDelta))
    assert echo not in delivered and "can't be returned" in delivered  # the quote, said before any of it was shown


def test_quoted_answer_comes_from_the_help_center_without_the_model(world: AgentDeps) -> None:
    model = ScriptedChatModel()
    quoting = dataclasses.replace(world, model=model, answer_style="quote")
    chat = Chat(quoting, SHOWCASE)
    events = chat.say("how long do I have to return an item?")
    assert "30 days from the delivery date" in text_of(events)
    assert not [e for e in events if isinstance(e, ReplyReplaced)]
    assert chat.state()["worded_sentences"] == 0  # the help center's sentences, not the model's
    completed = next(e for e in events if isinstance(e, MessageCompleted))
    assert any("eturn" in c.title for c in completed.citations)
    model.assert_all_used()  # the model was not asked


@pytest.mark.parametrize(
    ("configured", "backend", "model", "model_path", "custom_model", "expected"),
    [
        ("auto", "llama_cpp", "smollm2-135m", None, False, "quote"),  # the bundled 135M model
        ("auto", "llama_cpp", "smollm2-135m", "SmolLM2-135M-Instruct.Q4_1.gguf", False, "quote"),
        ("auto", "llama_cpp", "qwen2.5-coder-1.5b", None, False, "model"),  # the default model
        ("auto", "llama_cpp", "qwen2.5-coder-1.5b", "qwen2.5-coder-1.5b-instruct-q4_k_m.gguf", False, "model"),
        ("auto", "llama_cpp", "smollm2-135m", "big.gguf", False, "model"),
        ("auto", "openai", "smollm2-135m", None, False, "model"),
        ("auto", "llama_cpp", "smollm2-135m", None, True, "model"),  # a model handed in (scripted, or loaded)
        ("model", "llama_cpp", "smollm2-135m", None, False, "model"),
        ("quote", "llama_cpp", "qwen2.5-coder-1.5b", "big.gguf", False, "quote"),
    ],
)
def test_answer_style_quotes_only_with_the_bundled_model_unless_set(
    tmp_path: Path, configured: str, backend: str, model: str, model_path: str | None, custom_model: bool,
    expected: str,
) -> None:
    settings = make_settings(tmp_path, answer_style=configured, llm_backend=backend, model=model,
                             model_path=Path(model_path) if model_path else None)
    assert answer_style(settings, custom_model=custom_model) == expected


@pytest.mark.parametrize(
    ("setting", "configured", "model", "custom_model", "expected"),
    [
        ("planner", "auto", "qwen2.5-coder-1.5b", False, "model"),  # the default model plans
        ("planner", "auto", "smollm2-135m", False, "router"),  # the bundled 135M model cannot
        ("planner", "auto", "qwen2.5-coder-1.5b", True, "router"),  # a model handed in plans only when asked
        ("planner", "model", "smollm2-135m", True, "model"),
        ("planner", "router", "qwen2.5-coder-1.5b", False, "router"),
        ("reply_style", "auto", "qwen2.5-coder-1.5b", False, "model"),  # the default model words order replies
        ("reply_style", "auto", "smollm2-135m", False, "template"),  # the bundled 135M model cannot
        ("reply_style", "auto", "qwen2.5-coder-1.5b", True, "template"),  # a model handed in: only when asked
        ("reply_style", "model", "smollm2-135m", False, "model"),
        ("reply_style", "template", "qwen2.5-coder-1.5b", False, "template"),
    ],
)
def test_the_planner_and_reply_style_follow_the_setting_and_the_model(
    tmp_path: Path, setting: str, configured: str, model: str, custom_model: bool, expected: str
) -> None:
    settings = make_settings(tmp_path, model=model, **{setting: configured})
    resolve = planner_mode if setting == "planner" else reply_style
    assert resolve(settings, custom_model=custom_model) == expected


@pytest.mark.parametrize(("worded", "backend", "separate"), [
    (False, "llama_cpp", True),  # templates and quotes need no writer
    (True, "llama_cpp", False),  # a model handed in words itself
    (True, "openai", True),  # a model server keeps its own prompt cache
])
def test_the_agents_model_words_unless_a_second_instance_can_keep_the_writers_prompt(
    tmp_path: Path, worded: bool, backend: str, separate: bool
) -> None:
    assert writer_model(make_settings(tmp_path, llm_backend=backend), worded, separate=separate)() is None


SUPPORTED = "You have 30 days from the delivery date to return an item. "
"""A sentence the help center supports, so the bad sentence after it is what the rails must catch."""
BAD_MODEL_OUTPUTS = {
    "profanity": SUPPORTED + "Honestly this shit policy is a pain.",
    "disparage": SUPPORTED + "Northwind is the worst store, to be honest.",
    "pretend_human": SUPPORTED + "I am a real person, not a bot.",
    "placeholder": SUPPORTED + "Dear [Customer's Name], enjoy your day.",
    "ungrounded_fact": SUPPORTED + "Electronics get 90 days.",
    "commitment": SUPPORTED + "I promise you a full refund plus a discount on your next order.",
    "creative": SUPPORTED + "Here is a poem: roses are red, returns are great.",
    "unsupported_claim": SUPPORTED + "Always check with a local shipping company before you return anything.",
}


@pytest.mark.parametrize("rule", sorted(BAD_MODEL_OUTPUTS))
def test_bad_model_output_never_reaches_the_customer(chat_with: ChatWith, rule: str) -> None:
    bad = BAD_MODEL_OUTPUTS[rule]
    chat = chat_with(ScriptedChatModel(steps=[bad]))
    events = chat.say("how long do I have to return an item?")
    replaced = [e.rule for e in events if isinstance(e, ReplyReplaced)]
    assert replaced == ([] if rule in STOOD_IN_FOR else [rule])  # a wrong fact after the answer is left out
    delivered = "".join(e.text for e in events if isinstance(e, TextDelta))
    offending = bad.removeprefix(SUPPORTED)
    assert offending not in delivered and offending[:20] not in delivered
    assert unchecked_chars(events, Grounding(trusted=True)) == 0
    assert text_of(events).strip()  # the customer still got an answer (the help-center passage)


def test_model_failure_falls_back_to_the_passage(chat_with: ChatWith) -> None:
    events = chat_with(ScriptedChatModel(steps=[ModelError("boom")])).say("what is your return policy")
    assert text_of(events).strip()
    assert "error" not in types(events)


def test_repeated_guardrail_trips_escalate(chat_with: ChatWith) -> None:
    bad = "This store is the worst, honestly."
    chat = chat_with(ScriptedChatModel(steps=[bad, bad, bad]))
    for question in ("what is your return policy", "how long does shipping take"):
        assert not any(isinstance(e, HandoffStarted) for e in chat.say(question))
    events = chat.say("can I pay with paypal")
    assert any(isinstance(e, HandoffStarted) and e.reason == "repeated guardrail trips" for e in events)


def test_the_same_reply_three_times_hands_over_instead_of_looping(chat_with: ChatWith) -> None:
    chat = chat_with(ScriptedChatModel())
    for _ in range(2):
        assert not any(isinstance(e, HandoffStarted) for e in chat.say("hello"))
    events = chat.say("hello")
    assert any(isinstance(e, HandoffStarted) and e.reason == "conversation is going in circles" for e in events)


def test_bad_tool_arguments_are_a_clear_answer_and_nothing_is_written(chat_with: ChatWith) -> None:
    chat = chat_with(ScriptedChatModel())
    events = chat.say("where is my order #W1234567' OR '1'='1")
    assert "couldn't find an order #W1234567" in text_of(events)
    with chat.deps.store.session() as session:
        calls = session.scalars(select(ToolCall).where(ToolCall.conversation_id == chat.conversation_id)).all()
    assert [(c.tool, c.outcome) for c in calls] == [("get_order_details", "failed")]


def test_card_numbers_are_masked_before_the_model_or_transcript(chat_with: ChatWith) -> None:
    model = ScriptedChatModel(steps=["You can pay by card or PayPal."])
    chat = chat_with(model)
    chat.say("can I pay with paypal instead of my card 4111 1111 1111 1111?")
    prompt = "\n".join(str(m.content) for m in model.calls[0])
    assert "4111 1111 1111 1111" not in prompt and "[card ending 1111]" in prompt
