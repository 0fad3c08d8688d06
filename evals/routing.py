"""Routing accuracy of the intent router on real customer phrasings (Bitext customer-support set)."""

from __future__ import annotations

import csv
from collections import Counter
from importlib import resources
from pathlib import Path

import yaml
from pydantic import BaseModel

from agent.routing import IntentRouter
from core.embeddings import get_embedder

DEFAULT_BITEXT = Path("../shared/external/bitext-customer-support/dev.csv")


class IntentScore(BaseModel):
    intent: str
    total: int
    correct: int
    confusions: dict[str, int]


class RoutingReport(BaseModel):
    total: int
    correct: int
    per_intent: list[IntentScore]

    @property
    def accuracy(self) -> float:
        return self.correct / self.total if self.total else 0.0


def load_cases(path: Path, *, per_intent: int | None = None) -> list[tuple[str, str, list[str]]]:
    """``(text, bitext_intent, acceptable_intents)`` for every mapped row, optionally capped per intent."""
    mapping = yaml.safe_load(resources.files("evals").joinpath("data/bitext_intents.yaml").read_text())
    seen: Counter[str] = Counter()
    cases = []
    with path.open(newline="", encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            intent = row["intent"]
            if intent in mapping and (per_intent is None or seen[intent] < per_intent):
                seen[intent] += 1
                cases.append((row["instruction"], intent, mapping[intent]))
    return cases


def evaluate(cases: list[tuple[str, str, list[str]]]) -> RoutingReport:
    """Route every case and count the hits, per Bitext intent."""
    router = IntentRouter(get_embedder())
    totals: Counter[str] = Counter()
    hits: Counter[str] = Counter()
    confusions: dict[str, Counter[str]] = {}
    for text, intent, acceptable in cases:
        routed = router.route(text).intent
        totals[intent] += 1
        if routed in acceptable:
            hits[intent] += 1
        else:
            confusions.setdefault(intent, Counter())[routed] += 1
    per_intent = [
        IntentScore(intent=i, total=totals[i], correct=hits[i], confusions=dict(confusions.get(i, Counter())))
        for i in sorted(totals)
    ]
    return RoutingReport(total=sum(totals.values()), correct=sum(hits.values()), per_intent=per_intent)
