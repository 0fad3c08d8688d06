"""Train the reply classifier (``python -m evals guardrails-train-replies``): the output rails' model of what a real
model writes when it goes wrong, from the hand-labelled sentences of ``data/model_sentences.yaml``.

Off-policy sentences of the train part (every label but ``ok`` and the ones no sentence alone shows) against its
``ok`` sentences, the model's own support replies and the help center's sentences, read as MiniLM vectors and word
n-grams by a scikit-learn LogisticRegression (:func:`evals.guardrails_train.fit`). The threshold clears every
help-center sentence and every support sentence of the dev part with a margin: a reply a good model writes is
never withdrawn by it.
"""

from __future__ import annotations

import dataclasses
from collections import Counter

from agent.guardrails.classifier import BENIGN, Classifier
from evals.guardrails_train import fit, help_center_sentences
from evals.model_sentences import UNSEEN, sentences

OFF_POLICY = "off_policy"
MARGIN = 0.05
"""Above the highest-scoring help-center or dev support sentence."""
ABOUT = ("Logistic regression over all-MiniLM-L6-v2 (int8) sentence vectors and word n-grams (tf-idf) of model "
         "sentences labelled by hand (evals/data/model_sentences.yaml); retrain with "
         "`python -m evals guardrails-train-replies` (evals/README.md).")


def _rows(split: str) -> tuple[list[str], list[str]]:
    """Texts and classes of ``split`` (each text once), without the labels no sentence alone shows."""
    labelled = {s.text: OFF_POLICY if s.off_policy else BENIGN for s in sentences()
                if s.split == split and s.label not in UNSEEN}
    return list(labelled), list(labelled.values())


def _threshold(model: Classifier) -> float:
    """Just above the highest score of a help-center sentence or a support sentence of the dev part."""
    support = [s.text for s in sentences() if s.part == "support" and s.split == "dev"]
    highest = max(model.score(t).score for t in [*help_center_sentences(), *support])
    return round(min(0.99, max(0.5, highest + MARGIN)), 3)


def train(*, name: str, c: float = 4.0, ngram_scale: float = 1.0, max_terms: int = 3000) -> Classifier:
    """Fit on the train part (plus the help center's sentences) and set the threshold from dev."""
    texts, labels = _rows("train")
    help_center = help_center_sentences()
    model = fit([*texts, *help_center], [*labels, *[BENIGN] * len(help_center)], name=name, c=c,
                ngram_scale=ngram_scale, max_terms=max_terms)
    return dataclasses.replace(model, threshold=_threshold(model))


def class_counts() -> dict[str, int]:
    """Training sentences per class (the help center's included)."""
    counts = Counter(_rows("train")[1])
    counts[BENIGN] += len(help_center_sentences())
    return dict(sorted(counts.items()))


def dev_recall(model: Classifier, threshold: float) -> tuple[int, int]:
    """Off-policy sentences of the dev part the classifier flags at ``threshold``, and how many there are."""
    texts, labels = _rows("dev")
    off = [t for t, label in zip(texts, labels, strict=True) if label == OFF_POLICY]
    return sum(model.score(t).score >= threshold for t in off), len(off)
