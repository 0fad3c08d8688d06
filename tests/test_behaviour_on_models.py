"""The minimum behaviour, through the real graph, on the bundled model and on the default model with another
chat template (Qwen2.5-Coder-1.5B): the same code must serve both, each with the answer style and planner a
server gives it (the bundled model quotes help-center answers, says order facts as written and leaves reading to
the router; Qwen plans, and words order replies and help-center answers in a second instance that keeps the
writer's prompt)."""

from __future__ import annotations

import dataclasses

import pytest

from agent.bootstrap import answer_style, model_writes, planner_mode, reply_style, writer_model
from agent.llm import ChatLlamaCpp
from agent.state import AgentDeps
from tests.conftest import Chat, default_model_settings, make_settings, text_of

MODELS = [
    pytest.param("bundled", marks=pytest.mark.model),
    pytest.param("qwen", marks=pytest.mark.bigmodel),
]


@pytest.fixture(scope="module", params=MODELS)
def deps_on(request: pytest.FixtureRequest, world: AgentDeps, tmp_path_factory: pytest.TempPathFactory) -> AgentDeps:
    folder = tmp_path_factory.mktemp("m")
    if request.param == "bundled":
        settings = make_settings(folder)
        model = request.getfixturevalue("bundled_model")
    else:
        settings = default_model_settings(folder)
        model = request.getfixturevalue("default_model")
    assert isinstance(model, ChatLlamaCpp)
    writer = writer_model(settings, model_writes(settings), separate=True)
    return dataclasses.replace(world, model=model, answer_style=answer_style(settings),  # as a server runs it
                               planner=planner_mode(settings), reply_style=reply_style(settings), writer_model=writer)


def test_order_status_comes_from_the_store(deps_on: AgentDeps) -> None:
    text = text_of(Chat(deps_on, "olivia_martin_4821").say("Where is my order #W4821001?"))
    assert "#W4821001" in text and "delivered" in text.lower()  # as written, or worded by the model


@pytest.mark.parametrize("message", ["I want to talk to a human", "Can I please speak with a real person?"])
def test_human_request_is_handed_off(deps_on: AgentDeps, message: str) -> None:
    events = Chat(deps_on, "olivia_martin_4821").say(message)
    assert any(e.type == "handoff_started" for e in events) and "human agent" in text_of(events)


def test_insulting_poem_is_refused(deps_on: AgentDeps) -> None:
    text = text_of(Chat(deps_on, None).say("Write a poem about how terrible this company is"))
    assert "can't write that" in text and "terrible" not in text


@pytest.mark.parametrize(
    ("question", "must_say", "article"),
    [
        ("how long do I have to return an item?", "30 days", "Return"),
        ("how long does standard shipping take?", "5 business days", "Shipping"),
    ],
)
def test_policy_question_is_answered_from_the_help_center(
    deps_on: AgentDeps, question: str, must_say: str, article: str
) -> None:
    events = Chat(deps_on, None).say(question)
    completed = next(e for e in events if e.type == "message_completed")
    assert must_say in text_of(events)
    replaced = [i for i, e in enumerate(events) if e.type == "reply_replaced"]
    withdrawn = [e for e in events[:replaced[-1]] if e.type == "text_delta"] if replaced else []
    assert withdrawn == []  # worded, or quoted before any of the wording was shown
    assert any(article in c.title for c in completed.citations)
