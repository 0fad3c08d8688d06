"""Greedy decoding under a grammar that checks the model's own choice first. llama.cpp's grammar sampler scores
the whole vocabulary at every token (152k tokens with Qwen: about 17 ms a token on this 2-core machine, a fifth
of the decode time); the model's best token is almost always one the grammar allows, so it is checked alone,
and the whole vocabulary is scored only when it is not (what llama.cpp's own common sampler does). The tokens
chosen are exactly those of greedy decoding with the grammar applied first."""

from __future__ import annotations

import ctypes
import math
from typing import Any

import llama_cpp
import numpy as np
from llama_cpp import Llama, LlamaGrammar
from llama_cpp._internals import LlamaContext, LlamaTokenDataArray


class GreedyGrammarSampler:
    """Stands in for llama-cpp-python's sampler chain for one greedy, grammar-constrained completion."""

    def __init__(self, llama: Llama, grammar: LlamaGrammar) -> None:
        self._n_vocab = llama.n_vocab()
        self._grammar = llama_cpp.llama_sampler_init_grammar(
            llama._model.vocab, grammar._grammar.encode("utf-8"), grammar._root.encode("utf-8"))
        self._one = LlamaTokenDataArray(n_vocab=1)
        self._all = LlamaTokenDataArray(n_vocab=self._n_vocab)

    def _allows(self, token: int, logit: float) -> bool:
        self._one.copy_logits(np.array([logit], dtype=np.single))
        self._one.candidates_data.id[0] = token
        llama_cpp.llama_sampler_apply(self._grammar, ctypes.byref(self._one.candidates))
        return not math.isinf(float(self._one.candidates_data.logit[0]))

    def sample(self, ctx: LlamaContext, idx: int = -1) -> int:
        """The most likely token the grammar allows at position ``idx``, accepted into the grammar's state."""
        logits = np.ctypeslib.as_array(llama_cpp.llama_get_logits_ith(ctx.ctx, idx), shape=(self._n_vocab,))
        token = int(np.argmax(logits))
        if not self._allows(token, float(logits[token])):
            self._all.copy_logits(logits)
            llama_cpp.llama_sampler_apply(self._grammar, ctypes.byref(self._all.candidates))
            token = int(np.argmax(self._all.candidates_data.logit))
        llama_cpp.llama_sampler_accept(self._grammar, token)
        return token

    def close(self) -> None:
        if self._grammar is not None:
            llama_cpp.llama_sampler_free(self._grammar)
            self._grammar = None

    def __del__(self) -> None:
        self.close()


class CopyDrafter:
    """Guesses the next tokens of structured output from what the prompt already holds: the longest recent
    n-gram ending the text so far (``min_ngram`` to ``max_ngram`` tokens) is found earlier in it, and the tokens
    that followed its latest occurrence are the draft. Plans copy a lot: keys and command names from the
    examples, order ids and item names from the customer's context."""

    def __init__(self, *, max_ngram: int = 6, min_ngram: int = 2, max_draft: int = 8) -> None:
        self.max_ngram = max_ngram
        self.min_ngram = min_ngram
        self.max_draft = max_draft
        self.drafted = 0
        """How many tokens the last call drafted (their logits are needed to check them)."""

    def __call__(self, input_ids: np.ndarray, /, **_: Any) -> np.ndarray:
        self.drafted = 0
        for size in range(min(self.max_ngram, len(input_ids) - 1), self.min_ngram - 1, -1):
            windows = np.lib.stride_tricks.sliding_window_view(input_ids[:-1], size)
            found = np.flatnonzero(np.all(windows == input_ids[-size:], axis=1))
            if len(found):
                start = int(found[-1]) + size
                draft = input_ids[start:start + self.max_draft]
                self.drafted = len(draft)
                return draft
        return input_ids[:0]


class GrammarFirstLlama(Llama):
    """A :class:`Llama` whose greedy grammar-constrained completions use :class:`GreedyGrammarSampler`, and check
    a :class:`CopyDrafter`'s guesses in the same batch as the next token (speculative decoding: the output is the
    same, token for token). Only the drafted positions get logits, so evaluating the prompt costs what it did
    (llama-cpp-python's own drafting computes them for every prompt token, which made it slower here)."""

    draft_tokens: int = 8
    """Tokens guessed at a time (0: none). Each guessed position costs its logits over Qwen's 152k-token
    vocabulary and attention over a 2,000-token prompt: here a batch of 4 costs about 1.8 single steps and a
    batch of 9 about 4, so 3 decode plans about a fifth faster (``scripts/bench_plan_decoding.py``). It stays 8
    until the suites pass with 3: batches of another size round the logits differently, and with 3 one
    understanding case's correction was planned otherwise (184/185)."""

    def _init_sampler(self, **params: Any) -> Any:
        grammar = params.get("grammar")
        plain = params.get("logits_processor") is None and params.get("repeat_penalty", 1.0) == 1.0
        greedy_grammar = grammar is not None and params.get("temp") == 0.0 and plain
        self.draft_model = CopyDrafter(max_draft=self.draft_tokens) if greedy_grammar and self.draft_tokens else None
        if greedy_grammar:
            return GreedyGrammarSampler(self, grammar)
        return super()._init_sampler(**params)

    def eval(self, tokens: Any) -> None:
        """Evaluate ``tokens``: after a draft (the sampled token and the drafted ones), with logits for each."""
        drafter = self.draft_model
        checked = 1 + drafter.drafted if isinstance(drafter, CopyDrafter) else 1
        if checked == 1 or len(tokens) != checked:
            super().eval(tokens)
            return
        drafter.drafted = 0
        self._ctx.kv_cache_seq_rm(-1, self.n_tokens, -1)
        self._batch.set_batch(batch=tokens, n_past=self.n_tokens, logits_all=True)
        self._ctx.decode(self._batch)
        self.input_ids[self.n_tokens:self.n_tokens + checked] = tokens
        self.n_tokens += checked
        self._requires_eval = False
