"""The help-center editor at ``/admin/articles`` in real headless Chromium: a new article from a question in the
address (the insights page's "Write an article" link), listed once saved; edits with their errors (a stale
version, an empty body) shown on the page."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from urllib.parse import quote

import httpx
import pytest
from playwright.sync_api import Page, expect

from agent.bootstrap import build_deps
from agent.llm.fake import ScriptedChatModel
from core.settings import Settings
from tests.browser import signed_in
from tests.conftest import make_settings
from tests.live_server import auth, serve


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Settings]]:
    """A server with a store and knowledge base of its own; no model is loaded."""
    settings = make_settings(tmp_path_factory.mktemp("articles-page"))
    with serve(settings, deps_factory=lambda s: build_deps(s, model=ScriptedChatModel())) as base:
        yield base, settings


@contextmanager
def _page(server: tuple[str, Settings], path: str) -> Iterator[Page]:
    base, settings = server
    token = auth(settings, "ops", "ops-page")["Authorization"].removeprefix("Bearer ")
    with signed_in(base, path, token) as page:
        expect(page.locator('#articles tr[data-slug="refunds"]')).to_be_visible()
        yield page


def test_a_question_in_the_address_opens_a_new_article_that_is_listed_once_saved(
        server: tuple[str, Settings]) -> None:
    base, settings = server
    with _page(server, f"/admin/articles?new_article={quote('Do you gift-wrap orders?')}") as page:
        form = page.locator("#article")
        expect(form.locator('[name="title"]')).to_have_value("Do you gift-wrap orders?")
        expect(form.locator('[name="slug"]')).to_have_value("do-you-gift-wrap-orders")
        form.locator('[name="body"]').fill("Yes: tick *Gift wrap* at checkout and we wrap it for free.")
        form.locator('[name="reason"]').fill("asked in chat")
        form.get_by_role("button", name="Save article").click()
        expect(page.locator("#message")).to_contain_text("Saved do-you-gift-wrap-orders: version 1")
        row = page.locator('#articles tr[data-slug="do-you-gift-wrap-orders"]')
        expect(row).to_contain_text("Do you gift-wrap orders?")
        expect(row).to_contain_text("ops-page")
        expect(page.locator('#article-history li[data-version="1"]')).to_contain_text("asked in chat")
    saved = httpx.get(f"{base}/v1/admin/articles/do-you-gift-wrap-orders", headers=auth(settings, "ops")).json()
    assert saved["body"].startswith("Yes: tick") and saved["author"] == "ops-page"


def test_editing_shows_a_stale_version_and_an_empty_body_as_errors(server: tuple[str, Settings]) -> None:
    base, settings = server
    with _page(server, "/admin/articles") as page:
        page.locator('#articles tr[data-slug="warranty"] button.open').click()
        form = page.locator("#article")
        expect(page.locator("#editor-title")).to_have_text("warranty, version 1")
        body = form.locator('[name="body"]')
        expect(body).to_have_value(re.compile("warranty", re.IGNORECASE))

        form.locator('[name="reason"]').fill("oops")
        body.fill("")
        form.get_by_role("button", name="Save article").click()
        expect(page.locator("#message")).to_contain_text("422: body.body")

        httpx.put(f"{base}/v1/admin/articles/warranty", headers=auth(settings, "ops", "someone else"),
                  json={"title": "Warranty", "body": "Changed elsewhere.", "reason": "meanwhile"})
        body.fill("My edit.")
        form.get_by_role("button", name="Save article").click()
        expect(page.locator("#message")).to_contain_text("412: warranty is at version 2 now")
    assert httpx.get(f"{base}/v1/admin/articles/warranty", headers=auth(settings, "ops")).json()["body"] == (
        "Changed elsewhere.")
