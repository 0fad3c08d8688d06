"""The help-center editing API on a live server: roles, bad input with its field, If-Match, versions with
diffs, retiring, and the agent's knowledge base finding a saved article at once."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, NamedTuple

import httpx
import pytest

from agent.bootstrap import build_deps
from agent.llm.fake import ScriptedChatModel
from agent.state import AgentDeps
from core.settings import Settings
from tests.conftest import make_settings
from tests.live_server import auth, serve

ARTICLES = "/v1/admin/articles"


class Running(NamedTuple):
    base: str
    settings: Settings
    deps: AgentDeps


@pytest.fixture(scope="module")
def running(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Running]:
    """A server with a store and knowledge base of its own (the tests write articles); no model is loaded."""
    built: list[AgentDeps] = []

    def deps_factory(settings: Settings) -> AgentDeps:
        built.append(build_deps(settings, model=ScriptedChatModel()))
        return built[0]

    settings = make_settings(tmp_path_factory.mktemp("api-articles"))
    with serve(settings, deps_factory=deps_factory) as base:
        yield Running(base, settings, built[0])


def _ops(running: Running, **extra: str) -> dict[str, str]:
    return {**auth(running.settings, "ops"), **extra}


def _put(running: Running, slug: str, body: dict[str, Any], version: int | None = None) -> httpx.Response:
    headers = _ops(running) if version is None else _ops(running, **{"If-Match": str(version)})
    return httpx.put(f"{running.base}{ARTICLES}/{slug}", json=body, headers=headers, timeout=60)


def test_roles_are_checked_before_anything_else(running: Running) -> None:
    base, settings = running.base, running.settings
    for method, path in [("GET", ARTICLES), ("GET", f"{ARTICLES}/refunds"), ("PUT", f"{ARTICLES}/Bad_Slug"),
                         ("GET", f"{ARTICLES}/refunds/history"), ("DELETE", f"{ARTICLES}/refunds")]:
        assert httpx.request(method, base + path, json={}).status_code == 401, path
        for role in ("customer", "agent"):
            assert httpx.request(method, base + path, json={}, headers=auth(settings, role)).status_code == 403


def test_the_seeded_articles_are_listed(running: Running) -> None:
    listed = {a["slug"]: a for a in httpx.get(f"{running.base}{ARTICLES}", headers=_ops(running)).json()}
    assert listed["refunds"] | {"updated_at": None} == {
        "slug": "refunds", "title": "Refunds: when and how you get your money back", "version": 1,
        "retired": False, "author": "system", "updated_at": None}
    response = httpx.get(f"{running.base}{ARTICLES}/refunds", headers=_ops(running))
    assert response.headers["etag"] == '"1"' and "{return_window_days}" in response.json()["body"]
    assert httpx.get(f"{running.base}{ARTICLES}/no-such-article", headers=_ops(running)).status_code == 404


def test_a_new_article_is_searchable_when_the_save_returns(running: Running) -> None:
    body = {"title": "Gift wrapping", "body": "Tick *Gift wrap* at checkout: we wrap the order in recycled paper "
            "with a handwritten card, free of charge.", "reason": "customers keep asking"}
    response = _put(running, "gift-wrapping", body, version=0)
    assert response.status_code == 200, response.text
    assert response.json()["version"] == 1 and response.json()["author"] == "Sam Ortiz"
    assert response.headers["etag"] == '"1"'
    best = running.deps.knowledge.search("do you offer gift wrapping?")[0]
    assert best.source == "help_center/gift-wrapping.md" and "handwritten card" in best.text


def test_an_edit_replaces_the_old_text_and_keeps_the_history(running: Running) -> None:
    _put(running, "late-fees", {"title": "Late fees", "body": "We charge a late fee of five dollars on overdue "
                                "layaway payments.", "reason": "new"}, version=0)
    edit = {"title": "Late fees", "body": "Layaway payments that arrive late never cost a fee any more.",
            "reason": "fees dropped"}
    assert _put(running, "late-fees", edit, version=1).json()["version"] == 2
    passages = running.deps.knowledge.search("is there a late fee on layaway payments?")
    assert passages[0].source == "help_center/late-fees.md" and "never cost a fee" in passages[0].text
    assert all("five dollars" not in p.text for p in passages)
    history = httpx.get(f"{running.base}{ARTICLES}/late-fees/history", headers=_ops(running)).json()
    assert [(v["version"], v["author"], v["reason"]) for v in history] == [(2, "Sam Ortiz", "fees dropped"),
                                                                         (1, "Sam Ortiz", "new")]
    assert "-We charge a late fee" in history[0]["diff"] and "+Layaway payments" in history[0]["diff"]


def test_a_stale_if_match_is_412_and_changes_nothing(running: Running) -> None:
    _put(running, "store-hours", {"title": "Store hours", "body": "Open weekdays.", "reason": "new"}, version=0)
    stale = _put(running, "store-hours", {"title": "Store hours", "body": "Open daily.", "reason": "late"}, version=0)
    assert stale.status_code == 412 and stale.headers["etag"] == '"1"' and "version 1" in stale.json()["detail"]
    read = httpx.get(f"{running.base}{ARTICLES}/store-hours", headers=_ops(running)).json()
    assert (read["version"], read["body"]) == (1, "Open weekdays.")
    assert _put(running, "store-hours", {"title": "T", "body": "b", "reason": "bad"}, version="x").status_code == 400  # type: ignore[arg-type]


@pytest.mark.parametrize(("slug", "body", "field"), [
    ("empty-body", {"title": "Empty", "body": "   ", "reason": "test"}, "body"),
    ("too-long", {"title": "Long", "body": "word " * 8_001, "reason": "test"}, "body"),
    ("no-title", {"title": "", "body": "text", "reason": "test"}, "title"),
    ("no-reason", {"title": "T", "body": "text"}, "reason"),
    ("extra", {"title": "T", "body": "text", "reason": "test", "colour": "red"}, "colour"),
    ("Bad_Slug", {"title": "T", "body": "text", "reason": "test"}, "slug"),
    ("heading-only", {"title": "T", "body": "## Only a heading", "reason": "test"}, "body"),
])
def test_invalid_input_is_422_with_the_field_and_saves_nothing(running: Running, slug: str, body: dict[str, Any],
                                                               field: str) -> None:
    response = _put(running, slug, body)
    assert response.status_code == 422, response.text
    assert field in [str(part) for error in response.json()["detail"] for part in error["loc"]]
    assert slug not in {a["slug"] for a in httpx.get(f"{running.base}{ARTICLES}", headers=_ops(running)).json()}


def test_retiring_is_a_version_that_takes_the_article_out_of_search(running: Running) -> None:
    _put(running, "pet-policy", {"title": "Pets in store", "body": "Dogs on a leash are welcome in every store.",
                                 "reason": "new"}, version=0)
    url = f"{running.base}{ARTICLES}/pet-policy"
    assert httpx.request("DELETE", url, json={"reason": "gone"}, headers=_ops(running, **{"If-Match": "0"})
                         ).status_code == 412
    retired = httpx.request("DELETE", url, json={"reason": "stores closed"}, headers=_ops(running))
    assert retired.status_code == 200 and (retired.json()["version"], retired.json()["retired"]) == (2, True)
    assert all(p.source != "help_center/pet-policy.md" for p in running.deps.knowledge.search("can I bring my dog?"))
    assert httpx.request("DELETE", url, json={"reason": "again"}, headers=_ops(running)).status_code == 404
    history = httpx.get(f"{url}/history", headers=_ops(running)).json()
    assert history[0]["reason"] == "stores closed" and "-Dogs on a leash" in history[0]["diff"]
    back = _put(running, "pet-policy", {"title": "Pets in store", "body": "Dogs are welcome again.",
                                        "reason": "reopened"}, version=2)
    assert (back.json()["version"], back.json()["retired"]) == (3, False)
