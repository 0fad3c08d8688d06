"""Nearest-neighbour intent router: embed the customer's message, vote among the closest examples."""

from __future__ import annotations

from collections import defaultdict
from importlib import resources
from typing import Literal

import numpy as np
import yaml
from pydantic import BaseModel

from core.embeddings import MiniLM

Intent = Literal[
    "order_status",
    "human_agent",
    "return_refund",
    "cancel_order",
    "exchange_item",
    "change_address",
    "update_account_address",
    "account_password",
    "policy_question",
    "billing_issue",
    "greeting",
    "thanks_bye",
    "complaint",
    "off_topic",
    "unknown",
]


class RouteResult(BaseModel):
    """The router's verdict with the scores it was based on."""

    intent: Intent
    score: float
    """Cosine similarity of the best example of the chosen intent."""
    runner_up: Intent | None = None
    margin: float = 1.0
    """Vote margin between the chosen intent and the runner-up (0-1)."""


def load_examples() -> dict[str, list[str]]:
    """The bundled labelled utterances, by intent."""
    text = resources.files("agent.routing").joinpath("intents.yaml").read_text()
    return yaml.safe_load(text)


class IntentRouter:
    """Routes by a similarity-weighted vote of the ``k`` nearest examples; below ``min_score`` the intent
    is ``unknown``."""

    def __init__(self, embedder: MiniLM, *, k: int = 7, min_score: float = 0.45, sharpness: float = 20.0) -> None:
        examples = load_examples()
        self._labels = [intent for intent, texts in examples.items() for _ in texts]
        self._matrix = embedder.embed([text for texts in examples.values() for text in texts])
        self._embedder = embedder
        self._k = k
        self._min_score = min_score
        self._sharpness = sharpness

    def route(self, text: str) -> RouteResult:
        """The most likely intent of ``text``."""
        sims = self._matrix @ self._embedder.embed([text])[0]
        top = np.argsort(-sims)[: self._k]
        votes: dict[str, float] = defaultdict(float)
        best: dict[str, float] = {}
        for i in top:  # exponential weights: one very close example outvotes several loose ones
            votes[self._labels[i]] += float(np.exp(self._sharpness * (sims[i] - sims[top[0]])))
            best.setdefault(self._labels[i], float(sims[i]))
        ranked = sorted(votes, key=votes.__getitem__, reverse=True)
        winner, score = ranked[0], best[ranked[0]]
        if score < self._min_score:
            return RouteResult(intent="unknown", score=score)
        runner_up = ranked[1] if len(ranked) > 1 else None
        total = sum(votes.values())
        margin = (votes[winner] - (votes[runner_up] if runner_up else 0.0)) / total
        return RouteResult(intent=winner, score=score, runner_up=runner_up, margin=margin)  # type: ignore[arg-type]
