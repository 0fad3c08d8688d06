"""The rails' classifiers: linear models over MiniLM embeddings (and, when trained with them, word n-grams) that
score a text as off-policy. The input classifier scores a customer's message as harmful, a jailbreak, off-task or
sensitive (trained by ``python -m evals guardrails-train`` on the train split of the guardrail sets); the reply
classifier scores a model's sentence as off-policy (trained by ``python -m evals guardrails-train-replies`` on
labelled sentences of a real model told to misbehave).

Weights are plain JSON in ``agent/guardrails/classifiers/<name>.json``. MiniLM reads 256 tokens, so a long text is
read in overlapping chunks of words and the highest score of any chunk counts.
"""

from __future__ import annotations

import itertools
import json
import math
import re
from collections import Counter
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
_TERM = re.compile(r"(?u)\b\w\w+\b")


def chunks(text: str) -> list[str]:
    """``text`` in overlapping chunks of :data:`CHUNK_WORDS` words (one chunk when it is short)."""
    words = _WORD.findall(text)
    if len(words) <= CHUNK_WORDS:
        return [" ".join(words)]
    starts = range(0, len(words) - CHUNK_WORDS + CHUNK_STRIDE, CHUNK_STRIDE)
    return [" ".join(words[i : i + CHUNK_WORDS]) for i in starts][:MAX_CHUNKS]


def terms(text: str) -> list[str]:
    """The word unigrams and bigrams of ``text`` (lower case, words of two characters or more), as scikit-learn's
    ``TfidfVectorizer(ngram_range=(1, 2))`` reads them."""
    words = _TERM.findall(text.lower())
    return [*words, *(f"{a} {b}" for a, b in itertools.pairwise(words))]


@dataclass(frozen=True)
class Ngrams:
    """Tf-idf of word n-grams (sublinear counts, L2-normalised rows), scaled by ``scale`` next to the embedding."""

    index: dict[str, int]
    idf: np.ndarray
    scale: float

    def vectors(self, texts: list[str]) -> np.ndarray:
        """A ``(len(texts), len(index))`` array."""
        out = np.zeros((len(texts), len(self.index)), dtype=np.float32)
        for row, text in enumerate(texts):
            counts = Counter(t for t in terms(text) if t in self.index)
            for term, n in counts.items():
                column = self.index[term]
                out[row, column] = (1.0 + math.log(n)) * self.idf[column]
            norm = float(np.linalg.norm(out[row]))
            if norm:
                out[row] *= self.scale / norm
        return out


@dataclass(frozen=True)
class Score:
    """The classifier's reading of one text."""

    label: str
    """The most likely class other than benign (in the chunk that scored highest)."""
    score: float
    """1 - P(benign) of the chunk that scored highest."""


@dataclass(frozen=True)
class Classifier:
    """Multinomial logistic regression over L2-normalised MiniLM vectors (and word n-grams, when it has them)."""

    name: str
    classes: tuple[str, ...]
    weights: np.ndarray
    """``(len(classes), 384 + n-gram terms)``."""
    bias: np.ndarray
    threshold: float
    """The threshold chosen at training on the dev split (the policy's threshold is the one in force)."""
    ngrams: Ngrams | None = None

    def features(self, texts: list[str]) -> np.ndarray:
        """What the model reads of each text: its embedding, then its n-grams."""
        vectors = get_embedder().embed(texts)
        return vectors if self.ngrams is None else np.hstack([vectors, self.ngrams.vectors(texts)])

    def probabilities(self, features: np.ndarray) -> np.ndarray:
        """Class probabilities of each row of ``features``."""
        logits = features @ self.weights.T + self.bias
        logits -= logits.max(axis=1, keepdims=True)
        exp = np.exp(logits)
        return np.asarray(exp / exp.sum(axis=1, keepdims=True))

    def score(self, text: str) -> Score:
        """The highest non-benign probability over ``text``'s chunks, and its class."""
        probs = self.probabilities(self.features(chunks(text)))
        benign = self.classes.index(BENIGN)
        worst = int(np.argmin(probs[:, benign]))
        others = [(p, c) for c, p in zip(self.classes, probs[worst], strict=True) if c != BENIGN]
        return Score(label=max(others)[1], score=float(1.0 - probs[worst, benign]))


@cache
def load_classifier(name: str) -> Classifier:
    """The committed classifier ``name`` (``agent/guardrails/classifiers/<name>.json``)."""
    raw = json.loads(resources.files(__package__).joinpath(f"classifiers/{name}.json").read_text())
    ngrams = raw.get("ngrams")
    return Classifier(name=raw["name"], classes=tuple(raw["classes"]),
                      weights=np.asarray(raw["weights"], dtype=np.float32),
                      bias=np.asarray(raw["bias"], dtype=np.float32), threshold=float(raw["threshold"]),
                      ngrams=Ngrams(index={t: i for i, t in enumerate(ngrams["terms"])},
                                    idf=np.asarray(ngrams["idf"], dtype=np.float32), scale=float(ngrams["scale"]))
                      if ngrams else None)
