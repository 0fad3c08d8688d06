"""Greedy decoding under a grammar in as few model steps as the grammar allows.

- The model's own best token is checked against the grammar first: llama.cpp's grammar sampler scores the whole
  vocabulary at every token (152k tokens with Qwen: about 17 ms a token on this 2-core machine), and the best
  token is almost always one the grammar allows; the whole vocabulary is scored only when it is not (what
  llama.cpp's own common sampler does).
- Text the grammar leaves no choice about (keys, punctuation, the rest of a name once the model has told it apart)
  is written without asking the model: its tokens are evaluated in one batch, as prompt tokens are (about 9 ms a
  token here, against 40 to 65 ms a decoding step). The JSON has no optional whitespace (the prompts' examples
  have none), so most of its structure is forced.
- Where the model chooses, the next few tokens are guessed from the prompt (order ids, item names) and checked in
  one batch with the next one (speculative decoding): a guess is kept only where the model picks it too. Greedy
  plain text (replies, answers, translations) is decoded the same way, without a grammar."""

from __future__ import annotations

import ctypes
import math
import re
from collections.abc import Iterator
from typing import Any

import llama_cpp
import numpy as np
from llama_cpp import Llama, LlamaGrammar, LogitsProcessorList
from llama_cpp._internals import LlamaContext, LlamaTokenDataArray

from agent.llm import prompt_states
from agent.llm.prompt_states import KeptStart

_SPACE_RULE = re.compile(r"^space ::= .*$", re.MULTILINE)
_CHARS = [chr(code) for code in range(32, 127)] + ["\n", "\t"]
FORCED_CHARS = 64
"""Characters written without the model at a time, at most."""


def compact(gbnf: str) -> str:
    """``gbnf`` (llama-cpp-python's JSON-schema grammar) without the optional space after punctuation."""
    return _SPACE_RULE.sub('space ::= ""', gbnf)


def _common_prefix(a: list[int], b: list[int]) -> int:
    return next((i for i, (x, y) in enumerate(zip(a, b, strict=False)) if x != y), min(len(a), len(b)))


class GreedyGrammarSampler:
    """Stands in for llama-cpp-python's sampler chain for one greedy, grammar-constrained completion."""

    def __init__(self, llama: Llama, grammar: LlamaGrammar) -> None:
        self._llama = llama
        self._n_vocab = llama.n_vocab()
        self._grammar = llama_cpp.llama_sampler_init_grammar(
            llama._model.vocab, compact(grammar._grammar).encode("utf-8"), grammar._root.encode("utf-8"))
        self._one = LlamaTokenDataArray(n_vocab=1)
        self._all = LlamaTokenDataArray(n_vocab=self._n_vocab)
        singles = {c: tokens[0] for c in _CHARS if len(tokens := self._tokenize(c)) == 1}
        self._char_token = singles
        self._probe_ids = np.array([*singles.values(), llama.token_eos()], dtype=np.intc)
        self._probe = LlamaTokenDataArray(n_vocab=len(self._probe_ids))

    def _tokenize(self, text: str) -> list[int]:
        return self._llama.tokenize(text.encode("utf-8"), add_bos=False, special=False)

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

    def _next_chars(self, grammar: Any) -> list[str] | None:
        """The characters ``grammar`` allows next, or None where it may also end."""
        probe = self._probe
        probe.candidates_data.id[:] = self._probe_ids
        probe.candidates_data.logit[:] = 0.0
        probe.candidates.size, probe.candidates.sorted = len(self._probe_ids), False
        llama_cpp.llama_sampler_apply(grammar, ctypes.byref(probe.candidates))
        allowed = ~np.isinf(probe.candidates_data.logit)
        return None if allowed[-1] else [c for c, ok in zip(self._char_token, allowed[:-1], strict=True) if ok]

    def forced(self, limit: int = FORCED_CHARS) -> list[int]:
        """The tokens of the text the grammar allows alone from here (``limit`` characters at most), accepted into
        it. The last one is left to the model when a character that may follow would join it ("_" before
        "items": the model writes "_items")."""
        probe = llama_cpp.llama_sampler_clone(self._grammar)
        text = ""
        try:
            while (following := self._next_chars(probe)) is not None and len(following) == 1 and len(text) < limit:
                llama_cpp.llama_sampler_accept(probe, self._char_token[following[0]])
                text += following[0]
        finally:
            llama_cpp.llama_sampler_free(probe)
        if not text:
            return []
        tokens = self._tokenize(text)
        keep = min((_common_prefix(tokens, self._tokenize(text + c)) for c in following or []), default=len(tokens))
        for token in tokens[:keep]:
            llama_cpp.llama_sampler_accept(self._grammar, token)
        return tokens[:keep]

    def close(self) -> None:
        if self._grammar is not None:
            llama_cpp.llama_sampler_free(self._grammar)
            self._grammar = None

    def __del__(self) -> None:
        self.close()


