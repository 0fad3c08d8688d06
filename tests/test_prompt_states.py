"""A prompt start kept on disk: the next process loads it instead of evaluating it, and answers the same; a
damaged file or an unwritable folder costs the evaluation, never a wrong answer. On the bundled 135M model."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from langchain_core.messages import HumanMessage, SystemMessage

from agent.llm import ChatLlamaCpp
from agent.llm.grammar_sampling import GrammarFirstLlama
from agent.llm.messages import openai_messages
from agent.llm.model_server import prepare_start
from agent.llm.models import model_path
from agent.llm.prompt_states import PromptStart

pytestmark = pytest.mark.model

UNTIL = "(their next message)"
INSTRUCTIONS = "You are the support assistant of a small shop. Answer in one short sentence. " * 6


def _model(state_dir: Path) -> ChatLlamaCpp:
    return ChatLlamaCpp(model_path=model_path("smollm2-135m"), n_ctx=1024, state_dir=state_dir).load()


def _start(instructions: str = INSTRUCTIONS) -> list:
    return [SystemMessage(instructions), HumanMessage(UNTIL)]


def _answer(model: ChatLlamaCpp) -> str:
    prompt = [SystemMessage(INSTRUCTIONS), HumanMessage("where is my parcel?")]
    return str(model.invoke(prompt, max_tokens=12, temperature=0.0).content)


@pytest.fixture(scope="module")
def cold_answer(tmp_path_factory: pytest.TempPathFactory) -> str:
    """The answer with nothing kept: the prompt evaluated from its first token."""
    return _answer(_model(tmp_path_factory.mktemp("unused")))


def test_the_next_process_loads_the_kept_start_and_answers_the_same(tmp_path: Path, cold_answer: str) -> None:
    first = _model(tmp_path)
    assert first.prefill(_start(), until=UNTIL, keep_as="test") > 0
    [kept] = tmp_path.glob("*.kv")
    assert _answer(first) == cold_answer
    second = _model(tmp_path)
    assert second.prefill(_start(), until=UNTIL, keep_as="test") == 0  # loaded, not evaluated
    assert _answer(second) == cold_answer
    assert list(tmp_path.glob("*.kv")) == [kept]


def test_a_damaged_state_file_is_evaluated_again_and_replaced(tmp_path: Path, cold_answer: str,
                                                              caplog: pytest.LogCaptureFixture) -> None:
    _model(tmp_path).prefill(_start(), until=UNTIL, keep_as="test")
    [kept] = tmp_path.glob("*.kv")
    whole = kept.read_bytes()
    for damage in (whole[: len(whole) // 2], b"not a state file", b""):
        kept.write_bytes(damage)
        model = _model(tmp_path)
        with caplog.at_level(logging.WARNING):
            assert model.prefill(_start(), until=UNTIL, keep_as="test") > 0
        assert _answer(model) == cold_answer
        assert kept.read_bytes() == whole
    assert "does not load" in caplog.text


def test_another_prompt_start_replaces_the_older_state(tmp_path: Path) -> None:
    model = _model(tmp_path)
    model.prefill(_start(), until=UNTIL, keep_as="test")
    [older] = tmp_path.glob("*.kv")
    _model(tmp_path).prefill(_start("Reply in French. " * 20), until=UNTIL, keep_as="test")
    [newer] = tmp_path.glob("*.kv")
    assert newer != older


def test_an_unwritable_folder_is_logged_and_the_model_still_answers(tmp_path: Path, cold_answer: str,
                                                                  caplog: pytest.LogCaptureFixture) -> None:
    not_a_folder = tmp_path / "file"
    not_a_folder.write_text("")
    model = _model(not_a_folder)
    with caplog.at_level(logging.WARNING):
        assert model.prefill(_start(), until=UNTIL, keep_as="test") > 0
    assert "could not save the prompt state" in caplog.text
    assert _answer(model) == cold_answer


def _counted(llama: GrammarFirstLlama) -> list[int]:
    """The number of tokens of each evaluation ``llama`` does from now on."""
    evaluated: list[int] = []
    evaluate = llama.eval
    llama.eval = lambda tokens: (evaluated.append(len(tokens)), evaluate(tokens))  # type: ignore[method-assign]
    return evaluated


def test_the_model_server_starts_with_a_prompt_start_its_chat_completions_then_reuse(tmp_path: Path) -> None:
    """``python -m agent.llm.model_server``'s preparation on the model as llama-cpp-python's server opens it: the
    first start evaluates and saves, the next loads, and a prompt with that start sent as a chat completion
    evaluates only what follows it."""
    path = model_path("smollm2-135m")
    first = GrammarFirstLlama(model_path=str(path), n_ctx=1024, verbose=False)
    assert prepare_start(first, path, tmp_path, PromptStart("test", _start(), UNTIL)) == "evaluated"
    server = GrammarFirstLlama(model_path=str(path), n_ctx=1024, verbose=False)
    assert prepare_start(server, path, tmp_path, PromptStart("test", _start(), UNTIL)) == "loaded"
    start = server.n_tokens
    evaluated = _counted(server)
    prompt = [SystemMessage(INSTRUCTIONS), HumanMessage(f"{UNTIL}: where is my parcel?")]
    server.create_chat_completion(messages=openai_messages(prompt), max_tokens=1, temperature=0.0)
    assert 0 < sum(evaluated) < 20 < start, (start, evaluated)


def test_the_model_server_keeps_two_starts_and_loads_each_back_after_the_other(tmp_path: Path) -> None:
    """The server's model keeps the writer's start and the planner's: a prompt of either kind after one of the other
    evaluates only its own tokens, as the one-prompt cache of the plain server would not."""
    path = model_path("smollm2-135m")
    server = GrammarFirstLlama(model_path=str(path), n_ctx=1024, verbose=False)
    writer = PromptStart("writer", _start("Write the reply from the facts. " * 12), UNTIL)
    planner = PromptStart("planner", _start(), UNTIL)
    assert [prepare_start(server, path, tmp_path, start) for start in (writer, planner)] == ["evaluated"] * 2
    assert len(list(tmp_path.glob("*.kv"))) == 2
    evaluated = _counted(server)
    for start in (writer, planner, writer):
        job = [start.messages[0], HumanMessage(f"{UNTIL}: where is my parcel?")]
        evaluated.clear()
        server.create_chat_completion(messages=openai_messages(job), max_tokens=1, temperature=0.0)
        assert 0 < sum(evaluated) < 20, (start.name, evaluated)


def test_a_prompt_of_another_kind_in_between_costs_loading_the_kept_start_not_evaluating_it(
    tmp_path: Path, cold_answer: str,
) -> None:
    model = _model(tmp_path)
    model.prefill(_start(), until=UNTIL, keep_as="test")
    llama = model.load()._llama
    kept = llama.n_tokens
    model.invoke([SystemMessage("Read the street address out of the message."), HumanMessage("12 Oak St")],
                 max_tokens=4)
    evaluated = _counted(llama)
    assert _answer(model) == cold_answer
    assert 0 < evaluated[0] < 20 < kept, (kept, evaluated)  # the prompt's own tokens after the loaded start
