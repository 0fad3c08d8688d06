"""The KV state of a prompt start every process evaluates the same (the planner's fixed instructions and tool
catalogue, about 1,900 tokens: half a minute on 2 cores; the writer's, about 150), kept in a file so that the next
process loads it in milliseconds, and a model whose KV cache a prompt of another kind took over loads it again
instead of evaluating it (:func:`restore`). One file per model and start, named by what it holds: the model file,
llama.cpp's version and the tokens. A file that is missing, stale, damaged or unwritable costs the evaluation, never
a wrong state."""

from __future__ import annotations

import ctypes
import hashlib
import logging
import os
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any, NamedTuple

import llama_cpp
from langchain_core.messages import BaseMessage

log = logging.getLogger(__name__)
SEQUENCE = 0
"""llama-cpp-python runs every prompt as sequence 0."""


class PromptStart(NamedTuple):
    """A prompt start every process evaluates the same: the prompt ``messages`` make, up to the first ``until`` in
    it, kept under ``name`` (one file per model and name)."""

    name: str
    messages: list[BaseMessage]
    until: str


class KeptStart(NamedTuple):
    """A prompt start's tokens and the file of their state."""

    tokens: list[int]
    path: Path


def state_file(folder: Path, model_path: Path, name: str, tokens: list[int]) -> Path:
    """Where the state of ``tokens``, the start kept as ``name``, evaluated by the model at ``model_path`` is kept."""
    stat = model_path.stat()
    key = hashlib.sha256(f"{model_path.name}:{stat.st_size}:{stat.st_mtime_ns}:{llama_cpp.__version__}:"
                         f"{','.join(map(str, tokens))}".encode()).hexdigest()[:16]
    return folder / f"{model_path.stem}-{name}-{key}.kv"


def cached(llama: Any, tokens: Sequence[int]) -> int:
    """How many of ``tokens``, from the first, the KV cache holds."""
    held = llama.input_ids[:llama.n_tokens]
    return next((i for i, (a, b) in enumerate(zip(held, tokens, strict=False)) if a != b),
                min(llama.n_tokens, len(tokens)))


def restore(llama: Any, tokens: Sequence[int]) -> None:
    """Before a prompt of ``tokens``: when it begins with one of the model's kept starts (``llama.kept_starts``) and
    the KV cache no longer holds all of that start (a prompt of another kind came in between), load the start's
    state instead of evaluating it."""
    for start in llama.kept_starts.values():
        if list(tokens[:len(start.tokens)]) == start.tokens:
            if cached(llama, start.tokens) < len(start.tokens):
                load(llama, start.path, start.tokens)
            return


def evaluate(llama: Any, tokens: list[int]) -> int:
    """Evaluate what of ``tokens`` the KV cache does not hold (a kept start they begin with loaded back first):
    the number of tokens evaluated."""
    restore(llama, tokens)
    held = cached(llama, tokens)
    if held < len(tokens):
        llama.n_tokens = held
        llama.eval(tokens[held:])
    return len(tokens) - held


def keep(llama: Any, folder: Path, model_path: Path, name: str, tokens: list[int]) -> int:
    """Keep ``tokens`` as the start ``name`` of the model at ``model_path``: loaded from its file in ``folder``,
    else evaluated and saved there. Returns the tokens evaluated (0: loaded)."""
    start = KeptStart(tokens, state_file(folder, model_path, name, tokens))
    llama.kept_starts[name] = start
    evaluated = evaluate(llama, tokens)
    if evaluated:
        save(llama, start.path, tokens)
    return evaluated


def load(llama: Any, path: Path, tokens: list[int]) -> bool:
    """Put the state saved at ``path`` in the KV cache, as if ``tokens`` had just been evaluated; False (with the
    cache emptied) when there is no such file or it does not hold exactly those tokens."""
    if not path.is_file():
        return False
    read = (llama_cpp.llama_token * len(tokens))()
    count = ctypes.c_size_t(0)
    llama._ctx.kv_cache_clear()
    size = llama_cpp.llama_state_seq_load_file(llama._ctx.ctx, str(path).encode(), SEQUENCE, read, len(tokens),
                                               ctypes.byref(count))
    if size == 0 or list(read[:count.value]) != tokens:
        log.warning("the saved prompt state %s does not load: evaluating the prompt start instead", path)
        llama._ctx.kv_cache_clear()
        llama.n_tokens = 0
        return False
    llama.input_ids[:len(tokens)] = tokens
    llama.n_tokens = len(tokens)
    return True


def save(llama: Any, path: Path, tokens: list[int]) -> None:
    """Save the KV state of ``tokens`` (the first tokens in the cache) at ``path``, replacing the older states
    saved under the same model and name; a folder that cannot be written is logged and left."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(dir=path.parent, suffix=".part")
        os.close(handle)
        llama._ctx.kv_cache_seq_rm(SEQUENCE, len(tokens), -1)  # only the tokens named: no cells past them
        written = llama_cpp.llama_state_seq_save_file(llama._ctx.ctx, temporary.encode(), SEQUENCE,
                                                      (llama_cpp.llama_token * len(tokens))(*tokens), len(tokens))
        if written == 0:
            os.unlink(temporary)
            log.warning("could not save the prompt state at %s", path)
            return
        os.replace(temporary, path)  # whole or not at all: another process may be loading it
        for older in path.parent.glob(f"{path.stem.rsplit('-', 1)[0]}-*.kv"):
            if older != path:
                older.unlink(missing_ok=True)
    except OSError as exc:
        log.warning("could not save the prompt state at %s: %s", path, exc)
