"""Retrieval quality of the knowledge base on labelled customer questions: recall@1, recall@k and MRR.

The command ingests the bundled help center into a temporary Chroma folder, so it never touches ``data/``.
A passage counts only if it reaches ``kb_min_score``, as in the agent: a right article ranked below the
threshold is a miss.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from importlib import resources
from pathlib import Path, PurePath

import yaml
from pydantic import BaseModel, TypeAdapter

from core.settings import Settings
from knowledge import KnowledgeBase, ensure_default_help_center

DEPTH = 10
"""Passages ranked per question; an article first found further down adds nothing to the MRR."""


class Case(BaseModel):
    """A customer question and the article that answers it."""

    question: str
    article: str
    """File stem of the help-center article (``returns-policy``)."""


class Miss(BaseModel):
    """A question whose article is not among the first ``k`` passages."""

    question: str
    article: str
    rank: int | None
    """Rank of the article's first passage, None when it is not in the first :data:`DEPTH`."""
    found: list[str]
    """Articles of the first ``k`` passages, best first."""


class RetrievalReport(BaseModel):
    total: int
    k: int
    recall_at_1: float
    """Share of questions whose first passage is from their article."""
    recall_at_k: float
    """Share of questions with a passage from their article among the first ``k``."""
    mrr: float
    """Mean of 1 / rank of the article's first passage (0 when not in the first :data:`DEPTH`)."""
    misses: list[Miss]


def load_cases() -> list[Case]:
    """The labelled questions in ``evals/data/kb_questions.yaml``."""
    text = resources.files("evals").joinpath("data/kb_questions.yaml").read_text()
    return TypeAdapter(list[Case]).validate_python(yaml.safe_load(text))


@contextmanager
def help_center_kb() -> Iterator[KnowledgeBase]:
    """The bundled help center, ingested into a temporary Chroma folder removed afterwards."""
    with tempfile.TemporaryDirectory(prefix="kb-eval-") as tmp:
        settings = Settings(_env_file=None, data_dir=Path(tmp), chroma_path=None, chroma_url=None)  # type: ignore[call-arg]
        ensure_default_help_center(settings)
        yield KnowledgeBase.from_settings(settings)


def evaluate(cases: list[Case], kb: KnowledgeBase, *, k: int = 3) -> RetrievalReport:
    """Rank every case's article among the passages ``kb`` returns for its question."""
    ranked = [[_article(p.source) for p in kb.search(case.question, max(k, DEPTH))] for case in cases]
    ranks = [_rank(case.article, articles) for case, articles in zip(cases, ranked, strict=True)]
    total = len(cases) or 1
    return RetrievalReport(
        total=len(cases),
        k=k,
        recall_at_1=sum(r == 1 for r in ranks) / total,
        recall_at_k=sum(r is not None and r <= k for r in ranks) / total,
        mrr=sum(1 / r for r in ranks if r) / total,
        misses=[
            Miss(question=case.question, article=case.article, rank=rank, found=articles[:k])
            for case, rank, articles in zip(cases, ranks, ranked, strict=True)
            if rank is None or rank > k
        ],
    )


def _article(source: str) -> str:
    return PurePath(source).stem


def _rank(article: str, articles: list[str]) -> int | None:
    return articles.index(article) + 1 if article in articles else None
