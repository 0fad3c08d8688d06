"""The insights page at ``/insights`` in real headless Chromium: the demo history's figures and charts render
under the page's content-security policy, unanswered questions link to a new article, CSV export downloads, and
a customer token is refused."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect

from core.settings import Settings
from tests.browser import chromium
from tests.test_api_conversations import base_url, bearer, settings, store  # noqa: F401

SCREENSHOT = Path(os.environ.get("SUPPORT_SCREENSHOTS", "/tmp")) / "insights-page.png"
"""Where the test leaves its screenshot of the page (look at it when the page changes)."""


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with chromium() as browser:
        yield browser


@pytest.fixture
def page(browser: Browser, base_url: str) -> Iterator[Page]:  # noqa: F811
    context = browser.new_context(base_url=base_url, accept_downloads=True, viewport={"width": 1280, "height": 900})
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto("/insights")
    yield page
    context.close()
    assert not errors, errors


def _show_demo(page: Page, token: str) -> None:
    page.fill("#token", token)
    page.click("#token-form button")
    page.fill("#since", "2026-11-01")
    page.fill("#until", "2026-12-31")
    page.select_option("#source", "demo")
    page.get_by_role("button", name="Show", exact=True).click()
    expect(page.locator("body")).to_have_attribute("data-loaded", "since=2026-11-01T00%3A00%3A00&until=2026-12-31"
                                                                  "T23%3A59%3A59&demo=true")


def test_the_demo_history_renders_with_charts_and_article_links(page: Page, settings: Settings) -> None:  # noqa: F811
    _show_demo(page, bearer(settings, "Pat Lee", "agent")["Authorization"].removeprefix("Bearer "))
    expect(page.locator("#demo-banner")).to_be_visible()
    expect(page.locator("#figures")).to_contain_text("120conversations")
    for chart in ("outcomes", "satisfaction", "requests", "handoffs"):
        image = page.locator(f"#chart-{chart}")
        expect(image).to_have_attribute("src", re.compile(r"^data:image/svg\+xml"))
        assert image.evaluate("img => img.complete && img.naturalWidth > 0"), chart
    link = page.locator("#unanswered a").first
    expect(link).to_have_text("Write an article")
    assert link.get_attribute("href").startswith("/admin/articles?new_article=")
    page.screenshot(path=str(SCREENSHOT), full_page=True)
    with page.expect_download() as download:
        page.get_by_role("button", name="Export CSV").click()
    saved = download.value
    assert saved.suggested_filename == "insights.csv"
    assert Path(saved.path()).read_text().startswith("section,name,value")


def test_an_earlier_slower_answer_never_overwrites_the_latest(page: Page, settings: Settings) -> None:  # noqa: F811
    held = []  # signing in loads the real conversations: their answer is held back until the demo has rendered
    page.route(re.compile(r"/v1/insights\?(?!.*demo=true)"), lambda route: held.append(route))
    _show_demo(page, bearer(settings, "Pat Lee", "agent")["Authorization"].removeprefix("Bearer "))
    assert held, "signing in should have asked for the real conversations"
    with page.expect_response(lambda response: "/v1/insights?" in response.url and "demo" not in response.url):
        for route in held:
            route.continue_()
    page.evaluate("() => new Promise((done) => setTimeout(done, 200))")  # let the page handle the late answer
    expect(page.locator("#demo-banner")).to_be_visible()
    expect(page.locator("#figures")).to_contain_text("120conversations")


def test_a_customer_token_is_refused(page: Page, settings: Settings) -> None:  # noqa: F811
    page.fill("#token", bearer(settings)["Authorization"].removeprefix("Bearer "))
    page.click("#token-form button")
    expect(page.locator("#message")).to_contain_text("403")


def test_without_real_conversations_the_page_opens_on_the_labelled_demo_history(
    browser: Browser, base_url: str, settings: Settings,  # noqa: F811
) -> None:
    context = browser.new_context(base_url=base_url)
    page = context.new_page()
    page.goto("/insights")
    page.fill("#token", bearer(settings, "Pat Lee", "agent")["Authorization"].removeprefix("Bearer "))
    page.fill("#since", "2031-01-01")  # a period with no real conversation
    page.fill("#until", "2031-01-31")
    page.click("#token-form button")
    expect(page.locator("#source")).to_have_value("demo")
    expect(page.locator("#demo-banner")).to_be_visible()
    context.close()