class BracesBanned(LogitsProcessorList):
    """A logits processor that never lets plain text contain a brace: a reply or translation is prose, and a
    small model asked to word one after the planner's instructions sometimes starts a JSON command instead."""

    def __init__(self, llama: Llama) -> None:
        self.banned = np.array([t for t in range(llama.n_vocab())
                                if b"{" in (p := llama.detokenize([t])) or b"}" in p], dtype=np.intc)
        self.is_banned = np.zeros(llama.n_vocab(), dtype=bool)
        self.is_banned[self.banned] = True
        super().__init__([self._ban])

    def _ban(self, _: Any, scores: np.ndarray) -> np.ndarray:
        scores[self.banned] = -np.inf
        return scores


class GreedyProseSampler:
    """Stands in for llama-cpp-python's sampler chain for one greedy plain-text completion: the most likely token
    that holds no brace (:class:`BracesBanned`). Nothing is forced: every token is the model's."""

    def __init__(self, llama: Llama, braces: BracesBanned) -> None:
        self._n_vocab = llama.n_vocab()
        self._braces = braces

    def sample(self, ctx: LlamaContext, idx: int = -1) -> int:
        """The most likely token without a brace at position ``idx``."""
        logits = np.ctypeslib.as_array(llama_cpp.llama_get_logits_ith(ctx.ctx, idx), shape=(self._n_vocab,))
        token = int(np.argmax(logits))
        if self._braces.is_banned[token]:
            allowed = logits.copy()
            allowed[self._braces.banned] = -np.inf
            token = int(np.argmax(allowed))
        return token

    def forced(self, limit: int = FORCED_CHARS) -> list[int]:
        return []

    def close(self) -> None:
        pass


class CopyDrafter:
    """Guesses the next tokens of a greedy completion from what the prompt already holds: the longest recent
    n-gram ending the text so far (``min_ngram`` to ``max_ngram`` tokens) is found earlier in it, and the tokens
    that followed its latest occurrence are the draft. Plans copy order ids and item names from the customer's
    context; replies copy an order's facts."""

    def __init__(self, *, max_draft: int, max_ngram: int = 6, min_ngram: int = 2) -> None:
        self.max_ngram = max_ngram
        self.min_ngram = min_ngram
        self.max_draft = max_draft

    def __call__(self, input_ids: np.ndarray) -> list[int]:
        for size in range(min(self.max_ngram, len(input_ids) - 1), self.min_ngram - 1, -1):
            windows = np.lib.stride_tricks.sliding_window_view(input_ids[:-1], size)
            found = np.flatnonzero(np.all(windows == input_ids[-size:], axis=1))
            if len(found):
                start = int(found[-1]) + size
                return [int(t) for t in input_ids[start:start + self.max_draft]]
        return []


