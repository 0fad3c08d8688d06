"""The model layer on real GGUF files: streaming, JSON-schema-constrained output, clear load errors."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import pytest
from langchain_core.messages import HumanMessage, SystemMessage
from llama_cpp import Llama
from pydantic import BaseModel, Field

from agent.llm import ChatLlamaCpp, build_chat_model
from agent.llm.grammar_sampling import GrammarFirstLlama, GreedyGrammarSampler
from core.errors import ModelError
from tests.conftest import make_settings


class Decision(BaseModel):
    intent: Literal["order_status", "refund", "human", "other"]
    order_id: str | None = Field(pattern=r"^#W\d{7}$")
    confidence: int = Field(ge=0, le=100)


PROMPT = [SystemMessage("You are a support assistant. Answer briefly."), HumanMessage("Where is my order #W4821002?")]


def test_missing_model_file_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ModelError, match="model file not found"):
        build_chat_model(make_settings(tmp_path, model_path=tmp_path / "nope.gguf"))


def test_corrupt_model_file_is_a_clear_error(tmp_path: Path) -> None:
    junk = tmp_path / "junk.gguf"
    junk.write_bytes(b"not a model at all" * 100)
    with pytest.raises(ModelError, match="not a GGUF"):
        build_chat_model(make_settings(tmp_path, model_path=junk))


@pytest.mark.model
def test_truncated_gguf_is_a_clear_error(tmp_path: Path, bundled_model: ChatLlamaCpp) -> None:
    truncated = tmp_path / "truncated.gguf"
    truncated.write_bytes(bundled_model.model_path.read_bytes()[:200_000])
    with pytest.raises(ModelError, match="could not load model"):
        build_chat_model(make_settings(tmp_path, model_path=truncated))


def _streams_and_decides(model: ChatLlamaCpp) -> None:
    chunks = [str(c.content) for c in model.stream(PROMPT)]
    assert len(chunks) > 3 and "".join(chunks).strip()
    decision = model.with_structured_output(Decision).invoke(PROMPT)
    assert isinstance(decision, Decision)  # schema-valid by construction (grammar), whatever the model's skill


@pytest.mark.model
def test_bundled_model_streams_and_returns_schema_valid_output(bundled_model: ChatLlamaCpp) -> None:
    _streams_and_decides(bundled_model)


@pytest.mark.bigmodel
def test_the_default_model_with_another_chat_template_works_unchanged(default_model: ChatLlamaCpp) -> None:
    _streams_and_decides(default_model)


@pytest.mark.model
def test_grammar_first_sampling_picks_what_the_whole_vocabulary_grammar_picks(
    bundled_model: ChatLlamaCpp, monkeypatch: pytest.MonkeyPatch
) -> None:
    checked: list[bool] = []
    allows = GreedyGrammarSampler._allows

    def spy(self: GreedyGrammarSampler, token: int, logit: float) -> bool:
        checked.append(allows(self, token, logit))
        return checked[-1]

    monkeypatch.setattr(GreedyGrammarSampler, "_allows", spy)
    structured = bundled_model.with_structured_output(Decision)
    fast = structured.invoke(PROMPT)
    assert True in checked and False in checked  # both ways were taken: the model's own token, and the fallback
    monkeypatch.setattr(GrammarFirstLlama, "_init_sampler", Llama._init_sampler)  # llama.cpp's sampler chain
    bundled_model.load()._llama.draft_model = None
    assert structured.invoke(PROMPT) == fast


@pytest.mark.model
def test_drafted_tokens_are_checked_and_change_nothing(
    bundled_model: ChatLlamaCpp, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Copied guesses (the order id is in the prompt) are checked in one batch: fewer model steps, same output."""
    steps: list[int] = []
    evaluate = GrammarFirstLlama.eval

    def counted(self: GrammarFirstLlama, tokens: list[int]) -> None:
        steps.append(len(tokens))
        evaluate(self, tokens)

    monkeypatch.setattr(GrammarFirstLlama, "eval", counted)
    structured = bundled_model.with_structured_output(Decision)
    drafted = structured.invoke(PROMPT)
    with_drafts = len(steps)
    steps.clear()
    monkeypatch.setattr(GrammarFirstLlama, "draft_tokens", 0)
    assert structured.invoke(PROMPT) == drafted
    assert with_drafts < len(steps)
    assert all(size == 1 for size in steps[1:])  # no drafts: one token a step after the prompt
