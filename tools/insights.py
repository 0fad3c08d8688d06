"""What a support lead reads for a period: outcomes and satisfaction (``tools.outcomes``), first-text latency,
tool outcomes, guardrail interventions, top requests, and the questions the agent could not answer grouped by
meaning, so each group can become a help-center article."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Callable
from datetime import datetime, timedelta

import numpy as np
from pydantic import BaseModel
from sqlalchemy import select

from tools.outcomes import OutcomeCounts, outcome_counts
from tools.store import Store
from tools.store.models import TurnRecord

SAME_MEANING = 0.6
"""Cosine similarity (MiniLM) from which two unanswered questions count as one."""
EXAMPLES = 3
TOP = 10


class QuestionGroup(BaseModel):
    """Unanswered questions that mean the same thing."""

    question: str
    """The most typical wording (closest to the group's centre)."""
    count: int
    examples: list[str]


class Insights(BaseModel):
    """The figures of one period, real conversations or the seeded demo history."""

    demo: bool
    """The seeded demo history (labelled on the page), never mixed with real conversations."""
    outcomes: OutcomeCounts
    turns: int
    first_text_p50_ms: int | None
    first_text_p95_ms: int | None
    top_requests: dict[str, int]
    paths: dict[str, int]
    """How messages were read: fast path, planner, router."""
    tool_outcomes: dict[str, dict[str, int]]
    """``{tool: {outcome: count}}``."""
    guardrail_interventions: dict[str, int]
    unanswered: list[QuestionGroup]


def insights(store: Store, *, since: datetime, until: datetime, now: datetime, window: timedelta,
             demo: bool = False, embed: Callable[[list[str]], np.ndarray]) -> Insights:
    """The figures of the conversations and turns in ``[since, until]``; ``embed`` groups the unanswered
    questions by meaning."""
    with store.session() as session:
        turns = session.scalars(select(TurnRecord).where(TurnRecord.demo.is_(demo), TurnRecord.at >= since,
                                                         TurnRecord.at <= until)).all()
    latencies = sorted(t.first_text_ms for t in turns if t.first_text_ms is not None)
    tools: dict[str, Counter[str]] = defaultdict(Counter)
    for turn in turns:
        for tool, outcome in turn.tools:
            tools[tool][outcome] += 1
    return Insights(
        demo=demo,
        outcomes=outcome_counts(store, since=since, until=until, now=now, window=window, demo=demo),
        turns=len(turns),
        first_text_p50_ms=_percentile(latencies, 0.5),
        first_text_p95_ms=_percentile(latencies, 0.95),
        top_requests=dict(Counter(t.request for t in turns).most_common(TOP)),
        paths=dict(Counter(t.path.split(":")[0] for t in turns if t.path).most_common()),
        tool_outcomes={tool: dict(counts) for tool, counts in sorted(tools.items())},
        guardrail_interventions=dict(Counter(rule for t in turns for rule in t.rails).most_common()),
        unanswered=group_by_meaning([t.unanswered for t in turns if t.unanswered], embed),
    )


def _percentile(ordered: list[int], share: float) -> int | None:
    """The nearest-rank percentile of ``ordered``."""
    return ordered[min(len(ordered) - 1, max(0, round(share * len(ordered)) - 1))] if ordered else None


def group_by_meaning(questions: list[str], embed: Callable[[list[str]], np.ndarray]) -> list[QuestionGroup]:
    """Questions grouped greedily by cosine similarity to each group's first member, biggest group first."""
    if not questions:
        return []
    vectors = embed(questions)
    groups: list[list[int]] = []
    for index, vector in enumerate(vectors):
        home = next((g for g in groups if float(vectors[g[0]] @ vector) >= SAME_MEANING), None)
        if home is None:
            groups.append([index])
        else:
            home.append(index)
    found = []
    for members in sorted(groups, key=len, reverse=True)[:TOP]:
        centre = vectors[members].mean(axis=0)
        typical = max(members, key=lambda i: float(vectors[i] @ centre))
        examples = list(dict.fromkeys(questions[i] for i in members))[:EXAMPLES]
        found.append(QuestionGroup(question=questions[typical], count=len(members), examples=examples))
    return found
