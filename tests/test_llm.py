"""The model layer on real GGUF files: streaming, JSON-schema-constrained output, clear load errors."""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path
from typing import Literal

import llama_cpp
import pytest
from langchain_core.messages import BaseMessage, HumanMessage, SystemMessage
from llama_cpp import Llama, LlamaGrammar
from llama_cpp._internals import LlamaBatch, LlamaContext
from pydantic import BaseModel, Field

from agent.llm import ChatLlamaCpp, build_chat_model, grammar_sampling
from agent.llm import llama_cpp as llama_cpp_module
from agent.llm.grammar_sampling import GrammarFirstLlama, GreedyGrammarSampler
from agent.llm.structured import grammar_safe
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


@pytest.mark.model  # with the model tests, in their own process: it swaps the process's descriptor 2, which broke
# a PostgreSQL lock test sharing its worker (tests/test_hub.py: the other batch never seen waiting)
def test_model_instances_loading_at_once_leave_stderr_as_it_was() -> None:
    """Each load silences llama.cpp's chatter on descriptor 2; two at once (the writer's instance warms up in the
    background) must not leave it silenced, nor take stdout with it."""
    before = os.fstat(2), os.fstat(1)

    def load() -> None:
        with llama_cpp_module._quiet_stderr():
            time.sleep(0.05)

    threads = [threading.Thread(target=load) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    after = os.fstat(2), os.fstat(1)
    assert [(s.st_dev, s.st_ino) for s in after] == [(s.st_dev, s.st_ino) for s in before]


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


@pytest.mark.model
def test_plain_text_never_holds_a_brace_even_when_asked_for_json(bundled_model: ChatLlamaCpp) -> None:
    asked = [HumanMessage('Reply with exactly this JSON and nothing else: {"cmd":"lookup","order_id":"#W4821002"}')]
    text = "".join(str(c.content) for c in bundled_model.stream(asked, max_tokens=40))
    assert text.strip() and "{" not in text and "}" not in text
    assert str(bundled_model.invoke(asked, response_format={"type": "json_object"}).content).startswith("{")


@pytest.mark.bigmodel
def test_the_default_model_with_another_chat_template_works_unchanged(default_model: ChatLlamaCpp) -> None:
    _streams_and_decides(default_model)


def _decoded(model: ChatLlamaCpp, monkeypatch: pytest.MonkeyPatch) -> tuple[str, list[int]]:
    """The raw JSON ``model`` writes for :data:`PROMPT` under :class:`Decision`'s grammar, and the size of each
    batch the model evaluated after the prompt (one per model step)."""
    batches: list[int] = []
    decode = LlamaContext.decode

    def counted(self: LlamaContext, batch: LlamaBatch) -> None:
        batches.append(batch.n_tokens())
        decode(self, batch)

    schema = {"type": "json_object", "schema": grammar_safe(Decision.model_json_schema())}
    bound = model.bind(response_format=schema, temperature=0.0, repeat_penalty=1.0)
    bound.invoke(PROMPT)  # the prompt evaluated: what is counted next is the decoding
    with monkeypatch.context() as spying:
        spying.setattr(LlamaContext, "decode", counted)
        text = str(bound.invoke(PROMPT).content)
    return text, batches


@pytest.mark.model
def test_grammar_first_sampling_picks_what_the_whole_vocabulary_grammar_picks(
    bundled_model: ChatLlamaCpp, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With nothing written for the model (no forced text, no guesses, the grammar's optional spaces kept), each
    token is the one llama.cpp's own sampler chain picks."""
    checked: list[bool] = []
    allows = GreedyGrammarSampler._allows

    def spy(self: GreedyGrammarSampler, token: int, logit: float) -> bool:
        checked.append(allows(self, token, logit))
        return checked[-1]

    monkeypatch.setattr(GreedyGrammarSampler, "_allows", spy)
    monkeypatch.setattr(GreedyGrammarSampler, "forced", lambda self, limit=0: [])
    monkeypatch.setattr(grammar_sampling, "compact", lambda gbnf: gbnf)
    monkeypatch.setattr(GrammarFirstLlama, "draft_tokens", 0)
    ours, _ = _decoded(bundled_model, monkeypatch)
    assert True in checked and False in checked  # both ways were taken: the model's own token, and the fallback
    monkeypatch.setattr(GrammarFirstLlama, "_init_sampler", Llama._init_sampler)  # llama.cpp's sampler chain
    assert _decoded(bundled_model, monkeypatch)[0] == ours


@pytest.mark.model
def test_forced_text_and_checked_guesses_take_a_fraction_of_the_model_steps(
    bundled_model: ChatLlamaCpp, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Keys and punctuation are written without the model and the order id copied from the prompt is checked in
    one batch: a third of llama.cpp's steps or fewer, for schema-valid JSON without spaces."""
    ours, steps = _decoded(bundled_model, monkeypatch)
    monkeypatch.setattr(GrammarFirstLlama, "_init_sampler", Llama._init_sampler)
    _, their_steps = _decoded(bundled_model, monkeypatch)
    assert Decision.model_validate_json(ours) and " " not in ours
    assert '"order_id":"#W4821002"' in ours  # copied from the prompt
    assert all(size == 1 for size in their_steps)
    assert 3 * len(steps) <= len(their_steps) and any(size > 1 for size in steps)


@pytest.mark.model
def test_forced_text_leaves_the_model_a_token_it_would_join(bundled_model: ChatLlamaCpp) -> None:
    """Between two tool names that share a start, the grammar forces the shared part; its last token is left to
    the model when the next character would join it, so the model writes the name's end as it tokenizes it."""
    llama = bundled_model.load()._llama
    grammar = LlamaGrammar.from_string('root ::= "modify_pending_order_items" | "modify_pending_order_address"',
                                       verbose=False)
    sampler = GreedyGrammarSampler(llama, grammar)
    for token in llama.tokenize(b"modify", add_bos=False):
        llama_cpp.llama_sampler_accept(sampler._grammar, token)
    forced = llama.detokenize(sampler.forced()).decode()
    assert "_pending_order_".startswith(forced) and len(forced) >= len("_pending")
    for end in ("items", "address"):  # the forced tokens are how the whole name tokenizes
        whole = llama.tokenize(f"_pending_order_{end}".encode(), add_bos=False)
        assert llama.detokenize(whole[:len(llama.tokenize(forced.encode(), add_bos=False))]).decode() == forced
    assert sampler.forced() == []  # a choice comes next


def _prose(model: ChatLlamaCpp, monkeypatch: pytest.MonkeyPatch, prompt: list[BaseMessage]) -> tuple[str, list[int]]:
    """The plain text ``model`` writes greedily for ``prompt``, and the size of each batch evaluated after it."""
    batches: list[int] = []
    decode = LlamaContext.decode

    def counted(self: LlamaContext, batch: LlamaBatch) -> None:
        batches.append(batch.n_tokens())
        decode(self, batch)

    model.invoke(prompt, max_tokens=1, temperature=0.0)  # the prompt evaluated: what is counted next is the decoding
    with monkeypatch.context() as spying:
        spying.setattr(LlamaContext, "decode", counted)
        text = "".join(str(c.content) for c in model.stream(prompt, max_tokens=40, temperature=0.0))
    return text, batches


@pytest.mark.model
def test_greedy_plain_text_is_llama_cpps_greedy_text_in_fewer_steps(
    bundled_model: ChatLlamaCpp, monkeypatch: pytest.MonkeyPatch
) -> None:
    """At temperature 0 a reply is the most likely text without braces, as llama.cpp's own sampler chain writes
    it, and what it copies from the prompt is checked a few tokens at a time."""
    copying = [HumanMessage("Repeat this sentence word for word: Order #W4821002 is being picked and packed, and "
                            "it has not shipped yet.")]
    ours, steps = _prose(bundled_model, monkeypatch, copying)
    monkeypatch.setattr(GrammarFirstLlama, "_init_sampler", Llama._init_sampler)
    theirs, their_steps = _prose(bundled_model, monkeypatch, copying)
    assert ours == theirs and "W4821002 is being picked and packed" in ours
    assert all(size == 1 for size in their_steps) and len(steps) < len(their_steps)
    assert any(size > 1 for size in steps)
