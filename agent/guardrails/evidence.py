"""Evidence a model-written sentence must be supported by: passage sentences, compared by meaning."""

from __future__ import annotations

import re
from functools import cached_property

import numpy as np

from agent.guardrails._text import split_sentences
from agent.guardrails.rules import load_rules
from core.embeddings import get_embedder

_NEGATION = re.compile(r"\b(no|not|never|none|nothing|cannot|\w+n['’]t)\b", re.IGNORECASE)
_ANSWER_WORD = re.compile(r"^\W*(?:yes|no)\b\W*", re.IGNORECASE)


def _negations(sentence: str) -> int:
    """The negations in ``sentence``, an opening "Yes," or "No," aside (it answers, it does not negate the claim)."""
    return len(_NEGATION.findall(_ANSWER_WORD.sub("", sentence)))


def _key(sentence: str) -> str:
    return " ".join(sentence.lower().split()).strip(" .!?")


class Evidence:
    """Sentences of the retrieved passages, embedded once per reply, when first compared: not before the model's
    first token (and not beside the model either: on a small CPU that slows its generation more than it saves);
    ``question``: what they were retrieved to answer."""

    def __init__(self, passages: list[str], question: str = "") -> None:
        self.sentences = [s for text in passages for s in split_sentences(text)]
        self._verbatim = {_key(s) for s in self.sentences}
        self._question = question

    @cached_property
    def _vectors(self) -> np.ndarray:
        return get_embedder().embed(self.sentences)

    @cached_property
    def _question_vector(self) -> np.ndarray | None:
        return get_embedder().embed([self._question])[0] if self._question else None

    def supports(self, sentence: str, *, min_similarity: float | None = None) -> bool:
        """True when a passage sentence says the same thing (same meaning, same polarity, as many negations: "you can
        exchange final sale items" is not supported by "final sale items can't be exchanged", nor the other way round,
        and "you can't cancel it as long as we haven't started" not by "you can cancel it as long as we haven't
        started"), and a sentence that negates nothing is not closer to the question than to that passage sentence: a
        yes that says the question back ("Yes, you can return a gift card you bought.") is the question's words, not
        the help center's. The similarity needed is the config's ``evidence_min_similarity`` unless given."""
        if not self.sentences:
            return False
        if _key(sentence) in self._verbatim:  # quoted word for word: no need to compare meanings
            return True
        if min_similarity is None:
            min_similarity = load_rules().thresholds.evidence_min_similarity
        vector = get_embedder().embed([sentence])[0]
        sims = self._vectors @ vector
        best = int(np.argmax(sims))
        negations = _negations(sentence)
        negated = negations > 0
        same_polarity = negations == _negations(self.sentences[best])
        return float(sims[best]) >= min_similarity and same_polarity and not (
            not negated and self._question_vector is not None and float(self._question_vector @ vector) > sims[best])

    def closest_to(self, question: str, *, count: int = 2) -> list[str]:
        """The ``count`` whole passage sentences closest to ``question``, closest first."""
        whole = [i for i, s in enumerate(self.sentences) if s[0].isupper() and s[-1] in ".!?"]
        if not whole:
            return []
        sims = self._vectors[whole] @ get_embedder().embed([question])[0]
        return [self.sentences[whole[i]] for i in np.argsort(-sims)[:count]]

    def in_order(self, sentences: list[str]) -> list[str]:
        """``sentences`` (passage sentences) in the order the passages have them."""
        return sorted(sentences, key=self.sentences.index)
