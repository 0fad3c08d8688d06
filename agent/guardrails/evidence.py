"""Evidence a model-written sentence must be supported by: passage sentences, compared by meaning."""

from __future__ import annotations

import re

import numpy as np

from core.embeddings import get_embedder

_SPLIT = re.compile(r"(?<=[.!?])\s+|\n+")
_NEGATION = re.compile(r"\b(no|not|never|none|cannot|can't|won't|don't|doesn't|isn't|aren't)\b", re.IGNORECASE)

SUPPORT_MIN = 0.68
"""Cosine similarity to the closest passage sentence below which a sentence counts as unsupported."""


def split_sentences(text: str) -> list[str]:
    """Sentences and list items of ``text``, markup stripped."""
    parts = (p.strip().lstrip("#-* ").replace("**", "") for p in _SPLIT.split(text))
    return [p for p in parts if len(p) > 3]


class Evidence:
    """Sentences of the retrieved passages, embedded once per reply."""

    def __init__(self, passages: list[str]) -> None:
        self.sentences = [s for text in passages for s in split_sentences(text)]
        self._vectors = get_embedder().embed(self.sentences)

    def supports(self, sentence: str) -> bool:
        """True when a passage sentence says the same thing (same meaning, same polarity)."""
        if not self.sentences:
            return False
        sims = self._vectors @ get_embedder().embed([sentence])[0]
        best = int(np.argmax(sims))
        negated = bool(_NEGATION.search(sentence)) and not _NEGATION.search(self.sentences[best])
        return float(sims[best]) >= SUPPORT_MIN and not negated

    def closest_to(self, question: str, *, count: int = 2) -> list[str]:
        """The ``count`` whole passage sentences closest to ``question``, in their original order."""
        whole = [i for i, s in enumerate(self.sentences) if s[0].isupper() and s[-1] in ".!?"]
        if not whole:
            return []
        sims = self._vectors[whole] @ get_embedder().embed([question])[0]
        return [self.sentences[whole[i]] for i in sorted(np.argsort(-sims)[:count])]
