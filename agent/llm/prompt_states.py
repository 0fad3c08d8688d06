"""The KV state of a prompt start every process evaluates the same (the planner's fixed instructions and tool
catalogue, about 1,900 tokens: half a minute on 2 cores), kept in a file so that the next process loads it in
milliseconds. One file per model, named by what it holds: the model file, llama.cpp's version and the tokens. A
file that is missing, stale, damaged or unwritable costs the evaluation, never a wrong state."""

from __future__ import annotations

import ctypes
import hashlib
import logging
import os
import tempfile
from pathlib import Path
from typing import Any

import llama_cpp

log = logging.getLogger(__name__)
SEQUENCE = 0
"""llama-cpp-python runs every prompt as sequence 0."""


def state_file(folder: Path, model_path: Path, tokens: list[int]) -> Path:
    """Where the state of ``tokens`` evaluated by the model at ``model_path`` is kept."""
    stat = model_path.stat()
    key = hashlib.sha256(f"{model_path.name}:{stat.st_size}:{stat.st_mtime_ns}:{llama_cpp.__version__}:"
                         f"{','.join(map(str, tokens))}".encode()).hexdigest()[:16]
    return folder / f"{model_path.stem}-{key}.kv"


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
    """Save the KV state of ``tokens`` (the first tokens in the cache) at ``path``, replacing the model's other
    saved states (an older prompt's); a folder that cannot be written is logged and left."""
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
