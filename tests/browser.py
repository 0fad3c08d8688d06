"""Debian's Chromium driven by Playwright (no browser download), for the page tests."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from contextlib import contextmanager

from playwright.sync_api import Browser, Page, sync_playwright

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]


@contextmanager
def chromium() -> Iterator[Browser]:
    """A headless Chromium for the block."""
    assert shutil.which(CHROMIUM), "install Debian's chromium: apt-get install -y chromium"
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


@contextmanager
def signed_in(base_url: str, path: str, token: str) -> Iterator[Page]:
    """A page of ``path`` after signing in with ``token`` on its token form; the block fails on any script
    error the page raised."""
    with chromium() as browser:
        page = browser.new_context(base_url=base_url).new_page()
        errors: list[str] = []
        page.on("pageerror", lambda error: errors.append(str(error)))
        page.goto(path)
        page.fill("#token", token)
        page.click("#token-form button")
        yield page
        assert not errors, errors
