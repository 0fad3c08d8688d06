"""Train the input classifier (``python -m evals guardrails-train``): MiniLM embeddings of the train split's
chunks, a multinomial scikit-learn LogisticRegression, and the threshold that keeps the classifier's own flag
rate on the dev split's benign messages at or under ``max_benign_flags``. Written as plain JSON."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import numpy as np
from sklearn.linear_model import LogisticRegression

from agent.guardrails._text import split_sentences
from agent.guardrails.classifier import BENIGN, Classifier, chunks
from core.embeddings import get_embedder
from evals import splits
from knowledge.placeholders import render_policy
from tools.policy import load_policy

HELP_CENTER = Path(__file__).resolve().parents[1] / "knowledge/help_center"
CLASSIFIERS = Path(__file__).resolve().parents[1] / "agent/guardrails/classifiers"


def _help_center_sentences() -> list[str]:
    """The help center's own sentences (quoted to customers, so never an attack): benign training rows."""
    policy = load_policy()
    return [s for f in sorted(HELP_CENTER.glob("*.md")) for s in split_sentences(render_policy(f.read_text(), policy))]


def _rows(split: splits.Split, shared: Path) -> tuple[list[str], list[str]]:
    """Chunks and their classes of every classed set's ``split``."""
    texts, labels = [], []
    for name, spec in splits.rule().sets.items():
        if not spec.class_:
            continue
        for prompt in splits.prompts(name, split, shared):
            for chunk in chunks(prompt.text):
                texts.append(chunk)
                labels.append(spec.class_)
    return texts, labels


def _threshold(model: Classifier, shared: Path, max_benign_flags: float) -> float:
    """The lowest threshold at which at most ``max_benign_flags`` of the dev split's benign messages score above."""
    benign = [p.text for name, spec in splits.rule().sets.items() if spec.class_ == BENIGN
              for p in splits.prompts(name, "dev", shared)]
    scores = sorted((model.score(t).score for t in benign), reverse=True)
    allowed = int(max_benign_flags * len(scores))
    return round(min(0.99, max(0.5, scores[allowed] + 1e-3)), 3)


def class_weights(labels: list[str]) -> dict[str, float]:
    """Square-root balancing: rare classes count more, without the few sensitive rows outweighing thousands."""
    counts = Counter(labels)
    return {k: (len(labels) / len(counts) / n) ** 0.5 for k, n in counts.items()}


def fit(vectors: np.ndarray, labels: list[str], *, name: str, c: float) -> Classifier:
    """The logistic regression on ``vectors``, as a :class:`Classifier` with a provisional threshold."""
    model = LogisticRegression(C=c, max_iter=3000, class_weight=class_weights(labels)).fit(vectors, labels)
    return Classifier(name=name, classes=tuple(str(k) for k in model.classes_),
                      weights=model.coef_.astype(np.float32), bias=model.intercept_.astype(np.float32), threshold=0.5)


def train(shared: Path, *, name: str, c: float = 2.0, max_benign_flags: float = 0.003) -> Classifier:
    """Fit on the train split (plus the help center's sentences) and choose the threshold on dev."""
    texts, labels = _rows("train", shared)
    sentences = _help_center_sentences()
    texts += sentences
    labels += [BENIGN] * len(sentences)
    model = fit(get_embedder().embed(texts), labels, name=name, c=c)
    threshold = _threshold(model, shared, max_benign_flags)
    return Classifier(name=name, classes=model.classes, weights=model.weights, bias=model.bias, threshold=threshold)


def save(model: Classifier, *, trained_on: dict[str, int]) -> Path:
    """Write ``agent/guardrails/classifiers/<name>.json``."""
    path = CLASSIFIERS / f"{model.name}.json"
    path.write_text(json.dumps({
        "name": model.name,
        "about": "Multinomial logistic regression over all-MiniLM-L6-v2 (int8) sentence vectors; retrain with "
                 "`python -m evals guardrails-train` (evals/README.md).",
        "classes": list(model.classes),
        "threshold": model.threshold,
        "trained_on": trained_on,
        "bias": [round(float(b), 5) for b in model.bias],
        "weights": [[round(float(w), 5) for w in row] for row in model.weights],
    }, indent=1) + "\n")
    return path


def class_counts(shared: Path) -> dict[str, int]:
    """Chunks per class in the train split."""
    return dict(sorted(Counter(_rows("train", shared)[1]).items()))
