"""The minimum behaviour, through the real graph, on the bundled model and on a bigger GGUF with another
chat template (Qwen2.5 0.5B): the same code must serve both, each with the answer style a server gives it (the
bundled model quotes help-center answers, Qwen words them)."""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path

import pytest

from agent.bootstrap import answer_style
from agent.llm import ChatLlamaCpp, build_chat_model
from agent.state import AgentDeps
from tests.conftest import Chat, make_settings, text_of

MODELS = [
    pytest.param("bundled", marks=pytest.mark.model),
    pytest.param("qwen", marks=pytest.mark.bigmodel),
]


@pytest.fixture(scope="module", params=MODELS)
def deps_on(request: pytest.FixtureRequest, world: AgentDeps, tmp_path_factory: pytest.TempPathFactory) -> AgentDeps:
    if request.param == "bundled":
        model_path = None
    else:
        model_path = Path(os.environ.get("SUPPORT_TEST_BIG_MODEL", ""))
        if not model_path.is_file():
            pytest.fail("SUPPORT_TEST_BIG_MODEL must name the Qwen2.5 0.5B GGUF (make test fetches it)")
    settings = make_settings(tmp_path_factory.mktemp("m"), model_path=model_path)
    model = build_chat_model(settings)
    assert isinstance(model, ChatLlamaCpp)
    return dataclasses.replace(world, model=model, answer_style=answer_style(settings))  # as a server runs it


def test_order_status_comes_from_the_store(deps_on: AgentDeps) -> None:
    assert "Order #W4821001 is delivered." in text_of(Chat(deps_on, "olivia_martin_4821").say(
        "Where is my order #W4821001?"))


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
    assert any(article in c.title for c in completed.citations)
