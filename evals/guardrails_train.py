"""Train the input classifier (``python -m evals guardrails-train``): MiniLM embeddings and word n-grams (tf-idf) of
the train split's chunks, a multinomial scikit-learn LogisticRegression, and the threshold that keeps the
classifier's own flag rate on the dev split's benign messages at or under ``max_benign_flags``. Written as plain
JSON."""

from __future__ import annotations

import dataclasses
import json
from collections import Counter
from pathlib import Path

import numpy as np
from scipy import sparse
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression

from agent.guardrails._text import split_sentences
from agent.guardrails.classifier import BENIGN, Classifier, Ngrams, chunks
from core.embeddings import get_embedder
from evals import splits
from knowledge.placeholders import render_policy
from tools.policy import load_policy

HELP_CENTER = Path(__file__).resolve().parents[1] / "knowledge/help_center"
CLASSIFIERS = Path(__file__).resolve().parents[1] / "agent/guardrails/classifiers"


def help_center_sentences() -> list[str]:
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


def _ngrams(texts: list[str], *, scale: float, max_terms: int) -> tuple[Ngrams, sparse.csr_matrix]:
    """The n-gram vocabulary of ``texts`` (terms in 3 texts or more) and their n-gram rows, checked against
    :meth:`Ngrams.vectors`, which reads them at run time without scikit-learn."""
    vectorizer = TfidfVectorizer(ngram_range=(1, 2), min_df=3, sublinear_tf=True, max_features=max_terms)
    rows = vectorizer.fit_transform(texts) * scale
    ngrams = Ngrams(index={t: int(i) for t, i in vectorizer.vocabulary_.items()},
                    idf=vectorizer.idf_.astype(np.float32), scale=scale)
    if not np.allclose(ngrams.vectors(texts[:300]), rows[:300].toarray(), atol=1e-5):
        raise RuntimeError("Ngrams.vectors differs from scikit-learn's tf-idf")
    return ngrams, rows


def fit(texts: list[str], labels: list[str], *, name: str, c: float, ngram_scale: float = 0.0,
        max_terms: int = 10_000) -> Classifier:
    """The logistic regression on the MiniLM vectors of ``texts`` (and their word n-grams, weighted
    ``ngram_scale``; 0: none), as a :class:`Classifier` with a provisional threshold."""
    features: np.ndarray | sparse.csr_matrix = get_embedder().embed(texts)
    ngrams = None
    if ngram_scale:
        ngrams, rows = _ngrams(texts, scale=ngram_scale, max_terms=max_terms)
        features = sparse.hstack([sparse.csr_matrix(features), rows]).tocsr()
    model = LogisticRegression(C=c, max_iter=3000, class_weight=class_weights(labels)).fit(features, labels)
    weights, bias = model.coef_, model.intercept_
    if len(model.classes_) == 2:  # one row, for the second class: the same model as logits (0, row)
        weights, bias = np.vstack([np.zeros_like(weights), weights]), np.concatenate([[0.0], bias])
    return Classifier(name=name, classes=tuple(str(k) for k in model.classes_), weights=weights.astype(np.float32),
                      bias=bias.astype(np.float32), threshold=0.5, ngrams=ngrams)


def train(shared: Path, *, name: str, c: float = 2.0, ngram_scale: float = 1.0,
          max_benign_flags: float = 0.002) -> Classifier:
    """Fit on the train split (plus the help center's sentences) and choose the threshold on dev."""
    texts, labels = _rows("train", shared)
    sentences = help_center_sentences()
    texts += sentences
    labels += [BENIGN] * len(sentences)
    model = fit(texts, labels, name=name, c=c, ngram_scale=ngram_scale)
    return dataclasses.replace(model, threshold=_threshold(model, shared, max_benign_flags))


def _ngrams_data(ngrams: Ngrams) -> dict[str, object]:
    terms = sorted(ngrams.index, key=lambda t: ngrams.index[t])
    return {"scale": ngrams.scale, "terms": terms, "idf": [round(float(v), 5) for v in ngrams.idf]}


ABOUT = ("Multinomial logistic regression over all-MiniLM-L6-v2 (int8) sentence vectors and word n-grams (tf-idf); "
         "retrain with `python -m evals guardrails-train` (evals/README.md).")


def save(model: Classifier, *, trained_on: dict[str, int], about: str = ABOUT) -> Path:
    """Write ``agent/guardrails/classifiers/<name>.json``."""
    path = CLASSIFIERS / f"{model.name}.json"
    path.write_text(json.dumps({
        "name": model.name,
        "about": about,
        "classes": list(model.classes),
        "threshold": model.threshold,
        "trained_on": trained_on,
        "bias": [round(float(b), 5) for b in model.bias],
        "weights": [[round(float(w), 5) for w in row] for row in model.weights],
        **({"ngrams": _ngrams_data(model.ngrams)} if model.ngrams else {}),
    }) + "\n")
    return path


def class_counts(shared: Path) -> dict[str, int]:
    """Chunks per class in the train split."""
    return dict(sorted(Counter(_rows("train", shared)[1]).items()))
