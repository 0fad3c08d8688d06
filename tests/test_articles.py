"""Help-center articles in the database: seeded from the bundled files, versioned with diffs, and indexed one
article at a time so a search finds a saved article at once, in this process and in another one."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import NamedTuple

import pytest
from pydantic import ValidationError

from agent.bootstrap import build_deps
from agent.llm.fake import ScriptedChatModel
from agent.state import AgentDeps
from core.settings import Settings
from knowledge import ArticleStore, ArticleText, HelpCenter, open_collection
from knowledge.articles import ArticleConflict, parse_markdown
from knowledge.ingest import HELP_CENTER
from tests.conftest import make_settings

ROOT = Path(__file__).resolve().parents[1]
ARTICLES = sorted(HELP_CENTER.glob("*.md"))
GIFT_WRAP = ArticleText(title="Gift wrapping", body="We wrap any order in recycled paper with a handwritten card "
                        "for {return_window_days} cents... no: for free, when you tick *Gift wrap* at checkout.")


class Center(NamedTuple):
    deps: AgentDeps
    help_center: HelpCenter


@pytest.fixture(scope="module")
def center(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Center]:
    """A store and collection of their own, seeded as the server seeds them on first start."""
    settings = make_settings(tmp_path_factory.mktemp("articles"))
    deps = build_deps(settings, model=ScriptedChatModel())
    yield Center(deps, HelpCenter(ArticleStore(deps.store), deps.knowledge, policy=lambda: deps.policy))


def _sources(settings: Settings, slug: str) -> list[str]:
    rows = open_collection(settings).get(where={"source": f"help_center/{slug}.md"}, include=["documents"])
    return rows["documents"] or []


def test_the_bundled_files_seed_version_1_once(center: Center) -> None:
    articles = center.help_center.articles.list()
    assert {a.slug for a in articles} == {f.stem for f in ARTICLES}
    refunds = center.help_center.articles.get("refunds")
    assert (refunds.version, refunds.author) == (1, "system")
    assert refunds.title == "Refunds: when and how you get your money back"
    assert "{return_window_days}" in refunds.body  # placeholders stay as written; the index renders them
    assert center.help_center.articles.seed(HELP_CENTER) == 0
    assert center.help_center.sync() == 0  # a second start writes nothing
    history = center.help_center.articles.history("refunds")
    assert [(v.version, v.reason) for v in history] == [(1, "bundled help center")]
    assert history[0].diff.startswith("--- version 0\n+++ version 1\n")


def test_search_finds_the_seeded_articles_with_policy_numbers(center: Center) -> None:
    passages = center.deps.knowledge.search("how long do I have to return an item?")
    assert passages[0].source == "help_center/returns-policy.md"
    assert f"{center.deps.policy.return_window_days} days" in passages[0].text


def test_a_new_article_is_found_right_after_saving(center: Center) -> None:
    saved = center.help_center.save("gift-wrapping", GIFT_WRAP, author="Sam Ortiz", reason="asked often",
                                    if_match=0)
    assert (saved.version, saved.author, saved.retired) == (1, "Sam Ortiz", False)
    best = center.deps.knowledge.search("do you offer gift wrapping?")[0]
    assert best.source == "help_center/gift-wrapping.md" and "handwritten card" in best.text
    assert f"for {center.deps.policy.return_window_days} cents" in best.text  # rendered at ingest


def test_an_edit_replaces_the_old_chunks(center: Center) -> None:
    before = center.help_center.articles.get("gift-wrapping").version
    text = ArticleText(title="Gift wrapping", body="Gift wrap is no longer offered; every parcel ships in plain "
                       "brown cardboard boxes.")
    saved = center.help_center.save("gift-wrapping", text, author="Sam Ortiz", reason="we stopped", if_match=before)
    assert saved.version == before + 1
    chunks = _sources(center.deps.settings, "gift-wrapping")
    assert chunks and all("handwritten card" not in c for c in chunks)
    best = center.deps.knowledge.search("is my parcel shipped in a cardboard box?")[0]
    assert best.source == "help_center/gift-wrapping.md" and "plain brown cardboard" in best.text
    diff = center.help_center.articles.history("gift-wrapping")[0].diff
    assert "-We wrap any order" in diff and "+Gift wrap is no longer offered" in diff


def test_a_stale_version_is_refused_and_changes_nothing(center: Center) -> None:
    current = center.help_center.articles.get("gift-wrapping").version
    with pytest.raises(ArticleConflict) as refused:
        center.help_center.save("gift-wrapping", GIFT_WRAP, author="Sam Ortiz", reason="late", if_match=current - 1)
    assert refused.value.current == current
    with pytest.raises(ArticleConflict):
        center.help_center.save("gift-wrapping", GIFT_WRAP, author="Sam Ortiz", reason="exists", if_match=0)
    assert center.help_center.articles.get("gift-wrapping").version == current


def test_retiring_removes_the_chunks_and_is_a_version(center: Center) -> None:
    current = center.help_center.articles.get("gift-wrapping").version
    retired = center.help_center.retire("gift-wrapping", author="Sam Ortiz", reason="gone", if_match=current)
    assert (retired.version, retired.retired) == (current + 1, True)
    assert _sources(center.deps.settings, "gift-wrapping") == []
    assert all(p.source != "help_center/gift-wrapping.md" for p in center.deps.knowledge.search("gift wrap"))
    assert "-Gift wrap is no longer offered" in center.help_center.articles.history("gift-wrapping")[0].diff


@pytest.mark.parametrize("slug", ["Gift", "gift_wrap", "-gift", "gift--wrap", "a" * 81, ""])
def test_a_bad_slug_is_refused(center: Center, slug: str) -> None:
    with pytest.raises(ValidationError):
        center.help_center.save(slug, GIFT_WRAP, author="Sam Ortiz", reason="bad", if_match=None)


@pytest.mark.parametrize("fields", [{"title": "T", "body": "  "}, {"title": "", "body": "text"},
                                    {"title": "T", "body": "x" * 40_001}])
def test_bad_text_is_refused(fields: dict[str, str]) -> None:
    with pytest.raises(ValidationError):
        ArticleText(**fields)


def test_a_title_line_becomes_the_title() -> None:
    assert parse_markdown("# Returns #\n\nBody.\n", default_title="x") == ArticleText(title="Returns", body="Body.")
    assert parse_markdown("No heading.", default_title="notes") == ArticleText(title="notes", body="No heading.")


_WRITER = """
import sys
from agent.bootstrap import build_deps
from agent.llm.fake import ScriptedChatModel
from core.settings import Settings
from knowledge import ArticleStore, ArticleText, HelpCenter

settings = Settings(_env_file=None, data_dir=sys.argv[1], model="smollm2-135m", jwt_secret=sys.argv[2])
deps = build_deps(settings, model=ScriptedChatModel())
text = ArticleText(title="Bicycle repairs", body="Our partner workshop in Leeds tunes any bicycle bought here.")
HelpCenter(ArticleStore(deps.store), deps.knowledge, policy=lambda: deps.policy).save(
    "bicycle-repairs", text, author="other process", reason="test", if_match=0)
"""


def test_another_process_sees_a_saved_article_at_its_next_search(center: Center) -> None:
    settings = center.deps.settings
    assert settings.jwt_secret is not None
    center.deps.knowledge.search("warm up")  # this process holds the collection in memory already
    subprocess.run([sys.executable, "-c", _WRITER, str(settings.data_dir), settings.jwt_secret.get_secret_value()],
                   cwd=ROOT, check=True, timeout=240)
    best = center.deps.knowledge.search("can you repair my bicycle?")[0]
    assert best.source == "help_center/bicycle-repairs.md" and "Leeds" in best.text
