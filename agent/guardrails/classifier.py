"""The input classifier: a linear model over MiniLM embeddings that scores a message as harmful, a jailbreak,
off-task or sensitive; trained by ``python -m evals guardrails-train`` on the train split of the guardrail sets.

Its weights are plain JSON in ``agent/guardrails/classifiers/<name>.json``. MiniLM reads 256 tokens, so a long
message is read in overlapping chunks of words and the highest score of any chunk counts.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import cache
from importlib import resources

import numpy as np

from core.embeddings import get_embedder

BENIGN = "benign"
CHUNK_WORDS = 150
"""Words per chunk: about 200 word pieces, inside MiniLM's 256."""
CHUNK_STRIDE = 120
MAX_CHUNKS = 12
"""Chunks read per message (the start of a very long message is where its instructions are)."""
_WORD = re.compile(r"\S+")


def chunks(text: str) -> list[str]:
    """``text`` in overlapping chunks of :data:`CHUNK_WORDS` words (one chunk when it is short)."""
    words = _WORD.findall(text)
    if len(words) <= CHUNK_WORDS:
        return [" ".join(words)]
    starts = range(0, len(words) - CHUNK_WORDS + CHUNK_STRIDE, CHUNK_STRIDE)
    return [" ".join(words[i : i + CHUNK_WORDS]) for i in starts][:MAX_CHUNKS]


@dataclass(frozen=True)
class Score:
    """The classifier's reading of one message."""

    label: str
    """The most likely class other than benign (in the chunk that scored highest)."""
    score: float
    """1 - P(benign) of the chunk that scored highest."""


@dataclass(frozen=True)
class Classifier:
    """Multinomial logistic regression over L2-normalised MiniLM vectors."""

    name: str
    classes: tuple[str, ...]
    weights: np.ndarray
    """``(len(classes), 384)``."""
    bias: np.ndarray
    threshold: float
    """The threshold chosen at training on the dev split (the policy's ``classifier.threshold`` is in force)."""

    def probabilities(self, vectors: np.ndarray) -> np.ndarray:
        """Class probabilities of each row of ``vectors``."""
        logits = vectors @ self.weights.T + self.bias
        logits -= logits.max(axis=1, keepdims=True)
        exp = np.exp(logits)
        return np.asarray(exp / exp.sum(axis=1, keepdims=True))

    def score(self, text: str) -> Score:
        """The highest non-benign probability over ``text``'s chunks, and its class."""
        probs = self.probabilities(get_embedder().embed(chunks(text)))
        benign = self.classes.index(BENIGN)
        worst = int(np.argmin(probs[:, benign]))
        others = [(p, c) for c, p in zip(self.classes, probs[worst], strict=True) if c != BENIGN]
        return Score(label=max(others)[1], score=float(1.0 - probs[worst, benign]))


@cache
def load_classifier(name: str) -> Classifier:
    """The committed classifier ``name`` (``agent/guardrails/classifiers/<name>.json``)."""
    raw = json.loads(resources.files(__package__).joinpath(f"classifiers/{name}.json").read_text())
    return Classifier(name=raw["name"], classes=tuple(raw["classes"]),
                      weights=np.asarray(raw["weights"], dtype=np.float32),
                      bias=np.asarray(raw["bias"], dtype=np.float32), threshold=float(raw["threshold"]))