class GrammarFirstLlama(Llama):
    """A :class:`Llama` whose greedy grammar-constrained completions use :class:`GreedyGrammarSampler` and write
    forced text without the model, and whose greedy completions (those and plain text without braces:
    :class:`GreedyProseSampler`) check a :class:`CopyDrafter`'s guesses in one batch with the next token. Only the
    guessed positions get logits, so evaluating the prompt costs what it did. A prompt that begins with one of its
    ``kept_starts`` has that start's saved state loaded back when a prompt of another kind took the KV cache
    (:func:`agent.llm.prompt_states.restore`)."""

    draft_tokens: int = 3
    """Tokens guessed at a time (0: none). Each guessed position costs its logits over Qwen's 152k-token
    vocabulary and attention over a 2,000-token prompt, and guesses rarely hold longer: six later-turn plans decode
    in 7.1 s guessing 3, 8.0 s guessing 2 or 4, 9.0 s with no guesses, and 14.7 s with llama.cpp's sampler chain,
    the same plans (``scripts/bench_plan_decoding.py``)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.kept_starts: dict[str, KeptStart] = {}
        """The prompt starts kept in files, by name."""

    def _init_sampler(self, **params: Any) -> Any:
        grammar, processor = params.get("grammar"), params.get("logits_processor")
        if params.get("temp") != 0.0 or params.get("repeat_penalty", 1.0) != 1.0:
            return super()._init_sampler(**params)
        if grammar is not None and processor is None:
            return GreedyGrammarSampler(self, grammar)
        if grammar is None and isinstance(processor, BracesBanned):
            return GreedyProseSampler(self, processor)
        return super()._init_sampler(**params)

    def generate(self, tokens: Any, *args: Any, **kwargs: Any) -> Iterator[int]:  # type: ignore[override]
        """llama-cpp-python's generator (it evaluates the prompt, reusing the KV cache, and samples the first
        token); a greedy completion goes on in :meth:`_greedy`. Nothing is sent in:
        llama-cpp-python's completions only iterate."""
        prompt_states.restore(self, tokens)
        inner = super().generate(tokens, *args, **kwargs)
        first = next(inner, None)
        if first is None:
            return
        if not isinstance(self._sampler, GreedyGrammarSampler | GreedyProseSampler):
            yield first
            yield from inner
            return
        inner.close()
        yield from self._greedy(self._sampler, first, kwargs.get("stopping_criteria"))

    def _greedy(self, sampler: GreedyGrammarSampler | GreedyProseSampler, token: int, stop: Any) -> Iterator[int]:
        """From the sampled ``token`` on (not evaluated yet): forced text in one batch with it, else the drafted
        guesses checked in one batch with it, each kept while the model picks it too. ``stop`` (a chat format's
        stop at its end-of-turn tokens) is asked before each sampled token as llama-cpp-python asks it: about the
        tokens evaluated so far."""
        drafter = CopyDrafter(max_draft=self.draft_tokens)
        while True:
            if stop is not None and stop(self.input_ids[:self.n_tokens], self._scores[-1, :]):
                return
            yield token
            if llama_cpp.llama_vocab_is_eog(self._model.vocab, token):
                return
            room = max(0, self._n_ctx - self.n_tokens - 1)  # for the tokens evaluated with this one
            forced = sampler.forced(min(FORCED_CHARS, room))  # no more tokens than characters
            if forced:
                yield from forced
                self.eval([token, *forced])
                token = sampler.sample(self._ctx)
                continue
            draft = drafter(np.append(self.input_ids[:self.n_tokens], token))[:room] if self.draft_tokens else []
            self._evaluate([token, *draft], every_logit=bool(draft))
            kept = 0
            while kept < len(draft) and (token := sampler.sample(self._ctx, kept)) == draft[kept]:
                kept += 1
            if kept == len(draft):
                token = sampler.sample(self._ctx, len(draft))
            yield from draft[:kept]
            if kept < len(draft):  # the context's last logits are a rejected guess's
                self.n_tokens -= len(draft) - kept
                self._ctx.kv_cache_seq_rm(-1, self.n_tokens, -1)
                self._requires_eval = True

    def _evaluate(self, tokens: list[int], *, every_logit: bool) -> None:
        """Evaluate ``tokens`` in one batch, with logits for each of them or only the last."""
        self._ctx.kv_cache_seq_rm(-1, self.n_tokens, -1)
        self._batch.set_batch(batch=tokens, n_past=self.n_tokens, logits_all=every_logit)
        self._ctx.decode(self._batch)
        self.input_ids[self.n_tokens:self.n_tokens + len(tokens)] = tokens
        self.n_tokens += len(tokens)
        self._requires_eval = False
