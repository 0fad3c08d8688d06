"""Retrieval from the bundled help center: labelled questions, off-topic ones, and sections on every citation.

Searches run on the session's ``world`` knowledge base, so the help center is embedded once per test run.
"""

from __future__ import annotations

import hashlib
import importlib
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import pytest

from agent.events import MessageCompleted
from agent.llm.fake import ScriptedChatModel
from agent.state import AgentDeps
from core.settings import Settings
from evals.retrieval import evaluate, load_cases
from knowledge import ArticleStore, HelpCenter, KnowledgeBase, chunking, ensure_default_help_center, open_collection
from knowledge.ingest import HELP_CENTER
from tests.conftest import Chat, make_settings
from tools.policy import load_policy

ARTICLES = sorted(HELP_CENTER.glob("*.md"))

ingest_module = importlib.import_module("knowledge.ingest")  # `knowledge.ingest` is also the function


@pytest.fixture
def kb(world: AgentDeps) -> KnowledgeBase:
    return world.knowledge


def metadata(settings: Settings, key: str) -> list[str]:
    return sorted(str(m[key]) for m in open_collection(settings).get(include=["metadatas"])["metadatas"] or [])


def test_default_help_center_is_ingested_whole_and_once(world: AgentDeps) -> None:
    assert set(metadata(world.settings, "source")) == {f"help_center/{a.name}" for a in ARTICLES}
    help_center = HelpCenter(ArticleStore(world.store), world.knowledge, policy=world.policies.current)
    assert help_center.sync() == 0  # the next start writes nothing


def test_return_question_finds_the_return_policy_first(kb: KnowledgeBase, world: AgentDeps) -> None:
    passages = kb.search("how long do I have to return an item?")
    assert passages[0].source == "help_center/returns-policy.md"
    assert passages[0].score > world.settings.kb_min_score
    assert f"{load_policy().return_window_days} days" in passages[0].text
    assert len(passages) <= world.settings.kb_top_k


@pytest.mark.parametrize(
    ("question", "article"),
    [
        ("how do I cancel my order", "cancel-an-order"),
        ("I forgot my password", "reset-password"),
        ("when will I get my refund", "refunds"),
        ("can I change my delivery address", "change-shipping-address"),
        ("the item arrived broken", "damaged-or-wrong-item"),
        ("can I get a discount?", "promotions-and-discounts"),
        ("I was charged twice", "billing-mistakes"),
        ("I want to talk to a person", "talk-to-a-human"),
        ("how much is shipping", "shipping-costs"),
        ("where is my package", "tracking-an-order"),
        ("do you ship to Mexico?", "where-we-deliver"),
    ],
)
def test_typical_questions_find_their_article(kb: KnowledgeBase, question: str, article: str) -> None:
    passages = kb.search(question, k=1)
    assert [p.source for p in passages] == [f"help_center/{article}.md"]


@pytest.mark.parametrize(
    "question",
    ["what's the capital of mongolia", "write me a poem about the sea", "how do I bake sourdough bread", "hello", ""],
)
def test_off_topic_questions_find_nothing(kb: KnowledgeBase, question: str) -> None:
    assert kb.search(question) == []


def test_labelled_questions_cover_every_article_at_least_twice() -> None:
    cases = load_cases()
    counts = Counter(case.article for case in cases)
    assert len(cases) >= 90
    assert set(counts) == {article.stem for article in ARTICLES}
    assert min(counts.values()) >= 2


def test_recall_at_3_is_at_least_90_percent(kb: KnowledgeBase) -> None:
    report = evaluate(load_cases(), kb, k=3)
    assert report.recall_at_k >= 0.9, report.misses
    assert report.recall_at_1 <= report.mrr <= 1


def test_every_chunk_names_its_section(world: AgentDeps) -> None:
    sections = metadata(world.settings, "section")
    assert "" not in sections
    assert sections.count(chunking.INTRO_SECTION) == len(ARTICLES)  # each article's introduction


def test_an_answer_from_an_introduction_cites_its_overview(chat_with: Callable[..., Chat]) -> None:
    model = ScriptedChatModel(steps=["We sell electronics, home goods, apparel, gift cards and personal care."])
    events = chat_with(model).say("what kind of stuff do you guys sell")
    completed = next(e for e in events if isinstance(e, MessageCompleted))
    assert "Overview" in {c.section for c in completed.citations}
    assert all(c.section for c in completed.citations)


def _first_chunker_hash(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def test_a_collection_from_an_older_chunker_is_reingested(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The first chunker hashed the bare text and left intro sections empty; starting up re-chunks it all."""
    folder = tmp_path / "help_center"
    folder.mkdir()
    (folder / "hours.md").write_text("# Store hours\n\nOpen on weekdays.\n\n## Holidays\n\nClosed on public holidays.")
    settings = make_settings(tmp_path / "data", chroma_path=None, chroma_url=None)
    monkeypatch.setattr(ingest_module, "HELP_CENTER", folder)
    with monkeypatch.context() as first:
        first.setattr(chunking, "INTRO_SECTION", "")
        first.setattr(chunking, "document_hash", _first_chunker_hash)
        first.setattr(ingest_module, "document_hash", _first_chunker_hash)
        ensure_default_help_center(settings)
    assert metadata(settings, "section") == ["", "Holidays"]
    kb = KnowledgeBase.from_settings(settings)
    assert kb.nearest("when are you open", 1)[0].section == "Overview"  # readable even before the re-ingest

    report = ensure_default_help_center(settings)
    assert report is not None and report.updated == ["help_center/hours.md"]
    assert metadata(settings, "section") == ["Holidays", "Overview"]
    assert ensure_default_help_center(settings) is None

    monkeypatch.setattr(chunking, "CHUNKER_VERSION", chunking.CHUNKER_VERSION + 1)
    bumped = ensure_default_help_center(settings)
    assert bumped is not None and bumped.updated == ["help_center/hours.md"]
